"""Mastodon end to end: simulator → MastodonSource → WARC → store → index, night after night.

The scenario is the oracle. After each night every status the capture could see must be in the
index with its current text; statuses that vanished from a complete listing must be marked
deleted, and nothing else. Counts of items, versions and events are asserted exactly, computed
from the scenario's own change list. Time is a FakeClock: no retry ever sleeps.
"""

from __future__ import annotations

import dataclasses
import io
import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hp_archive.archive import Archive
from hp_archive.capture import RunResult, capture_account
from hp_archive.index import models as m
from hp_archive.index.reindex import reindex
from hp_archive.index.search import show_item
from hp_archive.settings import Account
from hp_archive.sources.simulators.base import Fault, SimRequest, SimResponse, SimulatorServer
from hp_archive.sources.simulators.mastodon import MastodonSimulator, snowflake
from hp_archive.sources.simulators.scenario import Scenario, SimComment, SimPost
from hp_archive.storage import LocalObjectStore
from hp_archive.warc.reader import iter_records
from tests.support.clock import FakeClock
from tests.support.pipeline import (
    TOKEN,
    TOKEN_ENV,
    counts,
    decompressed,
    make_archive,
    snapshot,
    stored_warc_bytes,
)
from tests.support.tools import cdxj_index, warcio_check

Rewrite = Callable[[SimRequest, SimResponse], SimResponse]


class ScriptedMastodon(MastodonSimulator):
    """The simulator plus a per-test rewrite of its answers (bad payloads that persist)."""

    def __init__(self, scenario: Scenario) -> None:
        super().__init__(scenario, valid_tokens={TOKEN})
        self.rewrite: Rewrite | None = None

    def handle(self, request: SimRequest) -> SimResponse:
        response = super().handle(request)
        return self.rewrite(request, response) if self.rewrite is not None else response


@dataclass
class World:
    scenario: Scenario
    server: SimulatorServer
    account: Account
    app: ScriptedMastodon


@pytest.fixture
def world() -> Iterator[World]:
    scenario = Scenario.department(posts=8, comments_per_post=4, days=20)
    app = ScriptedMastodon(scenario)
    with SimulatorServer(app) as server:
        account = Account(
            id="hppd-mastodon",
            platform="mastodon",
            handle=scenario.account.handle,
            base_url=server.url,
            token_env=TOKEN_ENV,
            series="social-media",
        )
        yield World(scenario, server, account, app)


@pytest.fixture
def archive(tmp_path: Path, database_url: str, clock: FakeClock) -> Iterator[Archive]:
    arch = make_archive(
        LocalObjectStore(tmp_path / "store"), database_url, tmp_path / "spool", clock, http_timeout=2.0
    )
    yield arch
    arch.close()


def night(archive: Archive, world: World, clock: FakeClock) -> RunResult:
    clock.set(world.scenario.now())
    return capture_account(archive, world.account, window_end=world.scenario.now())


# -- the oracle ---------------------------------------------------------------------------------


def uid(sim: SimPost | SimComment) -> str:
    return f"mastodon:{snowflake(sim.created, sim.id)}"


def media_uid(owner: SimPost | SimComment, media_id: str) -> str:
    return f"mastodon:media/{snowflake(owner.created, media_id)}"


@dataclass(frozen=True)
class Expected:
    kind: str
    text: str | None
    deleted: bool
    visible: bool


def expected(scenario: Scenario) -> dict[str, Expected]:
    """Every item the index must hold after a night, with whether it is (observed) deleted.

    Posts and the department's own replies are judged by its statuses listing (all of them
    are inside the 30-day look-back here); other replies by their post's context, fetched only
    for live posts. A deleted comment takes the replies under it out of the context.
    """
    account = scenario.account
    out = {f"mastodon:accounts/{account.id}": Expected("page", account.name, False, True)}
    for post in account.posts:
        out[uid(post)] = Expected("post", post.text, post.deleted, not post.deleted)
        for media in post.media:
            out[media_uid(post, media.id)] = Expected("media", media.alt, post.deleted, not post.deleted)
        for comment in post.comments:
            thread_live = not post.deleted
            gone = comment.deleted and thread_live
            seen = thread_live and not comment.deleted
            out[uid(comment)] = Expected("comment", comment.text, gone, seen)
            if comment.media is not None:
                out[media_uid(comment, comment.media.id)] = Expected("media", "", gone, seen)
            for reply in comment.replies:
                if reply.author_id == account.id:
                    out[uid(reply)] = Expected("reply", reply.text, reply.deleted, not reply.deleted)
                    continue
                lost = reply.deleted or comment.deleted
                out[uid(reply)] = Expected(
                    "reply", reply.text, lost and thread_live, thread_live and not lost
                )
                if reply.media is not None:
                    out[media_uid(reply, reply.media.id)] = Expected(
                        "media", "", lost and thread_live, not lost
                    )
    return out


def expected_events(
    before: dict[str, Expected], after: dict[str, Expected], changes: list[str], scenario: Scenario
) -> Counter[str]:
    events: Counter[str] = Counter()
    events["created"] = len(after.keys() - before.keys())
    events["deleted-observed"] = sum(
        1 for key, exp in after.items() if exp.deleted and not (key in before and before[key].deleted)
    )
    for change in changes:
        words = change.split()
        if words[0] != "edit":
            continue
        sim = (
            scenario.account.find_post(words[2])
            if words[1] == "post"
            else scenario.account.find_comment(words[2])
        )
        assert sim is not None
        if after[uid(sim)].visible:
            events["edited"] += 1
    return +events


def index_rows(archive: Archive) -> dict[str, tuple[str, str | None, bool, bool]]:
    with archive.sessions() as session:
        return {
            item.uid: (item.kind, version.text if version else None, item.is_deleted, item.is_hidden)
            for item, version in session.execute(
                select(m.Item, m.ItemVersion).outerjoin(
                    m.ItemVersion, m.ItemVersion.id == m.Item.current_version_id
                )
            )
        }


def assert_index_matches(archive: Archive, scenario: Scenario) -> dict[str, Expected]:
    want = expected(scenario)
    rows = index_rows(archive)
    assert set(rows) == set(want)
    for key, exp in want.items():
        kind, text, deleted, hidden = rows[key]
        assert kind == exp.kind, key
        assert deleted == exp.deleted, f"{key}: deleted {deleted}, expected {exp.deleted}"
        assert hidden is False, key  # Mastodon has no hiding
        if exp.text:
            assert exp.text in (text or ""), f"{key}: {text!r} lacks {exp.text!r}"
    return want


def clean_totals(scenario: Scenario) -> int:
    return len(expected(scenario))


# -- first and later nights -----------------------------------------------------------------------


def test_first_night_archives_every_status_reply_and_photo_once(
    archive: Archive, world: World, clock: FakeClock
) -> None:
    result = night(archive, world, clock)

    assert result.outcome == "complete", result.error
    want = assert_index_matches(archive, world.scenario)
    assert len(want) == 86
    assert Counter(e.kind for e in want.values()) == {
        "page": 1,
        "post": 8,
        "comment": 40,
        "reply": 26,
        "media": 11,
    }
    assert result.events == {"created": 86}
    assert counts(archive) | {"warc_records": 0} == {
        "items": 86, "item_versions": 86, "change_events": 86, "warc_files": 1, "warc_records": 0,
        "capture_runs": 1,
    }  # fmt: skip
    assert result.report["listed"] == {"comment": 40, "media": 11, "post": 8, "reply": 26}
    assert result.report["media"] == {"listed": 11, "downloaded": 11}
    assert result.report["listings_total"] == result.report["listings_complete"] == 9
    paths = [r.path for r in world.app.requests]
    account_id = world.scenario.account.id
    assert paths[:2] == ["/api/v1/accounts/lookup", f"/api/v1/accounts/{account_id}/statuses"]
    assert world.app.requests[1].query == {"limit": "40"}
    contexts = [p.split("/")[4] for p in paths if p.endswith("/context")]
    assert contexts == [snowflake(p.created, p.id) for p in world.scenario.account.live_posts()]
    assert sum(1 for p in paths if p.startswith("/system/")) == 11
    assert not any(p.endswith("/history") for p in paths)  # nothing edited yet
    for request in world.app.requests:
        assert request.headers.get("authorization") == f"Bearer {TOKEN}"
    assert result.report["source_state"] == {
        "account_id": account_id,
        "statuses_listed_until": world.scenario.now().isoformat(),
        "edits_seen_until": world.scenario.now().isoformat(),
    }


def test_later_nights_see_new_edited_and_deleted_statuses(
    archive: Archive, world: World, clock: FakeClock
) -> None:
    night(archive, world, clock)
    before = expected(world.scenario)
    totals = Counter({"created": len(before)})
    for _ in range(3):
        changes = world.scenario.advance()
        start = len(world.app.requests)
        result = night(archive, world, clock)
        assert result.outcome == "complete", result.error
        after = assert_index_matches(archive, world.scenario)
        want = expected_events(before, after, changes, world.scenario)
        assert result.events == want, changes
        totals.update(want)
        assert counts(archive)["items"] == len(after)
        assert counts(archive)["item_versions"] == totals["created"] + totals["edited"]
        assert counts(archive)["change_events"] == sum(totals.values())
        # the night re-lists recent threads and looks up the history of every new edit
        paths = [r.path for r in world.app.requests[start:]]
        histories = sorted(p.split("/")[4] for p in paths if p.endswith("/history"))
        edited = [c.split()[2] for c in changes if c.startswith("edit")]
        statuses = [
            world.scenario.account.find_post(i) or world.scenario.account.find_comment(i) for i in edited
        ]
        assert histories == sorted(
            snowflake(s.created, s.id)
            for s in statuses
            if s is not None and uid(s) in after and after[uid(s)].visible
        )
        before = after
    assert totals["edited"] > 0 and totals["deleted-observed"] > 0
    assert counts(archive)["items"] == 86 + (8 + 2) + 8 + (8 + 1)  # posts + comments (+ photos)


def test_an_edited_comment_keeps_both_versions_and_its_history_once(
    archive: Archive, world: World, clock: FakeClock
) -> None:
    night(archive, world, clock)
    changes = world.scenario.advance()
    night(archive, world, clock)
    comment_id = next(c.split()[2] for c in changes if c.startswith("edit comment"))
    comment = world.scenario.account.find_comment(comment_id)
    assert comment is not None
    with archive.sessions() as session:
        shown = show_item(session, uid(comment))
    assert [v["version"] for v in shown["versions"]] == [1, 2]
    assert shown["versions"][1]["text"].endswith("[edited: never mind, found the answer]")
    assert [e["kind"] for e in shown["events"]] == ["created", "edited"]
    history = [
        r for r in world.app.requests if r.path.endswith(f"/{snowflake(comment.created, comment.id)}/history")
    ]
    assert len(history) == 1
    world.scenario.night += 1  # a quiet night: the edit is old news, its history is not asked again
    night(archive, world, clock)
    assert len([r for r in world.app.requests if r.path.endswith("/history")]) == sum(
        1 for c in changes if c.startswith("edit")
    )


def test_a_hidden_comment_is_not_a_mastodon_state(archive: Archive, world: World, clock: FakeClock) -> None:
    night(archive, world, clock)
    changes = world.scenario.advance()
    result = night(archive, world, clock)
    hidden = [c.split()[2] for c in changes if c.startswith("hide comment")]
    assert len(hidden) == 2
    assert "hidden" not in result.events
    rows = index_rows(archive)
    for comment_id in hidden:
        comment = world.scenario.account.find_comment(comment_id)
        assert comment is not None and comment.hidden
        assert rows[uid(comment)][2:] == (False, False)  # still there, not deleted, not hidden


def test_a_deleted_comment_takes_its_replies_but_not_the_departments(
    archive: Archive, world: World, clock: FakeClock
) -> None:
    night(archive, world, clock)
    post = world.scenario.account.live_posts()[0]
    victim = next(c for c in post.comments if c.replies)
    victim.deleted = True
    world.scenario.night += 1
    result = night(archive, world, clock)
    gone = {uid(victim)} | {uid(r) for r in victim.replies if r.author_id != world.scenario.account.id}
    if victim.media is not None:
        gone.add(media_uid(victim, victim.media.id))
    assert result.events == {"deleted-observed": len(gone)}
    rows = index_rows(archive)
    assert {key for key, row in rows.items() if row[2]} == gone
    assert_index_matches(archive, world.scenario)


def test_a_deleted_post_and_its_photos_are_marked_deleted(
    archive: Archive, world: World, clock: FakeClock
) -> None:
    night(archive, world, clock)
    victim = next(p for p in world.scenario.account.live_posts() if p.media)
    victim.deleted = True
    world.scenario.night += 1
    result = night(archive, world, clock)
    gone = {uid(victim)} | {media_uid(victim, m.id) for m in victim.media}
    assert result.events == {"deleted-observed": len(gone)}
    assert {key for key, row in index_rows(archive).items() if row[2]} == gone
    paths = [r.path for r in world.app.requests]
    assert not any(p.endswith(f"/{snowflake(victim.created, victim.id)}/context") for p in paths[-20:])


def test_media_is_downloaded_once_across_nights(archive: Archive, world: World, clock: FakeClock) -> None:
    night(archive, world, clock)
    first_media = sum(1 for r in world.app.requests if r.path.startswith("/system/"))
    world.scenario.advance()
    start = len(world.app.requests)
    result = night(archive, world, clock)
    new = sum(1 for r in world.app.requests[start:] if r.path.startswith("/system/"))
    live = {k for k, e in expected(world.scenario).items() if e.kind == "media" and e.visible}
    assert result.report["media"] == {"listed": len(live), "already_archived": first_media, "downloaded": new}
    assert new == len(live) - first_media == 2
    with archive.sessions() as session:
        linked = session.scalars(select(m.Item.uid).where(m.Item.media_record_id.is_not(None))).all()
    assert set(linked) == {k for k, e in expected(world.scenario).items() if e.kind == "media"}


def test_many_statuses_are_paged_by_link_header_and_later_nights_stop_at_the_window(
    archive: Archive, clock: FakeClock
) -> None:
    scenario = Scenario.department(posts=100, comments_per_post=0, days=200)
    app = MastodonSimulator(scenario, valid_tokens={TOKEN})
    with SimulatorServer(app) as server:
        account = Account(
            id="hppd-mastodon", platform="mastodon", handle=scenario.account.handle,
            base_url=server.url, token_env=TOKEN_ENV,
        )  # fmt: skip
        clock.set(scenario.now())
        first = capture_account(archive, account, window_end=scenario.now())
        pages = [r.query for r in app.requests if r.path.endswith("/statuses")]
        assert first.outcome == "complete"
        assert [q.get("max_id") is not None for q in pages] == [False, True, True]
        assert counts(archive)["items"] == 1 + 100 + sum(len(p.media) for p in scenario.account.posts)
        scenario.advance()
        clock.set(scenario.now())
        start = len(app.requests)
        second = capture_account(archive, account, window_end=scenario.now())
        assert second.outcome == "complete"
        later = [r for r in app.requests[start:] if r.path.endswith("/statuses")]
        assert len(later) == 1  # 40 newest reach back past the 30-day window
        since = first.report["window_end"]
        listing_since = scenario.epoch - timedelta(days=30)
        window = [p for p in scenario.account.live_posts() if p.created >= listing_since]
        contexts = [r for r in app.requests[start:] if r.path.endswith("/context")]
        assert len(contexts) == len(window) < 100
        assert since == scenario.epoch.isoformat()
        assert second.report["source_state"]["statuses_listed_until"] == scenario.now().isoformat()


# -- faults -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "slept"),
    [
        (Fault("429", path=r"/statuses\?", retry_after=30), [30.0]),
        (Fault("500", path=r"/context"), [1.0]),
        (Fault("503", path=r"/accounts/lookup"), [1.0]),
        (Fault("slow", path=r"/context", delay=3.0), [1.0]),
        (Fault("drop", path=r"/statuses\?"), [1.0]),
        (Fault("malformed", path=r"/context"), [1.0]),
        (Fault("invalid-utf8", path=r"/statuses\?"), [1.0]),
        (Fault("truncated", path=r"/context"), [1.0]),
    ],
    ids=["429-reset", "500", "503", "slow", "drop", "malformed", "invalid-utf8", "truncated"],
)
def test_each_transient_fault_is_waited_out_and_nothing_is_lost(
    archive: Archive, world: World, clock: FakeClock, fault: Fault, slept: list[float]
) -> None:
    world.server.inject(dataclasses.replace(fault))  # a Fault counts down as it is used
    result = night(archive, world, clock)
    assert result.outcome == "complete", result.error
    assert clock.slept == slept
    assert result.events == {"created": 86}
    assert counts(archive)["items"] == counts(archive)["item_versions"] == 86
    assert_index_matches(archive, world.scenario)


def test_a_rate_limit_that_does_not_lift_stops_the_account_as_partial(
    archive: Archive, world: World, clock: FakeClock
) -> None:
    night(archive, world, clock)
    world.scenario.account.live_posts()[0].comments[0].deleted = True
    world.scenario.night += 1
    world.server.inject(Fault("429", path=r"/context", times=50, retry_after=60))
    result = night(archive, world, clock)
    assert result.outcome == "partial"
    assert "rate limit not lifted after 4 attempts" in (result.error or "")
    # the first wait runs to X-RateLimit-Reset; the simulator's reset does not move after that
    assert clock.slept[0] == 60.0 and len(clock.slept) == 3
    assert "deleted-observed" not in result.events


def test_an_expired_token_fails_only_this_account_with_one_actionable_line(
    archive: Archive, world: World, clock: FakeClock
) -> None:
    world.server.inject(Fault("expired-token", path=r"/statuses\?"))
    result = night(archive, world, clock)
    assert result.outcome == "failed"
    error = result.error or ""
    assert error.startswith("account 'hppd-mastodon' (mastodon): the platform refused the token")
    assert "The access token is invalid" in error and f"renew the access token in {TOKEN_ENV}" in error
    assert "\n" not in error and TOKEN not in error
    assert result.status == "indexed"  # the refusal is evidence: stored and indexed
    assert counts(archive)["items"] == 1  # the profile fetched before the refusal
    with archive.sessions() as session:
        statuses = session.scalars(
            select(m.WarcRecord.http_status).where(m.WarcRecord.rec_type == "response")
        ).all()
    assert sorted(statuses) == [200, 401]


def test_no_token_anywhere_in_warcs_or_index(archive: Archive, world: World, clock: FakeClock) -> None:
    night(archive, world, clock)
    world.scenario.advance()
    world.server.inject(Fault("expired-token", path=r"/context"))
    night(archive, world, clock)
    for key, data in stored_warc_bytes(archive.store):
        plain = decompressed(data)
        assert TOKEN.encode() not in plain, key
        assert b"Authorization: Bearer REDACTED" in plain
    with archive.engine.connect() as conn:
        for table in ("capture_runs", "warc_records", "items", "item_versions", "change_events"):
            for row in conn.exec_driver_sql(f"SELECT * FROM {table}"):
                assert TOKEN not in repr(tuple(row)), table


# -- bad payloads: archived, marked unparsed, the run goes on ----------------------------------------


def parse_errors(archive: Archive) -> list[str]:
    with archive.sessions() as session:
        return list(
            session.scalars(
                select(m.WarcRecord.parse_error)
                .where(m.WarcRecord.parse_error.is_not(None))
                .order_by(m.WarcRecord.id)
            )
        )


def thread_items(scenario: Scenario, post: SimPost) -> set[str]:
    """The items only the post's context shows (its comments, other people's replies, photos)."""
    keys = set()
    for comment in post.comments:
        keys.add(uid(comment))
        if comment.media is not None:
            keys.add(media_uid(comment, comment.media.id))
        for reply in comment.replies:
            if reply.author_id != scenario.account.id:
                keys.add(uid(reply))
                if reply.media is not None:
                    keys.add(media_uid(reply, reply.media.id))
    return keys


def on_path(suffix: str, change: Callable[[Any], Any]) -> Rewrite:
    def rewrite(request: SimRequest, response: SimResponse) -> SimResponse:
        if request.path.endswith(suffix) and response.status == 200:
            return SimResponse(200, change(response.body), response.headers)
        return response

    return rewrite


def json_edit(edit: Callable[[Any], None]) -> Callable[[bytes], bytes]:
    def change(body: bytes) -> bytes:
        payload = json.loads(body)
        edit(payload)
        return json.dumps(payload, ensure_ascii=False).encode()

    return change


@pytest.mark.parametrize(
    "bad",
    ["malformed-json", "invalid-utf8"],
)
def test_a_context_that_stays_unreadable_is_archived_and_fails_only_its_thread(
    archive: Archive, world: World, clock: FakeClock, bad: str
) -> None:
    post = world.scenario.account.live_posts()[2]
    target = f"/{snowflake(post.created, post.id)}/context"
    corrupt = (
        (lambda b: b[: len(b) // 2]) if bad == "malformed-json" else (lambda b: b.replace(b'"', b'"\xff', 1))
    )
    world.app.rewrite = on_path(target, corrupt)
    result = night(archive, world, clock)

    assert result.outcome == "partial"
    assert [f["what"] for f in result.report["failures"]] == [
        f"mastodon:{snowflake(post.created, post.id)}/context"
    ]
    missing = thread_items(world.scenario, post)
    total = 86 - len(missing)
    assert counts(archive)["items"] == counts(archive)["item_versions"] == total
    assert result.events == {"created": total}
    errors = parse_errors(archive)
    assert len(errors) == 4  # every attempt is evidence
    reason = "malformed JSON at line 1" if bad == "malformed-json" else "body is not valid UTF-8"
    assert all(e.startswith(reason) for e in errors)
    # the next night the thread is readable again and nothing was ever reported deleted
    world.app.rewrite = None
    world.scenario.night += 1
    healed = night(archive, world, clock)
    assert healed.outcome == "complete"
    assert healed.events == {"created": len(missing)}


def test_a_status_missing_a_field_is_left_out_and_blocks_deletions(
    archive: Archive, world: World, clock: FakeClock
) -> None:
    night(archive, world, clock)
    posts = world.scenario.account.live_posts()
    broken_id = snowflake(posts[1].created, posts[1].id)
    posts[4].deleted = True  # would be observed deleted, but the listing is not whole tonight
    world.scenario.night += 1

    def drop_content(statuses: Any) -> None:
        for status in statuses:
            if status["id"] == broken_id:
                del status["content"]

    world.app.rewrite = on_path("/statuses", json_edit(drop_content))
    result = night(archive, world, clock)
    assert result.outcome == "partial"
    assert result.events == {}
    assert parse_errors(archive) == [f"status {broken_id}: missing or malformed content; left out"]
    assert result.report["failures"] == []  # an unreadable status is not a failed request...
    assert result.report["listings_complete"] == result.report["listings_total"] - 1  # ...but no deletions
    assert counts(archive)["items"] == 86


def test_an_unknown_item_type_in_a_thread_is_reported_and_the_rest_is_kept(
    archive: Archive, world: World, clock: FakeClock
) -> None:
    post = world.scenario.account.live_posts()[0]
    target = f"/{snowflake(post.created, post.id)}/context"
    world.app.rewrite = on_path(target, json_edit(lambda ctx: ctx["descendants"].insert(0, "poll-result")))
    result = night(archive, world, clock)
    assert result.outcome == "partial"
    assert parse_errors(archive) == ["descendants[0]: unknown item type (str), not a status"]
    assert result.events == {"created": 86}
    assert counts(archive)["items"] == 86


def test_a_cycle_in_reply_links_is_reported_and_not_followed(
    archive: Archive, world: World, clock: FakeClock
) -> None:
    post = next(p for p in world.scenario.account.live_posts() if any(c.replies for c in p.comments))
    comment = next(c for c in post.comments if c.replies)
    reply = comment.replies[0]
    comment_id, reply_id = snowflake(comment.created, comment.id), snowflake(reply.created, reply.id)

    def loop(ctx: Any) -> None:
        for status in ctx["descendants"]:
            if status["id"] == comment_id:
                status["in_reply_to_id"] = reply_id

    world.app.rewrite = on_path(f"/{snowflake(post.created, post.id)}/context", json_edit(loop))
    result = night(archive, world, clock)
    assert result.outcome == "partial"
    (error,) = parse_errors(archive)
    assert (
        f"status {comment_id}: reply links form a cycle ({comment_id} -> {reply_id} -> {comment_id})" in error
    )
    left_out = {uid(comment), uid(reply)} - (
        {uid(reply)} if reply.author_id == world.scenario.account.id else set()
    )
    if comment.media is not None:
        left_out.add(media_uid(comment, comment.media.id))
    assert counts(archive)["items"] == 86 - len(left_out)
    assert result.events == {"created": 86 - len(left_out)}


def test_a_very_large_response_is_archived_and_read(archive: Archive, world: World, clock: FakeClock) -> None:
    post = world.scenario.account.live_posts()[0]
    big = "Road closure details. " * 150_000  # about 3.3 MB of text in one status

    def enlarge(statuses: Any) -> None:
        for status in statuses:
            if status["id"] == snowflake(post.created, post.id):
                status["content"] = f"<p>{big}</p>"

    world.app.rewrite = on_path("/statuses", json_edit(enlarge))
    result = night(archive, world, clock)
    assert result.outcome == "complete"
    assert result.events == {"created": 86}
    with archive.sessions() as session:
        text = session.scalar(
            select(m.ItemVersion.text)
            .join(m.Item, m.Item.id == m.ItemVersion.item_id)
            .where(m.Item.uid == uid(post))
        )
        sizes = session.scalars(
            select(m.WarcRecord.payload_length).where(m.WarcRecord.rec_type == "response")
        ).all()
    assert text is not None and len(text) > 3_000_000
    assert max(s or 0 for s in sizes) > 3_000_000
    assert parse_errors(archive) == []


# -- the archive itself ---------------------------------------------------------------------------


def test_reindex_rebuilds_the_same_index_and_warcs_pass_the_tools(
    archive: Archive, world: World, clock: FakeClock, tmp_path: Path
) -> None:
    night(archive, world, clock)
    for _ in range(2):
        world.scenario.advance()
        result = night(archive, world, clock)
        assert result.report["counts"]["revisits"] > 0  # unchanged threads are WARC revisits
    before = snapshot(archive)
    with archive.engine.begin() as conn:
        for table in ("change_events", "item_versions", "items"):
            conn.exec_driver_sql(f"DELETE FROM {table}")
    reindex(archive)
    assert snapshot(archive) == before
    out = tmp_path / "check"
    out.mkdir()
    paths = []
    for key, data in stored_warc_bytes(archive.store):
        path = out / key.rsplit("/", 1)[-1]
        path.write_bytes(data)
        paths.append(str(path))
        assert list(iter_records(io.BytesIO(data), check_digests=True))
    check = warcio_check(paths)
    assert check.returncode == 0, check.stdout
    index = cdxj_index(paths)
    assert index.returncode == 0, index.stderr
