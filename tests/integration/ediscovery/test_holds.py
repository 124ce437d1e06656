"""Legal holds on a real captured archive (SQLite and PostgreSQL, local store): what they cover,
which stored objects they flag, what later captures add, what releasing clears, and the audit trail.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from hp_archive.archive import Archive
from hp_archive.audit import verify_chain
from hp_archive.capture import capture_account
from hp_archive.ediscovery.holds import (
    HoldError,
    held_uids,
    list_holds,
    place_hold,
    release_holds,
    show_matter,
    sync_object_flags,
)
from hp_archive.errors import NotFoundError, ObjectLockedError, QueryError
from hp_archive.index import models as m
from hp_archive.index.reindex import reindex
from hp_archive.index.search import matching_uids, search, show_item
from hp_archive.storage import LocalObjectStore
from tests.support.clock import FakeClock
from tests.support.pipeline import FacebookWorld, facebook_world, make_archive

FAR_FUTURE = datetime(2200, 1, 1, tzinfo=UTC)


@pytest.fixture
def world() -> Iterator[FacebookWorld]:
    with facebook_world(posts=10, comments_per_post=5) as w:
        yield w


@pytest.fixture
def archive(tmp_path: Path, database_url: str, clock: FakeClock) -> Iterator[Archive]:
    arch = make_archive(LocalObjectStore(tmp_path / "store"), database_url, tmp_path / "spool", clock)
    yield arch
    arch.close()


def night(archive: Archive, world: FacebookWorld, clock: FakeClock, *, advance: bool = False) -> None:
    if advance:
        world.scenario.advance()
    clock.set(world.scenario.now())
    result = capture_account(archive, world.account, window_end=world.scenario.now())
    assert result.outcome == "complete", result.error


def flags(archive: Archive) -> dict[str, tuple[bool, bool]]:
    """key -> (index flag, store flag) for every stored WARC."""
    with archive.sessions() as session:
        files = list(session.scalars(select(m.WarcFile)))
    out = {}
    for f in files:
        info = archive.store.head(f.key)
        assert info is not None
        out[f.key] = (f.legal_hold, info.legal_hold)
    return out


def held_keys(archive: Archive) -> set[str]:
    state = flags(archive)
    assert all(index == store for index, store in state.values()), state
    return {key for key, (index, _) in state.items() if index}


def audit(archive: Archive, action: str) -> list[m.AuditEntry]:
    with archive.sessions() as session:
        return list(session.scalars(select(m.AuditEntry).where(m.AuditEntry.action == action)))


def files_with_records_of(archive: Archive, uids: set[str]) -> set[str]:
    """The oracle for object flags: keys of files holding any version or media record of the items."""
    with archive.sessions() as session:
        ids = list(session.scalars(select(m.Item.id).where(m.Item.uid.in_(sorted(uids)))))
        records = set(session.scalars(select(m.ItemVersion.record_id).where(m.ItemVersion.item_id.in_(ids))))
        records |= set(
            session.scalars(
                select(m.Item.media_record_id).where(m.Item.id.in_(ids), m.Item.media_record_id.is_not(None))
            )
        )
        return set(
            session.scalars(
                select(m.WarcFile.key)
                .join(m.WarcRecord, m.WarcRecord.file_id == m.WarcFile.id)
                .where(m.WarcRecord.id.in_(sorted(records)))
            )
        )


def test_a_query_hold_covers_matches_with_their_thread_and_flags_their_objects(
    archive: Archive, world: FacebookWorld, clock: FakeClock
) -> None:
    night(archive, world, clock)
    night(archive, world, clock, advance=True)
    with archive.sessions() as session:
        matched = set(matching_uids(session, "speeding"))
        parents = {i.parent_uid for i in session.scalars(select(m.Item).where(m.Item.uid.in_(matched)))}
    assert matched
    outcome = place_hold(
        archive, "2026-CV-0142", reason="Doe v. Village: preserve speeding complaints", query="speeding",
        actor="counsel@hanoverpark.example",
    )  # fmt: skip
    with archive.sessions() as session:
        held = held_uids(session, matching_uids(session, "NOT platform:x"))
    assert matched <= held
    assert {p for p in parents if p} <= held  # the posts they answer are kept with them
    assert outcome.items["query"] == len(matched)
    # every stored object with a record of a held item is flagged, in the index and the store
    expected = files_with_records_of(archive, held)
    assert held_keys(archive) == expected == set(outcome.objects)
    [entry] = audit(archive, "hold.create")
    assert entry.actor == "counsel@hanoverpark.example"
    assert entry.target == "matter:2026-CV-0142"
    assert entry.params["reason"] == "Doe v. Village: preserve speeding complaints"
    assert entry.params["query"] == "speeding"
    assert sorted(entry.params["items"]) == sorted(held)
    assert sorted(entry.params["objects_flagged"]) == sorted(expected)
    with archive.sessions() as session:
        assert verify_chain(session) == []
        result = search(session, "speeding").results[0]
        shown = show_item(session, result["id"])
    assert result["holds"][0]["matter"] == "2026-CV-0142"
    assert shown["holds"] == result["holds"]


def test_a_query_hold_catches_matching_versions_captured_later(
    archive: Archive, world: FacebookWorld, clock: FakeClock
) -> None:
    night(archive, world, clock)
    outcome = place_hold(archive, "M-1", reason="preserve retractions", query='"never mind"')
    assert sum(outcome.items.values()) == 0 and outcome.objects == []
    night(archive, world, clock, advance=True)  # the night's edits append "never mind"
    with archive.sessions() as session:
        now_matching = set(matching_uids(session, '"never mind"'))
        held = held_uids(session, now_matching)
        covered = show_matter(session, "M-1")
    assert now_matching and held == now_matching
    # both nights' files: the new version is in the second, the first version in the first
    assert held_keys(archive) == files_with_records_of(archive, {i["id"] for i in covered["items"]})
    assert len({key.split("/")[-2] for key in held_keys(archive)}) == 2
    extended = audit(archive, "hold.extend")
    assert extended and all(e.params["matter"] == "M-1" for e in extended)
    assert now_matching <= {uid for e in extended for uid in e.params["items"]}
    assert {i["basis"] for i in covered["items"]} >= {"query", "thread"}


def test_explicit_items_are_held_and_unknown_ones_refused(
    archive: Archive, world: FacebookWorld, clock: FakeClock
) -> None:
    night(archive, world, clock)
    with archive.sessions() as session:
        post = session.scalars(select(m.Item).where(m.Item.kind == "post").order_by(m.Item.uid)).first()
        assert post is not None
    with pytest.raises(NotFoundError, match="facebook:nope"):
        place_hold(archive, "M-2", reason="r", items=[post.uid, "facebook:nope"])
    with archive.sessions() as session:
        assert session.scalar(select(func.count()).select_from(m.Hold)) == 0
    outcome = place_hold(archive, "M-2", reason="named by counsel", items=[post.uid])
    assert outcome.items["item"] == 1
    with archive.sessions() as session:
        assert held_uids(session, [post.uid]) == {post.uid}


def test_release_clears_a_flag_only_when_no_hold_covers_the_object(
    archive: Archive, world: FacebookWorld, clock: FakeClock
) -> None:
    night(archive, world, clock)
    place_hold(archive, "A", reason="first matter", query="speeding")
    place_hold(archive, "B", reason="second matter", query="walnut")
    both = held_keys(archive)
    assert both
    released = release_holds(archive, "A", reason="case dismissed", actor="counsel")
    # the objects also hold records of matter B's items: still flagged
    assert held_keys(archive) == both
    assert released.objects == [] and released.objects_still_held > 0
    with archive.sessions() as session:
        assert held_uids(session, matching_uids(session, "walnut"))
    released = release_holds(archive, "B", reason="settled", actor="counsel")
    assert held_keys(archive) == set()
    assert set(released.objects) == both
    with archive.sessions() as session:
        assert held_uids(session, matching_uids(session, "speeding OR walnut")) == set()
    entries = audit(archive, "hold.release")
    assert [(e.actor, e.params["reason"]) for e in entries] == [
        ("counsel", "case dismissed"),
        ("counsel", "settled"),
    ]
    with pytest.raises(NotFoundError, match="no unreleased hold"):
        release_holds(archive, "B", reason="again")
    with archive.sessions() as session:
        statuses = {(h["matter"], h["status"]) for h in list_holds(session)}
    assert statuses == {("A", "released"), ("B", "released")}


def test_a_held_object_survives_deletion_until_released(
    archive: Archive, world: FacebookWorld, clock: FakeClock
) -> None:
    night(archive, world, clock)
    place_hold(archive, "M-3", reason="litigation", query="speeding")
    key = sorted(held_keys(archive))[0]
    with pytest.raises(ObjectLockedError):
        archive.store.delete(key, as_of=FAR_FUTURE)
    assert archive.store.head(key) is not None
    release_holds(archive, "M-3", reason="over")
    archive.store.delete(key, as_of=FAR_FUTURE)
    assert archive.store.head(key) is None


def test_holds_and_flags_survive_a_reindex(archive: Archive, world: FacebookWorld, clock: FakeClock) -> None:
    night(archive, world, clock)
    place_hold(archive, "M-4", reason="litigation", query="speeding")
    night(archive, world, clock, advance=True)
    before = held_keys(archive)
    with archive.sessions() as session:
        held_before = held_uids(session, matching_uids(session, "NOT platform:x"))
    audit_before = len(audit(archive, "hold.objects"))
    reindex(archive)
    assert held_keys(archive) == before
    with archive.sessions() as session:
        assert held_uids(session, matching_uids(session, "NOT platform:x")) == held_before
    # re-marking files whose store flag is already set adds nothing to the audit log
    assert len(audit(archive, "hold.objects")) == audit_before


def test_sync_restores_a_flag_lost_behind_the_archive_back(
    archive: Archive, world: FacebookWorld, clock: FakeClock
) -> None:
    night(archive, world, clock)
    place_hold(archive, "M-5", reason="litigation", query="speeding")
    key = sorted(held_keys(archive))[0]
    archive.store.set_legal_hold(key, False)
    result = sync_object_flags(archive, actor="records officer")
    assert result["flagged"] == [key]
    assert held_keys(archive)
    assert audit(archive, "hold.sync")[0].actor == "records officer"
    assert sync_object_flags(archive)["flagged"] == []


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"reason": " ", "query": "speeding"}, HoldError, "needs a reason"),
        ({"reason": "r"}, HoldError, "holds nothing"),
        ({"reason": "r", "query": "speeding AND"}, QueryError, "at position 13"),
        ({"reason": "r", "query": "speeding", "matter": "../etc"}, HoldError, "matter id"),
    ],
)
def test_a_hold_that_cannot_be_placed_leaves_nothing_behind(
    archive: Archive, kwargs: dict[str, str], error: type[Exception], message: str
) -> None:
    kwargs = dict(kwargs)  # the parameters are shared by both database runs
    matter = kwargs.pop("matter", "M-6")
    with pytest.raises(error, match=message):
        place_hold(archive, matter, **kwargs)  # type: ignore[arg-type]
    with archive.sessions() as session:
        assert session.scalar(select(func.count()).select_from(m.Matter)) == 0
        assert session.scalar(select(func.count()).select_from(m.Hold)) == 0
