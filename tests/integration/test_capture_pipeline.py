"""Capture end to end: simulator → spool → object store → index, on both index backends.

The scenario itself is the oracle: after each night, every live post and comment it holds must
be in the index with its current text, every hidden one hidden, every deleted one (whose post
was re-listed) deleted — and nothing else deleted.
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from hp_archive.archive import Archive
from hp_archive.capture import capture_account, repair_runs
from hp_archive.errors import CaptureError
from hp_archive.index import models as m
from hp_archive.index.reindex import reindex
from hp_archive.index.search import search, show_item
from hp_archive.sources.simulators.base import Fault
from hp_archive.sources.simulators.scenario import Scenario
from hp_archive.storage import LocalObjectStore, ObjectStore, S3ObjectStore
from hp_archive.warc.reader import iter_records
from tests.support.clock import FakeClock
from tests.support.pipeline import (
    TOKEN,
    FacebookWorld,
    counts,
    decompressed,
    facebook_world,
    make_archive,
    snapshot,
    stored_warc_bytes,
)
from tests.support.tools import cdxj_index, warcio_check


class SimulatedCrash(Exception):
    """Stands for the process dying at a checkpoint."""


@pytest.fixture
def world() -> Any:
    with facebook_world() as w:
        yield w


@pytest.fixture
def archive(tmp_path: Path, database_url: str, clock: FakeClock) -> Any:
    arch = make_archive(LocalObjectStore(tmp_path / "store"), database_url, tmp_path / "spool", clock)
    yield arch
    arch.close()


def night(archive: Archive, world: FacebookWorld, clock: FakeClock, **kwargs: Any) -> Any:
    clock.set(world.scenario.now())
    return capture_account(archive, world.account, window_end=world.scenario.now(), **kwargs)


def page_id(world: FacebookWorld) -> str:
    return world.scenario.account.id


def expected_state(scenario: Scenario, listed_posts: set[str]) -> dict[str, tuple[str, bool, bool]]:
    """uid -> (text, hidden, deleted) for every post and comment the index must know."""
    page = scenario.account.id
    out: dict[str, tuple[str, bool, bool]] = {}
    for post in scenario.account.posts:
        out[f"facebook:{page}_{post.id}"] = (post.text, False, post.deleted)
        for comment in post.comments:
            relisted = post.id in listed_posts and not post.deleted
            out[f"facebook:{post.id}_{comment.id}"] = (
                comment.text,
                comment.hidden,
                comment.deleted and relisted,
            )
            for reply in comment.replies:
                gone = (reply.deleted or comment.deleted) and relisted
                out[f"facebook:{post.id}_{reply.id}"] = (reply.text, reply.hidden, gone)
    return out


def assert_index_matches(archive: Archive, scenario: Scenario, listed_posts: set[str]) -> None:
    expected = expected_state(scenario, listed_posts)
    with archive.sessions() as session:
        rows = {
            item.uid: (version.text if version else None, item.is_hidden, item.is_deleted)
            for item, version in session.execute(
                select(m.Item, m.ItemVersion)
                .outerjoin(m.ItemVersion, m.ItemVersion.id == m.Item.current_version_id)
                .where(m.Item.kind.in_(("post", "comment", "reply")))
            )
        }
    for uid, (body, hidden, deleted) in expected.items():
        assert uid in rows, f"{uid} missing from the index"
        got_text, got_hidden, got_deleted = rows[uid]
        assert got_deleted == deleted, f"{uid}: deleted {got_deleted}, expected {deleted}"
        if not deleted:
            assert body in (got_text or ""), f"{uid}: text {got_text!r} lacks {body!r}"
            assert got_hidden == hidden, f"{uid}: hidden {got_hidden}, expected {hidden}"
    assert set(rows) == set(expected)


def listed_post_ids(scenario: Scenario, lookback_days: int = 30) -> set[str]:
    cutoff = scenario.now().timestamp() - lookback_days * 86400
    return {p.id for p in scenario.account.posts if p.created.timestamp() >= cutoff}


def test_three_nights_find_created_edited_hidden_and_deleted(
    archive: Archive, world: FacebookWorld, clock: FakeClock
) -> None:
    first = night(archive, world, clock)
    assert first.outcome == "complete", first.error
    assert first.events["created"] > 0 and set(first.events) == {"created"}
    # everything listed was archived (the page node itself is fetched, not listed)
    assert first.report["listed"] == {k: v for k, v in first.archived.items() if k != "page"}
    assert_index_matches(archive, world.scenario, listed_post_ids(world.scenario))
    totals: Counter[str] = Counter(first.events)
    for _ in range(2):
        changes = world.scenario.advance()
        result = night(archive, world, clock)
        assert result.outcome == "complete", result.error
        totals.update(result.events)
        assert_index_matches(archive, world.scenario, listed_post_ids(world.scenario))
        edits = sum(1 for c in changes if c.startswith(("edit comment", "edit post")))
        hides = sum(1 for c in changes if c.startswith("hide comment"))
        assert result.events["edited"] == edits
        assert result.events["hidden"] == hides
        assert result.events["deleted-observed"] >= sum(1 for c in changes if c.startswith("delete"))
    for kind in ("created", "edited", "hidden", "deleted-observed"):
        assert totals[kind] > 0, kind


def test_versions_keep_every_text_with_its_evidence(
    archive: Archive, world: FacebookWorld, clock: FakeClock
) -> None:
    night(archive, world, clock)
    changes = world.scenario.advance()
    night(archive, world, clock)
    edited = next(c for c in changes if c.startswith("edit comment"))
    comment_id, post_id = edited.split()[2], edited.split()[-1]
    with archive.sessions() as session:
        shown = show_item(session, f"facebook:{post_id}_{comment_id}")
    assert shown["status"] == "edited"
    assert [v["version"] for v in shown["versions"]] == [1, 2]
    assert shown["versions"][1]["text"].endswith("[edited: never mind, found the answer]")
    assert not shown["versions"][0]["text"].endswith("found the answer]")
    assert [e["kind"] for e in shown["events"]] == ["created", "edited"]
    assert shown["thread"][0]["id"] == f"facebook:{page_id(world)}_{post_id}"
    for version in shown["versions"]:
        evidence = version["evidence"]
        data = archive.store.get_range(evidence["warc"], evidence["offset"], evidence["length"])
        [record] = list(iter_records(__import__("io").BytesIO(data), check_digests=True))
        assert record.record_id == evidence["record_id"]
    with archive.sessions() as session:
        old_words = search(session, "never mind")
        assert any(r["id"] == f"facebook:{post_id}_{comment_id}" for r in old_words.results)


def test_same_window_twice_creates_nothing(archive: Archive, world: FacebookWorld, clock: FakeClock) -> None:
    first = night(archive, world, clock)
    before = counts(archive)
    keys = [i.key for i in archive.store.list("warcs/")]
    again = night(archive, world, clock)
    assert again.already_done and again.run_id == first.run_id
    assert counts(archive) == before
    assert [i.key for i in archive.store.list("warcs/")] == keys


@pytest.mark.parametrize("step", ["spooled", "stored", "indexing"])
def test_a_crash_at_each_step_is_repaired_by_running_again(
    tmp_path: Path, database_url: str, clock: FakeClock, world: FacebookWorld, step: str
) -> None:
    reference_archive = make_archive(
        LocalObjectStore(tmp_path / "ref-store"),
        f"sqlite:///{tmp_path / 'ref.sqlite'}",
        tmp_path / "ref-spool",
        FakeClock(),
    )
    reference_archive.clock.set(world.scenario.now())  # type: ignore[attr-defined]
    reference = capture_account(reference_archive, world.account, window_end=world.scenario.now())
    reference_counts = counts(reference_archive)
    reference_archive.close()

    archive = make_archive(LocalObjectStore(tmp_path / "store"), database_url, tmp_path / "spool", clock)

    def crash(at: str) -> None:
        if at == step:
            raise SimulatedCrash(at)

    with pytest.raises(SimulatedCrash):
        night(archive, world, clock, checkpoint=crash)
    with archive.sessions() as session:
        run = session.scalars(select(m.CaptureRun)).one()
        assert run.status == {"spooled": "spooled", "stored": "stored", "indexing": "stored"}[step]
        # a crash inside the ingest transaction leaves no half-written rows
        assert session.scalar(select(m.WarcFile.id)) is None
        assert session.scalar(select(m.Item.id)) is None

    result = night(archive, world, clock)  # the same window: repaired, not captured twice
    assert result.run_id == reference.run_id
    assert result.outcome == "complete"
    assert counts(archive) == reference_counts
    with archive.sessions() as session:
        indexed = sorted(session.scalars(select(m.WarcFile.key)))
    stored = sorted(info.key for info in archive.store.list("warcs/"))
    assert indexed == stored  # no orphan object, no row without its object
    assert not any((tmp_path / "spool").iterdir())
    archive.close()


def test_repair_from_the_store_when_the_spool_is_gone(
    tmp_path: Path, clock: FakeClock, world: FacebookWorld
) -> None:
    """Another worker retries the task: the spool is not there, but the stored object is."""
    archive = make_archive(
        LocalObjectStore(tmp_path / "store"),
        f"sqlite:///{tmp_path / 'i.sqlite'}",
        tmp_path / "spool",
        clock,
    )

    def crash(at: str) -> None:
        if at == "stored":
            raise SimulatedCrash(at)

    with pytest.raises(SimulatedCrash):
        night(archive, world, clock, checkpoint=crash)
    for run_dir in (tmp_path / "spool").iterdir():
        for f in run_dir.iterdir():
            f.unlink()
        run_dir.rmdir()
    [result] = repair_runs(archive)
    assert result.status == "indexed" and result.outcome == "complete"
    assert counts(archive)["items"] > 0


def test_spool_lost_before_upload_is_reported_not_hidden(
    tmp_path: Path, clock: FakeClock, world: FacebookWorld
) -> None:
    archive = make_archive(
        LocalObjectStore(tmp_path / "store"),
        f"sqlite:///{tmp_path / 'i.sqlite'}",
        tmp_path / "spool",
        clock,
    )

    def crash(at: str) -> None:
        if at == "spooled":
            raise SimulatedCrash(at)

    with pytest.raises(SimulatedCrash):
        night(archive, world, clock, checkpoint=crash)
    for run_dir in (tmp_path / "spool").iterdir():
        for f in run_dir.iterdir():
            f.unlink()
    with pytest.raises(CaptureError, match="lost before upload"):
        repair_runs(archive)
    retry = night(archive, world, clock)  # a new attempt for the window captures afresh
    assert retry.outcome == "complete"
    assert counts(archive)["items"] > 0


def test_reindex_from_warcs_rebuilds_the_same_index(
    archive: Archive, world: FacebookWorld, clock: FakeClock
) -> None:
    night(archive, world, clock)
    for _ in range(2):
        world.scenario.advance()
        night(archive, world, clock)
    before = snapshot(archive)
    with archive.engine.begin() as conn:  # lose the derived index entirely
        for table in ("change_events", "item_versions", "items"):
            conn.execute(text(f"DELETE FROM {table}"))
    stats = reindex(archive)
    assert stats.files == 3
    after = snapshot(archive)
    assert after["items"] == before["items"]
    assert after["versions"] == before["versions"]
    assert after["events"] == before["events"]
    assert after["media"] == before["media"]
    with archive.sessions() as session:
        assert search(session, "never mind").total > 0


def test_a_failed_listing_never_marks_anything_deleted(
    archive: Archive, world: FacebookWorld, clock: FakeClock
) -> None:
    night(archive, world, clock)
    post = world.scenario.account.live_posts()[0]
    victim = post.comments[0]
    victim.deleted = True
    world.scenario.night += 1
    world.server.inject(Fault("500", path=rf"_{post.id}/comments", times=10))
    result = night(archive, world, clock)
    assert result.outcome == "partial"
    assert any(post.id in f["what"] for f in result.report["failures"])
    with archive.sessions() as session:
        item = session.scalar(select(m.Item).where(m.Item.uid == f"facebook:{post.id}_{victim.id}"))
        assert item is not None and not item.is_deleted
        assert (
            session.scalar(select(m.ChangeEvent.id).where(m.ChangeEvent.kind == "deleted-observed")) is None
        )
    world.server.clear_faults()
    world.scenario.night += 1
    healed = night(archive, world, clock)
    assert healed.outcome == "complete"
    assert healed.events["deleted-observed"] >= 1


def test_rate_limit_is_waited_out_on_the_injected_clock(
    archive: Archive, world: FacebookWorld, clock: FakeClock
) -> None:
    world.server.inject(Fault("429", path=r"/posts\?", times=2, retry_after=1))
    result = night(archive, world, clock)
    assert result.outcome == "complete"
    assert result.report["counts"]["retries"] == 2
    assert len(clock.slept) == 2


def test_expired_token_fails_the_account_with_an_actionable_line(
    archive: Archive, world: FacebookWorld, clock: FakeClock
) -> None:
    world.server.app.valid_tokens.clear()
    result = night(archive, world, clock)
    assert result.outcome == "failed"
    assert "hppd-facebook" in (result.error or "") and "facebook" in (result.error or "")
    assert "renew the access token in HP_TEST_FACEBOOK_TOKEN" in (result.error or "")
    assert "\n" not in (result.error or "")
    # the refusal itself is evidence: it is stored and indexed
    assert result.files and result.status == "indexed"


def test_no_token_anywhere_in_warcs_database_or_logs(
    archive: Archive,
    world: FacebookWorld,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    caplog.set_level(logging.DEBUG)
    night(archive, world, clock)
    world.scenario.advance()
    world.server.inject(Fault("expired-token", path=r"/comments", times=1))
    night(archive, world, clock)
    raw_warcs = list(stored_warc_bytes(archive.store))
    assert raw_warcs
    for key, data in raw_warcs:
        plain = decompressed(data)
        assert TOKEN.encode() not in plain, key
        assert b"Authorization: OAuth REDACTED" in plain
    with archive.engine.connect() as conn:
        for table in (
            "capture_runs",
            "warc_files",
            "warc_records",
            "items",
            "item_versions",
            "change_events",
        ):
            for row in conn.execute(text(f"SELECT * FROM {table}")):
                assert TOKEN not in repr(tuple(row)), table
    assert TOKEN not in caplog.text
    spool_left = [p for p in (tmp_path / "spool").rglob("*") if p.is_file()]
    for path in spool_left:
        assert TOKEN.encode() not in path.read_bytes()


def test_every_warc_passes_warcio_check_and_cdxj_indexer(
    archive: Archive, world: FacebookWorld, clock: FakeClock, tmp_path: Path
) -> None:
    night(archive, world, clock)
    world.scenario.advance()
    second = night(archive, world, clock)
    assert second.report["counts"].get("revisits", 0) + second.report["media"].get("already_archived", 0) > 0
    out = tmp_path / "check"
    out.mkdir()
    paths = []
    for key, data in stored_warc_bytes(archive.store):
        path = out / key.rsplit("/", 1)[-1]
        path.write_bytes(data)
        paths.append(str(path))
    check = warcio_check(paths)
    assert check.returncode == 0, check.stdout
    assert "digest failed" not in check.stdout
    index = cdxj_index(paths)
    assert index.returncode == 0, index.stderr
    assert index.stdout.count("\n") > 20


def s3_store(moto_endpoint: str, make_bucket: Any) -> ObjectStore:
    return S3ObjectStore(
        make_bucket(object_lock=True), "hp", endpoint_url=moto_endpoint, lock_mode="GOVERNANCE"
    )


def test_capture_onto_s3_over_http(
    tmp_path: Path, clock: FakeClock, world: FacebookWorld, moto_endpoint: str, make_bucket: Any
) -> None:
    archive = make_archive(
        s3_store(moto_endpoint, make_bucket),
        f"sqlite:///{tmp_path / 'i.sqlite'}",
        tmp_path / "spool",
        clock,
    )
    night(archive, world, clock)
    world.scenario.advance()
    result = night(archive, world, clock)
    assert result.outcome == "complete"
    with archive.sessions() as session:
        files = list(session.scalars(select(m.WarcFile)))
    assert len(files) == 2
    for f in files:
        info = archive.store.head(f.key)
        assert info is not None and info.sha256 == f.sha256 and info.size == f.size
    before = snapshot(archive)
    reindex(archive)
    assert snapshot(archive) == before
    archive.close()
