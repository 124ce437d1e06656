"""Work done at index time, in the same transaction as the ingest of a WARC file.

Retention classification and query-based legal holds must see every item as it is indexed —
by a capture or by ``reindex`` alike. Each hook is ``"module:function"`` with the signature
``hook(archive, session, stats)``; ``stats.uids`` names the items the file observed.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from hp_archive.index.ingest import IngestStats

if TYPE_CHECKING:
    from hp_archive.archive import Archive

IndexHook = Callable[["Archive", Session, IngestStats], None]

# Applied in this order after each file is ingested.
INDEX_HOOKS: tuple[str, ...] = (
    "hp_archive.index.search:on_indexed",
    "hp_archive.ediscovery.holds:on_indexed",
    "hp_archive.retention.classify:on_indexed",
)


def run_index_hooks(archive: Archive, session: Session, stats: IngestStats) -> None:
    """Call every registered hook (skipped for a file that was already indexed)."""
    if stats.skipped:
        return
    for target in INDEX_HOOKS:
        module_name, _, name = target.partition(":")
        hook: IndexHook = getattr(import_module(module_name), name)
        hook(archive, session, stats)
