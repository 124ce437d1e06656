"""Classification at index time (capture and reindex alike), the records officer's reclassification,
events for event-based retention, and the objects' retain-until dates."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from hp_archive.archive import Archive
from hp_archive.audit import verify_document
from hp_archive.errors import ConfigError, NotFoundError
from hp_archive.index import models as m
from hp_archive.index.reindex import reindex
from hp_archive.retention.classify import classify_record, reclassify, schedule_for
from hp_archive.retention.eligibility import eligibility
from hp_archive.retention.events import record_event
from tests.integration.retention.conftest import NOW, capture, install_schedule
from tests.support.clock import FakeClock
from tests.support.pipeline import FacebookWorld


def classes(archive: Archive) -> dict[str, tuple[str, str]]:
    with archive.sessions() as session:
        return {r.uid: (r.item_number, r.source) for r in session.scalars(select(m.RetentionClass))}


def test_every_captured_record_is_classified_by_the_rules(
    archive: Archive, world: FacebookWorld, clock: FakeClock
) -> None:
    capture(archive, world, clock)
    found = classes(archive)
    with archive.sessions() as session:
        items = list(session.scalars(select(m.Item)))
    assert {i.uid for i in items} == set(found)
    for item in items:
        number, source = found[item.uid]
        assert source == "rule"
        if item.kind == "post":
            assert number == "EX-1"
        elif item.kind in ("comment", "reply") and not item.author_is_agency:
            assert number in ("EX-2", "EX-3")
            assert (number == "EX-3") == (item.is_hidden or _was_hidden(archive, item.id))
    assert Counter(n for n, _ in found.values())["EX-3"] > 0  # the scenario hides comments


def _was_hidden(archive: Archive, item_id: int) -> bool:
    with archive.sessions() as session:
        return (
            session.scalar(
                select(m.ChangeEvent.id).where(
                    m.ChangeEvent.item_id == item_id, m.ChangeEvent.kind == "hidden"
                )
            )
            is not None
        )


def test_a_reclassification_is_audited_and_survives_reindex_and_new_rules(
    archive: Archive, world: FacebookWorld, clock: FakeClock
) -> None:
    capture(archive, world, clock)
    uid = next(u for u, (n, _) in sorted(classes(archive).items()) if n == "EX-2")
    result = classify_record(
        archive, uid, "EX-3", reason="the comment was removed by a moderator off-platform"
    )
    assert result["previous"]["item_number"] == "EX-2" and result["item_number"] == "EX-3"
    with archive.sessions() as session:
        entry = session.scalar(select(m.AuditEntry).where(m.AuditEntry.seq == result["audit_seq"]))
    assert entry is not None and entry.action == "retention.classify" and entry.target == uid
    assert entry.params["reason"] == "the comment was removed by a moderator off-platform"
    before = classes(archive)
    reindex(archive)
    assert classes(archive) == before
    assert classes(archive)[uid] == ("EX-3", "manual")
    counts = reclassify(archive)
    assert counts["records"] == len(before) and counts["changed"] == 0
    assert classes(archive)[uid] == ("EX-3", "manual")


def test_reclassification_is_refused_without_what_it_needs(
    archive: Archive, world: FacebookWorld, clock: FakeClock
) -> None:
    capture(archive, world, clock, nights=1)
    uid = next(iter(sorted(classes(archive))))
    with pytest.raises(ConfigError, match="use one of EX-1, EX-2"):
        classify_record(archive, uid, "26.9", reason="x")
    with pytest.raises(ConfigError, match="needs a reason"):
        classify_record(archive, uid, "EX-1", reason="  ")
    with pytest.raises(NotFoundError, match="not in the index"):
        classify_record(archive, "facebook:nope", "EX-1", reason="x")
    # a title works as well as a number
    assert classify_record(archive, uid, "Moderation actions (EXAMPLE)", reason="x")["item_number"] == "EX-3"


def test_stored_objects_are_retained_until_the_earliest_due_date_of_their_records(
    archive: Archive, world: FacebookWorld, clock: FakeClock
) -> None:
    capture(archive, world, clock)
    chicago_midnight = datetime(2029, 1, 1, 6, 0, tzinfo=UTC)  # EX-1/EX-2 of 2026 are due 2029-01-01
    with archive.sessions() as session:
        files = list(session.scalars(select(m.WarcFile)))
    for row in files:
        assert row.retain_until == chicago_midnight
        info = archive.store.head(row.key)
        assert info is not None and info.retain_until == chicago_midnight
    from hp_archive.errors import ObjectLockedError

    with pytest.raises(ObjectLockedError, match="retained until 2029-01-01T06:00:00Z"):
        archive.store.delete(files[0].key, as_of=chicago_midnight - timedelta(seconds=1))


def test_event_based_records_wait_for_their_event(
    archive: Archive, world: FacebookWorld, clock: FakeClock
) -> None:
    case = dataclasses.replace(world.account, id="case-2026-0142", series="investigative")
    investigation = dataclasses.replace(world, account=case)
    capture(archive, investigation, clock, nights=1)
    assert {n for n, _ in classes(archive).values()} == {"EX-5"}
    with archive.sessions() as session:
        keys = set(session.scalars(select(m.RetentionClass.event_key)))
        report = eligibility(
            session, schedule_for(archive), as_of=date(2040, 1, 1), timezone=archive.timezone
        )
    assert keys == {"case-2026-0142"}
    assert report.excluded_counts() == {"event-not-recorded": len(report.assessments)}

    with pytest.raises(ConfigError, match="use one of case-closed"):
        record_event(archive, "case-closd", key="case-2026-0142", on=date(2027, 3, 1), now=NOW)
    with pytest.raises(ConfigError, match="in the future"):
        record_event(archive, "case-closed", key="case-2026-0142", on=date(2029, 2, 2), now=NOW)
    done = record_event(
        archive, "case-closed", key="case-2026-0142", on=date(2027, 3, 1), now=NOW, note="nolle"
    )
    assert done["records"] == len(report.assessments)
    mirror = json.loads(archive.store.get_bytes(done["mirror"]["key"]))
    assert mirror["key"] == "case-2026-0142" and verify_document(mirror)
    with pytest.raises(ConfigError, match="already recorded"):
        record_event(archive, "case-closed", key="case-2026-0142", on=date(2027, 3, 2), now=NOW)
    with archive.sessions() as session:
        due = eligibility(session, schedule_for(archive), as_of=date(2033, 1, 1), timezone=archive.timezone)
        early = eligibility(
            session, schedule_for(archive), as_of=date(2032, 12, 31), timezone=archive.timezone
        )
        locked = {f.retain_until for f in session.scalars(select(m.WarcFile))}
    assert len(due.eligible) == len(report.assessments) and not early.eligible
    assert locked == {datetime(2033, 1, 1, 6, 0, tzinfo=UTC)}  # the event extended the objects' lock


def test_an_example_schedule_never_locks_objects_and_the_approved_one_does_after_reclassify(
    archive: Archive, world: FacebookWorld, clock: FakeClock, tmp_path: Path
) -> None:
    (tmp_path / "retention-schedule.yaml").unlink()  # only the packaged example remains
    capture(archive, world, clock, nights=1)
    assert classes(archive)  # classified under the example's rules ...
    with archive.sessions() as session:
        keys = [f.key for f in session.scalars(select(m.WarcFile))]
    for key in keys:  # ... but no object is locked for years on an example's word
        info = archive.store.head(key)
        assert info is not None and info.retain_until is None
    install_schedule(tmp_path)
    assert reclassify(archive)["objects_relocked"] == len(keys)
    for key in keys:
        info = archive.store.head(key)
        assert info is not None and info.retain_until == datetime(2029, 1, 1, 6, 0, tzinfo=UTC)
