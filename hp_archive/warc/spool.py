"""The capture spool: one open WARC file per record series for a capture run.

Exchanges are written as request + response pairs (or request + revisit when the payload is
already archived for the same account and series). Files are written as ``<name>.open`` and only
become ``<name>`` once closed with their metadata record and fsynced — a file without the
``.open`` suffix is complete evidence (DESIGN invariant 2: spool → store → index).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from hp_archive.warc.http import split_http_message
from hp_archive.warc.naming import warc_filename, warc_object_key
from hp_archive.warc.records import (
    REDACTION_HEADER,
    IdMaker,
    WarcRecord,
    make_record_id,
    metadata_record,
    request_record,
    response_record,
    revisit_record,
    warcinfo_record,
)
from hp_archive.warc.redaction import contains_secret, redact_request, redact_url
from hp_archive.warc.writer import WarcWriter, WrittenRecord

OPEN_SUFFIX = ".open"
INCOMPRESSIBLE_TYPES = (
    "image/",
    "video/",
    "audio/",
    "application/zip",
    "application/gzip",
    "font/woff",
)


@dataclass(frozen=True)
class PriorRecord:
    """An archived record a revisit can refer to."""

    record_id: str
    target_uri: str
    date: datetime


RevisitLookup = Callable[[str, str], PriorRecord | None]  # (series, payload digest) -> record


@dataclass(frozen=True)
class WrittenExchange:
    """What the spool wrote for one exchange."""

    record_id: str  # the response or revisit record
    series: str
    revisit: bool
    payload_digest: str
    target_uri: str
    redacted_response: bool = False


@dataclass(frozen=True)
class SpooledFile:
    """A closed, fsynced WARC file in the spool, ready to store."""

    path: Path
    filename: str
    key: str
    series: str
    sha256: str
    size: int
    record_count: int
    first_date: datetime
    last_date: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "filename": self.filename,
            "key": self.key,
            "series": self.series,
            "sha256": self.sha256,
            "size": self.size,
            "record_count": self.record_count,
        }


class _OpenFile:
    def __init__(self, path: Path, filename: str, series: str, key: str, stream: BinaryIO) -> None:
        self.path = path
        self.filename = filename
        self.series = series
        self.key = key
        self.stream = stream
        self.writer = WarcWriter(stream)
        self.warcinfo_id = ""
        self.count = 0
        self.first_date: datetime | None = None
        self.last_date: datetime | None = None
        self.digests: dict[str, PriorRecord] = {}

    def write(self, record: WarcRecord) -> WrittenRecord:
        written = self.writer.write(record)
        self.count += 1
        self.first_date = self.first_date or record.date
        self.last_date = record.date
        return written


class SpoolWriter:
    """Writes one capture run's exchanges into per-series WARC files under ``directory``."""

    def __init__(
        self,
        directory: Path,
        *,
        run_id: str,
        account_id: str,
        warcinfo: Mapping[str, str],
        host: str,
        revisit_lookup: RevisitLookup,
        secrets: Iterable[str] = (),
        id_maker: IdMaker = make_record_id,
    ) -> None:
        self.directory = directory
        self.run_id = run_id
        self.account_id = account_id
        self._warcinfo = dict(warcinfo)
        self._host = host
        self._lookup = revisit_lookup
        self._secrets = [s for s in secrets if s]
        self._make_id = id_maker
        self._files: dict[str, _OpenFile] = {}
        self._serial = 0
        directory.mkdir(parents=True, exist_ok=True)

    @property
    def series(self) -> list[str]:
        return sorted(self._files)

    def _file_for(self, series: str, date: datetime) -> _OpenFile:
        existing = self._files.get(series)
        if existing is not None:
            return existing
        filename = warc_filename(f"hp-{self.account_id}-{series}", date, self._serial, self._host)
        self._serial += 1
        path = self.directory / (filename + OPEN_SUFFIX)
        stream = path.open("xb")
        handle = _OpenFile(
            path, filename, series, warc_object_key(self.account_id, series, date, filename), stream
        )
        info = {**self._warcinfo, "isPartOf": self.run_id, "hp-series": series}
        record = warcinfo_record(filename=filename, info=info, record_id=self._make_id(), date=date)
        handle.write(record)
        handle.warcinfo_id = record.record_id
        self._files[series] = handle
        return handle

    def write_exchange(
        self,
        *,
        url: str,
        request_bytes: bytes,
        response_bytes: bytes,
        date: datetime,
        series: str,
        remote_ip: str | None = None,
    ) -> WrittenExchange:
        """Archive one exchange: the response (or a revisit) followed by its redacted request."""
        handle = self._file_for(series, date)
        message = split_http_message(response_bytes)
        target_uri, _ = redact_url(url, self._secrets)
        payload = memoryview(response_bytes)[message.head_length :]
        payload_digest = "sha256:" + hashlib.sha256(payload).hexdigest()
        response_id = self._make_id()
        redacted_response = False
        prior = (
            None
            if self._secrets and contains_secret(response_bytes, self._secrets)
            else (handle.digests.get(payload_digest) or self._lookup(series, payload_digest))
        )
        if len(payload) == 0:
            prior = None  # an empty body is not worth a revisit; keep the full response
        if prior is not None:
            record: WarcRecord = revisit_record(
                uri=target_uri,
                http_head=response_bytes[: message.head_length],
                payload_digest=payload_digest,
                refers_to=prior.record_id,
                refers_to_uri=prior.target_uri,
                refers_to_date=prior.date,
                record_id=response_id,
                date=date,
                warcinfo_id=handle.warcinfo_id,
                ip=remote_ip,
            )
        else:
            block = response_bytes
            fields: tuple[tuple[str, str], ...] = ()
            if self._secrets and contains_secret(block, self._secrets):
                # The platform echoed a credential back. Credentials never enter the archive,
                # so the value is removed here too and the record says so.
                for secret in self._secrets:
                    block = block.replace(secret.encode("utf-8"), b"REDACTED")
                fields = ((REDACTION_HEADER, "credential value echoed in response"),)
                redacted_response = True
                message = split_http_message(block)
            base = response_record(
                uri=target_uri,
                block=block,
                head_length=message.head_length,
                record_id=response_id,
                date=date,
                warcinfo_id=handle.warcinfo_id,
                ip=remote_ip,
                incompressible=message.content_type.startswith(INCOMPRESSIBLE_TYPES),
                payload_digest=None if redacted_response else payload_digest,
            )
            record = dataclasses.replace(base, fields=base.fields + fields)
        written = handle.write(record)
        if prior is None and not redacted_response:
            handle.digests.setdefault(
                payload_digest, PriorRecord(record_id=response_id, target_uri=target_uri, date=date)
            )
        redaction = redact_request(request_bytes, self._secrets)
        handle.write(
            request_record(
                uri=target_uri,
                block=redaction.data,
                record_id=self._make_id(),
                date=date,
                concurrent_to=response_id,
                warcinfo_id=handle.warcinfo_id,
                ip=remote_ip,
                redaction_note=redaction.note,
            )
        )
        return WrittenExchange(
            record_id=written.record_id,
            series=series,
            revisit=prior is not None,
            payload_digest=payload_digest,
            target_uri=target_uri,
            redacted_response=redacted_response,
        )

    def close(self, metadata: Callable[[str], dict[str, Any]], date: datetime) -> list[SpooledFile]:
        """Write each file's closing metadata record, fsync, and publish it without ``.open``."""
        closed: list[SpooledFile] = []
        for series in sorted(self._files):
            handle = self._files[series]
            body = json.dumps(metadata(series), sort_keys=True, ensure_ascii=False, indent=1).encode("utf-8")
            handle.write(
                metadata_record(
                    uri=f"urn:hp-archive:capture-report:{self.run_id}:{series}",
                    body=body,
                    record_id=self._make_id(),
                    date=date,
                    warcinfo_id=handle.warcinfo_id,
                )
            )
            handle.stream.flush()
            os.fsync(handle.stream.fileno())
            handle.stream.close()
            final = handle.path.with_name(handle.filename)
            os.replace(handle.path, final)
            closed.append(
                SpooledFile(
                    path=final,
                    filename=handle.filename,
                    key=handle.key,
                    series=series,
                    sha256=_sha256(final),
                    size=final.stat().st_size,
                    record_count=handle.count,
                    first_date=handle.first_date or date,
                    last_date=handle.last_date or date,
                )
            )
        _fsync_dir(self.directory)
        self._files.clear()
        return closed

    def abort(self) -> None:
        """Close and remove unfinished files (used when a run is abandoned)."""
        for handle in self._files.values():
            handle.stream.close()
            handle.path.unlink(missing_ok=True)
        self._files.clear()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
