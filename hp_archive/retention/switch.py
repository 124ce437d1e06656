"""The point of destruction: one transaction that takes the records out of the index.

Run by :mod:`hp_archive.retention.destruction` once every rewritten object is stored. Inside one
transaction it re-checks that no listed record came under hold (new holds are locked out until it
commits) or was captured again since the plan, writes a stub per destroyed record, deletes the
records' items, versions, change events and (through the full-text triggers) their full-text
entries, points the surviving WARC records at the rewritten objects — a revisit made a full
record changes type there too — deletes the destroyed WARC records and file rows, and brings the
capture runs' file lists and counts to what a reindex would rebuild. It audits every rewrite.

If any check fails it raises :class:`Replan`: nothing has been destroyed, and the caller
discards the plan.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.orm import Session

from hp_archive.index import models as m
from hp_archive.index.db import transaction
from hp_archive.index.ingest import run_archived_counts, run_event_counts
from hp_archive.retention.certificates import DisposalError
from hp_archive.retention.classify import schedule_for
from hp_archive.retention.eligibility import hold_matters
from hp_archive.retention.rows import execute as bulk
from hp_archive.retention.rows import load_certificate
from hp_archive.warc.members import LAYOUT_MEMBERS

if TYPE_CHECKING:
    from hp_archive.archive import Archive

CHUNK = 500


class Replan(Exception):
    """The plan no longer holds (a new hold, a new capture): discard it, destroy nothing."""


def seen_until(session: Session, uids: Iterable[str]) -> dict[str, str]:
    """uid -> the last time anything observed it (a later value means it was captured again)."""
    out: dict[str, str] = {}
    pending = sorted(set(uids))
    for start in range(0, len(pending), CHUNK):
        chunk = pending[start : start + CHUNK]
        last_event = (
            select(m.ChangeEvent.item_id, func.max(m.ChangeEvent.observed_at).label("last"))
            .where(m.ChangeEvent.item_id.in_(select(m.Item.id).where(m.Item.uid.in_(chunk))))
            .group_by(m.ChangeEvent.item_id)
            .subquery()
        )
        for uid, last_seen, last in session.execute(
            select(m.Item.uid, m.Item.last_seen_at, last_event.c.last)
            .outerjoin(last_event, last_event.c.item_id == m.Item.id)
            .where(m.Item.uid.in_(chunk))
        ):
            out[uid] = f"{last_seen}|{last}"
    return out


def switch_index(archive: Archive, certificate_id: str, as_of: datetime, actor: str) -> None:
    with transaction(archive.sessions) as session:
        cert = load_certificate(session, certificate_id, lock=True)
        if cert.execution.get("phase") != "rewritten":
            return  # already switched (a resumed run)
        _lock_holds(session)
        records = {
            row.uid: row
            for row in session.execute(
                select(
                    m.CertificateRecord.uid,
                    m.CertificateRecord.status,
                    m.CertificateRecord.item_number,
                    m.CertificateRecord.evidence,
                ).where(
                    m.CertificateRecord.certificate_id == certificate_id,
                    m.CertificateRecord.status.in_(("destroying", "partial")),
                )
            )
        }
        held = hold_matters(session, records)
        if held:
            uid = sorted(held)[0]
            raise Replan(
                f"record {uid} came under legal hold (matter {', '.join(held[uid])}) during execution: "
                f"nothing was destroyed; run 'hp-archive disposal execute {certificate_id}' again to plan "
                "without it"
            )
        seen_now = seen_until(session, records)
        changed = sorted(
            uid for uid, row in records.items() if (row.evidence or {}).get("seen") != seen_now.get(uid)
        )
        if changed:
            raise Replan(
                f"record {changed[0]} was captured again during execution: nothing was destroyed; "
                f"run 'hp-archive disposal execute {certificate_id}' again to plan with the new capture"
            )
        objects = list(
            session.scalars(select(m.DisposalObject).where(m.DisposalObject.certificate_id == certificate_id))
        )
        destroyed_records = {rid for obj in objects for rid in obj.plan.get("destroy", [])}
        converted = {rid for obj in objects for rid in obj.plan.get("convert", {})}
        late = _revisits_of(session, destroyed_records) - converted - destroyed_records
        if late:
            raise Replan(
                f"revisit {sorted(late)[0]} of a record to be destroyed was captured during execution: "
                f"nothing was destroyed; run 'hp-archive disposal execute {certificate_id}' again"
            )
        schedule = schedule_for(archive)
        destroying = sorted(uid for uid, row in records.items() if row.status == "destroying")
        _write_stubs(session, schedule, certificate_id, destroying, records, as_of)
        _delete_item_rows(session, list(records))
        for start in range(0, len(destroying), CHUNK):
            bulk(
                session,
                delete(m.RetentionClass).where(m.RetentionClass.uid.in_(destroying[start : start + CHUNK])),
            )
        runs: set[str] = set()
        for obj in objects:
            runs |= _switch_object(archive, session, obj, certificate_id, actor, as_of)
        _refresh_runs(session, runs)
        for start in range(0, len(destroying), CHUNK):
            bulk(
                session,
                update(m.CertificateRecord)
                .where(
                    m.CertificateRecord.certificate_id == certificate_id,
                    m.CertificateRecord.uid.in_(destroying[start : start + CHUNK]),
                )
                .values(status="destroyed"),
            )
        by_item = Counter(records[uid].item_number for uid in destroying)
        cert.execution = {**cert.execution, "phase": "switched"}
        archive.record(
            "disposal.destroy",
            target=f"certificate:{certificate_id}",
            actor=actor,
            session=session,
            params={
                "destroyed": len(destroying),
                "destroyed_by_item": dict(sorted(by_item.items())),
                "partially_destroyed": sum(1 for row in records.values() if row.status == "partial"),
                "records_list_sha256": destroyed_list_digest(session, certificate_id),
                "objects_to_delete": sorted(o.key for o in objects),
            },
        )
    archive.mirror_audit()


def _lock_holds(session: Session) -> None:
    """No hold may be placed between our check and our commit (PostgreSQL; SQLite's writer lock
    already makes a concurrent hold fail this transaction's commit)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("LOCK TABLE hold_items, holds IN SHARE MODE"))


def _revisits_of(session: Session, record_ids: set[str]) -> set[str]:
    found: set[str] = set()
    pending = sorted(record_ids)
    for start in range(0, len(pending), CHUNK):
        found.update(
            session.scalars(
                select(m.WarcRecord.record_id).where(
                    m.WarcRecord.refers_to.in_(pending[start : start + CHUNK]),
                    m.WarcRecord.rec_type == "revisit",
                )
            )
        )
    return found


def _write_stubs(
    session: Session,
    schedule: Any,
    certificate_id: str,
    uids: Sequence[str],
    records: dict[str, Any],
    as_of: datetime,
) -> None:
    titles = {item.number: item.title for item in schedule.items}
    for start in range(0, len(uids), CHUNK):
        chunk = list(uids[start : start + CHUNK])
        items = {
            item.uid: item
            for item in session.execute(
                select(
                    m.Item.id, m.Item.uid, m.Item.platform, m.Item.account_id, m.Item.kind, m.Item.created_at,
                    m.Item.first_seen_at, m.Item.last_seen_at,
                ).where(m.Item.uid.in_(chunk))
            )
        }  # fmt: skip
        digests: dict[int, list[str]] = {}
        for item_id, digest in session.execute(
            select(m.ItemVersion.item_id, m.ItemVersion.content_digest)
            .where(m.ItemVersion.item_id.in_([i.id for i in items.values()]))
            .order_by(m.ItemVersion.item_id, m.ItemVersion.version_no)
        ):
            digests.setdefault(item_id, []).append(digest)
        wanted = sorted({rid for uid in chunk for rid in (records[uid].evidence or {}).get("records", [])})
        captures: dict[str, dict[str, Any]] = {}
        for sub in range(0, len(wanted), CHUNK):
            for rec in session.execute(
                select(
                    m.WarcRecord.record_id,
                    m.WarcRecord.rec_type,
                    m.WarcRecord.date,
                    m.WarcRecord.target_uri,
                    m.WarcRecord.block_digest,
                    m.WarcRecord.payload_digest,
                    m.WarcFile.key,
                )
                .join(m.WarcFile, m.WarcFile.id == m.WarcRecord.file_id)
                .where(m.WarcRecord.record_id.in_(wanted[sub : sub + CHUNK]))
            ):
                captures[rec.record_id] = {
                    "record_id": rec.record_id,
                    "type": rec.rec_type,
                    "date": rec.date.isoformat(),
                    "target_uri": rec.target_uri,
                    "block_digest": rec.block_digest,
                    "payload_digest": rec.payload_digest,
                    "warc": rec.key,
                }
        rows = []
        for uid in chunk:
            item = items.get(uid)
            cert_row = records[uid]
            rows.append(
                {
                    "uid": uid,
                    "certificate_id": certificate_id,
                    "item_number": cert_row.item_number,
                    "series_title": titles.get(cert_row.item_number, ""),
                    "platform": item.platform if item else uid.split(":", 1)[0],
                    "account_id": item.account_id if item else "",
                    "kind": item.kind if item else "",
                    "created_at": item.created_at if item else None,
                    "first_captured_at": item.first_seen_at if item else None,
                    "last_captured_at": item.last_seen_at if item else None,
                    "version_digests": digests.get(item.id, []) if item else [],
                    "captures": [
                        captures[rid]
                        for rid in (cert_row.evidence or {}).get("records", [])
                        if rid in captures
                    ],
                    "destroyed_at": as_of,
                }
            )
        bulk(session, insert(m.DestroyedRecord), rows)


def _delete_item_rows(session: Session, uids: list[str]) -> None:
    """Items with their versions, change events and (through the triggers) full-text entries."""
    for start in range(0, len(uids), CHUNK):
        ids = list(session.scalars(select(m.Item.id).where(m.Item.uid.in_(uids[start : start + CHUNK]))))
        if not ids:
            continue
        bulk(session, delete(m.ChangeEvent).where(m.ChangeEvent.item_id.in_(ids)))
        bulk(session, update(m.Item).where(m.Item.id.in_(ids)).values(current_version_id=None))
        bulk(session, delete(m.ItemVersion).where(m.ItemVersion.item_id.in_(ids)))
        bulk(session, delete(m.Item).where(m.Item.id.in_(ids)))


def _switch_object(
    archive: Archive,
    session: Session,
    obj: m.DisposalObject,
    certificate_id: str,
    actor: str,
    as_of: datetime,
) -> set[str]:
    """Point the index at the rewritten object (or at nothing); returns the capture runs touched."""
    old = session.scalar(select(m.WarcFile).where(m.WarcFile.key == obj.key))
    if old is None:
        raise DisposalError(
            f"{obj.key} left the index during execution: run 'hp-archive reindex', then execute"
        )
    destroy = obj.plan.get("destroy", [])
    _check_unreferenced(session, destroy)
    for start in range(0, len(destroy), CHUNK):
        bulk(
            session,
            delete(m.WarcRecord).where(
                m.WarcRecord.file_id == old.id, m.WarcRecord.record_id.in_(destroy[start : start + CHUNK])
            ),
        )
    run_id = old.run_id
    if obj.action == "rewrite":
        written = obj.plan.get("written", [])
        assert obj.new_key and obj.new_sha256 and obj.new_size is not None
        new = m.WarcFile(
            key=obj.new_key, filename=obj.new_key.rsplit("/", 1)[-1], account_id=old.account_id,
            series=old.series, run_id=old.run_id, size=obj.new_size, sha256=obj.new_sha256,
            record_count=len(written), first_date=old.first_date, last_date=old.last_date,
            retain_until=None, legal_hold=old.legal_hold, indexed_at=as_of, layout=LAYOUT_MEMBERS,
        )  # fmt: skip
        session.add(new)
        session.flush()
        dates = []
        for entry in written:
            dates.append(datetime.fromisoformat(entry["date"]))
            values: dict[str, Any] = {"file_id": new.id, "offset": entry["offset"], "length": entry["length"]}
            if entry["rec_type"] == "warcinfo" and entry["record_id"] not in obj.plan["keep"]:
                bulk(
                    session,
                    insert(m.WarcRecord).values(
                        file_id=new.id,
                        offset=entry["offset"],
                        length=entry["length"],
                        record_id=entry["record_id"],
                        rec_type="warcinfo",
                        target_uri=None,
                        date=datetime.fromisoformat(entry["date"]),
                        content_type="application/warc-fields",
                        http_status=None,
                        block_digest=entry["block_digest"],
                        payload_digest=None,
                        payload_length=None,
                        refers_to=None,
                        parse_error=None,
                    ),
                )
                continue
            if entry["converted"]:
                values |= {
                    "rec_type": "response",
                    "refers_to": None,
                    "block_digest": entry["block_digest"],
                    "payload_length": entry["payload_length"],
                }
            bulk(
                session,
                update(m.WarcRecord)
                .where(m.WarcRecord.file_id == old.id, m.WarcRecord.record_id == entry["record_id"])
                .values(**values),
            )
        new.first_date, new.last_date = min(dates), max(dates)
        archive.record(
            "disposal.rewrite",
            target=obj.key,
            actor=actor,
            session=session,
            params={
                "certificate": certificate_id,
                "old_key": obj.key,
                "old_sha256": obj.sha256,
                "new_key": obj.new_key,
                "new_sha256": obj.new_sha256,
                "records_kept": len(obj.plan.get("keep", [])),
                "records_destroyed": len(destroy),
                "revisits_converted": sorted(obj.plan.get("convert", {})),
                "legal_hold_carried": obj.legal_hold,
            },
        )
    left = session.scalar(
        select(func.count()).select_from(m.WarcRecord).where(m.WarcRecord.file_id == old.id)
    )
    if left:
        raise DisposalError(
            f"{obj.key}: {left} record(s) neither moved nor destroyed; the plan is inconsistent"
        )
    bulk(session, delete(m.WarcFile).where(m.WarcFile.id == old.id))
    obj.status = "switched"
    return {run_id}


def _check_unreferenced(session: Session, record_ids: Sequence[str]) -> None:
    """No surviving index row may point at a record about to go (a plan bug must stop here)."""
    for start in range(0, len(record_ids), CHUNK):
        pks = select(m.WarcRecord.id).where(m.WarcRecord.record_id.in_(record_ids[start : start + CHUNK]))
        for table, column in (
            (m.ItemVersion, m.ItemVersion.record_id),
            (m.ChangeEvent, m.ChangeEvent.record_id),
            (m.Item, m.Item.media_record_id),
        ):
            found = session.scalar(select(func.count()).select_from(table).where(column.in_(pks)))
            if found:
                raise DisposalError(
                    f"{found} surviving {table.__tablename__} row(s) refer to a record being destroyed: "
                    "the plan is inconsistent; nothing was destroyed, report this"
                )


def _refresh_runs(session: Session, runs: set[str]) -> None:
    """Runs keep their file list and counts as reindex would rebuild them; emptied runs go."""
    for run_id in sorted(runs):
        run = session.get(m.CaptureRun, run_id)
        if run is None:
            continue
        files = list(
            session.scalars(
                select(m.WarcFile).where(m.WarcFile.run_id == run_id).order_by(m.WarcFile.filename)
            )
        )
        if not files:
            session.delete(run)
            continue
        report = dict(run.report or {})
        report["archived"] = run_archived_counts(session, run_id)
        report["events"] = run_event_counts(session, run_id)
        run.report = report
        run.files = [
            {"key": f.key, "filename": f.filename, "series": f.series, "sha256": f.sha256,
             "size": f.size, "record_count": f.record_count}
            for f in files
        ]  # fmt: skip
    session.flush()


def destroyed_list_digest(session: Session, certificate_id: str) -> str:
    """SHA-256 of the canonical list of a certificate's stubs (the digest on the certificate)."""
    from hp_archive.retention.documents import stub_lines

    digest = hashlib.sha256()
    for line in stub_lines(session, certificate_id):
        digest.update(line)
    return digest.hexdigest()
