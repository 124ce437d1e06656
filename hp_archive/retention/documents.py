"""The certificates' documents: signed JSON (authoritative) and PDF renderings, in the store.

Everything a certificate produces is written under ``certificates/<id>/`` — a prefix no disposal
ever touches (destruction only deletes keys under ``warcs/``) — write-once, and each JSON is
signed with the archive's Ed25519 key (:meth:`hp_archive.audit.SigningKey.sign_document`), so it
verifies with the published public key alone. Documents are built only from what the database
holds, deterministically, so a step interrupted after writing one writes the same bytes again.

``destroyed-records.jsonl`` holds one canonical JSON line per stub, sorted by record id; its
SHA-256 is the *digest of the full list of destroyed records* a certificate of destruction names.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hp_archive.audit import canonical_json
from hp_archive.index import models as m

if TYPE_CHECKING:
    from hp_archive.archive import Archive

CERTIFICATES_PREFIX = "certificates/"
PROPOSED = "disposal-certificate.json"
PROPOSED_PDF = "disposal-certificate.pdf"
SUBMITTED = "submitted.json"
APPROVED = "approved.json"
APPROVED_PDF = "disposal-certificate-approved.pdf"
REPORT = "destruction-report.json"
STUBS = "destroyed-records.jsonl"
DESTRUCTION = "certificate-of-destruction.json"
DESTRUCTION_PDF = "certificate-of-destruction.pdf"


def key_for(certificate_id: str, name: str) -> str:
    return f"{CERTIFICATES_PREFIX}{certificate_id}/{name}"


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def store_signed(archive: Archive, key: str, document: Mapping[str, Any]) -> dict[str, str]:
    """Sign and store a JSON document (write-once); its key and the stored bytes' SHA-256."""
    data = canonical_json(archive.signing_key.sign_document(document))
    archive.store.put_bytes(key, data, content_type="application/json")
    return {"key": key, "sha256": hashlib.sha256(data).hexdigest()}


def store_bytes(archive: Archive, key: str, data: bytes, content_type: str) -> dict[str, str]:
    archive.store.put_bytes(key, data, content_type=content_type)
    return {"key": key, "sha256": hashlib.sha256(data).hexdigest()}


# -- stubs ---------------------------------------------------------------------------------------


def stub_document(stub: Any) -> dict[str, Any]:
    """A destroyed record's stub as it is listed (no content: identifiers, dates, digests)."""
    return {
        "id": stub.uid,
        "certificate_id": stub.certificate_id,
        "item_number": stub.item_number,
        "series_title": stub.series_title,
        "platform": stub.platform,
        "account": stub.account_id,
        "kind": stub.kind,
        "created_at": _iso(stub.created_at),
        "first_captured_at": _iso(stub.first_captured_at),
        "last_captured_at": _iso(stub.last_captured_at),
        "version_digests": list(stub.version_digests or []),
        "captures": list(stub.captures or []),
        "destroyed_at": _iso(stub.destroyed_at),
    }


def stub_lines(session: Session, certificate_id: str) -> Iterator[bytes]:
    """The canonical list of a certificate's stubs, one JSON line each, sorted by record id."""
    for stub in _stubs(session, certificate_id):
        yield canonical_json(stub_document(stub)) + b"\n"


def _stubs(session: Session, certificate_id: str) -> Iterator[Any]:
    """Stub rows (plain rows, not ORM objects: there may be hundreds of thousands), by record id."""
    table = m.DestroyedRecord.__table__
    yield from session.execute(
        select(*table.columns)
        .where(table.c.certificate_id == certificate_id)
        .order_by(table.c.uid)
        .execution_options(yield_per=2000)
    )


# -- the certificate's documents -----------------------------------------------------------------


def approval_of(cert: m.DisposalCertificate, session: Session) -> dict[str, Any] | None:
    if cert.approval_reference is None:
        return None
    removed = sorted(
        session.scalars(
            select(m.CertificateRecord.uid).where(
                m.CertificateRecord.certificate_id == cert.id, m.CertificateRecord.status == "removed"
            )
        )
    )
    return {
        "reference": cert.approval_reference,
        "approved_on": _iso(cert.approved_on),
        "approver": cert.approver,
        "recorded_at": _iso(cert.approval_recorded_at),
        "recorded_by": cert.approval_recorded_by,
        "removed": removed,
    }


def proposal_document(session: Session, cert: m.DisposalCertificate) -> dict[str, Any]:
    """The Local Records Disposal Certificate as proposed: every listed record, per item number."""
    records: dict[str, list[str]] = {}
    for number, uid in session.execute(
        select(m.CertificateRecord.item_number, m.CertificateRecord.uid)
        .where(m.CertificateRecord.certificate_id == cert.id)
        .order_by(m.CertificateRecord.item_number, m.CertificateRecord.uid)
    ):
        records.setdefault(number, []).append(uid)
    items = [{**group, "records": records.get(group["item_number"], [])} for group in cert.summary["items"]]
    return {
        "profile": "hp-archive/disposal-certificate/1",
        "certificate_id": cert.id,
        "as_of": cert.as_of.isoformat(),
        "series_filter": cert.series_filter,
        "schedule": cert.schedule,
        "waiting_days": cert.waiting_days,
        "proposed_at": _iso(cert.proposed_at),
        "proposed_by": cert.proposed_by,
        "records": sum(len(v) for v in records.values()),
        "items": items,
    }


def submission_document(cert: m.DisposalCertificate) -> dict[str, Any]:
    return {
        "profile": "hp-archive/disposal-certificate-submission/1",
        "certificate_id": cert.id,
        "submitted_on": _iso(cert.submitted_on),
        "recorded_at": _iso(cert.submitted_at),
        "recorded_by": cert.submitted_by,
        "earliest_destruction": _iso(cert.submitted_on and _plus(cert.submitted_on, cert.waiting_days)),
    }


def _plus(day: Any, days: int) -> Any:
    from datetime import timedelta

    return day + timedelta(days=days)


def approval_document(session: Session, cert: m.DisposalCertificate) -> dict[str, Any]:
    approval = approval_of(cert, session) or {}
    proposal = proposal_document(session, cert)
    removed = set(approval.get("removed", []))
    items = []
    for group in proposal["items"]:
        kept = [uid for uid in group["records"] if uid not in removed]
        items.append({**group, "records": kept, "quantity": len(kept)})
    return {
        "profile": "hp-archive/disposal-certificate-approval/1",
        "certificate_id": cert.id,
        "schedule": cert.schedule,
        "as_of": cert.as_of.isoformat(),
        "waiting_days": cert.waiting_days,
        "proposed_at": _iso(cert.proposed_at),
        "proposed_by": cert.proposed_by,
        "submitted_on": _iso(cert.submitted_on),
        "approval": approval,
        "amended": bool(removed),
        "items": items,
    }


def destroyed_groups(session: Session, certificate_id: str) -> list[dict[str, Any]]:
    """Per item number: records and captures destroyed, inclusive dates (from the stubs)."""
    groups: dict[str, dict[str, Any]] = {}
    for stub in _stubs(session, certificate_id):
        group = groups.setdefault(
            stub.item_number,
            {"item_number": stub.item_number, "series_title": stub.series_title, "records": 0,
             "captures": 0, "first_date": None, "last_date": None},
        )  # fmt: skip
        group["records"] += 1
        group["captures"] += len(stub.captures or [])
        moment = _iso(stub.created_at or stub.first_captured_at)
        if moment is not None:
            group["first_date"] = min(filter(None, [group["first_date"], moment]))
            group["last_date"] = max(filter(None, [group["last_date"], moment]))
    return [groups[k] for k in sorted(groups)]


def method_text(store_url: str, bypass: bool) -> str:
    return (
        f"every version of each stored object holding the records deleted from {store_url}"
        + (" (Object Lock governance retention bypassed, as asked and audited)" if bypass else "")
        + "; the records' index rows, versions, change events and full-text entries deleted; "
        "objects also holding surviving records rewritten with the survivors copied byte for byte"
    )


def destruction_report(
    session: Session, cert: m.DisposalCertificate, *, store_url: str, stubs: Mapping[str, str]
) -> dict[str, Any]:
    """What the execution did: the basis of the certificate of destruction."""
    not_destroyed: dict[str, dict[str, str]] = {"partial": {}, "retained": {}, "skipped": {}, "removed": {}}
    for row in session.scalars(
        select(m.CertificateRecord)
        .where(
            m.CertificateRecord.certificate_id == cert.id,
            m.CertificateRecord.status.in_(tuple(not_destroyed)),
        )
        .order_by(m.CertificateRecord.uid)
    ):
        not_destroyed[row.status][row.uid] = row.reason or ""
    objects = list(
        session.scalars(
            select(m.DisposalObject)
            .where(m.DisposalObject.certificate_id == cert.id)
            .order_by(m.DisposalObject.key)
        )
    )
    execution = cert.execution or {}
    groups = destroyed_groups(session, cert.id)
    return {
        "profile": "hp-archive/destruction-report/1",
        "certificate_id": cert.id,
        "schedule": cert.schedule,
        "submitted_on": _iso(cert.submitted_on),
        "approval": approval_of(cert, session),
        "executed_at": execution.get("started_at"),
        "executed_by": execution.get("actor"),
        "method": method_text(store_url, bool(execution.get("bypass_governance"))),
        "bypass_governance": bool(execution.get("bypass_governance")),
        "index_rebuilt": bool(execution.get("reindex")),
        "destroyed": groups,
        "records_destroyed": sum(g["records"] for g in groups),
        "destroyed_records_sha256": stubs["list_sha256"],
        "destroyed_records": {"key": stubs["key"], "sha256": stubs["sha256"]},
        "not_destroyed": {status: len(values) for status, values in not_destroyed.items() if values},
        "not_destroyed_records": {status: values for status, values in not_destroyed.items() if values},
        "objects_deleted": [
            {"key": o.key, "sha256": o.sha256, "size": o.size} for o in objects if o.action == "delete"
        ],
        "objects_rewritten": [
            {
                "key": o.key,
                "sha256": o.sha256,
                "new_key": o.new_key,
                "new_sha256": o.new_sha256,
                "records_kept": len(o.plan.get("keep", [])),
                "records_destroyed": len(o.plan.get("destroy", [])),
                "revisits_converted": sorted(o.plan.get("convert", {})),
                "legal_hold_carried": o.legal_hold,
            }
            for o in objects
            if o.action == "rewrite"
        ],
    }
