"""Proving a destruction complete, and issuing the certificate of destruction.

``hp-archive disposal verify CERT`` checks, from the store and the index:

* the destruction report is in the store and its signature holds with the **published public
  key alone** (``keys/archive-ed25519-<key id>.pem``, or a key file given by the caller);
* the stored list of destroyed records hashes to the digest the report names, and the stubs in
  the database reproduce it, one stub per record counted destroyed;
* every deleted object — and the original of every rewritten one — is gone from the store, every
  version of it; every rewritten object is there with the SHA-256 recorded for it;
* the index holds no trace but the stubs: no file row of a deleted object, no WARC record of a
  destroyed capture, no item, classification, version or full-text entry of a destroyed record
  (a record captured again *after* the destruction is new evidence and is reported as such).

The first successful verification writes the certificate of destruction (signed JSON + PDF,
naming who executed and who verified) and moves the certificate to ``verified``; later runs check
again, that document included. Every verification is audited with its result.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from hp_archive.audit import PUBLIC_KEY_PREFIX, verify_document
from hp_archive.index import models as m
from hp_archive.index.db import is_sqlite, transaction
from hp_archive.retention import documents as docs
from hp_archive.retention.certificates import check_verify
from hp_archive.retention.pdf import destruction_certificate_pdf
from hp_archive.retention.rows import certificate_facts, load_certificate

if TYPE_CHECKING:
    from hp_archive.archive import Archive

CHUNK = 500


@dataclass
class VerificationReport:
    certificate_id: str
    checks: list[dict[str, Any]] = field(default_factory=list)
    state: str = ""
    documents: dict[str, Any] = field(default_factory=dict)
    recaptured: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(check["ok"] for check in self.checks)

    @property
    def problems(self) -> list[str]:
        return [f"{c['check']}: {c['detail']}" for c in self.checks if not c["ok"]]

    def add(self, check: str, ok: bool, detail: str = "") -> None:
        self.checks.append({"check": check, "ok": ok, "detail": detail})

    def as_dict(self) -> dict[str, Any]:
        return {
            "certificate_id": self.certificate_id,
            "ok": self.ok,
            "state": self.state,
            "checks": self.checks,
            "problems": self.problems,
            "captured_again_after_destruction": self.recaptured,
            "documents": self.documents,
        }


def published_key(archive: Archive, key_id: str) -> bytes | None:
    key = f"{PUBLIC_KEY_PREFIX}archive-ed25519-{key_id}.pem"
    return archive.store.get_bytes(key) if archive.store.head(key) is not None else None


def check_signed(archive: Archive, key: str, public_pem: bytes | None) -> tuple[dict[str, Any] | None, str]:
    """(document, problem) for a signed JSON object: '' when it verifies with the public key."""
    if archive.store.head(key) is None:
        return None, f"{key} is missing from the store"
    document = json.loads(archive.store.get_bytes(key))
    key_id = str((document.get("signature") or {}).get("key_id", ""))
    pem = public_pem or published_key(archive, key_id)
    if pem is None:
        return document, f"no published public key {key_id} under {PUBLIC_KEY_PREFIX}"
    if not verify_document(document, pem):
        return document, f"{key}: the signature does not verify with public key {key_id}"
    return document, ""


def verify(
    archive: Archive,
    cert_id: str,
    *,
    as_of: datetime,
    actor: str | None = None,
    public_key: bytes | None = None,
) -> VerificationReport:
    """Check the destruction of ``cert_id``; on the first success, issue the certificate of destruction."""
    who = actor or archive.operator
    report = VerificationReport(cert_id)
    with archive.sessions() as session:
        cert = load_certificate(session, cert_id)
        check_verify(certificate_facts(cert, archive.timezone))
        first = cert.state == "executed"
        documents = dict(cert.documents or {})
        executed_at = cert.executed_at
        _check_documents(archive, session, cert_id, documents, public_key, report)
        _check_objects(archive, session, cert_id, report)
        _check_index(session, cert_id, executed_at, report)
    verified_at, verified_by = as_of, who
    if first and report.ok:
        report.documents, verified_at, verified_by = _issue(archive, cert_id, as_of, who, report)
    with transaction(archive.sessions) as session:
        cert = load_certificate(session, cert_id, lock=True)
        if first and report.ok:
            cert.state = "verified"
            cert.verified_at = verified_at
            cert.verified_by = verified_by
            cert.documents = {**cert.documents, **report.documents}
        report.state = cert.state
        report.documents = dict(cert.documents)
        archive.record(
            "disposal.verify",
            target=f"certificate:{cert_id}",
            actor=who,
            session=session,
            params={"ok": report.ok, "problems": report.problems, "checks": len(report.checks)},
        )
    archive.mirror_audit()
    return report


def _check_documents(
    archive: Archive,
    session: Session,
    cert_id: str,
    documents: dict[str, Any],
    public_key: bytes | None,
    report: VerificationReport,
) -> None:
    stored = documents.get("destruction_report", {})
    document, problem = check_signed(
        archive, stored.get("key") or docs.key_for(cert_id, docs.REPORT), public_key
    )
    report.add("destruction report signed", not problem, problem or "signature verifies with the public key")
    if document is None:
        return
    listed = document.get("destroyed_records", {})
    data = archive.store.get_bytes(listed["key"]) if archive.store.head(listed.get("key", "")) else None
    if data is None:
        report.add("list of destroyed records", False, f"{listed.get('key')} is missing from the store")
        return
    digest = hashlib.sha256(data).hexdigest()
    ok = digest == listed.get("sha256") == document.get("destroyed_records_sha256")
    report.add(
        "list of destroyed records",
        ok,
        f"SHA-256 {digest}"
        if ok
        else f"the stored list hashes to {digest}, the report names {listed.get('sha256')}",
    )
    again = hashlib.sha256(b"".join(docs.stub_lines(session, cert_id))).hexdigest()
    report.add(
        "stubs in the index",
        again == digest,
        "the stubs reproduce the signed list"
        if again == digest
        else f"the stubs hash to {again}, not {digest}",
    )
    lines = data.count(b"\n")
    counted = session.scalar(
        select(func.count())
        .select_from(m.CertificateRecord)
        .where(m.CertificateRecord.certificate_id == cert_id, m.CertificateRecord.status == "destroyed")
    )
    report.add(
        "one stub per destroyed record",
        lines == counted == document.get("records_destroyed"),
        f"{lines} stubs, {counted} records destroyed, {document.get('records_destroyed')} on the report",
    )
    if "destruction_certificate" in documents:
        _, problem = check_signed(archive, documents["destruction_certificate"]["key"], public_key)
        report.add("certificate of destruction signed", not problem, problem or "signature verifies")


def _check_objects(archive: Archive, session: Session, cert_id: str, report: VerificationReport) -> None:
    still: list[str] = []
    wrong: list[str] = []
    objects = list(
        session.scalars(select(m.DisposalObject).where(m.DisposalObject.certificate_id == cert_id))
    )
    for obj in objects:
        if archive.store.versions(obj.key):
            still.append(obj.key)
        if obj.action == "rewrite":
            info = archive.store.head(obj.new_key or "")
            if info is None or info.sha256 != obj.new_sha256:
                wrong.append(obj.new_key or obj.key)
    report.add(
        "destroyed objects gone from the store",
        not still,
        f"{len(objects)} object(s), every version absent"
        if not still
        else f"still stored: {', '.join(still[:5])}",
    )
    report.add(
        "rewritten objects stored",
        not wrong,
        "each with its recorded SHA-256" if not wrong else f"missing or altered: {', '.join(wrong[:5])}",
    )


def _check_index(
    session: Session, cert_id: str, executed_at: datetime | None, report: VerificationReport
) -> None:
    keys = list(
        session.scalars(select(m.DisposalObject.key).where(m.DisposalObject.certificate_id == cert_id))
    )
    files = _count_in(session, m.WarcFile.key, keys)
    report.add("no file row of a deleted object", files == 0, f"{files} file row(s) remain")
    uids: list[str] = []
    captures: list[str] = []
    for uid, stub_captures in session.execute(
        select(m.DestroyedRecord.uid, m.DestroyedRecord.captures)
        .where(m.DestroyedRecord.certificate_id == cert_id)
        .execution_options(yield_per=2000)
    ):
        uids.append(uid)
        captures.extend(c["record_id"] for c in stub_captures or [])
    objects = session.scalars(select(m.DisposalObject).where(m.DisposalObject.certificate_id == cert_id))
    destroyed_ids = sorted({rid for obj in objects for rid in obj.plan.get("destroy", [])} | set(captures))
    records = _count_in(session, m.WarcRecord.record_id, destroyed_ids)
    report.add("no WARC record of a destroyed capture", records == 0, f"{records} record row(s) remain")
    recaptured: set[str] = set()
    present: list[str] = []
    for start in range(0, len(uids), CHUNK):
        for uid, first_seen in session.execute(
            select(m.Item.uid, m.Item.first_seen_at).where(m.Item.uid.in_(uids[start : start + CHUNK]))
        ):
            if executed_at is not None and first_seen is not None and first_seen > executed_at:
                recaptured.add(uid)
            else:
                present.append(uid)
    report.recaptured = sorted(recaptured)
    report.add(
        "no item of a destroyed record",
        not present,
        "none (only stubs remain)" if not present else f"still indexed: {', '.join(sorted(present)[:5])}",
    )
    classes = _count_in(session, m.RetentionClass.uid, [u for u in uids if u not in recaptured])
    report.add("no classification of a destroyed record", classes == 0, f"{classes} row(s) remain")
    orphans = session.scalar(
        select(func.count()).select_from(m.ItemVersion).where(m.ItemVersion.item_id.not_in(select(m.Item.id)))
    )
    report.add("no orphaned version", orphans == 0, f"{orphans} version(s) without their item")
    if is_sqlite(session):
        try:
            session.execute(text("INSERT INTO version_fts(version_fts, rank) VALUES ('integrity-check', 1)"))
            ok, detail = True, "FTS5 index matches the versions (integrity-check)"
        except Exception as exc:  # the check's only way to report is an error
            ok, detail = False, f"FTS5 integrity-check failed: {' '.join(str(exc).split())[:200]}"
        finally:
            session.rollback()
        report.add("full-text index holds no trace", ok, detail)
    else:
        report.add(
            "full-text index holds no trace",
            True,
            "tsvector is a column of the version rows (gone with them)",
        )


def _count_in(session: Session, column: Any, values: list[str]) -> int:
    total = 0
    for start in range(0, len(values), CHUNK):
        total += session.scalar(select(func.count()).where(column.in_(values[start : start + CHUNK]))) or 0
    return total


def _issue(
    archive: Archive, cert_id: str, as_of: datetime, who: str, report: VerificationReport
) -> tuple[dict[str, Any], datetime, str]:
    """Write the certificate of destruction (signed JSON + PDF); (documents, verified at, by).

    A certificate of destruction left by an interrupted verification is adopted, not rewritten.
    """
    key = docs.key_for(cert_id, docs.DESTRUCTION)
    if archive.store.head(key) is not None:
        existing, problem = check_signed(archive, key, None)
        if existing is not None and not problem:
            data = archive.store.get_bytes(key)
            refs = {
                "destruction_certificate": {"key": key, "sha256": hashlib.sha256(data).hexdigest()},
                "destruction_certificate_pdf": existing["pdf"],
            }
            return refs, datetime.fromisoformat(existing["verified_at"]), str(existing["verified_by"])
    with archive.sessions() as session:
        cert = load_certificate(session, cert_id)
        source = json.loads(archive.store.get_bytes(cert.documents["destruction_report"]["key"]))
    body = {k: v for k, v in source.items() if k not in ("signature", "profile")}
    document = {
        "profile": "hp-archive/certificate-of-destruction/1",
        **body,
        "destruction_report": cert.documents["destruction_report"],
        "executed_at": cert.executed_at.isoformat() if cert.executed_at else None,
        "executed_by": cert.executed_by,
        "verified_at": as_of.isoformat(),
        "verified_by": who,
        "verification": list(report.checks),
        "key_id": archive.signing_key.key_id,
    }
    pdf = destruction_certificate_pdf(document)
    document["pdf"] = docs.store_bytes(
        archive, docs.key_for(cert_id, docs.DESTRUCTION_PDF), pdf, "application/pdf"
    )
    stored = docs.store_signed(archive, key, document)
    return {"destruction_certificate": stored, "destruction_certificate_pdf": document["pdf"]}, as_of, who
