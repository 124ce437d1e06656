"""What a WARC file says, record by record, before any of it touches the database.

:func:`extract_units` reads a stored WARC sequentially and yields one :class:`Unit` per record:
the row ``warc_records`` gets, and the items the platform's source parses out of it (with their
uid, content digest, search text and normalized JSON already computed). It is pure CPU work on a
local file — no database, no clock — so ``reindex`` runs it in worker processes while a single
writer applies the units in capture order (:mod:`hp_archive.index.ingest`).

Two kinds of file are read:

* **ours** — the first record is hp_archive's warcinfo (account, platform, series, run) and its
  account and series match the object key; every response is parsed by that platform's source;
  the last record is the capture report.
* **foreign** (``hp-archive import``) — anything else. The account and series come from the object
  key; each response is parsed by the registered source that :meth:`~Source.recognizes` its URL,
  else it becomes a ``page`` item when it is HTML or text (:mod:`hp_archive.index.pages`).

A revisit whose original is in the same file is parsed here; one whose original is in another
file is left to the writer (``Unit.revisit_of``), which can look the original up in the index.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from hp_archive.errors import WarcError
from hp_archive.index.bulk import stamp
from hp_archive.index.pages import PLATFORM as PAGE_PLATFORM
from hp_archive.index.pages import page_items
from hp_archive.index.text import search_text
from hp_archive.sources import platform_names, source_class
from hp_archive.sources.base import ArchivedResponse, ParsedItem, Source
from hp_archive.sources.context import parse_safely
from hp_archive.warc.http import HttpMessage
from hp_archive.warc.members import detect_layout, iter_file, read_stored_record
from hp_archive.warc.naming import parse_object_key
from hp_archive.warc.reader import StoredRecord
from hp_archive.warc.runinfo import REPORT_URI_PREFIX, RunInfo, parse_report

IMPORT_PLATFORM = "imported"
IMPORT_PROFILE = "hp-archive/import/1"
IMPORT_NAMESPACE = uuid.UUID("0f3c5d2e-7f43-4d0e-9c59-696d706f7274")
MEDIA_TYPES = ("image/", "video/")
_KEEP_LOCAL = 512  # parseable originals kept in memory for revisits; older ones are re-read
# json.dumps' output exactly; parsed JSON has no cycles, so the encoder need not look for them
_JSON = json.JSONEncoder(check_circular=False)


def import_run_id(sha256: str) -> str:
    """The run id of an imported file: the same bytes always name the same run."""
    return str(uuid.uuid5(IMPORT_NAMESPACE, sha256))


class Observed(NamedTuple):
    """One parsed item, reduced to what the index stores (a tuple: cheap to send between processes)."""

    uid: str
    platform: str
    native_id: str
    kind: str
    parent_uid: str | None
    root_uid: str | None
    author_id: str | None
    author_name: str | None
    author_key: str | None  # the author name normalized like the text (``author:`` queries)
    author_is_agency: bool
    url: str | None
    created_at: str | None  # stamps (hp_archive.index.bulk.stamp): written as they are
    edited_at: str | None
    hidden: bool | None
    digest: str
    text: str
    search_text: str
    normalized: str  # JSON text
    media_url: str | None


@dataclass(slots=True)
class Unit:
    """One record: its ``warc_records`` row and what was parsed from it."""

    row: dict[str, Any]
    items: list[Observed] = field(default_factory=list)
    revisit_of: str | None = None  # original in another file: the writer parses it
    revisit_head: bytes | None = None  # that revisit's own block (its HTTP head)
    media_uri: str | None = None  # this response holds media bytes for that URL
    media_ref: tuple[str, str] | None = None  # (URL, original record id) of a media revisit
    header: FileHeader | None = None  # on the first unit only
    report: dict[str, Any] | None = None  # the closing capture report (our files)

    def __reduce__(self) -> tuple[Any, ...]:
        # positional arguments unpickle several times faster than a slotted dataclass's state
        return (Unit, (self.row, self.items, self.revisit_of, self.revisit_head, self.media_uri,
                       self.media_ref, self.header, self.report))  # fmt: skip


@dataclass(frozen=True, slots=True)
class FileHeader:
    """Who a file belongs to: the run info (ours, or synthesized for a foreign file)."""

    info: RunInfo
    foreign: bool
    layout: str
    software: str = ""


def uid_for(platform: str, native_id: str) -> str:
    """The stable public id of an item: ``<platform>:<native id>``."""
    return f"{platform}:{native_id}"


def observed(platform: str, parsed: ParsedItem) -> Observed:
    """What the index needs of a parsed item (digests, search text and JSON computed here)."""
    author_key = search_text(parsed.author_name or "") or None
    # the search text of "text author" is the text's and the author's joined: a space splits
    # tokens, and normalization never reaches across it
    text_key = search_text(parsed.text) if parsed.text else ""
    return Observed(
        uid=uid_for(platform, parsed.native_id),
        platform=platform,
        native_id=parsed.native_id,
        kind=parsed.kind,
        parent_uid=uid_for(platform, parsed.parent_native_id) if parsed.parent_native_id else None,
        root_uid=uid_for(platform, parsed.root_native_id) if parsed.root_native_id else None,
        author_id=parsed.author_id,
        author_name=parsed.author_name,
        author_key=author_key,
        author_is_agency=parsed.author_is_agency,
        url=parsed.url,
        created_at=stamp(parsed.created_at),
        edited_at=stamp(parsed.edited_at),
        hidden=parsed.hidden,
        digest=parsed.content_digest,
        text=parsed.text,
        search_text=" ".join(filter(None, [text_key, author_key])),
        normalized=_JSON.encode(normalized(parsed)),
        media_url=parsed.media_url,
    )


def normalized(parsed: ParsedItem) -> dict[str, Any]:
    """The item as stored in ``item_versions.normalized``."""
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


class Parser:
    """Turns archived responses of one file into observations (ours: one source; foreign: any)."""

    def __init__(self, header: FileHeader) -> None:
        self.foreign = header.foreign
        self.source: type[Source] | None = None if header.foreign else source_class(header.info.platform)
        self._recognizers: list[type[Source]] | None = None

    def _recognizer(self, url: str) -> type[Source] | None:
        if self._recognizers is None:
            self._recognizers = [source_class(name) for name in platform_names()]
        return next((cls for cls in self._recognizers if cls.recognizes(url)), None)

    def parse(self, response: ArchivedResponse, *, http: bool = True) -> tuple[list[Observed], str | None]:
        """(observations, parse error) of one response."""
        source = self.source
        if self.foreign and http:
            source = self._recognizer(response.url)
        if source is None:
            result = page_items(response)
            platform = PAGE_PLATFORM
        else:
            result = parse_safely(source, response)
            platform = source.platform
        error = "; ".join(result.unparsed)[:2000] if result.unparsed else None
        return [observed(platform, item) for item in result.items], error


def header_of(first: StoredRecord, *, key: str, sha256: str, layout: str) -> FileHeader:
    """Ours if the warcinfo names hp_archive's run fields matching the key, else foreign."""
    partition = parse_object_key(key)
    fields = first.warc_fields() if first.rec_type == "warcinfo" else {}
    if "hp-account" in fields and (
        partition is None or (fields.get("hp-account"), fields.get("hp-series")) == partition
    ):
        return FileHeader(RunInfo.from_fields(fields, where=key), foreign=False, layout=layout)
    if partition is None:
        raise WarcError(
            f"{key}: not an hp-archive capture file and not under warcs/<account>/<series>/…; "
            "import it with 'hp-archive import'"
        )
    account, series = partition
    date = first.date
    info = RunInfo(
        run_id=import_run_id(sha256),
        account_id=account,
        platform=IMPORT_PLATFORM,
        handle=account,
        series=series,
        window_start=None,
        window_end=date,
        started_at=date,
        operator=fields.get("operator", ""),
        hostname=fields.get("hostname", ""),
    )
    return FileHeader(info, foreign=True, layout=layout, software=fields.get("software", ""))


def _resource_response(record: StoredRecord) -> ArchivedResponse:
    message = HttpMessage(
        first_line="",
        headers=(("Content-Type", record.content_type),),
        head_length=0,
        raw_body=record.block,
    )
    return ArchivedResponse(url=record.target_uri or "", date=record.date, message=message)


def _row(record: StoredRecord) -> dict[str, Any]:
    return {
        "offset": record.offset,
        "length": record.length,
        "record_id": record.record_id,
        "rec_type": record.rec_type,
        "target_uri": record.target_uri,
        "date": record.date,
        "stamp": stamp(record.date),
        "content_type": record.content_type[:255] or None,
        "http_status": None,
        "block_digest": record.get("WARC-Block-Digest"),
        "payload_digest": record.get("WARC-Payload-Digest"),
        "payload_length": None,
        "refers_to": record.get("WARC-Refers-To"),
        "parse_error": None,
    }


def extract_units(path: Path, *, key: str, sha256: str) -> Iterator[Unit]:
    """The units of the WARC at ``path`` (stored as ``key``), digests verified, in file order."""
    with path.open("rb") as stream:
        layout = detect_layout(stream)
        records = iter_file(stream, check_digests=True, layout=layout)
        first = next(records, None)
        if first is None:
            raise WarcError(f"{key}: empty WARC file")
        header = header_of(first, key=key, sha256=sha256, layout=layout)
        if not header.foreign and first.rec_type != "warcinfo":
            raise WarcError(f"{key}: first record is {first.rec_type}, not warcinfo")
        reader = _FileParser(header, path)
        unit = reader.unit(first, first_record=True)
        unit.header = header
        yield unit
        for record in records:
            yield reader.unit(record, first_record=False)


class _FileParser:
    """Per-file state: same-file revisit originals (bounded) and the parser."""

    def __init__(self, header: FileHeader, path: Path) -> None:
        self.header = header
        self.parser = Parser(header)
        self.path = path
        self.local: dict[str, StoredRecord] = {}  # recent parseable originals
        self.where: dict[str, tuple[int, int]] = {}  # every parseable original: offset, length
        self.by_digest: dict[str, str] = {}  # payload digest -> record id (foreign revisits)

    def unit(self, record: StoredRecord, *, first_record: bool) -> Unit:
        row = _row(record)
        unit = Unit(row=row)
        rec_type = row["rec_type"]
        if first_record and not self.header.foreign:
            return unit
        if (
            not self.header.foreign
            and rec_type == "metadata"
            and (record.target_uri or "").startswith(REPORT_URI_PREFIX)
        ):
            unit.report = parse_report(record.block, where=self.path.name)
            return unit
        is_http = "msgtype=response" in record.content_type
        if rec_type == "resource" and self.header.foreign:
            items, error = self.parser.parse(_resource_response(record), http=False)
            unit.items, row["parse_error"] = items, error
            return unit
        if rec_type not in ("response", "revisit") or not is_http:
            return unit
        message = record.http()
        row["http_status"] = message.status or None
        if rec_type == "response":
            row["payload_length"] = len(record.block) - message.head_length
            if message.content_type.startswith(MEDIA_TYPES):
                unit.media_uri = record.target_uri or ""
            if message.content_type.startswith(("application/json", "text/")):
                self._remember(record, message)
            body_message = message
        else:
            refers_to = record.get("WARC-Refers-To") or self._by_digest(record)
            original = self._original(refers_to) if refers_to else None
            if original is None:
                if refers_to:
                    unit.revisit_of = refers_to
                    unit.revisit_head = record.block
                    row["refers_to"] = refers_to
                else:
                    row["parse_error"] = (
                        "revisit names no original (no WARC-Refers-To), which is not archived"
                    )
                return unit
            body_message = revisit_message(message, original)
            if body_message.content_type.startswith(MEDIA_TYPES):
                unit.media_ref = (record.target_uri or "", refers_to or "")
        response = ArchivedResponse(
            url=record.target_uri or "", date=record.date, message=body_message, record_id=record.record_id
        )
        unit.items, row["parse_error"] = self.parser.parse(response)
        return unit

    def _remember(self, record: StoredRecord, message: HttpMessage) -> None:
        self.where[record.record_id] = (record.offset, record.length)
        self.local[record.record_id] = record
        if len(self.local) > _KEEP_LOCAL:
            self.local.pop(next(iter(self.local)))
        digest = record.get("WARC-Payload-Digest")
        if digest and self.header.foreign:
            self.by_digest.setdefault(digest, record.record_id)
        del message

    def _by_digest(self, record: StoredRecord) -> str | None:
        digest = record.get("WARC-Payload-Digest")
        return self.by_digest.get(digest) if digest and self.header.foreign else None

    def _original(self, record_id: str) -> HttpMessage | None:
        found = self.local.get(record_id)
        if found is None and record_id in self.where:
            offset, length = self.where[record_id]
            found = read_stored_record(
                self.header.layout,
                offset,
                length,
                read_range=self._read_range,
                open_stream=lambda: self.path.open("rb"),
            )
        return found.http() if found is not None else None

    def _read_range(self, offset: int, length: int) -> bytes:
        with self.path.open("rb") as stream:
            stream.seek(offset)
            return stream.read(length)


def revisit_message(revisit: HttpMessage, original: HttpMessage) -> HttpMessage:
    """A revisit read as the response it stands for: its own status line, the original's body."""
    return HttpMessage(
        first_line=revisit.first_line,
        headers=original.headers,
        head_length=original.head_length,
        raw_body=original.raw_body,
    )
