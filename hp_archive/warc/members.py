"""Fast sequential reading of whole WARC files, in any of the three layouts found in the wild.

* ``gzip-members`` — one gzip member per record (what the WARC standard recommends and what
  hp_archive, warcio, warcprox, wget and Browsertrix write). A record's offset and length are
  those of its member in the file, so one record can be read back with a range request.
* ``plain`` — an uncompressed file; offsets and lengths are positions in the file.
* ``gzip-file`` — the whole file (or runs of several records) compressed as one gzip stream, e.g.
  a plain WARC passed through ``gzip``. A record cannot be inflated on its own, so offsets and
  lengths are positions in the *decompressed* stream and reading a record means inflating the
  object from its start (:func:`read_stored_record`).

Members are inflated with ISA-L (``isal``), at about twice zlib's speed, and headers are split
by hand: this is the index's hot path, and warcio's record parsing costs more than the inflate.
Every damage is reported with the offset of the record where the file breaks.
"""

from __future__ import annotations

import hashlib
import io
import zlib
from collections.abc import Callable, Iterator
from typing import BinaryIO, cast

from isal import igzip, isal_zlib

from hp_archive.errors import WarcError
from hp_archive.warc.reader import StoredRecord, verify_digests

LAYOUT_MEMBERS = "gzip-members"
LAYOUT_PLAIN = "plain"
LAYOUT_FILE = "gzip-file"
LAYOUTS = (LAYOUT_MEMBERS, LAYOUT_PLAIN, LAYOUT_FILE)

GZIP_MAGIC = b"\x1f\x8b"
# isal's stubs do not say its error is an exception class
_INFLATE_ERRORS: tuple[type[Exception], ...] = (zlib.error, cast("type[Exception]", isal_zlib.error))
_STREAM_ERRORS: tuple[type[Exception], ...] = (EOFError, OSError, *_INFLATE_ERRORS)
_READ = 1 << 20
_FEED = 16 * 1024
_HEAD_END = b"\r\n\r\n"


class _NotPerRecord(Exception):
    """A gzip member holds more (or less) than one record: read the file as one stream."""


def parse_record(raw: bytes, offset: int, length: int) -> tuple[StoredRecord, int]:
    """The record at the start of ``raw`` and the index just past its block.

    ``offset``/``length`` are stored in the record as given (they are only used in messages).
    """
    data = raw if isinstance(raw, bytes) else bytes(raw)
    end = data.find(_HEAD_END)
    if end < 0:
        raise WarcError(f"record at offset {offset}: no end of WARC headers; the file is damaged")
    lines = data[:end].decode("utf-8", "replace").split("\r\n")
    version = lines[0].strip()
    if version not in ("WARC/1.1", "WARC/1.0"):
        raise WarcError(
            f"record at offset {offset} starts with {version[:40]!r}, not WARC/1.0 or WARC/1.1; "
            "the file is damaged or not a WARC"
        )
    fields: list[tuple[str, str]] = []
    declared = -1
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and fields:  # continuation of the previous field
            name, value = fields[-1]
            fields[-1] = (name, f"{value} {line.strip()}")
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise WarcError(f"record at offset {offset}: header line {line[:60]!r} has no ':'")
        name, value = name.strip(), value.strip()
        fields.append((name, value))
        if name.lower() == "content-length":
            if not value.isdigit():
                raise WarcError(f"record at offset {offset}: Content-Length {value!r} is not a number")
            declared = int(value)
    if declared < 0:
        raise WarcError(f"record at offset {offset} has no Content-Length; the file is damaged")
    start = end + 4
    block = data[start : start + declared]
    if len(block) != declared:
        raise WarcError(
            f"record at offset {offset} is cut: Content-Length {declared} but {len(block)} bytes "
            "present; the file is damaged"
        )
    return StoredRecord(offset=offset, length=length, fields=tuple(fields), block=block), start + declared


def iter_file(
    stream: BinaryIO, *, check_digests: bool = False, layout: str | None = None
) -> Iterator[StoredRecord]:
    """Every record of a WARC stream, any layout (detected unless given).

    With ``check_digests`` a block or payload digest mismatch raises :class:`WarcError` naming
    the record's offset. Use :func:`detect_layout` first to learn which layout was read.
    """
    layout = layout or detect_layout(stream)
    stream.seek(0)
    if layout == LAYOUT_MEMBERS:
        records = _iter_members(stream)
    elif layout == LAYOUT_PLAIN:
        records = _iter_stream(stream, start_offset=0)
    else:
        records = _iter_gzip_stream(stream)
    for record in records:
        if check_digests:
            verify_digests(record)
        yield record


def detect_layout(stream: BinaryIO) -> str:
    """``gzip-members``, ``plain`` or ``gzip-file`` for a seekable WARC stream (left at 0).

    A gzip file is per-record only if every member holds exactly one record; anything else is
    read as one gzip stream. Raises :class:`WarcError` for an empty or non-WARC file.
    """
    stream.seek(0)
    head = stream.read(8)
    stream.seek(0)
    if not head:
        raise WarcError("the file is empty: not a WARC")
    if head[:2] != GZIP_MAGIC:
        if not head.startswith(b"WARC/"):
            raise WarcError("the file starts with neither 'WARC/' nor a gzip header: not a WARC")
        return LAYOUT_PLAIN
    try:
        for _ in _iter_members(stream, probe=True):
            pass
    except _NotPerRecord:
        return LAYOUT_FILE
    except WarcError:
        pass  # damage is reported with its offset when the file is read
    finally:
        stream.seek(0)
    return LAYOUT_MEMBERS


def _iter_members(stream: BinaryIO, *, probe: bool = False) -> Iterator[StoredRecord]:
    """Records of a gzip-per-record file; ``probe`` stops after a few members."""
    buf = bytearray()
    base = 0  # file offset of buf[0]
    at = 0  # index in buf of the next member
    eof = False
    seen = 0
    while True:
        if len(buf) - at < _FEED and not eof:
            del buf[:at]
            base += at
            at = 0
            more = stream.read(_READ)
            eof = not more
            buf += more
        if at >= len(buf):
            return
        offset = base + at
        if buf[at : at + 2] != GZIP_MAGIC:
            if probe:
                raise _NotPerRecord
            raise WarcError(
                f"WARC damaged at offset {offset}: bytes there are not a gzip member; "
                "the file cannot be trusted past this point"
            )
        inflater = isal_zlib.decompressobj(zlib.MAX_WBITS | 16)
        parts: list[bytes] = []
        pos = at
        try:
            while True:
                if pos >= len(buf):
                    if eof:
                        raise WarcError(
                            f"WARC damaged at offset {offset}: the gzip member is cut short "
                            "(the file ends inside a record)"
                        )
                    # keep the member's start in the buffer: append more bytes
                    more = stream.read(_READ)
                    eof = not more
                    buf += more
                    continue
                chunk = bytes(buf[pos : pos + _FEED])
                parts.append(inflater.decompress(chunk))
                if inflater.eof:
                    pos += len(chunk) - len(inflater.unused_data)
                    break
                pos += len(chunk)
        except _INFLATE_ERRORS as exc:
            raise WarcError(
                f"WARC damaged at offset {offset}: gzip data does not inflate ({exc}); "
                "the file cannot be trusted past this point"
            ) from exc
        raw = b"".join(parts)
        length = pos - at
        try:
            record, end = parse_record(raw, offset, length)
        except WarcError:
            if probe and raw[:5] == b"WARC/":
                raise _NotPerRecord from None  # a record continued in the next member
            raise
        if raw[end:].strip(b"\r\n"):
            raise _NotPerRecord  # more than one record in this member
        at = pos
        seen += 1
        yield record
        if probe and seen >= 3:
            return


def _gunzip(stream: BinaryIO) -> BinaryIO:
    return cast(BinaryIO, igzip.GzipFile(fileobj=stream, mode="rb"))  # type: ignore[no-untyped-call]


def _iter_gzip_stream(stream: BinaryIO) -> Iterator[StoredRecord]:
    try:
        with _gunzip(stream) as inflated:
            yield from _iter_stream(inflated, start_offset=0)
    except _STREAM_ERRORS as exc:
        raise WarcError(
            f"WARC damaged: the gzip stream does not inflate ({exc}); the file cannot be trusted"
        ) from exc


def _iter_stream(stream: BinaryIO, *, start_offset: int) -> Iterator[StoredRecord]:
    """Records of an uncompressed WARC byte stream; offsets are positions in that stream."""
    buf = bytearray()
    base = start_offset
    at = 0
    eof = False
    pending: tuple[StoredRecord, int] | None = None  # a record whose length is still unknown

    def fill(need: int) -> None:
        nonlocal eof, base, at
        while len(buf) - at < need and not eof:
            if at > _READ:
                del buf[:at]
                base += at
                at = 0
            more = stream.read(max(_READ, need))
            eof = not more
            buf.extend(more)

    while True:
        # skip the CRLFs that end the previous record
        fill(4)
        while at < len(buf) and buf[at] in (0x0D, 0x0A):
            at += 1
            fill(4)
        offset = base + at
        if pending is not None:
            record, start = pending
            yield StoredRecord(record.offset, offset - start, record.fields, record.block)
            pending = None
        if at >= len(buf):
            return
        fill(64 * 1024)
        head_end = buf.find(_HEAD_END, at, at + 64 * 1024)
        if head_end < 0:
            raise WarcError(f"record at offset {offset}: no end of WARC headers; the file is damaged")
        declared = _content_length(bytes(buf[at:head_end]))
        if declared is None:
            raise WarcError(f"record at offset {offset} has no Content-Length; the file is damaged")
        total = head_end + 4 + declared - at
        fill(total)
        record, end = parse_record(bytes(buf[at : at + total]), offset, 0)
        at += end
        pending = (record, offset)


def _content_length(head: bytes) -> int | None:
    for line in head.split(b"\r\n"):
        name, sep, value = line.partition(b":")
        if sep and name.strip().lower() == b"content-length" and value.strip().isdigit():
            return int(value.strip())
    return None


def file_digest(stream: BinaryIO) -> tuple[str, int]:
    """(SHA-256 hex, size) of a stream read from its start."""
    digest = hashlib.sha256()
    size = 0
    stream.seek(0)
    for chunk in iter(lambda: stream.read(_READ), b""):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def read_stored_record(
    layout: str,
    offset: int,
    length: int,
    *,
    read_range: Callable[[int, int], bytes],
    open_stream: Callable[[], BinaryIO],
) -> StoredRecord:
    """One record of a stored file, by the offset and length the index holds for it.

    ``gzip-members`` and ``plain`` files are read with one range request; a ``gzip-file`` is
    inflated from its start up to the record (sequential by nature of the format).
    """
    if layout in (LAYOUT_MEMBERS, LAYOUT_PLAIN):
        data = read_range(offset, length)
        if layout == LAYOUT_MEMBERS:
            try:
                data = isal_zlib.decompress(data, zlib.MAX_WBITS | 16)
            except _INFLATE_ERRORS as exc:
                raise WarcError(f"record at offset {offset} does not inflate: {exc}") from exc
        return parse_record(data, offset, length)[0]
    if layout != LAYOUT_FILE:
        raise WarcError(f"unknown WARC layout {layout!r}: expected one of {', '.join(LAYOUTS)}")
    with open_stream() as raw, _gunzip(raw) as inflated:
        skip = offset
        while skip:
            got = inflated.read(min(skip, _READ))
            if not got:
                raise WarcError(f"record at offset {offset} lies past the end of the decompressed file")
            skip -= len(got)
        data = inflated.read(length)
    return parse_record(io.BytesIO(data).getvalue(), offset, length)[0]


def peek_first_record(prefix: bytes) -> StoredRecord:
    """The first record's fields from the first bytes of a WARC, any layout.

    Only as much as ``prefix`` holds is inflated, so the block may be cut short for a large first
    record; a warcinfo record (a few hundred bytes) is always whole in 256 KiB.
    """
    data = prefix
    if prefix[:2] == GZIP_MAGIC:
        try:
            data = isal_zlib.decompressobj(zlib.MAX_WBITS | 16).decompress(prefix)
        except _INFLATE_ERRORS as exc:
            raise WarcError(f"first record does not inflate: {exc}") from exc
    end = data.find(_HEAD_END)
    if end < 0:
        raise WarcError("no WARC record at the start of the file")
    declared = _content_length(data[:end]) or 0
    whole = data[: end + 4 + declared]
    if len(whole) < end + 4 + declared:
        whole = whole + b"\0" * (end + 4 + declared - len(whole))  # cut short: fields are what matter
    return parse_record(whole, 0, 0)[0]
