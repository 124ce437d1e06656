"""Rebuild the derived index from the stored WARCs alone (DESIGN invariant 5).

Files are replayed in capture order — our files by run start, run id, then file name (the IIPC
serial); imported files by the date of their first record — which is the order the capture path
ingested them, so change detection reaches the same versions and events.

With ``workers`` > 1 the CPU-heavy part (inflate, digest checks, parsing, search text) runs in
that many worker processes, each reading whole files ahead of the writer and spilling their
records' units to a temporary file in chunks; the one writer applies the files strictly in capture
order, one transaction per file, exactly as the serial path does (:mod:`hp_archive.index.ingest`).
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import pickle
import shutil
import struct
import tempfile
from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from hp_archive.archive import Archive
from hp_archive.errors import CaptureError, ChecksumMismatchError
from hp_archive.index import models as m
from hp_archive.index.db import is_sqlite, transaction
from hp_archive.index.extract import Unit, extract_units, header_of
from hp_archive.index.hooks import run_index_hooks
from hp_archive.index.ingest import CHUNK, IngestStats, ingest_units, iter_chunks
from hp_archive.storage.base import ObjectInfo
from hp_archive.warc.members import file_digest, peek_first_record
from hp_archive.warc.naming import WARC_PREFIX, parse_object_key

log = logging.getLogger(__name__)

DERIVED_TABLES = (
    m.ChangeEvent,
    m.ItemVersion,
    m.Item,
    m.WarcRecord,
    m.WarcFile,
    m.CaptureRun,
    m.Account,
)
WARCINFO_PREFIX = 256 * 1024
_GC_YOUNG = 50_000  # allocations between young collections during a rebuild (default 700)


@dataclass
class ReindexStats:
    files: int = 0
    records: int = 0
    items: int = 0
    versions: int = 0
    events: Counter[str] = field(default_factory=Counter)
    skipped: list[str] = field(default_factory=list)


def capture_order(archive: Archive) -> list[ObjectInfo]:
    """Every stored WARC object in the order the index must replay them."""
    ordered: list[tuple[tuple[datetime, str, str], ObjectInfo]] = []
    for info in archive.store.list(WARC_PREFIX + "/"):
        if parse_object_key(info.key) is None:
            continue
        first = peek_first_record(archive.store.get_range(info.key, 0, min(info.size, WARCINFO_PREFIX)))
        header = header_of(first, key=info.key, sha256=info.sha256 or "", layout="")
        run = header.info
        ordered.append(
            ((run.started_at, "" if header.foreign else run.run_id, info.key.rsplit("/", 1)[-1]), info)
        )
    ordered.sort(key=lambda pair: pair[0])
    return [info for _, info in ordered]


def reindex(
    archive: Archive, *, progress: Callable[[str], None] | None = None, workers: int = 1
) -> ReindexStats:
    """Drop derived rows and re-ingest every stored WARC in capture order.

    ``workers`` > 1 parses files in that many processes (the database writer stays one).
    """
    with archive.sessions() as session:
        busy = session.scalar(
            select(m.CaptureRun.id).where(m.CaptureRun.status.in_(("capturing", "spooled", "stored")))
        )
    if busy is not None:
        raise CaptureError(
            f"capture run {busy} is unfinished: run 'hp-archive capture' (it repairs runs) before reindexing"
        )
    ordered = capture_order(archive)
    with transaction(archive.sessions) as session:
        for table in DERIVED_TABLES:
            session.execute(delete(table))
    stats = ReindexStats()
    with _bulk_gc(), _unit_sources(archive, ordered, workers) as sources:
        for info, units in sources:
            with transaction(archive.sessions) as session:
                _bulk_settings(session)
                result = ingest_units(
                    session,
                    units,
                    key=info.key,
                    sha256=info.sha256 or "",
                    size=info.size,
                    read_range=archive.store.get_range,
                    indexed_at=archive.clock(),
                    open_object=archive.store.open,
                )
                run_index_hooks(archive, session, result)
            _count(stats, result)
            if progress is not None:
                progress(info.key)
    archive.engine.dispose()  # pooled connections go back to the engine's own settings
    _restore_run_counts(archive)
    archive.record(
        "index.rebuild",
        params={
            "files": stats.files,
            "records": stats.records,
            "items": stats.items,
            "versions": stats.versions,
            "workers": workers,
        },
    )
    return stats


@contextlib.contextmanager
def _bulk_gc() -> Iterator[None]:
    """Cyclic garbage collection tuned for a bulk load, restored afterwards.

    A rebuild allocates millions of short-lived rows and tuples, none of them cyclic; with the
    default thresholds the collector runs every 700 allocations and rescans the whole heap of
    imported modules again and again (a tenth of a rebuild's CPU). Frozen, that heap is never
    scanned; a higher first threshold makes young collections rarer (memory stays bounded).
    """
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(max(thresholds[0], _GC_YOUNG), *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def _bulk_settings(session: Session) -> None:
    """SQLite settings for a rebuild: a larger page cache, and WAL commits without an fsync each.

    ``synchronous=NORMAL`` in WAL mode never corrupts the database; a crash may lose the last
    files' transactions, which the rebuild then simply does again (the index is derived).
    """
    if is_sqlite(session):
        connection = session.connection()
        connection.exec_driver_sql("PRAGMA synchronous=NORMAL")
        connection.exec_driver_sql("PRAGMA cache_size=-131072")
        connection.exec_driver_sql("PRAGMA temp_store=MEMORY")
        # checkpoints copy each page of the write-ahead log into the database once per
        # checkpoint; a rebuild rewrites the same index pages file after file, so checkpoint
        # rarely (a log of up to ~400 MB with 4 KiB pages; the connection's default comes back
        # when the rebuild closes its connections)
        connection.exec_driver_sql("PRAGMA wal_autocheckpoint=100000")


def _count(stats: ReindexStats, result: IngestStats) -> None:
    stats.files += 1
    stats.records += result.records
    stats.items += result.new_items
    stats.versions += result.new_versions
    stats.events.update(result.events)


UnitSource = Iterator[tuple[ObjectInfo, Iterator[Unit]]]


@contextlib.contextmanager
def _unit_sources(archive: Archive, ordered: list[ObjectInfo], workers: int) -> Iterator[UnitSource]:
    if workers <= 1:
        yield _serial(archive, ordered)
        return
    spill = Path(tempfile.mkdtemp(prefix="hp-archive-reindex-"))
    pool = ProcessPoolExecutor(max_workers=max(1, workers - 1), mp_context=get_context("forkserver"))
    try:
        yield _parallel(archive, ordered, pool, spill, ahead=workers * 2)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        shutil.rmtree(spill, ignore_errors=True)


def _serial(archive: Archive, ordered: list[ObjectInfo]) -> UnitSource:
    for info in ordered:
        with _local_copy(archive, info) as path:
            yield info, extract_units(path, key=info.key, sha256=info.sha256 or "")


@contextlib.contextmanager
def _local_copy(archive: Archive, info: ObjectInfo) -> Iterator[Path]:
    """A verified local file with the object's bytes (the store's own file when it has one)."""
    direct = archive.store.local_path(info.key)
    if direct is not None:
        _check_sha256(direct, info)
        yield direct
        return
    with archive.store.downloaded(info.key) as (path, _):
        yield path


def _check_sha256(path: Path, info: ObjectInfo) -> None:
    if not info.sha256:
        return
    with path.open("rb") as stream:
        digest, _ = file_digest(stream)
    if digest != info.sha256:
        raise ChecksumMismatchError(
            f"object {info.key!r} reads back with SHA-256 {digest} but was stored as {info.sha256}: "
            "run 'hp-archive fixity' and restore it before reindexing"
        )


def _parallel(
    archive: Archive, ordered: list[ObjectInfo], pool: ProcessPoolExecutor, spill: Path, ahead: int
) -> UnitSource:
    pending: deque[tuple[ObjectInfo, Future[Path], Path | None]] = deque()
    future_paths: dict[int, str] = {}
    queue = iter(enumerate(ordered))

    def submit() -> bool:
        item = next(queue, None)
        if item is None:
            return False
        index, info = item
        path = archive.store.local_path(info.key)
        downloaded = None
        if path is None:  # a remote store: fetch (verified) ahead of the workers
            downloaded = spill / f"{index:08d}.warc"
            archive.store.download(info.key, downloaded)
            path = downloaded
            expected = ""
        else:
            expected = info.sha256 or ""
        out = f"{index:08d}.units"
        future = pool.submit(
            _extract_to_spill, str(path), info.key, info.sha256 or "", expected, str(spill / out)
        )
        future_paths[id(future)] = out
        pending.append((info, future, downloaded))
        return True

    while len(pending) < ahead and submit():
        pass
    while pending:
        info, future, downloaded = pending.popleft()
        out = spill / future_paths.pop(id(future))
        try:
            yield info, _tail_spill(out, future)
        finally:
            future.result()
            out.unlink(missing_ok=True)
            if downloaded is not None:
                downloaded.unlink(missing_ok=True)
            submit()


_FRAME = struct.Struct("<Q")


def _extract_to_spill(path: str, key: str, sha256: str, expected: str, out: str) -> Path:
    """Worker: verify and parse one file, appending its units to ``out`` in framed pickled chunks.

    The writer reads the frames while this is still writing (a file is applied as it is parsed).
    """
    source = Path(path)
    if expected:
        _check_sha256(source, ObjectInfo(key=key, size=0, sha256=expected))
    target = Path(out)
    with _bulk_gc(), target.open("ab") as fh:
        for chunk in iter_chunks(extract_units(source, key=key, sha256=sha256), CHUNK):
            data = pickle.dumps(chunk, protocol=pickle.HIGHEST_PROTOCOL)
            fh.write(_FRAME.pack(len(data)) + data)
            fh.flush()
    return target


def _tail_spill(path: Path, future: Future[Path]) -> Iterator[Unit]:
    """The units a worker appends to ``path``, as they arrive; the worker's error is re-raised."""
    offset = 0
    while True:
        finished = future.done()
        frame = _read_frame(path, offset)
        if frame is not None:
            data, offset = frame
            chunk: list[Unit] = pickle.loads(data)  # noqa: S301 - our own worker's output
            yield from chunk
            continue
        if finished:
            future.result()  # raises the worker's exception, if any
            return
        wait([future], timeout=0.05)  # more frames, or the end, are on their way


def _read_frame(path: Path, offset: int) -> tuple[bytes, int] | None:
    try:
        with path.open("rb") as fh:
            fh.seek(offset)
            head = fh.read(_FRAME.size)
            if len(head) < _FRAME.size:
                return None
            (size,) = _FRAME.unpack(head)
            data = fh.read(size)
    except FileNotFoundError:
        return None
    if len(data) < size:
        return None
    return data, offset + _FRAME.size + size


def _restore_run_counts(archive: Archive) -> None:
    """Recompute each run's archived/events counts, as the capture path records them."""
    with transaction(archive.sessions) as session:
        archived: dict[str, Counter[str]] = {}
        for run_id, kind, count in session.execute(
            select(m.Item.last_seen_run, m.Item.kind, func.count()).group_by(
                m.Item.last_seen_run, m.Item.kind
            )
        ):
            archived.setdefault(run_id, Counter())[kind] = count
        events: dict[str, Counter[str]] = {}
        for run_id, kind, count in session.execute(
            select(m.ChangeEvent.run_id, m.ChangeEvent.kind, func.count()).group_by(
                m.ChangeEvent.run_id, m.ChangeEvent.kind
            )
        ):
            events.setdefault(run_id, Counter())[kind] = count
        files: dict[str, list[dict[str, Any]]] = {}
        for f in session.scalars(select(m.WarcFile).order_by(m.WarcFile.filename)):
            files.setdefault(f.run_id, []).append(
                {
                    "key": f.key,
                    "filename": f.filename,
                    "series": f.series,
                    "sha256": f.sha256,
                    "size": f.size,
                    "record_count": f.record_count,
                }
            )
        for run in session.scalars(select(m.CaptureRun)):
            report = dict(run.report or {})
            report["archived"] = dict(sorted(archived.get(run.id, Counter()).items()))
            report["events"] = dict(sorted(events.get(run.id, Counter()).items()))
            run.report = report
            run.files = files.get(run.id, [])


def default_workers() -> int:
    """Worker processes for a reindex: the CPUs this process may use."""
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))
