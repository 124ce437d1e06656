"""Which stored WARC objects hold the records that evidence an item (for legal-hold flags).

An item's records are its versions' responses, its change events' listing pages, its media bytes,
and — for any of those that is a revisit — the original record it refers to, which may sit in an
earlier object. Both directions are here: items → objects, and objects → the items they touch.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from hp_archive.index.models import ChangeEvent, Item, ItemVersion, WarcRecord

CHUNK = 500


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def records_of_items(session: Session, item_ids: Iterable[int]) -> set[int]:
    """Every record evidencing the items: versions, change events, media, and revisits' originals."""
    records: set[int] = set()
    for chunk in _chunks(sorted(set(item_ids))):
        records.update(session.scalars(select(ItemVersion.record_id).where(ItemVersion.item_id.in_(chunk))))
        records.update(
            session.scalars(
                select(ChangeEvent.record_id).where(
                    ChangeEvent.item_id.in_(chunk), ChangeEvent.record_id.is_not(None)
                )
            )
        )
        records.update(
            session.scalars(
                select(Item.media_record_id).where(Item.id.in_(chunk), Item.media_record_id.is_not(None))
            )
        )
    revisit, original = aliased(WarcRecord), aliased(WarcRecord)
    frontier = set(records)
    while frontier:
        originals: set[int] = set()
        for chunk in _chunks(sorted(frontier)):
            originals.update(
                session.scalars(
                    select(original.id)
                    .join(revisit, revisit.refers_to == original.record_id)
                    .where(revisit.id.in_(chunk))
                )
            )
        frontier = originals - records
        records |= originals
    return records


def files_of_items(session: Session, item_ids: Iterable[int]) -> set[int]:
    """Ids of the stored files holding any record of the items."""
    files: set[int] = set()
    for chunk in _chunks(sorted(records_of_items(session, item_ids))):
        files.update(session.scalars(select(WarcRecord.file_id).where(WarcRecord.id.in_(chunk)).distinct()))
    return files


def items_touching(session: Session, file_ids: Iterable[int]) -> dict[str, int]:
    """uid → id of items with a record in the files (directly or as a revisit's original)."""
    ids = sorted(set(file_ids))
    here = select(WarcRecord.id).where(WarcRecord.file_id.in_(ids))
    revisit, original = aliased(WarcRecord), aliased(WarcRecord)
    referring = (
        select(revisit.id)
        .join(original, original.record_id == revisit.refers_to)
        .where(original.file_id.in_(ids))
    )
    item_ids: set[int] = set()
    for records in (here, referring):
        item_ids.update(
            session.scalars(select(ItemVersion.item_id).where(ItemVersion.record_id.in_(records)))
        )
        item_ids.update(
            session.scalars(select(ChangeEvent.item_id).where(ChangeEvent.record_id.in_(records)))
        )
        item_ids.update(session.scalars(select(Item.id).where(Item.media_record_id.in_(records))))
    found: dict[str, int] = {}
    for chunk in _chunks(sorted(item_ids)):
        found.update(
            (uid, pk) for uid, pk in session.execute(select(Item.uid, Item.id).where(Item.id.in_(chunk)))
        )
    return found
