"""Rewriting a WARC file without its destroyed records (DESIGN invariant 4).

The new file starts with its own ``warcinfo`` — the original's fields (account, platform, series,
run, so the index reads it as the same run's file) plus where it came from and under which
certificate — followed by every surviving record **byte for byte**: each record is its own gzip
member, and the member is copied unchanged, so every digest and the bytes as received stay as they
were. Only a surviving revisit whose original is destroyed changes form: it becomes a full
``response`` with the same record id, its own HTTP head and the original's payload (identical by
the payload digest, which is checked), and a ``HP-Archive-Converted`` field saying so.

The output is deterministic (warcinfo id and date are given), so a rewrite interrupted and done
again produces the same bytes and the write-once store accepts it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from hp_archive.errors import WarcError
from hp_archive.warc.members import LAYOUT_MEMBERS, detect_layout, iter_file
from hp_archive.warc.reader import StoredRecord
from hp_archive.warc.records import WarcRecord, warcinfo_record
from hp_archive.warc.writer import WarcWriter

CONVERTED_HEADER = "HP-Archive-Converted"
_REVISIT_ONLY = frozenset(
    name.lower()
    for name in (
        "WARC-Type", "WARC-Record-ID", "WARC-Date", "WARC-Target-URI", "Content-Type", "Content-Length",
        "WARC-Block-Digest", "WARC-Payload-Digest", "WARC-Profile", "WARC-Refers-To",
        "WARC-Refers-To-Target-URI", "WARC-Refers-To-Date", "WARC-Truncated",
    )
)  # fmt: skip
_INCOMPRESSIBLE = ("image/", "video/", "audio/", "application/zip", "application/gzip", "font/woff")


@dataclass(frozen=True)
class WrittenRecord:
    """Where a surviving record landed in the new file (what the index is repointed to)."""

    record_id: str
    rec_type: str
    offset: int
    length: int
    date: str
    converted: bool = False
    block_digest: str | None = None
    payload_length: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "record_id": self.record_id,
            "rec_type": self.rec_type,
            "offset": self.offset,
            "length": self.length,
            "date": self.date,
            "converted": self.converted,
            "block_digest": self.block_digest,
            "payload_length": self.payload_length,
        }


@dataclass
class RewriteResult:
    path: Path
    sha256: str
    size: int
    records: list[WrittenRecord] = field(default_factory=list)


def rewritten_filename(filename: str, certificate_id: str) -> str:
    """``<original stem>-<certificate>.warc.gz``; a previous certificate's suffix is replaced."""
    stem = filename.removesuffix(".warc.gz")
    parts = stem.split("-")
    if len(parts) > 3 and parts[-3] == "DC":
        stem = "-".join(parts[:-3])
    return f"{stem}-{certificate_id}.warc.gz"


def convert_revisit(revisit: StoredRecord, original: StoredRecord, certificate_id: str) -> WarcRecord:
    """The revisit as a full response: its own head, the original's payload (digest checked)."""
    message = original.http()
    payload = original.block[message.head_length :]
    label = revisit.get("WARC-Payload-Digest") or ""
    algo, _, value = label.partition(":")
    if algo.lower() != "sha256" or hashlib.sha256(payload).hexdigest() != value.lower():
        raise WarcError(
            f"revisit {revisit.record_id} names payload digest {label!r} but its original "
            f"{original.record_id} holds other bytes: it cannot be made a full record; check fixity"
        )
    fields = [(k, v) for k, v in revisit.fields if k.lower() not in _REVISIT_ONLY]
    fields.append(
        (
            CONVERTED_HEADER,
            f"revisit of {original.record_id} ({revisit.get('WARC-Refers-To-Target-URI') or '-'} "
            f"{revisit.get('WARC-Refers-To-Date') or '-'}) made a full response: payload copied "
            f"from the original before its destruction under certificate {certificate_id}",
        )
    )
    return WarcRecord(
        rec_type="response",
        record_id=revisit.record_id,
        date=revisit.date,
        content_type=revisit.content_type or "application/http;msgtype=response",
        block=revisit.block + payload,
        target_uri=revisit.target_uri,
        fields=tuple(fields),
        payload_offset=len(revisit.block),
        payload_digest=label,
        incompressible=message.content_type.startswith(_INCOMPRESSIBLE),
    )


def rewrite_file(
    source: Path,
    out: Path,
    *,
    old_key: str,
    old_sha256: str,
    new_filename: str,
    keep: Sequence[str],
    convert: dict[str, str],
    original: Callable[[str], StoredRecord],
    warcinfo_id: str,
    date: datetime,
    certificate_id: str,
) -> RewriteResult:
    """Write the survivors of ``source`` (record ids ``keep``) to ``out``; see the module docstring."""
    wanted = set(keep)
    written: list[WrittenRecord] = []
    with source.open("rb") as stream:
        layout = detect_layout(stream)
        if layout != LAYOUT_MEMBERS:
            raise WarcError(
                f"{old_key} is a {layout} WARC: only one-gzip-member-per-record files can be split"
            )
        records = list(iter_file(stream, layout=layout))
        if not records or records[0].rec_type != "warcinfo":
            raise WarcError(f"{old_key}: first record is not warcinfo; it cannot be rewritten")
        info = dict(records[0].warc_fields())
        info["description"] = (
            f"{info.get('description', 'Capture')}; the records of {old_key} that remained after "
            f"disposal under certificate {certificate_id}"
        )
        info["hp-rewrite-of"] = old_key
        info["hp-rewrite-of-sha256"] = old_sha256
        info["hp-rewrite-certificate"] = certificate_id
        by_id = {record.record_id: record for record in records}
        with out.open("wb") as target:
            writer = WarcWriter(target)
            head = writer.write(
                warcinfo_record(filename=new_filename, info=info, record_id=warcinfo_id, date=date)
            )
            written.append(
                WrittenRecord(
                    warcinfo_id,
                    "warcinfo",
                    head.offset,
                    head.length,
                    _iso(date),
                    block_digest=head.block_digest,
                )
            )
            for record in records:
                rid = record.record_id
                if rid not in wanted:
                    continue
                if rid in convert:
                    built = convert_revisit(
                        record, by_id.get(convert[rid]) or original(convert[rid]), certificate_id
                    )
                    result = writer.write(built)
                    written.append(
                        WrittenRecord(
                            rid,
                            "response",
                            result.offset,
                            result.length,
                            _iso(record.date),
                            converted=True,
                            block_digest=result.block_digest,
                            payload_length=result.payload_length,
                        )
                    )
                    continue
                stream.seek(record.offset)
                member = stream.read(record.length)
                offset = writer.offset
                target.write(member)
                writer = WarcWriter(target, offset=offset + len(member))
                written.append(WrittenRecord(rid, record.rec_type, offset, len(member), _iso(record.date)))
            target.flush()
    missing = wanted - {w.record_id for w in written}
    if missing:
        raise WarcError(f"{old_key}: records {sorted(missing)[:3]} to keep are not in the file")
    _check(out, [w.record_id for w in written], old_key)
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    return RewriteResult(out, digest, out.stat().st_size, written)


def _check(path: Path, expected: list[str], old_key: str) -> None:
    """Read the new file back, every digest verified, and compare its records with the plan."""
    with path.open("rb") as stream:
        found = [record.record_id for record in iter_file(stream, check_digests=True)]
    if found != expected:
        raise WarcError(f"the rewrite of {old_key} reads back with other records than were written")


def _iso(moment: datetime) -> str:
    return moment.isoformat()
