"""Legal holds as disposal and the object store see them.

A record is held while any unreleased hold covers its item. Disposal calls :func:`held_uids` at
proposal and again, record by record, at execution (a hold placed in between must win).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from hp_archive.index.models import Hold, HoldItem

CHUNK = 500


def held_uids(session: Session, uids: Iterable[str]) -> set[str]:
    """The subset of ``uids`` covered by at least one unreleased hold."""
    pending = sorted(set(uids))
    held: set[str] = set()
    for start in range(0, len(pending), CHUNK):
        chunk = pending[start : start + CHUNK]
        held.update(
            session.scalars(
                select(HoldItem.item_uid)
                .join(Hold, Hold.id == HoldItem.hold_id)
                .where(Hold.released_at.is_(None), HoldItem.item_uid.in_(chunk))
                .distinct()
            )
        )
    return held
