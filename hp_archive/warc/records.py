"""Building WARC/1.1 records as plain values; writing them is :mod:`hp_archive.warc.writer`'s job.

Record ids and dates are arguments, so tests can build byte-exact golden records.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

WARC_VERSION = "WARC/1.1"
REVISIT_PROFILE = "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"
REDACTION_HEADER = "HP-Archive-Redacted"

IdMaker = Callable[[], str]


def make_record_id() -> str:
    """A new ``<urn:uuid:…>`` record id."""
    return f"<urn:uuid:{uuid.uuid4()}>"


def sha256_label(data: bytes | None = None, *, hexdigest: str | None = None) -> str:
    """A labelled digest ``sha256:<hex>`` as used in WARC-Block-Digest and WARC-Payload-Digest."""
    if hexdigest is None:
        hexdigest = hashlib.sha256(data or b"").hexdigest()
    return f"sha256:{hexdigest}"


def warc_date(moment: datetime) -> str:
    """WARC/1.1 date with microseconds, always UTC: ``2026-11-25T09:28:51.123456Z``."""
    if moment.tzinfo is None:
        raise ValueError("WARC dates need an aware datetime")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_warc_date(text: str) -> datetime:
    """Parse a WARC-Date (with or without fraction) into an aware UTC datetime."""
    text = text.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    return datetime.fromisoformat(text).astimezone(UTC)


@dataclass(frozen=True)
class WarcRecord:
    """One record to write: its named fields (without Content-Length) and its block.

    ``payload_offset`` marks where the payload starts inside the block (after the HTTP head);
    None means the record gets no WARC-Payload-Digest of its own.
    """

    rec_type: str
    record_id: str
    date: datetime
    content_type: str
    block: bytes = field(repr=False)
    target_uri: str | None = None
    fields: tuple[tuple[str, str], ...] = ()
    payload_offset: int | None = None
    payload_digest: str | None = None
    incompressible: bool = False

    def header_fields(self, block_digest: str, payload_digest: str | None) -> list[tuple[str, str]]:
        """The named fields in the order they are written."""
        out: list[tuple[str, str]] = [
            ("WARC-Type", self.rec_type),
            ("WARC-Record-ID", self.record_id),
            ("WARC-Date", warc_date(self.date)),
        ]
        if self.target_uri is not None:
            out.append(("WARC-Target-URI", self.target_uri))
        out.extend(self.fields)
        out.append(("Content-Type", self.content_type))
        if payload_digest:
            out.append(("WARC-Payload-Digest", payload_digest))
        out.append(("WARC-Block-Digest", block_digest))
        out.append(("Content-Length", str(len(self.block))))
        return out


def _common(
    warcinfo_id: str | None, ip: str | None, extra: Iterable[tuple[str, str]] = ()
) -> tuple[tuple[str, str], ...]:
    fields: list[tuple[str, str]] = []
    if ip:
        fields.append(("WARC-IP-Address", ip))
    if warcinfo_id:
        fields.append(("WARC-Warcinfo-ID", warcinfo_id))
    fields.extend(extra)
    return tuple(fields)


def warcinfo_record(*, filename: str, info: Mapping[str, str], record_id: str, date: datetime) -> WarcRecord:
    """The first record of a file: who wrote it, for which account and capture run."""
    lines = "".join(f"{name}: {value}\r\n" for name, value in info.items() if value)
    return WarcRecord(
        rec_type="warcinfo",
        record_id=record_id,
        date=date,
        content_type="application/warc-fields",
        block=lines.encode("utf-8"),
        fields=(("WARC-Filename", filename),),
    )


def response_record(
    *,
    uri: str,
    block: bytes,
    head_length: int,
    record_id: str,
    date: datetime,
    warcinfo_id: str | None = None,
    ip: str | None = None,
    incompressible: bool = False,
    payload_digest: str | None = None,
) -> WarcRecord:
    """A ``response`` record holding the HTTP response exactly as received.

    ``payload_digest`` (``sha256:<hex>`` of the bytes after the HTTP head), when the caller has
    already computed it, is written as is instead of hashing the payload a second time.
    """
    return WarcRecord(
        rec_type="response",
        record_id=record_id,
        date=date,
        content_type="application/http;msgtype=response",
        block=block,
        target_uri=uri,
        fields=_common(warcinfo_id, ip),
        payload_offset=head_length,
        payload_digest=payload_digest,
        incompressible=incompressible,
    )


def request_record(
    *,
    uri: str,
    block: bytes,
    record_id: str,
    date: datetime,
    concurrent_to: str,
    warcinfo_id: str | None = None,
    ip: str | None = None,
    redaction_note: str = "",
) -> WarcRecord:
    """A ``request`` record; ``block`` must already be redacted, ``redaction_note`` says how."""
    extra: list[tuple[str, str]] = [("WARC-Concurrent-To", concurrent_to)]
    if redaction_note:
        extra.append((REDACTION_HEADER, redaction_note))
    head_end = block.find(b"\r\n\r\n")
    return WarcRecord(
        rec_type="request",
        record_id=record_id,
        date=date,
        content_type="application/http;msgtype=request",
        block=block,
        target_uri=uri,
        fields=_common(warcinfo_id, ip, extra),
        payload_offset=head_end + 4 if head_end >= 0 else None,
    )


def revisit_record(
    *,
    uri: str,
    http_head: bytes,
    payload_digest: str,
    refers_to: str,
    refers_to_uri: str,
    refers_to_date: datetime,
    record_id: str,
    date: datetime,
    warcinfo_id: str | None = None,
    ip: str | None = None,
) -> WarcRecord:
    """A ``revisit`` (identical-payload-digest profile) keeping the new response's HTTP head."""
    extra = (
        ("WARC-Profile", REVISIT_PROFILE),
        ("WARC-Refers-To", refers_to),
        ("WARC-Refers-To-Target-URI", refers_to_uri),
        ("WARC-Refers-To-Date", warc_date(refers_to_date)),
    )
    return WarcRecord(
        rec_type="revisit",
        record_id=record_id,
        date=date,
        content_type="application/http;msgtype=response",
        block=http_head,
        target_uri=uri,
        fields=_common(warcinfo_id, ip, extra),
        payload_digest=payload_digest,
    )


def metadata_record(
    *,
    uri: str,
    body: bytes,
    record_id: str,
    date: datetime,
    warcinfo_id: str | None = None,
    content_type: str = "application/json",
) -> WarcRecord:
    """A ``metadata`` record (the capture report that closes each file)."""
    return WarcRecord(
        rec_type="metadata",
        record_id=record_id,
        date=date,
        content_type=content_type,
        block=body,
        target_uri=uri,
        fields=_common(warcinfo_id, None),
    )
