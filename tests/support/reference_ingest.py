"""The reference ingest: hp_archive's first, ORM-based ingest, kept verbatim as a test oracle.

It held a whole file in memory and wrote through the ORM row by row; every capture test of the
project was written against the index it builds. :mod:`hp_archive.index.ingest` (streaming, bulk,
parallel) must build exactly the same index (tests/integration/test_fast_index.py).

Original description — ingest of one stored WARC file into the index, in one transaction.

Everything derived comes from the file itself: the warcinfo names the account, platform, series
and run; response and revisit records are parsed by the platform's source; the closing capture
report says which listings completed. A revisit's payload is read from the record it refers to.
The same function serves the capture path and ``reindex``, so both build the same index.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from hp_archive.errors import WarcError
from hp_archive.index import models as m
from hp_archive.index.changes import (
    Candidate,
    KnownState,
    ListingWindow,
    missing_from_listing,
    observe,
)
from hp_archive.index.text import search_text
from hp_archive.sources import source_class
from hp_archive.sources.base import ArchivedResponse, ParsedItem, ParseResult, Source
from hp_archive.sources.context import parse_safely
from hp_archive.warc.http import HttpMessage
from hp_archive.warc.reader import StoredRecord, iter_records, read_record_at
from hp_archive.warc.records import parse_warc_date
from hp_archive.warc.runinfo import REPORT_URI_PREFIX, RunInfo, parse_report

RangeReader = Callable[[str, int, int], bytes]  # (object key, offset, length) -> bytes


@dataclass
class IngestStats:
    """What one ingest added; ``events`` counts change events by kind."""

    key: str
    skipped: bool = False
    records: int = 0
    items_seen: int = 0
    new_items: int = 0
    new_versions: int = 0
    unparsed: int = 0
    events: Counter[str] = field(default_factory=Counter)
    items_by_kind: Counter[str] = field(default_factory=Counter)
    uids: set[str] = field(default_factory=set)
    account_id: str = ""
    run_id: str = ""
    series: str = ""

    def merge(self, other: IngestStats) -> None:
        self.records += other.records
        self.items_seen += other.items_seen
        self.new_items += other.new_items
        self.new_versions += other.new_versions
        self.unparsed += other.unparsed
        self.events.update(other.events)
        self.items_by_kind.update(other.items_by_kind)
        self.uids |= other.uids


@dataclass
class _Observation:
    record_index: int
    date: datetime
    item: ParsedItem


@dataclass
class _FileContent:
    info: RunInfo
    report: dict[str, Any]
    records: list[dict[str, Any]]
    observations: list[_Observation]
    media_links: dict[str, int]  # media URL -> index of the record holding its bytes
    media_refs: dict[str, str]  # media URL -> record id of the original (revisits)
    first_date: datetime
    last_date: datetime


def ingest_file(
    session: Session,
    *,
    key: str,
    path: Path,
    sha256: str,
    size: int,
    read_range: RangeReader,
    indexed_at: datetime,
    run_status: str = "indexed",
) -> IngestStats:
    """Index the WARC at ``path`` (stored as ``key``); a no-op if the key is already indexed.

    The caller owns the transaction: commit after this returns, roll back if it raises.
    """
    if session.scalar(select(m.WarcFile.id).where(m.WarcFile.key == key)) is not None:
        return IngestStats(key=key, skipped=True)
    content = _read_file(session, key, path, read_range)
    info = content.info
    source = source_class(info.platform)
    stats = IngestStats(
        key=key,
        records=len(content.records),
        account_id=info.account_id,
        run_id=info.run_id,
        series=info.series,
    )

    _ensure_account(session, info, content.first_date)
    _upsert_run(session, info, content.report, run_status)
    warc_file = m.WarcFile(
        key=key,
        filename=key.rsplit("/", 1)[-1],
        account_id=info.account_id,
        series=info.series,
        run_id=info.run_id,
        size=size,
        sha256=sha256,
        record_count=len(content.records),
        first_date=content.first_date,
        last_date=content.last_date,
        retain_until=None,
        legal_hold=False,
        indexed_at=indexed_at,
    )
    session.add(warc_file)
    session.flush()
    for row in content.records:
        row["file_id"] = warc_file.id
    record_ids = list(
        session.scalars(
            insert(m.WarcRecord).returning(m.WarcRecord.id, sort_by_parameter_order=True),
            content.records,
        )
    )
    stats.unparsed = sum(1 for row in content.records if row.get("parse_error"))
    _apply_observations(session, source, info, content, record_ids, stats)
    _detect_deletions(session, info, content, record_ids, stats)
    return stats


def _read_file(session: Session, key: str, path: Path, read_range: RangeReader) -> _FileContent:
    records: list[dict[str, Any]] = []
    observations: list[_Observation] = []
    media_links: dict[str, int] = {}
    media_refs: dict[str, str] = {}
    info: RunInfo | None = None
    report: dict[str, Any] | None = None
    source: type[Source] | None = None
    local: dict[str, StoredRecord] = {}
    dates: list[datetime] = []
    with path.open("rb") as stream:
        for record in iter_records(stream, check_digests=True):
            rec_type = record.rec_type
            date = record.date
            dates.append(date)
            row: dict[str, Any] = {
                "offset": record.offset,
                "length": record.length,
                "record_id": record.record_id,
                "rec_type": rec_type,
                "target_uri": record.target_uri,
                "date": date,
                "content_type": record.content_type[:255] or None,
                "http_status": None,
                "block_digest": record.get("WARC-Block-Digest"),
                "payload_digest": record.get("WARC-Payload-Digest"),
                "payload_length": None,
                "refers_to": record.get("WARC-Refers-To"),
                "parse_error": None,
            }
            index = len(records)
            records.append(row)
            if index == 0:
                if rec_type != "warcinfo":
                    raise WarcError(f"{key}: first record is {rec_type}, not warcinfo")
                info = RunInfo.from_fields(record.warc_fields(), where=key)
                source = source_class(info.platform)
                continue
            if rec_type == "metadata" and (record.target_uri or "").startswith(REPORT_URI_PREFIX):
                report = parse_report(record.block, where=key)
                continue
            if rec_type not in ("response", "revisit") or "msgtype=response" not in record.content_type:
                continue
            assert source is not None
            message = record.http()
            row["http_status"] = message.status or None
            if rec_type == "response":
                row["payload_length"] = len(record.block) - message.head_length
                if message.content_type.startswith("image/") or message.content_type.startswith("video/"):
                    media_links[record.target_uri or ""] = index
                local[record.record_id] = record
                body_message = message
            else:
                original = _original_message(session, key, record, local, read_range)
                if original is None:
                    row["parse_error"] = (
                        f"revisit refers to {record.get('WARC-Refers-To')}, which is not archived"
                    )
                    continue
                body_message = HttpMessage(
                    first_line=message.first_line,
                    headers=original.headers,
                    head_length=original.head_length,
                    raw_body=original.raw_body,
                )
                if body_message.content_type.startswith(("image/", "video/")):
                    media_refs[record.target_uri or ""] = record.get("WARC-Refers-To") or ""
            response = ArchivedResponse(
                url=record.target_uri or "",
                date=date,
                message=body_message,
                record_id=record.record_id,
            )
            parsed: ParseResult = parse_safely(source, response)
            if parsed.unparsed:
                row["parse_error"] = "; ".join(parsed.unparsed)[:2000]
            observations.extend(_Observation(index, date, item) for item in parsed.items)
            if rec_type == "response" and not message.content_type.startswith(("application/json", "text/")):
                local.pop(record.record_id, None)  # keep only small parseable originals in memory
    if info is None:
        raise WarcError(f"{key}: empty WARC file")
    if report is None:
        raise WarcError(f"{key}: no closing capture report; the file is incomplete")
    return _FileContent(
        info=info,
        report=report,
        records=records,
        observations=observations,
        media_links=media_links,
        media_refs=media_refs,
        first_date=min(dates),
        last_date=max(dates),
    )


def _original_message(
    session: Session,
    key: str,
    record: StoredRecord,
    local: dict[str, StoredRecord],
    read_range: RangeReader,
) -> HttpMessage | None:
    """The HTTP message of the record a revisit refers to (same file or an earlier one)."""
    refers_to = record.get("WARC-Refers-To")
    if not refers_to:
        return None
    if refers_to in local:
        return local[refers_to].http()
    row = session.execute(
        select(m.WarcFile.key, m.WarcRecord.offset, m.WarcRecord.length)
        .join(m.WarcFile, m.WarcFile.id == m.WarcRecord.file_id)
        .where(m.WarcRecord.record_id == refers_to)
    ).first()
    if row is None:
        return None
    original = read_record_at(read_range(row.key, row.offset, row.length))
    if original.record_id != refers_to:
        raise WarcError(
            f"{key}: index points {refers_to} at {row.key}@{row.offset}, which holds another record"
        )
    return original.http()


def _ensure_account(session: Session, info: RunInfo, first_date: datetime) -> None:
    account = session.get(m.Account, info.account_id)
    if account is None:
        session.add(
            m.Account(
                id=info.account_id,
                platform=info.platform,
                handle=info.handle,
                first_seen_at=first_date,
            )
        )
        session.flush()


def _upsert_run(session: Session, info: RunInfo, report: dict[str, Any], status: str) -> None:
    run = session.get(m.CaptureRun, info.run_id)
    finished = report.get("finished_at")
    if run is None:
        run = m.CaptureRun(
            id=info.run_id,
            account_id=info.account_id,
            platform=info.platform,
            window_start=info.window_start,
            window_end=info.window_end,
            started_at=info.started_at,
            finished_at=datetime.fromisoformat(finished) if finished else None,
            status=status,
            outcome=report.get("outcome"),
            files=[],
            report=_run_report(report),
            source_state=report.get("source_state") or {},
            error=report.get("error"),
        )
        session.add(run)
    else:
        run.outcome = report.get("outcome")
        run.report = _run_report(report)
        run.source_state = report.get("source_state") or {}
        run.error = report.get("error")
        if finished:
            run.finished_at = datetime.fromisoformat(finished)
    session.flush()


def _run_report(report: dict[str, Any]) -> dict[str, Any]:
    """The run-level part of a file's report (listings are per file and stay in the WARC)."""
    return {k: v for k, v in report.items() if k not in ("listings",)}


def _load_items(session: Session, uids: Iterable[str]) -> dict[str, m.Item]:
    found: dict[str, m.Item] = {}
    pending = sorted(set(uids))
    for start in range(0, len(pending), 500):
        chunk = pending[start : start + 500]
        for item in session.scalars(select(m.Item).where(m.Item.uid.in_(chunk))):
            found[item.uid] = item
    return found


def _apply_observations(
    session: Session,
    source: type[Source],
    info: RunInfo,
    content: _FileContent,
    record_ids: list[int],
    stats: IngestStats,
) -> None:
    scope_of_record: dict[str, str] = {}
    for listing in content.report.get("listings", []):
        for page in listing.get("pages", []):
            scope_of_record.setdefault(page, listing["scope"])
    record_id_of_index = [row["record_id"] for row in content.records]
    items = _load_items(session, (uid_for(source.platform, o.item.native_id) for o in content.observations))
    current_digest: dict[int, str] = {}
    for item_row in items.values():
        if item_row.current_version_id is not None:
            version = session.get(m.ItemVersion, item_row.current_version_id)
            if version is not None:
                current_digest[item_row.id] = version.content_digest
    for obs in content.observations:
        parsed = obs.item
        uid = uid_for(source.platform, parsed.native_id)
        record_pk = record_ids[obs.record_index]
        scope = scope_of_record.get(record_id_of_index[obs.record_index])
        digest = parsed.content_digest
        row = items.get(uid)
        known = None
        if row is not None:
            known = KnownState(current_digest.get(row.id), row.is_hidden, row.is_deleted)
        decision = observe(known, content_digest=digest, hidden=parsed.hidden)
        stats.items_seen += 1
        stats.items_by_kind[parsed.kind] += 1
        stats.uids.add(uid)
        if row is None:
            row = m.Item(
                uid=uid,
                platform=source.platform,
                account_id=info.account_id,
                native_id=parsed.native_id,
                kind=parsed.kind,
                series=info.series,
                scope=scope,
                first_seen_at=obs.date,
                last_seen_at=obs.date,
                last_seen_run=info.run_id,
                is_hidden=False,
                is_deleted=False,
                version_count=0,
                author_is_agency=parsed.author_is_agency,
            )
            session.add(row)
            items[uid] = row
            stats.new_items += 1
        _refresh_item(row, parsed, source.platform, obs.date, info.run_id, scope)
        version_pk: int | None = None
        if decision.new_version:
            row.version_count = (row.version_count or 0) + 1
            session.flush()  # the item needs its id before its version
            version = m.ItemVersion(
                item_id=row.id,
                version_no=row.version_count,
                content_digest=digest,
                text=parsed.text,
                search_text=search_text(" ".join(filter(None, [parsed.text, parsed.author_name]))),
                normalized=_normalized(parsed),
                created_at=parsed.created_at,
                edited_at=parsed.edited_at,
                observed_at=obs.date,
                record_id=record_pk,
            )
            session.add(version)
            session.flush()
            version_pk = version.id
            row.current_version_id = version.id
            current_digest[row.id] = digest
            stats.new_versions += 1
        for kind in decision.events:
            occurred = None
            if kind == "created":
                occurred = parsed.created_at
            elif kind == "edited":
                occurred = parsed.edited_at
            session.add(
                m.ChangeEvent(
                    item_id=row.id,
                    kind=kind,
                    observed_at=obs.date,
                    occurred_at=occurred,
                    run_id=info.run_id,
                    record_id=record_pk,
                    version_id=version_pk,
                    details={},
                )
            )
            stats.events[kind] += 1
        if "hidden" in decision.events:
            row.is_hidden = True
        elif "unhidden" in decision.events:
            row.is_hidden = False
        if row.is_deleted:
            row.is_deleted = False
            row.deleted_observed_at = None
        if parsed.media_url:
            _link_media(session, row, parsed.media_url, content, record_ids)
    session.flush()


def _refresh_item(
    row: m.Item, parsed: ParsedItem, platform: str, date: datetime, run_id: str, scope: str | None
) -> None:
    row.kind = parsed.kind
    row.parent_uid = uid_for(platform, parsed.parent_native_id) if parsed.parent_native_id else None
    row.root_uid = uid_for(platform, parsed.root_native_id) if parsed.root_native_id else None
    row.author_id = parsed.author_id
    row.author_name = parsed.author_name
    row.author_key = search_text(parsed.author_name or "") or None
    row.author_is_agency = parsed.author_is_agency
    row.url = parsed.url
    row.created_at = parsed.created_at or row.created_at
    row.last_seen_at = max(row.last_seen_at, date) if row.last_seen_at else date
    row.last_seen_run = run_id
    if row.scope is None and scope is not None:
        row.scope = scope


def _link_media(
    session: Session, row: m.Item, url: str, content: _FileContent, record_ids: list[int]
) -> None:
    index = content.media_links.get(url)
    if index is not None:
        row.media_record_id = record_ids[index]
        return
    refers_to = content.media_refs.get(url)
    if refers_to:
        original = session.scalar(select(m.WarcRecord.id).where(m.WarcRecord.record_id == refers_to))
        if original is not None:
            row.media_record_id = original


def _normalized(parsed: ParsedItem) -> dict[str, Any]:
    return {
        "native_id": parsed.native_id,
        "kind": parsed.kind,
        "content": dict(parsed.content),
        "extra": dict(parsed.extra),
        "parent": parsed.parent_native_id,
        "root": parsed.root_native_id,
        "author": {
            "id": parsed.author_id,
            "name": parsed.author_name,
            "agency": parsed.author_is_agency,
        },
        "created_at": parsed.created_at.isoformat() if parsed.created_at else None,
        "edited_at": parsed.edited_at.isoformat() if parsed.edited_at else None,
        "hidden": parsed.hidden,
        "url": parsed.url,
        "media_url": parsed.media_url,
    }


def _detect_deletions(
    session: Session,
    info: RunInfo,
    content: _FileContent,
    record_ids: list[int],
    stats: IngestStats,
) -> None:
    record_index = {row["record_id"]: i for i, row in enumerate(content.records)}
    seen_by_record: dict[str, set[str]] = {}
    platform = info.platform
    for obs in content.observations:
        rid = content.records[obs.record_index]["record_id"]
        seen_by_record.setdefault(rid, set()).add(uid_for(platform, obs.item.native_id))
    for listing in content.report.get("listings", []):
        if not listing.get("complete") or listing.get("series") != info.series:
            continue
        pages = [p for p in listing.get("pages", []) if p in record_index]
        if len(pages) != len(listing.get("pages", [])):
            continue  # a page of this listing is not in this file: do not judge
        seen: set[str] = set()
        for page in pages:
            seen |= seen_by_record.get(page, set())
        window = ListingWindow(
            scope=listing["scope"],
            since=_parse_dt(listing.get("since")),
            until=_parse_dt(listing.get("until")),
        )
        rows = list(
            session.scalars(
                select(m.Item).where(
                    m.Item.scope == window.scope,
                    m.Item.account_id == info.account_id,
                    m.Item.is_deleted.is_(False),
                )
            )
        )
        by_uid = {row.uid: row for row in rows}
        gone = missing_from_listing(window, (Candidate(r.uid, r.created_at) for r in rows), seen)
        if not gone:
            continue
        last_page = pages[-1] if pages else None
        observed_at = content.records[record_index[last_page]]["date"] if last_page else content.last_date
        record_pk = record_ids[record_index[last_page]] if last_page else None
        for uid in gone:
            row = by_uid[uid]
            row.is_deleted = True
            row.deleted_observed_at = observed_at
            session.add(
                m.ChangeEvent(
                    item_id=row.id,
                    kind="deleted-observed",
                    observed_at=observed_at,
                    occurred_at=None,
                    run_id=info.run_id,
                    record_id=record_pk,
                    version_id=None,
                    details={"last_seen_at": row.last_seen_at.isoformat(), "scope": window.scope},
                )
            )
            stats.events["deleted-observed"] += 1
    session.flush()


def _parse_dt(value: str | None) -> datetime | None:
    return parse_warc_date(value) if value else None


def run_archived_counts(session: Session, run_id: str) -> dict[str, int]:
    """Items of each kind that a run's files evidence (last seen in that run)."""
    rows = session.execute(select(m.Item.kind).where(m.Item.last_seen_run == run_id)).all()
    return dict(sorted(Counter(kind for (kind,) in rows).items()))


def run_event_counts(session: Session, run_id: str) -> dict[str, int]:
    """Change events of each kind that a run's files produced."""
    rows = session.execute(select(m.ChangeEvent.kind).where(m.ChangeEvent.run_id == run_id)).all()
    return dict(sorted(Counter(kind for (kind,) in rows).items()))


def uid_for(platform: str, native_id: str) -> str:
    """The stable public id of an item: ``<platform>:<native id>``."""
    return f"{platform}:{native_id}"
