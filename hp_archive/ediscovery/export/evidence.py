"""The WARC records behind a production, read from verified local copies of the stored files.

Each stored WARC a production draws on is downloaded once, its SHA-256 checked against the store
*and* against the index, and every record read from it is checked against its own block and
payload digests and its record id — so a production can only be built from intact evidence.
"""

from __future__ import annotations

import gzip
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, TypeVar

from hp_archive.errors import ChecksumMismatchError, WarcError
from hp_archive.storage import ObjectStore
from hp_archive.warc.http import HttpMessage
from hp_archive.warc.members import LAYOUT_FILE, LAYOUT_MEMBERS, detect_layout, read_stored_record
from hp_archive.warc.reader import StoredRecord, verify_digests

from .selection import RecordRef

CACHE_RECORDS = 512
V = TypeVar("V")


@dataclass(frozen=True)
class LocalWarc:
    key: str
    path: Path
    layout: str
    sha256: str


class EvidenceReader:
    """Verified local copies of stored WARCs and the records in them (a small LRU of bodies)."""

    def __init__(self, store: ObjectStore, workdir: Path) -> None:
        self.store = store
        self.workdir = workdir
        self.files: dict[str, LocalWarc] = {}
        self._records: OrderedDict[str, StoredRecord] = OrderedDict()
        self._bodies: OrderedDict[str, bytes] = OrderedDict()

    def file(self, ref: RecordRef) -> LocalWarc:
        """The verified local copy of the file holding ``ref`` (downloaded on first use)."""
        known = self.files.get(ref.file_key)
        if known is not None:
            return known
        path = self.workdir / f"{len(self.files):06d}.warc"
        info = self.store.download(ref.file_key, path)
        if ref.file_sha256 and info.sha256 and info.sha256 != ref.file_sha256:
            raise ChecksumMismatchError(
                f"stored WARC {ref.file_key!r} has SHA-256 {info.sha256} but the index recorded "
                f"{ref.file_sha256}: run 'hp-archive fixity' before producing it"
            )
        with path.open("rb") as stream:
            layout = detect_layout(stream)
        local = LocalWarc(ref.file_key, path, layout, info.sha256 or ref.file_sha256)
        self.files[ref.file_key] = local
        return local

    def record(self, ref: RecordRef) -> StoredRecord:
        """The record ``ref`` points at, digests verified."""
        cached = self._records.get(ref.record_id)
        if cached is not None:
            self._records.move_to_end(ref.record_id)
            return cached
        local = self.file(ref)
        record = read_stored_record(
            local.layout,
            ref.offset,
            ref.length,
            read_range=_range_reader(local.path),
            open_stream=lambda: local.path.open("rb"),
        )
        if record.record_id != ref.record_id:
            raise WarcError(
                f"{ref.file_key}@{ref.offset} holds record {record.record_id}, not {ref.record_id}: "
                "the index does not match the stored file; run 'hp-archive reindex'"
            )
        verify_digests(record)
        _remember(self._records, ref.record_id, record)
        return record

    def message(self, ref: RecordRef) -> HttpMessage:
        return self.record(ref).http()

    def body(self, ref: RecordRef) -> bytes:
        """The HTTP entity body of a response record, transfer and content codings removed."""
        cached = self._bodies.get(ref.record_id)
        if cached is not None:
            self._bodies.move_to_end(ref.record_id)
            return cached
        body = self.message(ref).body()
        _remember(self._bodies, ref.record_id, body)
        return body

    def raw(self, ref: RecordRef) -> tuple[bytes, bool]:
        """The record's bytes as stored: (one gzip member, True) or (the plain record, False)."""
        local = self.file(ref)
        if local.layout == LAYOUT_MEMBERS:
            return _range_reader(local.path)(ref.offset, ref.length), True
        if local.layout == LAYOUT_FILE:
            # a whole-file gzip has no per-record members: copy the record's decompressed bytes
            return _inflated_range(local.path, ref.offset, ref.length), False
        return _range_reader(local.path)(ref.offset, ref.length), False


def _inflated_range(path: Path, offset: int, length: int) -> bytes:
    with gzip.open(path, "rb") as inflated:
        skip = offset
        while skip:
            got = inflated.read(min(skip, 1 << 20))
            if not got:
                raise WarcError(f"record at offset {offset} lies past the end of the decompressed file")
            skip -= len(got)
        data = inflated.read(length)
    if len(data) != length:
        raise WarcError(f"record at offset {offset} is cut: {len(data)} of {length} bytes present")
    return data


def _range_reader(path: Path) -> Callable[[int, int], bytes]:
    def read(offset: int, length: int) -> bytes:
        with path.open("rb") as stream:
            return _read_at(stream, offset, length)

    return read


def _read_at(stream: BinaryIO, offset: int, length: int) -> bytes:
    stream.seek(offset)
    data = stream.read(length)
    if len(data) != length:
        raise WarcError(f"record at offset {offset} is cut: {len(data)} of {length} bytes present")
    return data


def _remember(cache: OrderedDict[str, V], key: str, value: V) -> None:
    cache[key] = value
    if len(cache) > CACHE_RECORDS:
        cache.popitem(last=False)
