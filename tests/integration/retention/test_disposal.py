"""The Illinois two-step end to end, on SQLite and PostgreSQL, with a real store and real WARCs.

The oracle is the archive itself before execution: every record on the certificate that is due
and not held must be gone (store, index, full text) with a stub left; everything else must be
exactly as it was, and must come back identically from a reindex of what remains.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select, text

from hp_archive.archive import Archive
from hp_archive.audit import verify_chain, verify_document
from hp_archive.ediscovery.holds import place_hold
from hp_archive.index import models as m
from hp_archive.index.reindex import reindex
from hp_archive.index.search import search
from hp_archive.index.text import tokens
from hp_archive.retention import disposal
from hp_archive.retention.certificates import DisposalError
from tests.integration.retention.conftest import (
    APPROVED,
    NOW,
    approved_certificate,
    capture,
    indexed_uids,
    install_schedule,
    on_day,
    stored_warcs,
    texts,
    thread_without_media,
)
from tests.support.clock import FakeClock
from tests.support.pipeline import FacebookWorld, snapshot
from tests.support.tools import warcio_check

MODERATION_PERIOD = "retention: P5Y\n    cutoff: calendar-year\n    trigger: created"
assert APPROVED.count(MODERATION_PERIOD) == 1


def stub_uids(archive: Archive, cert: str) -> set[str]:
    with archive.sessions() as session:
        return set(
            session.scalars(select(m.DestroyedRecord.uid).where(m.DestroyedRecord.certificate_id == cert))
        )


def found_by_search(archive: Archive, words: str) -> set[str]:
    with archive.sessions() as session:
        return {r["id"] for r in search(session, words, limit=1000).results}


def test_the_two_step_destroys_exactly_the_approved_records(
    archive: Archive, world: FacebookWorld, clock: FakeClock, tmp_path: Path
) -> None:
    capture(archive, world, clock)
    before_uids = indexed_uids(archive)
    with archive.sessions() as session:
        held = session.scalars(
            select(m.Item.uid).where(m.Item.kind == "comment").order_by(m.Item.uid)
        ).first()
    assert held is not None
    place_hold(archive, "2029-CV-0001", reason="pending litigation", items=[held])
    struck, _ = thread_without_media(archive)
    cert = approved_certificate(archive, clock, remove=(struck,))
    listed = {r["id"]: r for r in disposal.show_certificate(archive, cert)["record_list"]}
    assert held not in listed  # a held record is not even proposed
    assert listed[struck]["status"] == "removed"
    before_text = texts(archive, set(listed))
    queries = {
        uid: " ".join(tokens(before_text[uid])[:4]) for uid in sorted(before_text) if tokens(before_text[uid])
    }
    found_before = {uid for uid, words in queries.items() if uid in found_by_search(archive, words)}
    assert found_before

    with pytest.raises(DisposalError, match="day 29 of the 30-day waiting period"):
        disposal.execute(archive, cert, as_of=on_day(29))
    assert indexed_uids(archive) == before_uids  # refused: nothing happened

    clock.set(on_day(30))
    report = disposal.execute(archive, cert, as_of=on_day(30))
    destroyed = stub_uids(archive, cert)
    assert destroyed and report.as_dict()["destroyed"] == len(destroyed)
    assert destroyed <= set(listed) and struck not in destroyed and held not in destroyed
    remaining = indexed_uids(archive)
    assert not destroyed & remaining
    assert held in remaining and struck in remaining
    kept = set(report.retained) | set(report.partial) | {struck, held}
    assert before_uids - destroyed - remaining <= set()  # nothing else left the index ...
    assert (before_uids - destroyed) - remaining <= set(report.partial)  # ... but partial records are rebuilt
    assert kept & remaining == kept & (before_uids - destroyed)

    # full text: words of destroyed records no longer find them
    for uid in sorted(destroyed & found_before):
        assert not found_by_search(archive, queries[uid]) & destroyed

    # the store: deleted objects gone, rewrites verified by an independent tool
    with archive.sessions() as session:
        objects = list(
            session.scalars(select(m.DisposalObject).where(m.DisposalObject.certificate_id == cert))
        )
    stored = stored_warcs(archive)
    assert objects and all(o.key not in stored for o in objects)
    rewritten = [o.new_key for o in objects if o.action == "rewrite"]
    assert all(key in stored for key in rewritten)
    paths = []
    for key in rewritten:
        path = tmp_path / key.rsplit("/", 1)[-1]
        path.write_bytes(archive.store.get_bytes(key or ""))
        paths.append(str(path))
    if paths:
        assert warcio_check(paths).returncode == 0

    # stubs: identity, item number, series, dates and digests, no content
    with archive.sessions() as session:
        stub = session.scalars(
            select(m.DestroyedRecord).where(m.DestroyedRecord.certificate_id == cert)
        ).first()
    assert stub is not None
    assert stub.item_number in ("EX-1", "EX-2") and stub.series_title and stub.first_captured_at
    assert stub.captures and all(c["block_digest"].startswith("sha256:") for c in stub.captures)
    assert stub.version_digests and before_text[stub.uid] not in json.dumps(stub.captures)

    # reindex from what remains: nothing comes back, the survivors are rebuilt the same
    survivors = snapshot(archive)
    reindex(archive)
    assert indexed_uids(archive) == remaining
    assert snapshot(archive) == survivors

    result = disposal.verify(archive, cert, as_of=on_day(31))
    assert result.ok, result.problems
    assert disposal.show_certificate(archive, cert)["state"] == "verified"

    # the certificate of destruction verifies with the published public key alone
    document = json.loads(archive.store.get_bytes(result.documents["destruction_certificate"]["key"]))
    public = archive.store.get_bytes(next(archive.store.list("keys/")).key)
    assert verify_document(document, public)
    assert document["records_destroyed"] == len(destroyed)
    assert document["executed_by"] == archive.operator and document["verified_by"] == archive.operator
    assert document["approval"]["reference"] == "LRC-29-114" and document["approval"]["removed"] == [struck]
    document["records_destroyed"] += 1
    assert not verify_document(document, public)

    with archive.sessions() as session:
        assert verify_chain(session) == []
        actions = [a for (a,) in session.execute(select(m.AuditEntry.action).order_by(m.AuditEntry.seq))]
    for action in ("disposal.propose", "disposal.submit", "disposal.approve", "disposal.execute.plan",
                   "disposal.destroy", "disposal.objects-deleted", "disposal.execute", "disposal.verify"):  # fmt: skip
        assert action in actions, action


def test_whole_objects_go_when_everything_in_them_is_due(
    archive: Archive, world: FacebookWorld, clock: FakeClock, tmp_path: Path
) -> None:
    install_schedule(tmp_path, APPROVED.replace(MODERATION_PERIOD, MODERATION_PERIOD.replace("P5Y", "P2Y")))
    capture(archive, world, clock)
    keys = stored_warcs(archive)
    cert = approved_certificate(archive, clock)
    report = disposal.execute(archive, cert, as_of=on_day(30)).as_dict()
    assert sorted(report["objects_deleted"]) == sorted(keys)
    assert not report["objects_rewritten"] and not report["retained"] and not report["partially_destroyed"]
    assert stored_warcs(archive) == set() and indexed_uids(archive) == set()
    assert {info.key.split("/")[0] for info in archive.store.list()} == {"audit", "certificates", "keys"}
    stats = reindex(archive)
    assert stats.files == 0 and indexed_uids(archive) == set()
    assert disposal.verify(archive, cert, as_of=on_day(31)).ok


def test_planning_may_look_ahead_but_execution_judges_each_record_on_its_own_day(
    archive: Archive, world: FacebookWorld, clock: FakeClock
) -> None:
    capture(archive, world, clock)
    cert = approved_certificate(archive, clock, as_of=NOW.date().replace(year=2032))
    listed = {r["id"]: r for r in disposal.show_certificate(archive, cert)["record_list"]}
    moderation = {uid for uid, r in listed.items() if r["item_number"] == "EX-3"}
    assert moderation  # due in 2032, so listed when planning for 2032
    report = disposal.execute(archive, cert, as_of=on_day(30))
    assert set(report.skipped) == moderation
    assert all("at execution: not due until 2032-01-01" in reason for reason in report.skipped.values())
    assert moderation <= indexed_uids(archive)


def test_a_hold_placed_after_approval_wins_at_execution(
    archive: Archive, world: FacebookWorld, clock: FakeClock
) -> None:
    capture(archive, world, clock)
    cert = approved_certificate(archive, clock)
    listed = [r["id"] for r in disposal.show_certificate(archive, cert)["record_list"]]
    late = next(uid for uid in listed if ":" in uid and "_" in uid)
    place_hold(archive, "2029-CV-0002", reason="subpoena received after approval", items=[late])
    report = disposal.execute(archive, cert, as_of=on_day(30))
    assert late in report.skipped and "legal hold for matter 2029-CV-0002" in report.skipped[late]
    assert late in indexed_uids(archive) and late not in stub_uids(archive, cert)


def test_a_rewrite_without_partial_records_repoints_the_index_as_reindex_would(
    archive: Archive, world: FacebookWorld, clock: FakeClock, tmp_path: Path
) -> None:
    # moderation records due with the rest, so only the struck comment's thread stays
    install_schedule(tmp_path, APPROVED.replace(MODERATION_PERIOD, MODERATION_PERIOD.replace("P5Y", "P2Y")))
    capture(archive, world, clock)
    struck, thread = thread_without_media(archive)
    cert = approved_certificate(archive, clock, remove=(struck,))
    report = disposal.execute(archive, cert, as_of=on_day(30))
    assert report.rewritten_objects and not report.reindexed, report.as_dict()
    assert thread <= indexed_uids(archive)  # the struck comment's listing pages keep its thread
    repointed = snapshot(archive)
    reindex(archive)
    assert snapshot(archive) == repointed
    assert disposal.verify(archive, cert, as_of=on_day(31)).ok


def test_verify_names_what_is_wrong(
    archive: Archive, world: FacebookWorld, clock: FakeClock, tmp_path: Path
) -> None:
    capture(archive, world, clock)
    cert = approved_certificate(archive, clock)
    disposal.execute(archive, cert, as_of=on_day(30))
    with archive.sessions() as session:
        gone = session.scalars(
            select(m.DisposalObject.key)
            .where(m.DisposalObject.certificate_id == cert)
            .order_by(m.DisposalObject.key)
        ).first()
    assert gone is not None
    archive.store.put_bytes(gone, b"WARC/1.1 resurrected copy")  # someone restores a backup
    with archive.engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE destroyed_records SET item_number = 'EX-9' WHERE id = (SELECT MIN(id) FROM destroyed_records)"
            )
        )
    result = disposal.verify(archive, cert, as_of=on_day(31))
    assert not result.ok
    problems = " | ".join(result.problems)
    assert f"still stored: {gone}" in problems
    assert "the stubs hash to" in problems
    assert disposal.show_certificate(archive, cert)["state"] == "executed"  # not verified


def test_propose_refuses_the_example_schedule(
    archive: Archive, world: FacebookWorld, clock: FakeClock, tmp_path: Path
) -> None:
    capture(archive, world, clock, nights=1)
    (tmp_path / "retention-schedule.yaml").unlink()
    with pytest.raises(DisposalError, match="EXAMPLE"):
        disposal.propose(archive, as_of=NOW.date(), now=NOW)
