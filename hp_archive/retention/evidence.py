"""Which WARC records evidence which records: read from the stored files themselves.

The index keeps the capture where each *version* of an item was first seen, but an unchanged item
is in every later capture of its listing too, and those copies must go with it. So destruction
reads the candidate files again and parses every response (and revisit, through its original)
exactly as the index does, collecting for each WARC record the uids it shows. Added to that:

* the media bytes of a media item (``items.media_record_id``), and every revisit of them;
* every page of a completed listing that showed an item gone (its ``deleted-observed`` event):
  the deletion is evidenced by the absence, across all the listing's pages.

Candidate files are those whose records' dates overlap the time an approved item was observed
(first capture to its last capture or change event): an item is only ever seen within that span.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from hp_archive.errors import WarcError
from hp_archive.index import models as m
from hp_archive.index.extract import MEDIA_TYPES, Parser, header_of, revisit_message
from hp_archive.retention.plan import CaptureRecord, FileContents
from hp_archive.sources.base import ArchivedResponse
from hp_archive.warc.http import HttpMessage
from hp_archive.warc.members import LAYOUT_MEMBERS, detect_layout, iter_file, read_stored_record
from hp_archive.warc.reader import StoredRecord
from hp_archive.warc.runinfo import REPORT_URI_PREFIX, parse_report

if TYPE_CHECKING:
    from hp_archive.archive import Archive

CHUNK = 500
_ORIGINALS_KEPT = 2048


def _chunks(values: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def observation_spans(session: Session, uids: Iterable[str]) -> list[tuple[datetime, datetime]]:
    """Merged (start, end) spans within which the items were observed (captures and events)."""
    spans: list[tuple[datetime, datetime]] = []
    for chunk in _chunks(sorted(set(uids))):
        last_event = (
            select(m.ChangeEvent.item_id, func.max(m.ChangeEvent.observed_at).label("last"))
            .where(m.ChangeEvent.item_id.in_(select(m.Item.id).where(m.Item.uid.in_(chunk))))
            .group_by(m.ChangeEvent.item_id)
            .subquery()
        )
        for first, last, event in session.execute(
            select(m.Item.first_seen_at, m.Item.last_seen_at, last_event.c.last)
            .outerjoin(last_event, last_event.c.item_id == m.Item.id)
            .where(m.Item.uid.in_(chunk))
        ):
            end = max(x for x in (last, event, first) if x is not None)
            spans.append((first, _aware(end)))
    spans = [(_aware(a), _aware(b)) for a, b in spans]
    spans.sort()
    merged: list[tuple[datetime, datetime]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _aware(value: Any) -> datetime:
    from datetime import UTC

    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def candidate_files(session: Session, uids: Iterable[str]) -> list[m.WarcFile]:
    """Stored files that may hold evidence of the items, in capture order."""
    spans = observation_spans(session, uids)
    found: dict[int, m.WarcFile] = {}
    for start, end in spans:
        for row in session.scalars(
            select(m.WarcFile).where(m.WarcFile.first_date <= end, m.WarcFile.last_date >= start)
        ):
            found[row.id] = row
    # the records the index links to the items directly are in candidate files by construction;
    # add their files anyway, so a clock oddity can never hide evidence
    for chunk in _chunks(sorted(set(uids))):
        ids = select(m.Item.id).where(m.Item.uid.in_(chunk))
        linked = (
            select(m.WarcRecord.file_id)
            .where(
                or_(
                    m.WarcRecord.id.in_(
                        select(m.ItemVersion.record_id).where(m.ItemVersion.item_id.in_(ids))
                    ),
                    m.WarcRecord.id.in_(
                        select(m.ChangeEvent.record_id).where(m.ChangeEvent.item_id.in_(ids))
                    ),
                    m.WarcRecord.id.in_(select(m.Item.media_record_id).where(m.Item.uid.in_(chunk))),
                )
            )
            .distinct()
        )
        for row in session.scalars(select(m.WarcFile).where(m.WarcFile.id.in_(linked))):
            found[row.id] = row
    return sorted(found.values(), key=lambda f: (f.first_date, f.key))


@dataclass
class _FileRead:
    key: str
    splittable: bool
    records: list[StoredRecord] = field(default_factory=list)
    evidence: dict[str, set[str]] = field(default_factory=dict)  # record id -> uids
    report: dict[str, Any] | None = None


class EvidenceReader:
    """Reads candidate files and says which uids each of their records evidences."""

    def __init__(self, archive: Archive, session: Session) -> None:
        self.archive = archive
        self.session = session
        self._originals: dict[str, HttpMessage | None] = {}

    @contextlib.contextmanager
    def local_copy(self, key: str) -> Iterator[Path]:
        path = self.archive.store.local_path(key)
        if path is not None:
            yield path
            return
        with self.archive.store.downloaded(key) as (downloaded, _info):
            yield downloaded

    def read(self, files: Sequence[m.WarcFile]) -> list[FileContents]:
        reads = [self._read_file(row) for row in files]
        self._add_media(reads)
        self._add_absences(reads, files)
        out = []
        for read in reads:
            out.append(
                FileContents(
                    key=read.key,
                    records=tuple(
                        CaptureRecord(
                            record_id=record.record_id,
                            rec_type=record.rec_type,
                            evidence=frozenset(read.evidence.get(record.record_id, ())),
                            concurrent_to=record.get("WARC-Concurrent-To"),
                            refers_to=record.get("WARC-Refers-To"),
                        )
                        for record in read.records
                    ),
                    splittable=read.splittable,
                )
            )
        return out

    def _read_file(self, row: m.WarcFile) -> _FileRead:
        with self.local_copy(row.key) as path, path.open("rb") as stream:
            layout = detect_layout(stream)
            records = iter_file(stream, check_digests=True, layout=layout)
            first = next(records, None)
            if first is None:
                raise WarcError(f"{row.key}: empty WARC file")
            header = header_of(first, key=row.key, sha256=row.sha256, layout=layout)
            read = _FileRead(row.key, splittable=not header.foreign and layout == LAYOUT_MEMBERS)
            parser = Parser(header)
            local: dict[str, HttpMessage] = {}
            read.records.append(_headless(first))
            for record in records:
                read.records.append(_headless(record))
                self._parse(record, read, parser, local, header.foreign)
        return read

    def _parse(
        self,
        record: StoredRecord,
        read: _FileRead,
        parser: Parser,
        local: dict[str, HttpMessage],
        foreign: bool,
    ) -> None:
        rec_type = record.rec_type
        if rec_type == "metadata" and (record.target_uri or "").startswith(REPORT_URI_PREFIX) and not foreign:
            read.report = parse_report(record.block, where=read.key)
            return
        if rec_type == "resource" and foreign:
            from hp_archive.index.extract import _resource_response

            items, _ = parser.parse(_resource_response(record), http=False)
            read.evidence[record.record_id] = {o.uid for o in items}
            return
        if rec_type not in ("response", "revisit") or "msgtype=response" not in record.content_type:
            return
        message = record.http()
        if rec_type == "response":
            if message.content_type.startswith(("application/json", "text/")):
                local[record.record_id] = message
                if len(local) > _ORIGINALS_KEPT:
                    local.pop(next(iter(local)))
            body = message
        else:
            refers_to = record.get("WARC-Refers-To")
            original = local.get(refers_to or "") or (self._original(refers_to) if refers_to else None)
            if original is None:
                return
            body = revisit_message(message, original)
            if body.content_type.startswith(MEDIA_TYPES):
                return  # media bytes: attributed through the media item's link (_add_media)
        response = ArchivedResponse(
            url=record.target_uri or "", date=record.date, message=body, record_id=record.record_id
        )
        items, _ = parser.parse(response)
        if items:
            read.evidence[record.record_id] = {o.uid for o in items}

    def _original(self, record_id: str) -> HttpMessage | None:
        """The HTTP message of a record in another file, through the index."""
        if record_id in self._originals:
            return self._originals[record_id]
        row = self.session.execute(
            select(m.WarcFile.key, m.WarcFile.layout, m.WarcRecord.offset, m.WarcRecord.length)
            .join(m.WarcFile, m.WarcFile.id == m.WarcRecord.file_id)
            .where(m.WarcRecord.record_id == record_id)
        ).first()
        message = None
        if row is not None:
            store = self.archive.store
            original = read_stored_record(
                row.layout or LAYOUT_MEMBERS,
                row.offset,
                row.length,
                read_range=lambda o, n: store.get_range(row.key, o, n),
                open_stream=lambda: store.open(row.key),
            )
            if original.record_id != record_id:
                raise WarcError(
                    f"index points {record_id} at {row.key}@{row.offset}, which holds another record"
                )
            message = original.http()
        if len(self._originals) > _ORIGINALS_KEPT:
            self._originals.pop(next(iter(self._originals)))
        self._originals[record_id] = message
        return message

    def _add_media(self, reads: list[_FileRead]) -> None:
        """Media bytes evidence their media item; so does every revisit of them."""
        ids = [r.record_id for read in reads for r in read.records]
        refers = {r.record_id: r.get("WARC-Refers-To") for read in reads for r in read.records}
        wanted = sorted(set(ids) | {v for v in refers.values() if v})
        media: dict[str, set[str]] = defaultdict(set)
        for chunk in _chunks(wanted):
            for uid, record_id in self.session.execute(
                select(m.Item.uid, m.WarcRecord.record_id)
                .join(m.WarcRecord, m.WarcRecord.id == m.Item.media_record_id)
                .where(m.WarcRecord.record_id.in_(chunk))
            ):
                media[record_id].add(uid)
        for read in reads:
            for record in read.records:
                uids = media.get(record.record_id, set()) | media.get(
                    refers.get(record.record_id) or "", set()
                )
                if uids:
                    read.evidence.setdefault(record.record_id, set()).update(uids)

    def _add_absences(self, reads: list[_FileRead], files: Sequence[m.WarcFile]) -> None:
        """Every page of a listing that showed an item gone evidences that item."""
        for read, row in zip(reads, files, strict=True):
            judged = self.session.execute(
                select(m.Item.uid, m.WarcRecord.record_id)
                .join(m.ChangeEvent, m.ChangeEvent.item_id == m.Item.id)
                .join(m.WarcRecord, m.WarcRecord.id == m.ChangeEvent.record_id)
                .where(m.WarcRecord.file_id == row.id, m.ChangeEvent.kind == "deleted-observed")
            ).all()
            if not judged:
                continue
            listings = (read.report or {}).get("listings", [])
            for uid, page in judged:
                pages = next(
                    (lst.get("pages", []) for lst in listings if page in lst.get("pages", [])), [page]
                )
                for record_id in pages:
                    read.evidence.setdefault(record_id, set()).add(uid)


def _headless(record: StoredRecord) -> StoredRecord:
    """The record without its block (only fields, offset and length are kept)."""
    return StoredRecord(offset=record.offset, length=record.length, fields=record.fields, block=b"")
