"""The disposal service: what ``hp-archive disposal …`` and the ``hp_disposal`` DAG call.

Every function takes the archive, the certificate id, the dates, the actor and — where the real
time matters — ``as_of``, which only entry points read from the clock. Each transition is
refused by :mod:`hp_archive.retention.certificates` when it may not happen, and otherwise is
committed with its audit entry in one transaction, then mirrored and documented in the store.

* :func:`propose` — the records eligible as of a date (planning may look ahead), as a
  Local Records Disposal Certificate (JSON + PDF). Refused under the packaged example schedule.
* :func:`submit` — the date the certificate was sent to the Commission.
* :func:`approve` — the Commission's reference, date and approver; ``remove`` strikes records
  ("approved as amended").
* :func:`hp_archive.retention.destruction.execute` — the destruction (re-exported here).
* :func:`hp_archive.retention.verify.verify` — the proof, and the certificate of destruction.
* :func:`list_certificates`, :func:`show_certificate`.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from hp_archive.errors import ConfigError, NotFoundError
from hp_archive.index import models as m
from hp_archive.index.db import transaction
from hp_archive.retention import documents as docs
from hp_archive.retention.certificates import (
    CERTIFICATE_ID,
    DisposalError,
    certificate_id,
    check_approve,
    check_submit,
    earliest_execution,
)
from hp_archive.retention.classify import schedule_for
from hp_archive.retention.destruction import ExecutionReport, execute
from hp_archive.retention.eligibility import eligibility
from hp_archive.retention.pdf import disposal_certificate_pdf
from hp_archive.retention.rows import certificate_facts, load_certificate, local_day
from hp_archive.retention.rows import execute as bulk
from hp_archive.retention.verify import VerificationReport, verify

if TYPE_CHECKING:
    from hp_archive.archive import Archive

__all__ = [
    "ExecutionReport",
    "Proposal",
    "VerificationReport",
    "approve",
    "execute",
    "finish_execution",
    "list_certificates",
    "propose",
    "show_certificate",
    "submit",
    "verify",
]

CHUNK = 1000


@dataclass(frozen=True)
class Proposal:
    certificate_id: str
    records: int
    items: list[dict[str, Any]]
    documents: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {
            "certificate_id": self.certificate_id,
            "records": self.records,
            "items": self.items,
            "documents": self.documents,
        }


def _today(archive: Archive, as_of: datetime) -> date:
    return local_day(as_of, archive.timezone)


def propose(
    archive: Archive,
    *,
    as_of: date,
    now: datetime,
    series: str | None = None,
    actor: str | None = None,
) -> Proposal:
    """Propose a certificate for what is eligible on ``as_of`` (which may lie ahead of ``now``)."""
    schedule = schedule_for(archive)
    if schedule.example:
        raise DisposalError(
            "the retention schedule in use is the EXAMPLE, so no disposal certificate can be proposed: "
            "install the department's approved schedule (set example: false) and check it with "
            "'hp-archive retention check'"
        )
    number = None
    if series is not None:
        item = schedule.item_for(series)
        if item is None:
            numbers = ", ".join(i.number for i in schedule.items)
            raise ConfigError(
                f"schedule item {series!r} is not in the retention schedule: use one of {numbers}"
            )
        number = item.number
    who = actor or archive.operator
    today = _today(archive, now)
    with transaction(archive.sessions) as session:
        report = eligibility(session, schedule, as_of=as_of, timezone=archive.timezone, item_number=number)
        eligible = report.eligible
        if not eligible:
            counts = ", ".join(f"{k} {v}" for k, v in report.excluded_counts().items()) or "no records"
            raise DisposalError(
                f"no records are eligible for disposal as of {as_of.isoformat()} ({counts}): see "
                "'hp-archive retention eligible --as-of DATE'"
            )
        cert_id = _next_id(session, today.year)
        groups = [report.groups[k].as_dict() for k in sorted(report.groups)]
        cert = m.DisposalCertificate(
            id=cert_id,
            state="proposed",
            as_of=as_of,
            series_filter=number,
            schedule=schedule.describe(),
            waiting_days=schedule.waiting_period_days,
            summary={"items": groups, "excluded": report.excluded_counts()},
            proposed_at=now,
            proposed_by=who,
            execution={},
            documents={},
        )
        session.add(cert)
        session.flush()
        rows = [
            {
                "certificate_id": cert_id,
                "uid": a.uid,
                "item_number": a.state.item_number,
                "first_date": a.state.record_date,
                "last_date": a.state.last_seen_at,
                "due_on": a.due_on,
                "status": "listed",
                "reason": None,
                "evidence": None,
            }
            for a in eligible
        ]
        for start in range(0, len(rows), CHUNK):
            bulk(session, insert(m.CertificateRecord), rows[start : start + CHUNK])
        archive.record(
            "disposal.propose",
            target=f"certificate:{cert_id}",
            actor=who,
            session=session,
            params={
                "as_of": as_of.isoformat(),
                "series": number,
                "records": len(rows),
                "items": {g["item_number"]: g["quantity"] for g in groups},
                "excluded": report.excluded_counts(),
                "schedule": schedule.describe(),
            },
        )
    archive.mirror_audit()
    stored = _ensure_documents(archive, cert_id)
    return Proposal(cert_id, len(rows), groups, stored)


def _next_id(session: Session, year: int) -> str:
    highest = 0
    for existing in session.scalars(
        select(m.DisposalCertificate.id).where(m.DisposalCertificate.id.like(f"DC-{year:04d}-%"))
    ):
        match = CERTIFICATE_ID.match(existing)
        if match:
            highest = max(highest, int(match.group(2)))
    return certificate_id(year, highest + 1)


def submit(
    archive: Archive, cert_id: str, *, on: date, now: datetime, actor: str | None = None
) -> dict[str, Any]:
    """Record the date the certificate was sent to the Commission (not in the future)."""
    who = actor or archive.operator
    with transaction(archive.sessions) as session:
        cert = load_certificate(session, cert_id, lock=True)
        check_submit(certificate_facts(cert, archive.timezone), on, today=_today(archive, now))
        cert.state = "submitted"
        cert.submitted_on = on
        cert.submitted_at = now
        cert.submitted_by = who
        earliest = earliest_execution(certificate_facts(cert, archive.timezone))
        archive.record(
            "disposal.submit",
            target=f"certificate:{cert_id}",
            actor=who,
            session=session,
            params={
                "submitted_on": on.isoformat(),
                "earliest_destruction": earliest.isoformat() if earliest else None,
            },
        )
    archive.mirror_audit()
    _ensure_documents(archive, cert_id)
    return show_certificate(archive, cert_id)


def approve(
    archive: Archive,
    cert_id: str,
    *,
    reference: str,
    approved_on: date,
    approver: str,
    now: datetime,
    remove: Sequence[str] = (),
    actor: str | None = None,
) -> dict[str, Any]:
    """Record the Commission's approval; ``remove`` lists records it struck (approved as amended)."""
    who = actor or archive.operator
    reference, approver = " ".join(reference.split()), " ".join(approver.split())
    with transaction(archive.sessions) as session:
        cert = load_certificate(session, cert_id, lock=True)
        check_approve(
            certificate_facts(cert, archive.timezone),
            approved_on,
            today=_today(archive, now),
            reference=reference,
            approver=approver,
        )
        struck = sorted(set(remove))
        listed: set[str] = set()
        for start in range(0, len(struck), CHUNK):
            listed.update(
                session.scalars(
                    select(m.CertificateRecord.uid).where(
                        m.CertificateRecord.certificate_id == cert_id,
                        m.CertificateRecord.uid.in_(struck[start : start + CHUNK]),
                    )
                )
            )
        missing = [uid for uid in struck if uid not in listed]
        if missing:
            raise NotFoundError(
                f"record(s) {', '.join(missing[:5])} are not on certificate {cert_id}: "
                f"see 'hp-archive disposal show {cert_id} --json'"
            )
        for start in range(0, len(struck), CHUNK):
            bulk(
                session,
                update(m.CertificateRecord)
                .where(
                    m.CertificateRecord.certificate_id == cert_id,
                    m.CertificateRecord.uid.in_(struck[start : start + CHUNK]),
                )
                .values(
                    status="removed", reason=f"struck by the Commission (approved as amended, {reference})"
                ),
            )
        cert.state = "approved"
        cert.approval_reference = reference
        cert.approved_on = approved_on
        cert.approver = approver
        cert.approval_recorded_at = now
        cert.approval_recorded_by = who
        archive.record(
            "disposal.approve",
            target=f"certificate:{cert_id}",
            actor=who,
            session=session,
            params={
                "reference": reference,
                "approved_on": approved_on.isoformat(),
                "approver": approver,
                "amended": bool(struck),
                "removed": struck,
            },
        )
    archive.mirror_audit()
    _ensure_documents(archive, cert_id)
    return show_certificate(archive, cert_id)


def finish_execution(archive: Archive, cert_id: str, *, as_of: datetime, actor: str) -> None:
    """The last step of an execution: the destruction report and stubs stored, state ``executed``."""
    with archive.sessions() as session:
        cert = load_certificate(session, cert_id)
        if cert.state != "approved" or cert.execution.get("phase") != "reindexed":
            return
        lines = list(docs.stub_lines(session, cert_id))
    data = b"".join(lines)
    stubs = docs.store_bytes(archive, docs.key_for(cert_id, docs.STUBS), data, "application/x-ndjson")
    stubs["list_sha256"] = hashlib.sha256(data).hexdigest()
    with transaction(archive.sessions) as session:
        cert = load_certificate(session, cert_id, lock=True)
        report = docs.destruction_report(session, cert, store_url=archive.store.url, stubs=stubs)
        stored = docs.store_signed(archive, docs.key_for(cert_id, docs.REPORT), report)
        cert.documents = {**cert.documents, "destroyed_records": stubs, "destruction_report": stored}
        cert.state = "executed"
        cert.executed_at = datetime.fromisoformat(cert.execution["started_at"])
        cert.executed_by = cert.execution.get("actor") or actor
        cert.execution = {**cert.execution, "phase": "done"}
        archive.record(
            "disposal.execute",
            target=f"certificate:{cert_id}",
            actor=cert.executed_by,
            session=session,
            params={
                "records_destroyed": report["records_destroyed"],
                "destroyed_by_item": {g["item_number"]: g["records"] for g in report["destroyed"]},
                "not_destroyed": report["not_destroyed"],
                "destroyed_records_sha256": report["destroyed_records_sha256"],
                "objects_deleted": len(report["objects_deleted"]),
                "objects_rewritten": len(report["objects_rewritten"]),
                "destruction_report": stored,
                "finished_at": as_of.isoformat(),
            },
        )
    archive.mirror_audit()


def _ensure_documents(archive: Archive, cert_id: str) -> dict[str, Any]:
    """Write the documents the certificate's state calls for that are not stored yet."""
    with archive.sessions() as session:
        cert = load_certificate(session, cert_id)
        have = dict(cert.documents or {})
        wanted: dict[str, Any] = {}
        if "proposed" not in have:
            document = docs.proposal_document(session, cert)
            wanted["proposed"] = docs.store_signed(archive, docs.key_for(cert_id, docs.PROPOSED), document)
            wanted["proposed_pdf"] = docs.store_bytes(
                archive,
                docs.key_for(cert_id, docs.PROPOSED_PDF),
                disposal_certificate_pdf(document),
                "application/pdf",
            )
        if cert.submitted_on is not None and "submitted" not in have:
            wanted["submitted"] = docs.store_signed(
                archive, docs.key_for(cert_id, docs.SUBMITTED), docs.submission_document(cert)
            )
        if cert.approval_reference is not None and "approved" not in have:
            document = docs.approval_document(session, cert)
            wanted["approved"] = docs.store_signed(archive, docs.key_for(cert_id, docs.APPROVED), document)
            rendering = {**document, "submitted_on": document["submitted_on"]}
            wanted["approved_pdf"] = docs.store_bytes(
                archive,
                docs.key_for(cert_id, docs.APPROVED_PDF),
                disposal_certificate_pdf(rendering),
                "application/pdf",
            )
    if wanted:
        with transaction(archive.sessions) as session:
            cert = load_certificate(session, cert_id, lock=True)
            cert.documents = {**(cert.documents or {}), **wanted}
            have = dict(cert.documents)
    return have


# -- reading -------------------------------------------------------------------------------------


def _summary(cert: m.DisposalCertificate, counts: dict[str, int], timezone: str) -> dict[str, Any]:
    earliest = earliest_execution(certificate_facts(cert, timezone))
    return {
        "certificate_id": cert.id,
        "state": cert.state,
        "as_of": cert.as_of.isoformat(),
        "series": cert.series_filter,
        "records": counts,
        "proposed_at": cert.proposed_at.isoformat(),
        "proposed_by": cert.proposed_by,
        "submitted_on": cert.submitted_on.isoformat() if cert.submitted_on else None,
        "earliest_destruction": earliest.isoformat() if earliest else None,
        "approval_reference": cert.approval_reference,
        "approved_on": cert.approved_on.isoformat() if cert.approved_on else None,
        "approver": cert.approver,
        "executed_at": cert.executed_at.isoformat() if cert.executed_at else None,
        "executed_by": cert.executed_by,
        "verified_at": cert.verified_at.isoformat() if cert.verified_at else None,
        "verified_by": cert.verified_by,
        "execution_phase": (cert.execution or {}).get("phase"),
    }


def _counts(session: Session, cert_id: str | None = None) -> dict[str, dict[str, int]]:
    statement = select(m.CertificateRecord.certificate_id, m.CertificateRecord.status, func.count()).group_by(
        m.CertificateRecord.certificate_id, m.CertificateRecord.status
    )
    if cert_id is not None:
        statement = statement.where(m.CertificateRecord.certificate_id == cert_id)
    out: dict[str, Counter[str]] = {}
    for cid, status, count in session.execute(statement):
        out.setdefault(cid, Counter())[status] = count
    return {cid: dict(sorted(c.items())) for cid, c in out.items()}


def list_certificates(archive: Archive) -> list[dict[str, Any]]:
    with archive.sessions() as session:
        counts = _counts(session)
        return [
            _summary(cert, counts.get(cert.id, {}), archive.timezone)
            for cert in session.scalars(select(m.DisposalCertificate).order_by(m.DisposalCertificate.id))
        ]


def show_certificate(archive: Archive, cert_id: str) -> dict[str, Any]:
    """A certificate with its items, documents, execution and every listed record's status."""
    with archive.sessions() as session:
        cert = session.get(m.DisposalCertificate, cert_id)
        if cert is None:
            raise NotFoundError(
                f"disposal certificate {cert_id!r} does not exist: see 'hp-archive disposal list'"
            )
        data = _summary(cert, _counts(session, cert_id).get(cert_id, {}), archive.timezone)
        data["schedule"] = cert.schedule
        data["waiting_days"] = cert.waiting_days
        data["items"] = cert.summary.get("items", [])
        data["documents"] = cert.documents
        data["execution"] = cert.execution
        data["record_list"] = [
            {"id": row.uid, "item_number": row.item_number, "status": row.status, "reason": row.reason,
             "due_on": row.due_on.isoformat()}
            for row in session.scalars(
                select(m.CertificateRecord)
                .where(m.CertificateRecord.certificate_id == cert_id)
                .order_by(m.CertificateRecord.uid)
            )
        ]  # fmt: skip
        data["stubs"] = session.scalar(
            select(func.count())
            .select_from(m.DestroyedRecord)
            .where(m.DestroyedRecord.certificate_id == cert_id)
        )
    return data
