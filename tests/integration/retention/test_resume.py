"""A crash at any step of an execution is finished by running it again, counting nothing twice."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from hp_archive.archive import Archive
from hp_archive.ediscovery.holds import place_hold
from hp_archive.index import models as m
from hp_archive.index.reindex import reindex
from hp_archive.retention import disposal
from hp_archive.retention.certificates import DisposalError
from tests.integration.retention.conftest import (
    approved_certificate,
    capture,
    indexed_uids,
    on_day,
    stored_warcs,
)
from tests.support.clock import FakeClock
from tests.support.pipeline import FacebookWorld, snapshot

STEPS = ["planned", "rewritten", "switched", "deleted", "reindexed", "done"]


class SimulatedCrash(Exception):
    """Stands for the process dying at a checkpoint."""


def audit_count(archive: Archive, action: str) -> int:
    with archive.sessions() as session:
        return (
            session.scalar(
                select(func.count()).select_from(m.AuditEntry).where(m.AuditEntry.action == action)
            )
            or 0
        )


@pytest.mark.parametrize("step", STEPS)
def test_a_crash_at_each_step_is_finished_by_running_again(
    archive: Archive, world: FacebookWorld, clock: FakeClock, step: str
) -> None:
    capture(archive, world, clock)
    with archive.sessions() as session:
        held = session.scalars(
            select(m.Item.uid).where(m.Item.kind == "comment").order_by(m.Item.uid)
        ).first()
    assert held is not None
    place_hold(archive, "2029-CV-0001", reason="litigation", items=[held])  # forces rewrites
    cert = approved_certificate(archive, clock)
    clock.set(on_day(30))
    plan = disposal.execute(archive, cert, as_of=on_day(30), dry_run=True)
    assert plan.rewritten_objects and plan.partial  # every step, reindex included, is exercised
    keys_before = stored_warcs(archive)

    def crash(at: str) -> None:
        if at == step:
            raise SimulatedCrash(at)

    with pytest.raises(SimulatedCrash):
        disposal.execute(archive, cert, as_of=on_day(30), checkpoint=crash)
    if step == "done":
        with pytest.raises(DisposalError, match="is executed"):
            disposal.execute(archive, cert, as_of=on_day(30))
    else:
        assert disposal.show_certificate(archive, cert)["state"] == "approved"
        disposal.execute(archive, cert, as_of=on_day(30, hours=2))

    shown = disposal.show_certificate(archive, cert)
    assert shown["state"] == "executed"
    assert shown["stubs"] == len(plan.would_destroy) == shown["records"]["destroyed"]
    with archive.sessions() as session:
        stubs = list(
            session.scalars(select(m.DestroyedRecord.uid).where(m.DestroyedRecord.certificate_id == cert))
        )
    assert sorted(stubs) == plan.would_destroy  # each once
    for action in (
        "disposal.execute.plan",
        "disposal.destroy",
        "disposal.objects-deleted",
        "disposal.execute",
    ):
        assert audit_count(archive, action) == 1, action
    assert audit_count(archive, "disposal.rewrite") == len(plan.rewritten_objects)
    rewritten = {o["key"] for o in plan.rewritten_objects}
    assert not (set(plan.deleted_objects) | rewritten) & stored_warcs(archive)
    assert len(stored_warcs(archive)) == len(keys_before) - len(plan.deleted_objects)
    assert not set(plan.would_destroy) & indexed_uids(archive)
    assert held in indexed_uids(archive)
    survivors = snapshot(archive)
    reindex(archive)
    assert snapshot(archive) == survivors
    result = disposal.verify(archive, cert, as_of=on_day(31))
    assert result.ok, result.problems


def test_a_hold_placed_during_execution_stops_it_before_anything_is_destroyed(
    archive: Archive, world: FacebookWorld, clock: FakeClock
) -> None:
    capture(archive, world, clock)
    with archive.sessions() as session:
        held = session.scalars(
            select(m.Item.uid).where(m.Item.kind == "comment").order_by(m.Item.uid)
        ).first()
    assert held is not None
    place_hold(archive, "2029-CV-0001", reason="litigation", items=[held])
    cert = approved_certificate(archive, clock)
    clock.set(on_day(30))
    before_keys, before_uids = stored_warcs(archive), indexed_uids(archive)

    def crash(at: str) -> None:
        if at == "rewritten":
            raise SimulatedCrash(at)

    with pytest.raises(SimulatedCrash):
        disposal.execute(archive, cert, as_of=on_day(30), checkpoint=crash)
    with archive.sessions() as session:
        planned = sorted(
            session.scalars(
                select(m.CertificateRecord.uid).where(
                    m.CertificateRecord.certificate_id == cert, m.CertificateRecord.status == "destroying"
                )
            )
        )
    late = planned[0]
    place_hold(archive, "2029-CV-0002", reason="a subpoena arrived mid-execution", items=[late])
    with pytest.raises(DisposalError, match=f"record {late} came under legal hold .* nothing was destroyed"):
        disposal.execute(archive, cert, as_of=on_day(30, hours=1))
    assert stored_warcs(archive) == before_keys  # the rewritten copies are gone again
    assert indexed_uids(archive) == before_uids
    assert audit_count(archive, "disposal.execute.abandoned") == 1
    report = disposal.execute(archive, cert, as_of=on_day(30, hours=2))
    assert late in report.skipped and late in indexed_uids(archive)
    assert disposal.verify(archive, cert, as_of=on_day(31)).ok
