"""Rebuild the derived index from the stored WARCs alone (DESIGN invariant 5).

Files are replayed in capture order — by run start, run id, then file name (the IIPC serial) —
which is the order the capture path ingested them, so change detection reaches the same versions
and events.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import delete, select

from hp_archive.archive import Archive
from hp_archive.errors import CaptureError
from hp_archive.index import models as m
from hp_archive.index.db import transaction
from hp_archive.index.hooks import run_index_hooks
from hp_archive.index.ingest import ingest_file, run_archived_counts, run_event_counts
from hp_archive.warc.naming import WARC_PREFIX, parse_object_key
from hp_archive.warc.reader import first_record
from hp_archive.warc.runinfo import RunInfo

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


@dataclass
class ReindexStats:
    files: int = 0
    records: int = 0
    items: int = 0
    versions: int = 0
    events: Counter[str] = field(default_factory=Counter)
    skipped: list[str] = field(default_factory=list)


def reindex(archive: Archive, *, progress: Callable[[str], None] | None = None) -> ReindexStats:
    """Drop derived rows and re-ingest every stored WARC in capture order."""
    with archive.sessions() as session:
        busy = session.scalar(
            select(m.CaptureRun.id).where(m.CaptureRun.status.in_(("capturing", "spooled", "stored")))
        )
    if busy is not None:
        raise CaptureError(
            f"capture run {busy} is unfinished: run 'hp-archive capture' (it repairs runs) before reindexing"
        )
    ordered = []
    for info in archive.store.list(WARC_PREFIX + "/"):
        if parse_object_key(info.key) is None:
            continue
        head = first_record(archive.store.get_range(info.key, 0, min(info.size, WARCINFO_PREFIX)))
        run = RunInfo.from_fields(head.warc_fields(), where=info.key)
        ordered.append(((run.started_at, run.run_id, info.key.rsplit("/", 1)[-1]), info))
    ordered.sort(key=lambda pair: pair[0])
    with transaction(archive.sessions) as session:
        for table in DERIVED_TABLES:
            session.execute(delete(table))
    stats = ReindexStats()
    for _, info in ordered:
        with archive.store.downloaded(info.key) as (path, stored), transaction(archive.sessions) as session:
            result = ingest_file(
                session,
                key=info.key,
                path=path,
                sha256=stored.sha256 or "",
                size=stored.size,
                read_range=archive.store.get_range,
                indexed_at=archive.clock(),
            )
            run_index_hooks(archive, session, result)
        stats.files += 1
        stats.records += result.records
        stats.items += result.new_items
        stats.versions += result.new_versions
        stats.events.update(result.events)
        if progress is not None:
            progress(info.key)
    _restore_run_counts(archive)
    archive.record(
        "index.rebuild",
        params={
            "files": stats.files,
            "records": stats.records,
            "items": stats.items,
            "versions": stats.versions,
        },
    )
    return stats


def _restore_run_counts(archive: Archive) -> None:
    """Recompute each run's archived/events counts, as the capture path records them."""
    with transaction(archive.sessions) as session:
        for run in session.scalars(select(m.CaptureRun)):
            report = dict(run.report or {})
            report["archived"] = run_archived_counts(session, run.id)
            report["events"] = run_event_counts(session, run.id)
            run.report = report
            run.files = [
                {
                    "key": f.key,
                    "filename": f.filename,
                    "series": f.series,
                    "sha256": f.sha256,
                    "size": f.size,
                    "record_count": f.record_count,
                }
                for f in session.scalars(
                    select(m.WarcFile).where(m.WarcFile.run_id == run.id).order_by(m.WarcFile.filename)
                )
            ]
