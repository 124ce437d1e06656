"""Reading stored WARC files record by record, with offsets, using warcio."""

from __future__ import annotations

import base64
import binascii
import functools
import gzip
import hashlib
import io
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from hp_archive.errors import WarcError
from hp_archive.warc.http import HttpMessage, split_http_message
from hp_archive.warc.records import parse_warc_date


@dataclass(frozen=True)
class StoredRecord:
    """A record read back from a WARC file: its named fields and its whole block."""

    offset: int
    length: int
    fields: tuple[tuple[str, str], ...]
    block: bytes = field(repr=False)

    def get(self, name: str) -> str | None:
        """The first value of a WARC header field (case-insensitive), or None."""
        return self._by_name.get(name.lower())

    @functools.cached_property
    def _by_name(self) -> dict[str, str]:
        # the index asks each record for a dozen fields: look them up, do not scan
        found: dict[str, str] = {}
        for key, value in self.fields:
            found.setdefault(key.lower(), value)
        return found

    @property
    def rec_type(self) -> str:
        return self.get("WARC-Type") or ""

    @property
    def record_id(self) -> str:
        return self.get("WARC-Record-ID") or ""

    @property
    def target_uri(self) -> str | None:
        return self.get("WARC-Target-URI")

    @property
    def date(self) -> datetime:
        value = self.get("WARC-Date")
        if not value:
            raise WarcError(f"record {self.record_id} at offset {self.offset} has no WARC-Date")
        return parse_warc_date(value)

    @property
    def content_type(self) -> str:
        return self.get("Content-Type") or ""

    def http(self) -> HttpMessage:
        """The block parsed as an HTTP message (request, response or revisit head)."""
        return self._http

    @functools.cached_property
    def _http(self) -> HttpMessage:
        # parsed once: the digest check and the index both need it
        return split_http_message(self.block)

    def warc_fields(self) -> dict[str, str]:
        """The block of a warcinfo/warc-fields record as a dict."""
        out: dict[str, str] = {}
        for line in self.block.decode("utf-8", "replace").splitlines():
            name, sep, value = line.partition(":")
            if sep:
                out[name.strip()] = value.strip()
        return out


def iter_records(stream: BinaryIO, *, check_digests: bool = False) -> Iterator[StoredRecord]:
    """Records of a WARC stream (gzip-per-record or plain) with their offsets and lengths.

    With ``check_digests`` a block or payload digest mismatch raises :class:`WarcError` naming
    the record's offset. A damaged file raises :class:`WarcError` with the offset where it breaks.
    """
    iterator = ArchiveIterator(stream, no_record_parse=True)
    offset = 0
    try:
        for record in iterator:
            # the block must be read before asking for the offset: warcio's offset and
            # length calls consume the rest of the record
            block = record.raw_stream.read()
            iterator.read_to_end(record)
            offset = iterator.get_record_offset()
            length = iterator.get_record_length()
            fields = tuple((str(k), str(v)) for k, v in record.rec_headers.headers)
            declared = record.rec_headers.get_header("Content-Length")
            if declared is not None and declared.isdigit() and int(declared) != len(block):
                raise WarcError(
                    f"record at offset {offset} is cut: Content-Length {declared} but "
                    f"{len(block)} bytes present; the file is damaged"
                )
            stored = StoredRecord(offset=offset, length=length, fields=fields, block=block)
            if check_digests:
                verify_digests(stored)
            yield stored
    except (ArchiveLoadFailed, zlib.error, gzip.BadGzipFile, EOFError, ValueError) as exc:
        raise WarcError(
            f"WARC damaged near offset {offset}: {exc}; the file cannot be trusted past this point"
        ) from exc


def _digest_matches(label: str, data: bytes | memoryview) -> bool | None:
    """True/False when ``label`` (``algo:value``, hex or base32) can be checked, else None."""
    algo, _, value = label.partition(":")
    algo = algo.strip().lower().replace("-", "")
    if algo == "sha1":
        digest = hashlib.sha1(data).digest()  # noqa: S324 - WARC's own digest, not a security use
    elif algo == "sha256":
        digest = hashlib.sha256(data).digest()
    elif algo not in hashlib.algorithms_available:
        return None
    else:
        digest = hashlib.new(algo, data).digest()
    value = value.strip()
    if value.lower() == digest.hex():
        return True
    try:
        return base64.b32decode(value.upper() + "=" * (-len(value) % 8)) == digest
    except (ValueError, binascii.Error):
        return False


def verify_digests(record: StoredRecord) -> None:
    """Check WARC-Block-Digest and (for HTTP records) WARC-Payload-Digest; raise on mismatch."""
    block_label = record.get("WARC-Block-Digest")
    if block_label and _digest_matches(block_label, record.block) is False:
        raise WarcError(
            f"record {record.record_id} at offset {record.offset}: block digest does not match "
            "its content; the record was altered or damaged"
        )
    payload_label = record.get("WARC-Payload-Digest")
    if (
        payload_label
        and record.rec_type in ("response", "request")
        and "application/http" in (record.content_type)
    ):
        payload = memoryview(record.block)[record.http().head_length :]
        if _digest_matches(payload_label, payload) is False:
            raise WarcError(
                f"record {record.record_id} at offset {record.offset}: payload digest does not "
                "match its content; the record was altered or damaged"
            )


def read_record_at(data: bytes) -> StoredRecord:
    """Parse the single record contained in ``data`` (one gzip member or a plain record)."""
    records = list(iter_records(io.BytesIO(data)))
    if len(records) != 1:
        raise WarcError(f"expected one record in a {len(data)}-byte range, found {len(records)}")
    return records[0]


def first_record(data: bytes) -> StoredRecord:
    """The first record of a WARC from a prefix of its bytes (the warcinfo of our files).

    Only the first gzip member is decompressed, so a prefix that cuts a later record is fine.
    """
    if data[:2] == b"\x1f\x8b":
        inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
        try:
            raw = inflater.decompress(data)
        except zlib.error as exc:
            raise WarcError(f"first record does not decompress: {exc}") from exc
        if not inflater.eof:
            raise WarcError("first record is longer than the bytes read; read more of the file")
        member_length = len(data) - len(inflater.unused_data)
        record = next(iter_records(io.BytesIO(raw)), None)
        if record is None:
            raise WarcError("no WARC record at the start of the file")
        return StoredRecord(offset=0, length=member_length, fields=record.fields, block=record.block)
    record = next(iter_records(io.BytesIO(data)), None)
    if record is None:
        raise WarcError("no WARC record at the start of the file")
    return record
