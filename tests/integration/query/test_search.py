"""Search over a real captured archive, on SQLite and PostgreSQL: what counsel sees in results."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from hp_archive.archive import Archive
from hp_archive.capture import capture_account
from hp_archive.errors import QueryError
from hp_archive.index import models as m
from hp_archive.index.reindex import reindex
from hp_archive.index.search import matching_uids, search, show_item
from hp_archive.storage import LocalObjectStore
from tests.support.clock import FakeClock
from tests.support.pipeline import FacebookWorld, facebook_world, make_archive


@pytest.fixture
def world() -> Iterator[FacebookWorld]:
    with facebook_world(posts=10, comments_per_post=5) as w:
        yield w


@pytest.fixture
def archive(tmp_path: Path, database_url: str, clock: FakeClock, world: FacebookWorld) -> Iterator[Archive]:
    arch = make_archive(LocalObjectStore(tmp_path / "store"), database_url, tmp_path / "spool", clock)
    for night in range(2):
        if night:
            world.scenario.advance()
        clock.set(world.scenario.now())
        result = capture_account(arch, world.account, window_end=world.scenario.now())
        assert result.outcome == "complete", result.error
    yield arch
    arch.close()


def scenario_comments(world: FacebookWorld) -> dict[str, tuple[str, str]]:
    """uid -> (author name, text) of every comment and reply the scenario holds."""
    out = {}
    for post in world.scenario.account.posts:
        for comment in post.comments:
            out[f"facebook:{post.id}_{comment.id}"] = (comment.author_name, comment.text)
            for reply in comment.replies:
                out[f"facebook:{post.id}_{reply.id}"] = (reply.author_name, reply.text)
    return out


def test_an_edited_reply_comes_with_its_thread_events_and_marked_snippet(
    archive: Archive, world: FacebookWorld
) -> None:
    with archive.sessions() as session:
        results = search(session, '"never mind"', limit=100)
    assert results.total == len(results.results) > 0
    for result in results.results:
        assert result["status"] in ("edited", "hidden", "deleted")
        assert "[[never]] [[mind," in result["snippet"]
        assert result["matched_versions"] == [2] and result["versions"] == 2
        assert [e["kind"] for e in result["events"]][:2] == ["created", "edited"]
        thread = result["thread"]
        assert thread, result["id"]
        assert thread[0]["kind"] == "post" and thread[0]["id"] == result["thread_root"]
        assert thread[-1]["id"] == result["parent"]
        if result["kind"] == "reply":
            assert [t["kind"] for t in thread] == ["post", "comment"]
        assert result["holds"] == []


def test_the_author_filter_uses_the_captured_names(archive: Archive, world: FacebookWorld) -> None:
    comments = scenario_comments(world)
    with archive.sessions() as session:
        authors = {i.uid: i.author_name for i in session.scalars(select(m.Item))}
    by_jane = {uid for uid, name in authors.items() if name == "Jane Doe"}
    by_j = {uid for uid, name in authors.items() if name == "J Doe"}
    # every comment the scenario gave those authors (their photos carry the name too)
    assert {uid for uid, (name, _) in comments.items() if name == "Jane Doe"} <= by_jane
    assert {uid for uid, (name, _) in comments.items() if name == "J Doe"} <= by_j
    assert by_jane and by_j
    with archive.sessions() as session:
        assert set(matching_uids(session, 'author:"Jane Doe"')) == by_jane
        assert set(matching_uids(session, "author:JANE-DOE")) == by_jane
        assert set(matching_uids(session, 'author:"J Doe"')) == by_j
        assert set(matching_uids(session, "author:10008")) == by_j  # the platform's author id
        assert by_jane | by_j <= set(matching_uids(session, "author:j*"))
    reindex(archive)  # the author key is derived: rebuilt with everything else
    with archive.sessions() as session:
        assert set(matching_uids(session, 'author:"Jane Doe"')) == by_jane


def test_filters_select_what_they_name(archive: Archive) -> None:
    with archive.sessions() as session:
        items = list(session.scalars(select(m.Item)))
        posts = {i.uid for i in items if i.kind == "post"}
        deleted = {i.uid for i in items if i.is_deleted}
        hidden_comments = {i.uid for i in items if i.is_hidden and i.kind in ("comment", "reply")}
        media_parents = {i.parent_uid for i in items if i.kind == "media"}
        assert deleted and hidden_comments and media_parents
        assert set(matching_uids(session, "kind:post")) == posts
        assert set(matching_uids(session, "deleted:true")) == deleted
        assert set(matching_uids(session, "kind:comment|reply hidden:true")) == hidden_comments
        with_media = media_parents | {i.uid for i in items if i.media_record_id is not None}
        assert set(matching_uids(session, "has:media")) == with_media
        assert set(matching_uids(session, "has:media kind:post")) == with_media & posts != set()
        assert set(matching_uids(session, "platform:x")) == set()
        everything = {i.uid for i in items}
        assert set(matching_uids(session, "NOT platform:x")) == everything
        assert set(matching_uids(session, "version:current")) == everything


def test_date_filters_read_the_department_time_zone(archive: Archive) -> None:
    with archive.sessions() as session:
        items = list(session.scalars(select(m.Item).where(m.Item.created_at.is_not(None))))
        pivot = sorted(i.created_at for i in items if i.created_at)[len(items) // 2]
        day = pivot.date().isoformat()
        after = set(matching_uids(session, f"after:{day}"))
        before = set(matching_uids(session, f"before:{day}"))
        assert after and before and not after & before
        results = search(session, f"after:{day}")
    assert results.dates[0]["timezone"] == "America/Chicago"
    assert results.dates[0]["local"].startswith(f"{day}T00:00:00-0")


def test_show_includes_thread_versions_events_and_holds(archive: Archive) -> None:
    with archive.sessions() as session:
        uid = search(session, '"never mind"').results[0]["id"]
        shown = show_item(session, uid)
    assert [v["version"] for v in shown["versions"]] == [1, 2]
    assert shown["thread"][0]["kind"] == "post"
    assert shown["holds"] == []
    assert {"created", "edited"} <= {e["kind"] for e in shown["events"]}


def test_a_malformed_query_is_refused_before_the_database(archive: Archive) -> None:
    with archive.sessions() as session, pytest.raises(QueryError, match="at position 11: expected a word"):
        search(session, "speeding (")
