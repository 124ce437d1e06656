"""Ingest of one stored WARC file into the index, in one transaction, streaming.

Everything derived comes from the file itself: the warcinfo names the account, platform, series
and run (or, for an imported file, the object key names account and series); response and revisit
records are parsed by the platform's source; the closing capture report says which listings
completed. A revisit's payload is read from the record it refers to. The same code serves the
capture path and ``reindex`` — serially here, or with the parsing done in worker processes
(:mod:`hp_archive.index.reindex`) — so both build the same index.

Memory stays flat however large the file: units (records with their parsed items, see
:mod:`hp_archive.index.extract`) are applied in chunks of :data:`CHUNK` records, and only small
per-file maps survive a chunk (record id → row id and date, the uids each listing page showed,
and the items whose listing scope or media record is settled when the file ends, because the
capture report and media downloads come after the pages that name them).
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import json
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hp_archive.errors import WarcError
from hp_archive.index import models as m
from hp_archive.index.bulk import BulkWriter, FullTextBatch, from_stamp, stamp_from_db
from hp_archive.index.changes import Candidate, KnownState, ListingWindow, missing_from_listing, observe
from hp_archive.index.extract import (
    IMPORT_PROFILE,
    MEDIA_TYPES,
    FileHeader,
    Observed,
    Parser,
    Unit,
    extract_units,
    revisit_message,
    uid_for,
)
from hp_archive.sources.base import ArchivedResponse
from hp_archive.warc.http import split_http_message
from hp_archive.warc.members import LAYOUT_MEMBERS, read_stored_record
from hp_archive.warc.records import parse_warc_date
from hp_archive.warc.runinfo import RunInfo

log = logging.getLogger(__name__)

__all__ = [
    "CHUNK",
    "IngestStats",
    "RangeReader",
    "ingest_file",
    "ingest_units",
    "is_indexed",
    "iter_chunks",
    "run_archived_counts",
    "run_event_counts",
    "uid_for",
]

RangeReader = Callable[[str, int, int], bytes]  # (object key, offset, length) -> bytes
CHUNK = 2000
CHUNK_ITEMS = 5000

_RECORD_COLUMNS = (
    "id", "file_id", "offset", "length", "record_id", "rec_type", "target_uri", "date", "content_type",
    "http_status", "block_digest", "payload_digest", "payload_length", "refers_to", "parse_error",
)  # fmt: skip
_ITEM_COLUMNS = (
    "id", "uid", "platform", "account_id", "native_id", "kind", "parent_uid", "root_uid", "author_id",
    "author_name", "author_is_agency", "url", "series", "scope", "created_at", "first_seen_at",
    "last_seen_at", "last_seen_run", "is_hidden", "is_deleted", "deleted_observed_at", "version_count",
    "current_version_id", "media_record_id", "author_key",
)  # fmt: skip
_ITEM_UPDATE = (
    "kind", "parent_uid", "root_uid", "author_id", "author_name", "author_is_agency", "url",
    "created_at", "last_seen_at", "last_seen_run", "is_hidden", "is_deleted", "deleted_observed_at",
    "version_count", "current_version_id", "author_key",
)  # fmt: skip
_VERSION_COLUMNS = (
    "id", "item_id", "version_no", "content_digest", "text", "search_text", "normalized", "created_at",
    "edited_at", "observed_at", "record_id",
)  # fmt: skip
_EVENT_COLUMNS = (
    "id", "item_id", "kind", "observed_at", "occurred_at", "run_id", "record_id", "version_id", "details",
)  # fmt: skip


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


def is_indexed(session: Session, key: str) -> bool:
    """Whether the object ``key`` is already in the index."""
    return session.scalar(select(m.WarcFile.id).where(m.WarcFile.key == key)) is not None


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
    open_object: Callable[[str], Any] | None = None,
) -> IngestStats:
    """Index the WARC at ``path`` (stored as ``key``); a no-op if the key is already indexed.

    The caller owns the transaction: commit after this returns, roll back if it raises.
    ``open_object(key)`` (the store's ``open``) is needed only to read revisit originals held in
    a whole-file-gzip WARC.
    """
    if is_indexed(session, key):
        return IngestStats(key=key, skipped=True)
    return ingest_units(
        session,
        extract_units(path, key=key, sha256=sha256),
        key=key,
        sha256=sha256,
        size=size,
        read_range=read_range,
        indexed_at=indexed_at,
        run_status=run_status,
        open_object=open_object,
    )


def ingest_units(
    session: Session,
    units: Iterable[Unit],
    *,
    key: str,
    sha256: str,
    size: int,
    read_range: RangeReader,
    indexed_at: datetime,
    run_status: str = "indexed",
    open_object: Callable[[str], Any] | None = None,
) -> IngestStats:
    """Apply a file's units (from :func:`~hp_archive.index.extract.extract_units`, here or in a
    worker) to the index. The caller owns the transaction and has checked the key is new."""
    stream = iter(units)
    first = next(stream, None)
    if first is None or first.header is None:
        raise WarcError(f"{key}: empty WARC file")
    writer = _FileWriter(session, first.header, key, sha256, size, read_range, indexed_at, run_status)
    writer.open_object = open_object
    try:
        for chunk in iter_chunks(itertools.chain([first], stream)):
            writer.apply(chunk)
        return writer.finish()
    except BaseException:
        # the caller rolls back, which restores the trigger too; one that commits anyway must
        # still find every version it keeps in the full text (the original error is re-raised)
        with contextlib.suppress(Exception):
            writer.full_text.finish()
        raise


@dataclass(slots=True)
class _State:
    """An item as the ingest sees it (loaded from the index or created by this file)."""

    id: int
    uid: str
    kind: str
    parent_uid: str | None
    root_uid: str | None
    author_id: str | None
    author_name: str | None
    author_is_agency: bool
    url: str | None
    created_at: str | None  # stamps (hp_archive.index.bulk.stamp)
    last_seen_at: str | None
    last_seen_run: str
    is_hidden: bool
    is_deleted: bool
    deleted_observed_at: str | None
    version_count: int
    current_version_id: int | None
    digest: str | None
    scope: str | None
    new: bool = False
    row: list[Any] | None = None  # the insert row of a new item
    author_key: str | None = None  # set from each observation (written with the item's row)


class _FileWriter:
    def __init__(
        self,
        session: Session,
        header: FileHeader,
        key: str,
        sha256: str,
        size: int,
        read_range: RangeReader,
        indexed_at: datetime,
        run_status: str,
    ) -> None:
        self.session = session
        self.header = header
        self.info: RunInfo = header.info
        self.key = key
        self.read_range = read_range
        self.open_object: Callable[[str], Any] | None = None
        self.bulk = BulkWriter(session)
        self.full_text = FullTextBatch(self.bulk)
        self.stats = IngestStats(
            key=key, account_id=self.info.account_id, run_id=self.info.run_id, series=self.info.series
        )
        self.parser: Parser | None = None
        self.report: dict[str, Any] | None = None
        self.first_date: datetime | None = None
        self.last_date: datetime | None = None
        self.count = 0
        self.record_pk: dict[str, int] = {}  # record id -> warc_records.id
        self.page_date: dict[str, datetime] = {}  # response/revisit record id -> date
        self.seen_by_record: dict[str, set[str]] = {}
        self.pending_scope: dict[str, str | list[str]] = {}  # uid -> record id(s): scope settled at the end
        self.pending_media: dict[str, list[str]] = {}  # uid -> media URLs in order
        self.media_links: dict[str, int] = {}  # URL -> record pk holding its bytes
        self.media_refs: dict[str, str] = {}  # URL -> original record id (revisits)
        self._version_pool: list[int] = []
        self._ensure_account()
        self._upsert_run({}, run_status, create=True)
        warc_file = m.WarcFile(
            key=key,
            filename=key.rsplit("/", 1)[-1],
            account_id=self.info.account_id,
            series=self.info.series,
            run_id=self.info.run_id,
            size=size,
            sha256=sha256,
            record_count=0,
            first_date=self.info.started_at,
            last_date=self.info.started_at,
            retain_until=None,
            legal_hold=False,
            indexed_at=indexed_at,
        )
        session.add(warc_file)
        session.flush()
        self.warc_file = warc_file
        self.run_status = run_status

    # -- file-level rows -----------------------------------------------------------------------------

    def _ensure_account(self) -> None:
        if self.session.get(m.Account, self.info.account_id) is None:
            self.session.add(
                m.Account(
                    id=self.info.account_id,
                    platform=self.info.platform,
                    handle=self.info.handle,
                    first_seen_at=self.info.started_at,
                )
            )
            self.session.flush()

    def _upsert_run(self, report: dict[str, Any], status: str, *, create: bool) -> None:
        info = self.info
        run = self.session.get(m.CaptureRun, info.run_id)
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
            self.session.add(run)
        elif not create:
            run.outcome = report.get("outcome")
            run.report = _run_report(report)
            run.source_state = report.get("source_state") or {}
            run.error = report.get("error")
            if finished:
                run.finished_at = datetime.fromisoformat(finished)
            if self.header.foreign:
                run.window_end = info.window_end
                run.finished_at = self.last_date
        self.session.flush()

    # -- chunks --------------------------------------------------------------------------------------

    def apply(self, units: list[Unit]) -> None:
        if not units:
            return
        self._write_records(units)
        for unit in units:
            if unit.revisit_of is not None:
                self._parse_cross_file_revisit(unit)
        self._apply_items(units)

    def _write_records(self, units: list[Unit]) -> None:
        bulk = self.bulk
        ids = bulk.reserve("warc_records", len(units))
        rows = []
        file_id = self.warc_file.id
        for pk, unit in zip(ids, units, strict=True):
            row = unit.row
            date: datetime = row["date"]
            self.first_date = date if self.first_date is None else min(self.first_date, date)
            self.last_date = date if self.last_date is None else max(self.last_date, date)
            self.count += 1
            rid = row["record_id"]
            self.record_pk[rid] = pk
            if row["rec_type"] in ("response", "revisit"):
                self.page_date[rid] = date
            if unit.report is not None:
                self.report = unit.report
            if unit.media_uri is not None:
                self.media_links[unit.media_uri] = pk
            if unit.media_ref is not None:
                self.media_refs[unit.media_ref[0]] = unit.media_ref[1]
            if row["parse_error"]:
                self.stats.unparsed += 1
            rows.append(
                (pk, file_id, row["offset"], row["length"], rid, row["rec_type"], row["target_uri"],
                 row["stamp"], row["content_type"], row["http_status"], row["block_digest"],
                 row["payload_digest"], row["payload_length"], row["refers_to"], row["parse_error"])
            )  # fmt: skip
        bulk.insert("warc_records", _RECORD_COLUMNS, rows)

    def _parse_cross_file_revisit(self, unit: Unit) -> None:
        """A revisit whose original is in an earlier file: read it back through the index."""
        row = unit.row
        refers_to = unit.revisit_of or ""
        unit.revisit_of = None
        found = self.bulk.select(
            'SELECT f.key, r."offset", r.length, r.id FROM warc_records r JOIN warc_files f '
            "ON f.id = r.file_id WHERE r.record_id = ?",
            (refers_to,),
        )
        if not found:
            row["parse_error"] = f"revisit refers to {refers_to}, which is not archived"
            self.bulk.update(
                "warc_records", ("parse_error",), [(row["parse_error"], self.record_pk[row["record_id"]])]
            )
            self.stats.unparsed += 1
            return
        key, offset, length, _ = found[0]
        layout = self._layout_of(key)
        original = read_stored_record(
            layout,
            offset,
            length,
            read_range=lambda o, n: self.read_range(key, o, n),
            open_stream=lambda: self._open(key),
        )
        if original.record_id != refers_to:
            raise WarcError(
                f"{self.key}: index points {refers_to} at {key}@{offset}, which holds another record"
            )
        head = split_http_message(unit.revisit_head or b"")
        message = revisit_message(head, original.http())
        if message.content_type.startswith(MEDIA_TYPES):
            self.media_refs[row["target_uri"] or ""] = refers_to
        response = ArchivedResponse(
            url=row["target_uri"] or "", date=row["date"], message=message, record_id=row["record_id"]
        )
        if self.parser is None:
            self.parser = Parser(self.header)
        unit.items, error = self.parser.parse(response)
        if error:
            row["parse_error"] = error
            self.bulk.update("warc_records", ("parse_error",), [(error, self.record_pk[row["record_id"]])])
            self.stats.unparsed += 1

    def _layout_of(self, key: str) -> str:
        if key == self.key:
            return self.header.layout
        found = self.bulk.select("SELECT layout FROM warc_files WHERE key = ?", (key,))
        return str(found[0][0]) if found and found[0][0] else LAYOUT_MEMBERS

    def _open(self, key: str) -> Any:
        if self.open_object is None:
            raise WarcError(f"{key} is a whole-file gzip WARC and no object reader was given")
        return self.open_object(key)

    # -- items ---------------------------------------------------------------------------------------

    def _load_states(self, uids: set[str]) -> dict[str, _State]:
        states: dict[str, _State] = {}
        pending = sorted(uids)
        for start in range(0, len(pending), 500):
            chunk = pending[start : start + 500]
            rows = self.bulk.select(
                "SELECT i.id, i.uid, i.kind, i.parent_uid, i.root_uid, i.author_id, i.author_name, "
                "i.author_is_agency, i.url, i.created_at, i.last_seen_at, i.last_seen_run, i.is_hidden, "
                "i.is_deleted, i.deleted_observed_at, i.version_count, i.current_version_id, "
                "v.content_digest, i.scope FROM items i LEFT JOIN item_versions v "
                f"ON v.id = i.current_version_id WHERE i.uid IN ({self.bulk.placeholders(len(chunk))})",
                chunk,
            )
            for r in rows:
                states[r[1]] = _State(
                    id=r[0], uid=r[1], kind=r[2], parent_uid=r[3], root_uid=r[4], author_id=r[5],
                    author_name=r[6], author_is_agency=bool(r[7]), url=r[8],
                    created_at=stamp_from_db(r[9]), last_seen_at=stamp_from_db(r[10]), last_seen_run=r[11],
                    is_hidden=bool(r[12]), is_deleted=bool(r[13]), deleted_observed_at=stamp_from_db(r[14]),
                    version_count=r[15] or 0, current_version_id=r[16], digest=r[17], scope=r[18],
                )  # fmt: skip
        return states

    def _apply_items(self, units: list[Unit]) -> None:
        uids = {obs.uid for unit in units for obs in unit.items}
        if not uids:
            return
        states = self._load_states(uids)
        new_count = sum(1 for uid in uids if uid not in states)
        item_ids = iter(self.bulk.reserve("items", new_count))
        versions: list[tuple[Any, ...]] = []
        events: list[list[Any]] = []
        touched: dict[str, _State] = {}
        info, stats = self.info, self.stats
        for unit in units:
            if not unit.items:
                continue
            rid = unit.row["record_id"]
            record_pk = self.record_pk[rid]
            date: str = unit.row["stamp"]
            seen = self.seen_by_record.setdefault(rid, set()) if rid in self.page_date else None
            for obs in unit.items:
                uid = obs.uid
                state = states.get(uid)
                known = None if state is None else KnownState(state.digest, state.is_hidden, state.is_deleted)
                decision = observe(known, content_digest=obs.digest, hidden=obs.hidden)
                stats.items_seen += 1
                stats.items_by_kind[obs.kind] += 1
                stats.uids.add(uid)
                if seen is not None:
                    seen.add(uid)
                if state is None:
                    state = _State(
                        id=next(item_ids), uid=uid, kind=obs.kind, parent_uid=None, root_uid=None,
                        author_id=None, author_name=None, author_is_agency=obs.author_is_agency, url=None,
                        created_at=None, last_seen_at=date, last_seen_run=info.run_id, is_hidden=False,
                        is_deleted=False, deleted_observed_at=None, version_count=0,
                        current_version_id=None, digest=None, scope=None, new=True,
                        row=[obs.platform, info.account_id, obs.native_id, info.series, date],
                    )  # fmt: skip
                    states[uid] = state
                    stats.new_items += 1
                touched[uid] = state
                self._refresh(state, obs, date)
                if state.scope is None:
                    known_rids = self.pending_scope.get(uid)
                    if known_rids is None:
                        self.pending_scope[uid] = rid  # most items: one record
                    elif isinstance(known_rids, str):
                        if known_rids != rid:
                            self.pending_scope[uid] = [known_rids, rid]
                    else:
                        known_rids.append(rid)
                version_pk = None
                if decision.new_version:
                    state.version_count += 1
                    version_pk = self._next_version_id()
                    versions.append(
                        (version_pk, state.id, state.version_count, obs.digest, obs.text, obs.search_text,
                         obs.normalized, obs.created_at, obs.edited_at, date,
                         record_pk)
                    )  # fmt: skip
                    state.current_version_id = version_pk
                    state.digest = obs.digest
                    stats.new_versions += 1
                for kind in decision.events:
                    occurred = (
                        obs.created_at if kind == "created" else obs.edited_at if kind == "edited" else None
                    )
                    events.append([state.id, kind, date, occurred, info.run_id, record_pk, version_pk, "{}"])
                    stats.events[kind] += 1
                if "hidden" in decision.events:
                    state.is_hidden = True
                elif "unhidden" in decision.events:
                    state.is_hidden = False
                if state.is_deleted:
                    state.is_deleted = False
                    state.deleted_observed_at = None
                if obs.media_url:
                    self.pending_media.setdefault(uid, []).append(obs.media_url)
        self._flush(touched, versions, events)

    def _next_version_id(self) -> int:
        if not self._version_pool:
            self._version_pool = self.bulk.reserve("item_versions", CHUNK)[::-1]
        return self._version_pool.pop()

    def _refresh(self, state: _State, obs: Observed, date: str) -> None:
        state.kind = obs.kind
        state.parent_uid = obs.parent_uid
        state.root_uid = obs.root_uid
        state.author_id = obs.author_id
        state.author_name = obs.author_name
        state.author_key = obs.author_key
        state.author_is_agency = obs.author_is_agency
        state.url = obs.url
        state.created_at = obs.created_at or state.created_at
        state.last_seen_at = max(state.last_seen_at, date) if state.last_seen_at else date
        state.last_seen_run = self.info.run_id

    def _flush(
        self, touched: dict[str, _State], versions: list[tuple[Any, ...]], events: list[list[Any]]
    ) -> None:
        bulk = self.bulk
        inserts, updates = [], []
        for s in touched.values():
            if s.new:
                assert s.row is not None
                platform, account, native_id, series, first_seen = s.row
                inserts.append(
                    (s.id, s.uid, platform, account, native_id, s.kind, s.parent_uid, s.root_uid, s.author_id,
                     s.author_name, s.author_is_agency, s.url, series, None, s.created_at,
                     first_seen, s.last_seen_at, s.last_seen_run, s.is_hidden, s.is_deleted,
                     s.deleted_observed_at, s.version_count, s.current_version_id, None, s.author_key)
                )  # fmt: skip
            else:
                updates.append(
                    (s.kind, s.parent_uid, s.root_uid, s.author_id, s.author_name, s.author_is_agency, s.url,
                     s.created_at, s.last_seen_at, s.last_seen_run, s.is_hidden,
                     s.is_deleted, s.deleted_observed_at, s.version_count, s.current_version_id,
                     s.author_key, s.id)
                )  # fmt: skip
        bulk.insert("items", _ITEM_COLUMNS, inserts)
        bulk.insert("item_versions", _VERSION_COLUMNS, versions, json=("normalized",))
        bulk.update("items", _ITEM_UPDATE, updates)
        event_ids = bulk.reserve("change_events", len(events))
        bulk.insert(
            "change_events", _EVENT_COLUMNS, [(pk, *row) for pk, row in zip(event_ids, events, strict=True)],
            json=("details",),
        )  # fmt: skip

    # -- the end of the file -------------------------------------------------------------------------

    def finish(self) -> IngestStats:
        header, info = self.header, self.info
        if header.foreign:
            report = self._import_report()
            if self.last_date is not None:
                self.info = info = dataclasses.replace(info, window_end=self.last_date)
        elif self.report is None:
            raise WarcError(f"{self.key}: no closing capture report; the file is incomplete")
        else:
            report = self.report
        self._settle_scopes(report)
        self._settle_media()
        self._detect_deletions(report)
        self.full_text.finish()
        self.warc_file.record_count = self.count
        self.warc_file.first_date = self.first_date or info.started_at
        self.warc_file.last_date = self.last_date or info.started_at
        self.warc_file.layout = header.layout
        self._upsert_run(report, self.run_status, create=False)
        self.stats.records = self.count
        return self.stats

    def _import_report(self) -> dict[str, Any]:
        return {
            "profile": IMPORT_PROFILE,
            "run_id": self.info.run_id,
            "account": self.info.account_id,
            "outcome": "complete",
            "error": None,
            "finished_at": None,
            "software": self.header.software,
            "layout": self.header.layout,
            "records": self.count,
        }

    def _settle_scopes(self, report: dict[str, Any]) -> None:
        scope_of_record: dict[str, str] = {}
        for listing in report.get("listings", []):
            for page in listing.get("pages", []):
                scope_of_record.setdefault(page, listing["scope"])
        rows = []
        for uid, records in self.pending_scope.items():
            rids = (records,) if isinstance(records, str) else records
            scope = next((scope_of_record[r] for r in rids if r in scope_of_record), None)
            if scope is not None:
                rows.append((scope, uid))
        if rows:
            sql = f"UPDATE items SET scope = {self.bulk.mark} WHERE uid = {self.bulk.mark} AND scope IS NULL"
            self.bulk.conn.exec_driver_sql(sql, rows)
        self.pending_scope.clear()

    def _settle_media(self) -> None:
        rows = []
        originals: dict[str, int | None] = {}
        for uid, urls in self.pending_media.items():
            for url in reversed(urls):
                pk = self.media_links.get(url)
                if pk is None and url in self.media_refs:
                    ref = self.media_refs[url]
                    if ref and ref not in originals:
                        found = self.bulk.select("SELECT id FROM warc_records WHERE record_id = ?", (ref,))
                        originals[ref] = found[0][0] if found else None
                    pk = originals.get(ref) if ref else None
                if pk is not None:
                    rows.append((pk, uid))
                    break
        if rows:
            sql = f"UPDATE items SET media_record_id = {self.bulk.mark} WHERE uid = {self.bulk.mark}"
            self.bulk.conn.exec_driver_sql(sql, rows)
        self.pending_media.clear()

    def _detect_deletions(self, report: dict[str, Any]) -> None:
        info, bulk = self.info, self.bulk
        events: list[tuple[Any, ...]] = []
        for listing in report.get("listings", []):
            if not listing.get("complete") or listing.get("series") != info.series:
                continue
            pages = [p for p in listing.get("pages", []) if p in self.record_pk]
            if len(pages) != len(listing.get("pages", [])):
                continue  # a page of this listing is not in this file: do not judge
            seen: set[str] = set()
            for page in pages:
                seen |= self.seen_by_record.get(page, set())
            window = ListingWindow(
                scope=listing["scope"],
                since=_parse_dt(listing.get("since")),
                until=_parse_dt(listing.get("until")),
            )
            # by scope alone: without statistics SQLite would pick the account index and read
            # every item of the account for each listing
            rows = [
                (pk, uid, created, last)
                for pk, uid, created, last, account, deleted in bulk.select(
                    "SELECT id, uid, created_at, last_seen_at, account_id, is_deleted FROM items "
                    "WHERE scope = ?",
                    (window.scope,),
                )
                if account == info.account_id and not deleted
            ]
            by_uid = {uid: (pk, from_stamp(stamp_from_db(last))) for pk, uid, _, last in rows}
            candidates = (Candidate(uid, from_stamp(stamp_from_db(c))) for _, uid, c, _ in rows)
            gone = missing_from_listing(window, candidates, seen)
            if not gone:
                continue
            last_page = pages[-1] if pages else None
            observed_at = self.page_date[last_page] if last_page else self.last_date
            record_pk = self.record_pk[last_page] if last_page else None
            updates = []
            for uid in gone:
                pk, last_seen = by_uid[uid]
                updates.append((True, bulk.dt(observed_at), pk))
                details = {
                    "last_seen_at": last_seen.isoformat() if last_seen else None,
                    "scope": window.scope,
                }
                events.append(
                    (pk, "deleted-observed", bulk.dt(observed_at), None, info.run_id, record_pk, None,
                     _json(details))
                )  # fmt: skip
                self.stats.events["deleted-observed"] += 1
            bulk.update("items", ("is_deleted", "deleted_observed_at"), updates)
        ids = bulk.reserve("change_events", len(events))
        bulk.insert(
            "change_events", _EVENT_COLUMNS, [(pk, *row) for pk, row in zip(ids, events, strict=True)],
            json=("details",),
        )  # fmt: skip


def _json(value: Any) -> str:
    return json.dumps(value)


def _run_report(report: dict[str, Any]) -> dict[str, Any]:
    """The run-level part of a file's report (listings are per file and stay in the WARC)."""
    return {k: v for k, v in report.items() if k not in ("listings",)}


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


def iter_chunks(units: Iterable[Unit], size: int = CHUNK, items: int = CHUNK_ITEMS) -> Iterator[list[Unit]]:
    """Units grouped in lists of at most ``size`` units or about ``items`` parsed items (a page of
    100 comments is one unit), the amount the writer applies and a worker sends at a time."""
    chunk: list[Unit] = []
    count = 0
    for unit in units:
        chunk.append(unit)
        count += len(unit.items)
        if len(chunk) >= size or count >= items:
            yield chunk
            chunk = []
            count = 0
    if chunk:
        yield chunk
