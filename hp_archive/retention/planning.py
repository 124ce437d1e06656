"""Planning an execution: each listed record re-checked, the evidence read, the plan written ahead.

:func:`plan_execution` re-checks every record still listed on the certificate at the execution
time — still classified under the same item, due, not held — reads the evidence of those that
pass from the stored files (:mod:`hp_archive.retention.evidence`), applies the rules of
:mod:`hp_archive.retention.plan`, adds the revisits elsewhere that must become full records, and
refuses (before anything changes) when the store would refuse a deletion: Object Lock retention
not yet passed without the governance bypass, or a stale legal-hold flag.
:func:`persist_plan` writes the plan ahead in one audited transaction: each record's fate, the
objects to delete or rewrite, and when each record was last observed (a later capture voids the plan).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from hp_archive.index import models as m
from hp_archive.index.db import transaction
from hp_archive.retention.certificates import DisposalError
from hp_archive.retention.classify import event_dates, schedule_for
from hp_archive.retention.eligibility import assess, hold_matters, record_states
from hp_archive.retention.evidence import EvidenceReader, candidate_files
from hp_archive.retention.plan import DestructionPlan, plan_destruction
from hp_archive.retention.rows import execute as bulk
from hp_archive.retention.rows import load_certificate, local_day
from hp_archive.retention.switch import seen_until
from hp_archive.warc.naming import WARC_PREFIX

if TYPE_CHECKING:
    from hp_archive.archive import Archive

CHUNK = 500


@dataclass
class Planned:
    plan: DestructionPlan
    listed: dict[str, str]  # uid -> item number
    skipped: dict[str, str]  # uid -> why it is no longer destroyed
    seen: dict[str, str]  # uid -> when it was last observed (a change means a new capture)


def plan_execution(archive: Archive, certificate_id: str, as_of: datetime, bypass: bool) -> Planned:
    """Re-check every listed record at ``as_of``; read the evidence of those passing; plan."""
    schedule = schedule_for(archive)
    today = local_day(as_of, archive.timezone)
    with archive.sessions() as session:
        listed = {
            row.uid: row.item_number
            for row in session.scalars(
                select(m.CertificateRecord).where(
                    m.CertificateRecord.certificate_id == certificate_id,
                    m.CertificateRecord.status == "listed",
                )
            )
        }
        states = record_states(session, listed)
        events = event_dates(session)
        holds = hold_matters(session, listed)
        skipped: dict[str, str] = {}
        approved: set[str] = set()
        for uid, number in listed.items():
            state = states.get(uid)
            if state is None:
                skipped[uid] = _gone_reason(session, uid)
                continue
            if state.item_number != number:
                skipped[uid] = (
                    f"reclassified from item {number} to {state.item_number or 'none'} after the "
                    "certificate was proposed: propose it again under its new item"
                )
                continue
            verdict = assess(
                schedule, state, as_of=today, events=events, holds=holds, timezone=archive.timezone
            )
            if not verdict.eligible:
                skipped[uid] = "at execution: " + "; ".join(r.text for r in verdict.reasons)
                continue
            approved.add(uid)
        seen = seen_until(session, approved)  # before reading: a later capture must show as a change
        files = candidate_files(session, approved) if approved else []
        contents = EvidenceReader(archive, session).read(files)
        plan = plan_destruction(contents, approved)
        _add_outside_conversions(session, plan, contents)
        _check_object_locks(archive, session, plan, as_of, bypass)
    return Planned(plan, listed, skipped, seen)


def _gone_reason(session: Session, uid: str) -> str:
    stub = session.scalar(
        select(m.DestroyedRecord.certificate_id).where(m.DestroyedRecord.uid == uid).limit(1)
    )
    if stub is not None:
        return f"already destroyed under certificate {stub}"
    return "no longer in the index"


def _add_outside_conversions(session: Session, plan: DestructionPlan, contents: Sequence[Any]) -> None:
    """Revisits in files that are not candidates but refer to records that go."""
    if not plan.destroyed_records:
        return
    evidence_of = {r.record_id: r.evidence for c in contents for r in c.records}
    found: list[tuple[str, str, str]] = []
    destroyed = sorted(plan.destroyed_records)
    for start in range(0, len(destroyed), CHUNK):
        chunk = destroyed[start : start + CHUNK]
        for key, record_id, refers_to in session.execute(
            select(m.WarcFile.key, m.WarcRecord.record_id, m.WarcRecord.refers_to)
            .join(m.WarcFile, m.WarcFile.id == m.WarcRecord.file_id)
            .where(m.WarcRecord.refers_to.in_(chunk), m.WarcRecord.rec_type == "revisit")
        ):
            if key not in plan.files and refers_to:
                found.append((key, record_id, refers_to))
    if not found:
        return
    plan.add_conversions(found, evidence_of)
    for key in {k for k, _, _ in found}:
        file_plan = plan.files[key]
        if not file_plan.keep:
            file_plan.keep = list(
                session.scalars(
                    select(m.WarcRecord.record_id)
                    .join(m.WarcFile, m.WarcFile.id == m.WarcRecord.file_id)
                    .where(m.WarcFile.key == key)
                    .order_by(m.WarcRecord.offset)
                )
            )


def _check_object_locks(
    archive: Archive, session: Session, plan: DestructionPlan, as_of: datetime, bypass: bool
) -> None:
    """Refuse now — before anything changes — if the store would refuse a deletion later."""
    for file_plan in [*plan.deletes, *plan.rewrites]:
        if not file_plan.key.startswith(WARC_PREFIX + "/"):
            raise DisposalError(f"{file_plan.key} is outside {WARC_PREFIX}/: disposal never touches it")
        info = archive.store.head(file_plan.key)
        if info is None:
            raise DisposalError(
                f"object {file_plan.key} is in the index but missing from the store: run "
                "'hp-archive fixity' and resolve it before disposal"
            )
        if info.legal_hold and file_plan.action == "delete":
            raise DisposalError(
                f"object {file_plan.key} carries a legal-hold flag although no hold covers its "
                "records: run 'hp-archive hold sync', then execute again"
            )
        if info.retain_until is not None and info.retain_until > as_of and not bypass:
            raise DisposalError(
                f"object {file_plan.key} is retained by Object Lock until "
                f"{info.retain_until.isoformat()}: execute on or after that date, or pass "
                "--bypass-governance (GOVERNANCE mode only; audited)"
            )


def persist_plan(
    archive: Archive, certificate_id: str, planned: Planned, as_of: datetime, actor: str, bypass: bool
) -> None:
    plan, skipped, seen = planned.plan, planned.skipped, planned.seen
    with transaction(archive.sessions) as session:
        cert = load_certificate(session, certificate_id, lock=True)
        if (cert.execution or {}).get("phase") is not None:
            raise DisposalError(f"certificate {certificate_id} is already being executed: run execute again")
        updates: list[dict[str, Any]] = []
        for uid in plan.destroyed:
            updates.append(
                {"uid": uid, "status": "destroying", "reason": None,
                 "evidence": {"records": sorted(plan.evidence.get(uid, [])), "seen": seen.get(uid)}}
            )  # fmt: skip
        for uid, reason in plan.partial.items():
            updates.append(
                {"uid": uid, "status": "partial", "reason": reason,
                 "evidence": {"records": sorted(r for r in plan.evidence.get(uid, [])
                                                if r in plan.destroyed_records), "seen": seen.get(uid)}}
            )  # fmt: skip
        for uid, reason in plan.retained.items():
            updates.append({"uid": uid, "status": "retained", "reason": reason, "evidence": None})
        for uid, reason in skipped.items():
            updates.append({"uid": uid, "status": "skipped", "reason": reason, "evidence": None})
        for start in range(0, len(updates), CHUNK):
            bulk(
                session,
                update(m.CertificateRecord),
                [{"certificate_id": certificate_id, **row} for row in updates[start : start + CHUNK]],
            )
        held_files = {
            row.key: row.legal_hold
            for row in session.scalars(select(m.WarcFile).where(m.WarcFile.key.in_(list(plan.files))))
        }
        rows = []
        for file_plan in plan.files.values():
            if file_plan.action == "keep":
                continue
            row = session.scalar(select(m.WarcFile).where(m.WarcFile.key == file_plan.key))
            assert row is not None
            store_info = archive.store.head(file_plan.key)
            rows.append(
                {
                    "certificate_id": certificate_id,
                    "key": file_plan.key,
                    "action": file_plan.action,
                    "sha256": row.sha256,
                    "size": row.size,
                    "legal_hold": bool(held_files.get(file_plan.key))
                    or bool(store_info is not None and store_info.legal_hold),
                    "plan": {
                        "keep": file_plan.keep if file_plan.action == "rewrite" else [],
                        "destroy": file_plan.destroy,
                        "convert": file_plan.convert,
                    },
                    "status": "planned",
                }
            )
        for start in range(0, len(rows), CHUNK):
            bulk(session, insert(m.DisposalObject), rows[start : start + CHUNK])
        counts = {
            "destroying": len(plan.destroyed),
            "partial": len(plan.partial),
            "retained": len(plan.retained),
            "skipped": len(skipped),
            "objects_deleted": len(plan.deletes),
            "objects_rewritten": len(plan.rewrites),
            "revisits_converted": sum(len(f.convert) for f in plan.files.values()),
        }
        cert.execution = {
            "phase": "planned",
            "started_at": as_of.isoformat(),
            "actor": actor,
            "bypass_governance": bypass,
            "reindex": bool(plan.partial),
            "counts": counts,
        }
        archive.record(
            "disposal.execute.plan",
            target=f"certificate:{certificate_id}",
            actor=actor,
            session=session,
            params={
                **counts,
                "bypass_governance": bypass,
                "delete": sorted(f.key for f in plan.deletes),
                "rewrite": sorted(f.key for f in plan.rewrites),
                "skipped": dict(sorted(skipped.items())[:1000]),
            },
        )
    archive.mirror_audit()
