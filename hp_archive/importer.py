"""Import of WARC files written by other tools (Browsertrix, warcprox, wget, pywb, other archives).

A foreign file is someone else's evidence, so it is stored **unmodified**, under a key
partitioned like ours — ``warcs/<account>/<series>/<YYYY>/<MM>/<DD>/<original name>`` with the
date of its first record — and then indexed (write-ahead, DESIGN invariant 2). Before anything is
stored, the whole file is read and verified: every record must parse, and every block and payload
digest the file carries (SHA-1 or SHA-256, hex or base32) must match; a damaged file is refused
with the offset of the record where it breaks, and nothing of it is stored or indexed.

Importing is idempotent: a file whose bytes are already archived is a no-op; a different file under
a name already archived for the account and series is refused. gzip-per-record, uncompressed and
whole-file-gzip WARCs are accepted (see :mod:`hp_archive.warc.members` for how each is read back).
What becomes an item is decided by :mod:`hp_archive.index.extract`. Each import is audited
(``warc.import``) in the same transaction as its index rows.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from hp_archive.archive import Archive
from hp_archive.errors import ConfigError, ObjectExistsError, WarcError
from hp_archive.index import models as m
from hp_archive.index.db import transaction
from hp_archive.index.hooks import run_index_hooks
from hp_archive.index.ingest import ingest_file
from hp_archive.warc.members import LAYOUT_FILE, LAYOUT_PLAIN, detect_layout, file_digest, iter_file
from hp_archive.warc.naming import warc_object_key

DEFAULT_ACCOUNT = "imported"
DEFAULT_SERIES = "imported"
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class ImportResult:
    """What importing one file did (``status``: imported / already-imported)."""

    path: str
    status: str
    key: str
    sha256: str
    size: int
    layout: str
    records: int
    items: int = 0
    unparsed: int = 0

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def verify_file(
    path: Path, *, known: Callable[[list[str]], str | None] = lambda _ids: None
) -> tuple[str, int, str, int, datetime]:
    """(SHA-256, size, layout, records, first record date) of a WARC whose every digest checks.

    Raises :class:`WarcError` naming the file and the offset where it breaks, or when ``known``
    names an archived file that already holds some of its records (same WARC-Record-ID).
    """
    try:
        with path.open("rb") as stream:
            sha256, size = file_digest(stream)
            layout = detect_layout(stream)
            count = 0
            first_date: datetime | None = None
            ids: list[str] = []
            for record in iter_file(stream, check_digests=True, layout=layout):
                count += 1
                first_date = first_date or record.date
                ids.append(record.record_id)
                if len(ids) >= 500:
                    _check_ids(path, known, ids)
            _check_ids(path, known, ids)
    except OSError as exc:
        raise WarcError(f"{path}: cannot be read ({exc.strerror})") from exc
    except WarcError as exc:
        raise WarcError(f"{path}: refused, nothing stored or indexed: {exc}") from exc
    if first_date is None:
        raise WarcError(f"{path}: refused: the file holds no WARC record")
    return sha256, size, layout, count, first_date


def _check_ids(path: Path, known: Callable[[list[str]], str | None], ids: list[str]) -> None:
    holder = known(ids) if ids else None
    ids.clear()
    if holder is not None:
        raise WarcError(
            f"{path}: its records are already archived in {holder} (same WARC-Record-IDs): it is "
            "another copy of an archived file; nothing was imported"
        )


def stored_name(path: Path, layout: str) -> str:
    """The file's own name, made safe for an object key, ending in .warc.gz or .warc."""
    name = _UNSAFE.sub("-", path.name).strip("-.") or "imported"
    if name.endswith((".warc.gz", ".warc")):
        return name
    return name + (".warc" if layout == LAYOUT_PLAIN else ".warc.gz")


def import_warcs(
    archive: Archive,
    paths: Iterable[Path],
    *,
    account: str = DEFAULT_ACCOUNT,
    series: str = DEFAULT_SERIES,
) -> list[ImportResult]:
    """Import each file in turn; the first refused file stops the import (earlier ones stay)."""
    for label, value in (("--account", account), ("--series", series)):
        if not _NAME.match(value):
            raise ConfigError(
                f"{label} {value!r} is not a valid name: use 1-64 of a-z, 0-9, '-' or '_', starting "
                "with a letter or digit"
            )
    return [import_warc(archive, Path(p), account=account, series=series) for p in paths]


def import_warc(archive: Archive, path: Path, *, account: str, series: str) -> ImportResult:
    """Verify, store (unmodified) and index one foreign WARC file; idempotent."""

    def known(ids: list[str]) -> str | None:
        with archive.sessions() as session:
            return session.scalar(
                select(m.WarcFile.key)
                .join(m.WarcRecord, m.WarcRecord.file_id == m.WarcFile.id)
                .where(m.WarcRecord.record_id.in_(ids))
                .limit(1)
            )

    try:
        with path.open("rb") as stream:
            sha256, size = file_digest(stream)
    except OSError as exc:
        raise WarcError(f"{path}: cannot be read ({exc.strerror})") from exc
    with archive.sessions() as session:
        existing = session.scalar(select(m.WarcFile).where(m.WarcFile.sha256 == sha256))
        if existing is not None:
            return ImportResult(
                str(path),
                "already-imported",
                existing.key,
                sha256,
                size,
                existing.layout,
                existing.record_count,
            )
    sha256, size, layout, _records, first_date = verify_file(path, known=known)
    name = stored_name(path, layout)
    with archive.sessions() as session:
        clash = session.scalar(
            select(m.WarcFile.key).where(
                m.WarcFile.filename == name, m.WarcFile.account_id == account, m.WarcFile.series == series
            )
        )
    if clash is not None:
        raise WarcError(
            f"{path}: a different file named {name} is already archived as {clash}; "
            "rename the file if it is a different capture"
        )
    key = warc_object_key(account, series, first_date, name)
    try:
        archive.store.put_file(key, path, sha256=sha256, content_type="application/warc")
    except ObjectExistsError as exc:
        raise WarcError(
            f"{path}: the object {key} already holds different bytes; rename the file if it is a "
            "different capture"
        ) from exc
    with transaction(archive.sessions) as session:
        stats = ingest_file(
            session,
            key=key,
            path=path,
            sha256=sha256,
            size=size,
            read_range=archive.store.get_range,
            indexed_at=archive.clock(),
            open_object=archive.store.open,
        )
        run_index_hooks(archive, session, stats)
        archive.record(
            "warc.import",
            target=key,
            params={
                "file": path.name,
                "sha256": sha256,
                "size": size,
                "layout": layout,
                "records": stats.records,
                "items": stats.items_seen,
                "account": account,
                "series": series,
            },
            session=session,
        )
    archive.mirror_audit()
    return ImportResult(
        str(path), "imported", key, sha256, size, layout, stats.records, stats.items_seen, stats.unparsed
    )


def layout_note(layout: str) -> str:
    """What a layout means for reading records back (for command output)."""
    if layout == LAYOUT_FILE:
        return "whole-file gzip: records are read by inflating the file from its start"
    return ""
