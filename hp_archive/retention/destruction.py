"""Executing an approved disposal certificate: destruction that is complete, and only that.

Execution is written ahead in the database and resumable at every step; re-running
``execute`` after a crash finishes the job and counts nothing twice (counts are read back from
the stubs, never accumulated):

``planned``    each listed record re-checked at the execution time (still classified the same,
               due, not held); the evidence read from the stored files; which objects are
               deleted whole and which rewritten (:mod:`hp_archive.retention.plan`). Objects
               still retained by Object Lock refuse the execution here, before anything happens.
``rewritten``  every rewritten object written under a new key (write-once, SHA-256 verified),
               its legal-hold flag carried over.
``switched``   one transaction: holds re-checked once more (locked against new ones), a stub
               written for each destroyed record, its index rows, versions, events and full-text
               entries deleted, survivors repointed to the rewritten objects, revisits turned into
               full records, capture runs updated; the rewrites audited.
``deleted``    the old objects deleted, every version of each.
``reindexed``  only when a record was partially destroyed: the derived index is rebuilt from
               the stored WARCs so it shows exactly what remains.
``done``       the destruction report (signed JSON and the stubs) stored under ``certificates/``,
               the certificate ``executed``.

If a record comes under hold, or is captured again, before ``switched`` commits, the plan is
discarded (objects already rewritten are removed: nothing refers to them) and nothing is
destroyed; running ``execute`` again plans afresh.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, select, update

from hp_archive.errors import ObjectNotFoundError
from hp_archive.index import models as m
from hp_archive.index.db import transaction
from hp_archive.retention.certificates import DisposalError, check_execute
from hp_archive.retention.classify import lock_file, schedule_for
from hp_archive.retention.plan import FilePlan
from hp_archive.retention.planning import Planned, persist_plan, plan_execution
from hp_archive.retention.rewrite import rewrite_file, rewritten_filename
from hp_archive.retention.rows import certificate_facts, load_certificate, local_day
from hp_archive.retention.rows import execute as bulk
from hp_archive.retention.switch import Replan, switch_index
from hp_archive.warc.members import LAYOUT_MEMBERS, read_stored_record
from hp_archive.warc.naming import WARC_PREFIX
from hp_archive.warc.reader import StoredRecord

if TYPE_CHECKING:
    from hp_archive.archive import Archive

log = logging.getLogger(__name__)

Checkpoint = Callable[[str], None]
CHUNK = 500
REWRITE_NAMESPACE = uuid.UUID("8d0f6b1e-3c2a-4f6e-9a0b-646973706f73")
PHASES = ("planned", "rewritten", "switched", "deleted", "reindexed", "done")


@dataclass
class ExecutionReport:
    """What an execution did (or, with ``dry_run``, would do)."""

    certificate_id: str
    dry_run: bool
    as_of: datetime
    bypass_governance: bool = False
    destroyed: Counter[str] = field(default_factory=Counter)  # by item number
    partial: dict[str, str] = field(default_factory=dict)
    retained: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    deleted_objects: list[str] = field(default_factory=list)
    rewritten_objects: list[dict[str, Any]] = field(default_factory=list)
    converted: int = 0
    reindexed: bool = False
    state: str = ""

    would_destroy: list[str] = field(default_factory=list)  # dry run: the records, by id

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "certificate_id": self.certificate_id,
            "dry_run": self.dry_run,
            "as_of": self.as_of.isoformat(),
            "state": self.state,
            "bypass_governance": self.bypass_governance,
            "destroyed": sum(self.destroyed.values()),
            "destroyed_by_item": dict(sorted(self.destroyed.items())),
            "partially_destroyed": [{"id": k, "reason": v} for k, v in sorted(self.partial.items())],
            "retained": [{"id": k, "reason": v} for k, v in sorted(self.retained.items())],
            "skipped": [{"id": k, "reason": v} for k, v in sorted(self.skipped.items())],
            "objects_deleted": self.deleted_objects,
            "objects_rewritten": self.rewritten_objects,
            "revisits_converted": self.converted,
            "index_rebuilt": self.reindexed,
        }
        if self.dry_run:
            data["would_destroy"] = self.would_destroy
        return data


# -- the entry point -----------------------------------------------------------------------------


def execute(
    archive: Archive,
    certificate_id: str,
    *,
    as_of: datetime,
    actor: str | None = None,
    dry_run: bool = False,
    bypass_governance: bool = False,
    checkpoint: Checkpoint | None = None,
) -> ExecutionReport:
    """Destroy the approved records of a certificate as of ``as_of`` (the real clock, from the CLI).

    Refused before approval and before submission plus the waiting period. Resumable: call again
    after any failure. ``dry_run`` plans and reports without changing anything.
    """
    step = checkpoint or (lambda _name: None)
    who = actor or archive.operator
    report = ExecutionReport(certificate_id, dry_run, as_of, bypass_governance)
    with archive.sessions() as session:
        cert = load_certificate(session, certificate_id)
        check_execute(certificate_facts(cert, archive.timezone), today=local_day(as_of, archive.timezone))
        phase = (cert.execution or {}).get("phase")
        stalled = session.scalar(
            select(m.CaptureRun.id).where(m.CaptureRun.status.in_(("spooled", "stored"))).limit(1)
        )
    if stalled is not None and phase is None:
        raise DisposalError(
            f"capture run {stalled} is unfinished and its spool may hold copies of records: run "
            "'hp-archive capture' (it repairs runs), then execute again"
        )
    if dry_run:
        if phase is not None:
            raise DisposalError(
                f"certificate {certificate_id} is being executed: run execute without --dry-run"
            )
        planned = plan_execution(archive, certificate_id, as_of, bypass_governance)
        _fill_report(report, planned)
        report.state = "approved"
        return report
    if phase is None:
        planned = plan_execution(archive, certificate_id, as_of, bypass_governance)
        persist_plan(archive, certificate_id, planned, as_of, who, bypass_governance)
        step("planned")
    _rewrite_objects(archive, certificate_id, step)
    try:
        switch_index(archive, certificate_id, as_of, who)
    except Replan as exc:
        _discard_plan(archive, certificate_id, str(exc), who, as_of)
        raise DisposalError(str(exc)) from None
    step("switched")
    _delete_objects(archive, certificate_id, as_of, who, step)
    _rebuild_if_needed(archive, certificate_id, step)
    from hp_archive.retention.disposal import finish_execution

    finish_execution(archive, certificate_id, as_of=as_of, actor=who)
    step("done")
    return _report_from_db(archive, certificate_id, report)


def _fill_report(report: ExecutionReport, planned: Planned) -> None:
    plan = planned.plan
    report.partial = dict(plan.partial)
    report.retained = dict(plan.retained)
    report.skipped = dict(planned.skipped)
    report.would_destroy = sorted(plan.destroyed)
    report.deleted_objects = sorted(f.key for f in plan.deletes)
    report.rewritten_objects = [
        {"key": f.key, "kept": len(f.keep), "destroyed": len(f.destroy), "converted": len(f.convert)}
        for f in sorted(plan.rewrites, key=lambda f: f.key)
    ]
    report.converted = sum(len(f.convert) for f in plan.files.values())
    report.reindexed = bool(plan.partial)
    report.destroyed = Counter(planned.listed[uid] for uid in plan.destroyed)


# -- rewritten -----------------------------------------------------------------------------------


def _rewrite_objects(archive: Archive, certificate_id: str, step: Checkpoint) -> None:
    with archive.sessions() as session:
        cert = load_certificate(session, certificate_id)
        started = datetime.fromisoformat(cert.execution["started_at"])
        pending = list(
            session.scalars(
                select(m.DisposalObject)
                .where(
                    m.DisposalObject.certificate_id == certificate_id,
                    m.DisposalObject.action == "rewrite",
                    m.DisposalObject.status == "planned",
                )
                .order_by(m.DisposalObject.key)
            )
        )
    work = archive.spool_dir / "disposal" / certificate_id
    for row in pending:
        work.mkdir(parents=True, exist_ok=True)
        folder, filename = row.key.rsplit("/", 1)
        new_name = rewritten_filename(filename, certificate_id)
        new_key = f"{folder}/{new_name}"
        with _local(archive, row.key) as source:
            result = rewrite_file(
                source,
                work / new_name,
                old_key=row.key,
                old_sha256=row.sha256,
                new_filename=new_name,
                keep=row.plan["keep"],
                convert=row.plan["convert"],
                original=lambda rid: _read_original(archive, rid),
                warcinfo_id=f"<urn:uuid:{uuid.uuid5(REWRITE_NAMESPACE, f'{certificate_id}|{row.key}')}>",
                date=started,
                certificate_id=certificate_id,
            )
        archive.store.put_file(new_key, result.path, sha256=result.sha256, content_type="application/warc")
        if row.legal_hold and archive.store.object_lock_enabled:
            archive.store.set_legal_hold(new_key, True)
        result.path.unlink()
        with transaction(archive.sessions) as session:
            stored = session.get(m.DisposalObject, row.id)
            assert stored is not None
            stored.new_key = new_key
            stored.new_sha256 = result.sha256
            stored.new_size = result.size
            stored.plan = {**stored.plan, "written": [r.as_dict() for r in result.records]}
            stored.status = "written"
        step("rewritten")
    shutil.rmtree(work, ignore_errors=True)
    with transaction(archive.sessions) as session:
        cert = load_certificate(session, certificate_id, lock=True)
        if cert.execution.get("phase") == "planned":
            cert.execution = {**cert.execution, "phase": "rewritten"}


@contextlib.contextmanager
def _local(archive: Archive, key: str) -> Iterator[Path]:
    path = archive.store.local_path(key)
    if path is not None:
        yield path
        return
    with archive.store.downloaded(key) as (downloaded, _info):
        yield downloaded


def _read_original(archive: Archive, record_id: str) -> StoredRecord:
    with archive.sessions() as session:
        row = session.execute(
            select(m.WarcFile.key, m.WarcFile.layout, m.WarcRecord.offset, m.WarcRecord.length)
            .join(m.WarcFile, m.WarcFile.id == m.WarcRecord.file_id)
            .where(m.WarcRecord.record_id == record_id)
        ).first()
    if row is None:
        raise DisposalError(
            f"the original {record_id} of a revisit is not in the index: run 'hp-archive reindex'"
        )
    return read_stored_record(
        row.layout or LAYOUT_MEMBERS,
        row.offset,
        row.length,
        read_range=lambda o, n: archive.store.get_range(row.key, o, n),
        open_stream=lambda: archive.store.open(row.key),
    )


# -- deleted -------------------------------------------------------------------------------------


def _delete_objects(
    archive: Archive, certificate_id: str, as_of: datetime, actor: str, step: Checkpoint
) -> None:
    with archive.sessions() as session:
        cert = load_certificate(session, certificate_id)
        if cert.execution.get("phase") != "switched":
            return
        bypass = bool(cert.execution.get("bypass_governance"))
        pending = list(
            session.scalars(
                select(m.DisposalObject)
                .where(
                    m.DisposalObject.certificate_id == certificate_id, m.DisposalObject.status == "switched"
                )
                .order_by(m.DisposalObject.key)
            )
        )
    for obj in pending:
        if not obj.key.startswith(WARC_PREFIX + "/"):
            raise DisposalError(f"{obj.key} is outside {WARC_PREFIX}/: disposal never touches it")
        if obj.legal_hold and archive.store.object_lock_enabled:
            # the new object carries the flag since it was written; the old one goes
            with contextlib.suppress(ObjectNotFoundError):
                archive.store.set_legal_hold(obj.key, False)
        archive.store.delete(obj.key, as_of=as_of, bypass_governance=bypass)
        with transaction(archive.sessions) as session:
            row = session.get(m.DisposalObject, obj.id)
            assert row is not None
            row.status = "deleted"
        step("deleted")
    _lock_rewritten(archive, certificate_id)
    with transaction(archive.sessions) as session:
        cert = load_certificate(session, certificate_id, lock=True)
        keys = sorted(
            session.scalars(
                select(m.DisposalObject.key).where(m.DisposalObject.certificate_id == certificate_id)
            )
        )
        cert.execution = {**cert.execution, "phase": "deleted"}
        archive.record(
            "disposal.objects-deleted",
            target=f"certificate:{certificate_id}",
            actor=actor,
            session=session,
            params={"objects": keys, "bypass_governance": bypass, "store": archive.store.url},
        )
    archive.mirror_audit()


def _lock_rewritten(archive: Archive, certificate_id: str) -> None:
    """Rewritten objects get the retain-until of the records they keep (extend only)."""
    schedule = schedule_for(archive)
    with transaction(archive.sessions) as session:
        keys = session.scalars(
            select(m.DisposalObject.new_key).where(
                m.DisposalObject.certificate_id == certificate_id, m.DisposalObject.new_key.is_not(None)
            )
        ).all()
        for row in session.scalars(
            select(m.WarcFile).where(m.WarcFile.key.in_([k for k in keys if k]))
        ).all():
            lock_file(archive, session, schedule, row)


# -- reindexed -----------------------------------------------------------------------------------


def _rebuild_if_needed(archive: Archive, certificate_id: str, step: Checkpoint) -> None:
    with archive.sessions() as session:
        cert = load_certificate(session, certificate_id)
        execution = dict(cert.execution)
    if execution.get("phase") != "deleted":
        return
    if execution.get("reindex"):
        from hp_archive.index.reindex import reindex

        reindex(archive)
    with transaction(archive.sessions) as session:
        cert = load_certificate(session, certificate_id, lock=True)
        cert.execution = {**cert.execution, "phase": "reindexed"}
    step("reindexed")


# -- discarding a plan ---------------------------------------------------------------------------


def _discard_plan(archive: Archive, certificate_id: str, why: str, actor: str, as_of: datetime) -> None:
    """Undo a plan whose switch was refused: remove rewritten copies, list the records again."""
    with archive.sessions() as session:
        written = [
            key
            for key in session.scalars(
                select(m.DisposalObject.new_key).where(
                    m.DisposalObject.certificate_id == certificate_id, m.DisposalObject.new_key.is_not(None)
                )
            )
            if key
        ]
        indexed = set(session.scalars(select(m.WarcFile.key).where(m.WarcFile.key.in_(written))))
    removed = []
    for key in written:
        if key in indexed:
            continue  # never: a copy is indexed only by the switch that was refused
        info = archive.store.head(key)
        if info is not None and info.legal_hold and archive.store.object_lock_enabled:
            archive.store.set_legal_hold(key, False)  # a copy; the original keeps its flag
        archive.store.delete(key, as_of=as_of)
        removed.append(key)
    with transaction(archive.sessions) as session:
        cert = load_certificate(session, certificate_id, lock=True)
        bulk(session, delete(m.DisposalObject).where(m.DisposalObject.certificate_id == certificate_id))
        bulk(
            session,
            update(m.CertificateRecord)
            .where(
                m.CertificateRecord.certificate_id == certificate_id, m.CertificateRecord.status != "removed"
            )
            .values(status="listed", reason=None, evidence=None),
        )
        cert.execution = {}
        archive.record(
            "disposal.execute.abandoned",
            target=f"certificate:{certificate_id}",
            actor=actor,
            session=session,
            params={"reason": why, "copies_removed": removed},
        )
    archive.mirror_audit()


def _report_from_db(archive: Archive, certificate_id: str, report: ExecutionReport) -> ExecutionReport:
    with archive.sessions() as session:
        cert = load_certificate(session, certificate_id)
        report.state = cert.state
        report.bypass_governance = bool(cert.execution.get("bypass_governance"))
        report.reindexed = bool(cert.execution.get("reindex"))
        report.destroyed = Counter(
            dict(
                session.execute(
                    select(m.DestroyedRecord.item_number, func.count())
                    .where(m.DestroyedRecord.certificate_id == certificate_id)
                    .group_by(m.DestroyedRecord.item_number)
                ).all()
            )
        )
        for row in session.scalars(
            select(m.CertificateRecord).where(
                m.CertificateRecord.certificate_id == certificate_id,
                m.CertificateRecord.status.in_(("partial", "retained", "skipped")),
            )
        ):
            target = {"partial": report.partial, "retained": report.retained, "skipped": report.skipped}[
                row.status
            ]
            target[row.uid] = row.reason or ""
        for obj in session.scalars(
            select(m.DisposalObject)
            .where(m.DisposalObject.certificate_id == certificate_id)
            .order_by(m.DisposalObject.key)
        ):
            if obj.action == "delete":
                report.deleted_objects.append(obj.key)
            else:
                report.rewritten_objects.append(
                    {
                        "key": obj.key,
                        "new_key": obj.new_key,
                        "kept": len(obj.plan.get("keep", [])),
                        "destroyed": len(obj.plan.get("destroy", [])),
                        "converted": len(obj.plan.get("convert", {})),
                    }
                )
                report.converted += len(obj.plan.get("convert", {}))
    return report


__all__ = ["PHASES", "ExecutionReport", "FilePlan", "execute", "local_day"]
