"""Matters and legal holds: placing, extending at index time, releasing — and the object flags.

A record is held while any unreleased hold covers its item. Disposal calls :func:`held_uids` at
proposal and again, record by record, at execution (a hold placed in between must win).

What a hold covers (``hold_items``, by stable uid, so it survives reindex):

* ``item`` — items named with ``--item``; ``query`` — items its query matched when it was placed
  **and** items a later capture (or reindex) indexes that match it (:func:`on_indexed`, an index
  hook running in the ingest transaction). Holds only grow until they are released.
* ``thread`` — the ancestors of those (a comment is produced with the post it answers), and
  ``media`` — media items attached to any of them (a post is produced as the public saw it).

Every stored WARC object holding a record of a held item — a version's response, a revisit's
original, a change event's listing page, the media bytes — carries the store's legal-hold flag
(S3 Object Lock legal hold; a marker in the local store) and ``warc_files.legal_hold``; it loses
both only when no unreleased hold covers any record in it. Flags are set before the hold commits
and cleared after the release commits, so a failure in between errs on the side of keeping.
Placing, extending and releasing holds are audited with who did it and why.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from hp_archive.ediscovery.evidence import files_of_items, items_touching
from hp_archive.errors import HPArchiveError, NotFoundError, StorageError
from hp_archive.index.db import transaction
from hp_archive.index.models import (
    Hold,
    HoldItem,
    Item,
    Matter,
    WarcFile,
)
from hp_archive.index.search import item_status, matching_uids
from hp_archive.query.parser import parse

if TYPE_CHECKING:
    from hp_archive.archive import Archive
    from hp_archive.index.ingest import IngestStats

CHUNK = 500
MATTER_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
# when an item is covered for several reasons, the first of these is shown
BASES = ("item", "query", "thread", "media")
LISTED_IN_AUDIT = 1000


class HoldError(HPArchiveError):
    """A hold cannot be placed or released as asked."""


def held_uids(session: Session, uids: Iterable[str]) -> set[str]:
    """The subset of ``uids`` covered by at least one unreleased hold."""
    pending = sorted(set(uids))
    held: set[str] = set()
    for chunk in _chunks(pending):
        held.update(
            session.scalars(
                select(HoldItem.item_uid)
                .join(Hold, Hold.id == HoldItem.hold_id)
                .where(Hold.released_at.is_(None), HoldItem.item_uid.in_(chunk))
                .distinct()
            )
        )
    return held


# -- placing and releasing -----------------------------------------------------------------------


@dataclass
class HoldOutcome:
    """What placing (or releasing) holds did; ``--json`` output of ``hold create`` / ``release``."""

    matter: str
    holds: list[int]
    action: str
    items: Counter[str] = field(default_factory=Counter)  # by basis
    objects: list[str] = field(default_factory=list)  # keys flagged (create) or cleared (release)
    objects_still_held: int = 0
    store_enforces: bool = True
    audit_seq: int = 0
    query: str | None = None
    timezone: str = ""
    dates: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "matter": self.matter,
            "holds": self.holds,
            "action": self.action,
            "items": sum(self.items.values()),
            "items_by_basis": dict(sorted(self.items.items())),
            "objects": self.objects,
            "store_enforces_legal_hold": self.store_enforces,
            "audit_seq": self.audit_seq,
        }
        if self.action == "create":
            data |= {"query": self.query, "timezone": self.timezone, "dates": self.dates}
        else:
            data["objects_still_held"] = self.objects_still_held
        return data


def place_hold(
    archive: Archive,
    matter: str,
    *,
    reason: str,
    query: str | None = None,
    items: Sequence[str] = (),
    actor: str | None = None,
    title: str | None = None,
) -> HoldOutcome:
    """Place a hold for ``matter`` (created if new) on what ``query`` matches and on ``items``.

    Query dates are read in the archive's time zone, which the hold keeps for later captures.
    Raises QueryError, NotFoundError (an --item not in the index) or HoldError.
    """
    _check_matter(matter)
    reason = " ".join(reason.split())
    if not reason:
        raise HoldError(f"hold on matter {matter!r} needs a reason: give --reason 'why it is held'")
    if not query and not items:
        raise HoldError(f"hold on matter {matter!r} holds nothing: give --query Q and/or --item ID")
    parsed = parse(query, timezone=archive.timezone) if query else None
    who = actor or archive.operator
    at = archive.clock()
    explicit = sorted(dict.fromkeys(items))
    outcome = HoldOutcome(matter=matter, holds=[], action="create", query=query, timezone=archive.timezone)
    outcome.dates = parsed.dates() if parsed else []
    with transaction(archive.sessions) as session:
        missing = sorted(set(explicit) - set(_item_ids(session, explicit)))
        if missing:
            raise NotFoundError(
                f"item(s) {', '.join(missing)} not in the index: check the ids with 'hp-archive search'"
            )
        row = session.get(Matter, matter)
        if row is None:
            session.add(Matter(id=matter, title=title or "", created_at=at, created_by=who))
            session.flush()  # the hold refers to it
        elif title and not row.title:
            row.title = title
        hold = Hold(
            matter_id=matter,
            query=query or None,
            item_uids=explicit,
            reason=reason,
            created_at=at,
            created_by=who,
            timezone=archive.timezone,
        )
        session.add(hold)
        session.flush()
        bases = {uid: "query" for uid in (matching_uids(session, parsed) if parsed else [])}
        bases.update({uid: "item" for uid in explicit})
        bases.update({uid: basis for uid, basis in _context(session, bases).items() if uid not in bases})
        _add_items(session, hold.id, bases, at)
        outcome.holds = [hold.id]
        outcome.items = Counter(bases.values())
        flagged, outcome.store_enforces = _flag_objects(archive, session, bases)
        outcome.objects = flagged
        outcome.audit_seq = archive.record(
            "hold.create",
            target=f"matter:{matter}",
            actor=who,
            session=session,
            params={
                "matter": matter,
                "hold": hold.id,
                "reason": reason,
                "query": query,
                "timezone": archive.timezone,
                "explicit_items": explicit,
                **_item_list(bases),
                "objects_flagged": flagged,
                "store_enforces_legal_hold": outcome.store_enforces,
            },
        )
    archive.mirror_audit()
    return outcome


def release_holds(
    archive: Archive,
    matter: str,
    *,
    reason: str,
    actor: str | None = None,
    hold_id: int | None = None,
) -> HoldOutcome:
    """Release the matter's unreleased holds (or only ``hold_id``); clear flags nothing else needs."""
    reason = " ".join(reason.split())
    if not reason:
        raise HoldError(f"releasing matter {matter!r} needs a reason: give --reason 'why it is released'")
    who = actor or archive.operator
    at = archive.clock()
    outcome = HoldOutcome(matter=matter, holds=[], action="release")
    with transaction(archive.sessions) as session:
        statement = select(Hold).where(Hold.matter_id == matter, Hold.released_at.is_(None))
        if hold_id is not None:
            statement = statement.where(Hold.id == hold_id)
        holds = list(session.scalars(statement.order_by(Hold.id)))
        if not holds:
            which = f"hold {hold_id} of matter {matter!r}" if hold_id is not None else f"matter {matter!r}"
            raise NotFoundError(f"{which} has no unreleased hold: see 'hp-archive hold list'")
        for hold in holds:
            hold.released_at, hold.released_by, hold.release_reason = at, who, reason
        session.flush()
        outcome.holds = [hold.id for hold in holds]
        released = _hold_items(session, outcome.holds)
        outcome.items = Counter(released.values())
        candidates = {
            file.id: file.key
            for file in _files(session, files_of_items(session, _item_ids(session, released).values()))
            if file.legal_hold
        }
        needed = _files_needed(session, candidates)
        clear = sorted(set(candidates) - needed)
        for chunk in _chunks(clear):
            session.execute(update(WarcFile).where(WarcFile.id.in_(chunk)).values(legal_hold=False))
        outcome.objects = sorted(candidates[file_id] for file_id in clear)
        outcome.objects_still_held = len(needed)
        outcome.store_enforces = archive.store.object_lock_enabled
        outcome.audit_seq = archive.record(
            "hold.release",
            target=f"matter:{matter}",
            actor=who,
            session=session,
            params={
                "matter": matter,
                "holds": outcome.holds,
                "reason": reason,
                **_item_list(released),
                "objects_cleared": outcome.objects,
                "objects_still_held": len(needed),
            },
        )
    archive.mirror_audit()
    if outcome.store_enforces:
        for key in outcome.objects:
            try:
                archive.store.set_legal_hold(key, False)
            except StorageError as exc:
                raise HoldError(
                    f"holds released, but the legal-hold flag of {key} could not be cleared ({exc}): "
                    "run 'hp-archive hold sync'"
                ) from exc
    return outcome


def sync_object_flags(archive: Archive, *, actor: str | None = None) -> dict[str, Any]:
    """Recompute every object's legal-hold flag from the unreleased holds, in the index and the store.

    The repair after a failed release or a reindex; idempotent. Audited when anything changed.
    """
    enforce = archive.store.object_lock_enabled
    set_on: list[str] = []
    set_off: list[str] = []
    with transaction(archive.sessions) as session:
        held = _active_uids(session)
        needed = files_of_items(session, _item_ids(session, held).values())
        for file in session.scalars(select(WarcFile).order_by(WarcFile.key)):
            want = file.id in needed
            changed = file.legal_hold != want
            file.legal_hold = want
            if enforce:
                info = archive.store.head(file.key)
                changed = info is not None and info.legal_hold != want
            if changed:
                (set_on if want else set_off).append(file.key)
        for key in set_on:
            if enforce:
                archive.store.set_legal_hold(key, True)
        seq = 0
        if set_on or set_off:
            seq = archive.record(
                "hold.sync",
                actor=actor or archive.operator,
                session=session,
                params={"objects_flagged": set_on, "objects_cleared": set_off},
            )
    archive.mirror_audit()
    if enforce:
        for key in set_off:
            archive.store.set_legal_hold(key, False)
    return {
        "objects_held": len(needed),
        "flagged": set_on,
        "cleared": set_off,
        "store_enforces_legal_hold": enforce,
        "audit_seq": seq or None,
    }


# -- the index hook ------------------------------------------------------------------------------


def on_indexed(archive: Archive, session: Session, stats: IngestStats) -> None:
    """Index hook: extend query holds to newly indexed matches; flag the file if it holds held records.

    Runs in the ingest transaction for captures and reindex alike (registered in INDEX_HOOKS).
    """
    if session.scalar(select(Hold.id).where(Hold.released_at.is_(None)).limit(1)) is None:
        return  # nothing is held: captures pay nothing for this hook
    file_id = session.scalar(select(WarcFile.id).where(WarcFile.key == stats.key))
    if file_id is None:
        return
    touched = items_touching(session, {file_id})
    candidates = set(stats.uids) | set(touched)
    at = archive.clock()
    for hold in list(session.scalars(select(Hold).where(Hold.released_at.is_(None)).order_by(Hold.id))):
        _extend(archive, session, hold, candidates, at, stats.key)
    held = held_uids(session, candidates)
    if not held:
        return
    flagged, enforced = _flag_objects(archive, session, dict.fromkeys(held, ""), audit_store_only=True)
    if flagged:
        archive.record(
            "hold.objects",
            target=stats.key,
            session=session,
            params={
                "reason": "the objects hold records of held items",
                "file": stats.key,
                "objects_flagged": flagged,
                "store_enforces_legal_hold": enforced,
            },
        )


def _extend(
    archive: Archive, session: Session, hold: Hold, candidates: set[str], at: datetime, key: str
) -> None:
    have = set(_hold_items(session, [hold.id]))
    bases: dict[str, str] = {}
    if hold.query:
        query = parse(hold.query, timezone=hold.timezone or archive.timezone)
        bases = {uid: "query" for uid in matching_uids(session, query, within=candidates) if uid not in have}
    # media newly attached to an item this hold covers is part of it, as is the context of new matches
    for uid, parent in _media_parents(session, candidates - have - set(bases)).items():
        if parent in have or parent in bases:
            bases[uid] = "media"
    if not bases:
        return
    bases.update({uid: basis for uid, basis in _context(session, bases).items() if uid not in bases})
    new = {uid: basis for uid, basis in bases.items() if uid not in have}
    if not new:
        return
    _add_items(session, hold.id, new, at)
    archive.record(
        "hold.extend",
        target=f"matter:{hold.matter_id}",
        session=session,
        params={"matter": hold.matter_id, "hold": hold.id, "file": key, **_item_list(new)},
    )


# -- views ---------------------------------------------------------------------------------------


def _hold_view(hold: Hold, counts: Counter[str]) -> dict[str, Any]:
    return {
        "matter": hold.matter_id,
        "hold": hold.id,
        "status": "released" if hold.released_at else "active",
        "query": hold.query,
        "timezone": hold.timezone,
        "explicit_items": list(hold.item_uids or []),
        "reason": hold.reason,
        "created_at": hold.created_at.isoformat(),
        "created_by": hold.created_by,
        "released_at": hold.released_at.isoformat() if hold.released_at else None,
        "released_by": hold.released_by,
        "release_reason": hold.release_reason,
        "items": sum(counts.values()),
        "items_by_basis": dict(sorted(counts.items())),
    }


def list_holds(session: Session, *, matter: str | None = None) -> list[dict[str, Any]]:
    """Every hold (released ones too), by matter then hold id, with how many items each covers."""
    statement = select(Hold).order_by(Hold.matter_id, Hold.id)
    if matter is not None:
        statement = statement.where(Hold.matter_id == matter)
    holds = list(session.scalars(statement))
    counts: dict[int, Counter[str]] = defaultdict(Counter)
    for chunk in _chunks([hold.id for hold in holds]):
        for hold_id, basis in session.execute(
            select(HoldItem.hold_id, HoldItem.basis).where(HoldItem.hold_id.in_(chunk))
        ):
            counts[hold_id][basis] += 1
    return [_hold_view(hold, counts[hold.id]) for hold in holds]


def show_matter(session: Session, matter: str) -> dict[str, Any]:
    """A matter: its holds, the items they cover (with why), and the stored objects under hold."""
    row = session.get(Matter, matter)
    if row is None:
        raise NotFoundError(f"matter {matter!r} does not exist: see 'hp-archive hold list'")
    holds = list_holds(session, matter=matter)
    active = [h["hold"] for h in holds if h["status"] == "active"]
    covered: dict[str, dict[str, Any]] = {}
    for hold_item in session.scalars(
        select(HoldItem)
        .where(HoldItem.hold_id.in_([h["hold"] for h in holds]))
        .order_by(HoldItem.item_uid, HoldItem.hold_id)
    ):
        entry = covered.setdefault(
            hold_item.item_uid,
            {"id": hold_item.item_uid, "basis": hold_item.basis, "since": hold_item.added_at, "holds": []},
        )
        entry["holds"].append(hold_item.hold_id)
        if BASES.index(hold_item.basis) < BASES.index(entry["basis"]):
            entry["basis"] = hold_item.basis
        entry["since"] = min(entry["since"], hold_item.added_at)
    items = {row.uid: row for row in _items(session, covered)}
    for uid, entry in covered.items():
        item = items.get(uid)
        entry["since"] = entry["since"].isoformat()
        entry["held"] = any(h in active for h in entry["holds"])
        entry.update(
            {"kind": item.kind, "status": item_status(item), "author": item.author_name}
            if item
            else {"kind": None, "status": "not in the index", "author": None}
        )
    active_uids = [uid for uid, entry in covered.items() if entry["held"]]
    file_ids = files_of_items(session, _item_ids(session, active_uids).values())
    return {
        "matter": row.id,
        "title": row.title,
        "created_at": row.created_at.isoformat(),
        "created_by": row.created_by,
        "holds": holds,
        "items": list(covered.values()),
        "objects": [{"key": f.key, "legal_hold": f.legal_hold} for f in _files(session, file_ids)],
    }


# -- evidence: which stored objects hold an item's records ---------------------------------------


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def _check_matter(matter: str) -> None:
    if not MATTER_PATTERN.match(matter):
        raise HoldError(
            f"matter id {matter!r} is not usable: 1-128 characters of letters, digits, '.', '_' or '-', "
            "starting with a letter or digit (e.g. 2026-CV-0142)"
        )


def _item_ids(session: Session, uids: Iterable[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for chunk in _chunks(sorted(set(uids))):
        found.update(
            (uid, pk) for uid, pk in session.execute(select(Item.uid, Item.id).where(Item.uid.in_(chunk)))
        )
    return found


def _items(session: Session, uids: Iterable[str]) -> list[Item]:
    found: list[Item] = []
    for chunk in _chunks(sorted(set(uids))):
        found.extend(session.scalars(select(Item).where(Item.uid.in_(chunk))))
    return found


def _files(session: Session, file_ids: Iterable[int]) -> list[WarcFile]:
    found: list[WarcFile] = []
    for chunk in _chunks(sorted(set(file_ids))):
        found.extend(session.scalars(select(WarcFile).where(WarcFile.id.in_(chunk))))
    return sorted(found, key=lambda f: f.key)


def _active_uids(session: Session) -> set[str]:
    return set(
        session.scalars(
            select(HoldItem.item_uid)
            .join(Hold, Hold.id == HoldItem.hold_id)
            .where(Hold.released_at.is_(None))
        )
    )


def _hold_items(session: Session, hold_ids: Sequence[int]) -> dict[str, str]:
    """uid → basis of the items the holds cover."""
    found: dict[str, str] = {}
    for uid, basis in session.execute(
        select(HoldItem.item_uid, HoldItem.basis).where(HoldItem.hold_id.in_(hold_ids))
    ):
        if uid not in found or BASES.index(basis) < BASES.index(found[uid]):
            found[uid] = basis
    return found


def _add_items(session: Session, hold_id: int, bases: dict[str, str], at: datetime) -> None:
    rows = [
        {"hold_id": hold_id, "item_uid": uid, "basis": basis, "added_at": at} for uid, basis in bases.items()
    ]
    for chunk in _chunks(rows):
        session.execute(insert(HoldItem), list(chunk))


def _item_list(bases: dict[str, str]) -> dict[str, Any]:
    """The items for an audit entry: all of them when few, else their count and a digest."""
    uids = sorted(bases)
    data: dict[str, Any] = {
        "item_count": len(uids),
        "items_by_basis": dict(sorted(Counter(bases.values()).items())),
        "items_sha256": hashlib.sha256("\n".join(uids).encode()).hexdigest(),
    }
    if len(uids) <= LISTED_IN_AUDIT:
        data["items"] = uids
    return data


def _context(session: Session, uids: Iterable[str]) -> dict[str, str]:
    """Ancestors (``thread``) of the items and media attached to them or to those (``media``)."""
    start = set(uids)
    found: dict[str, str] = {}
    frontier = {row.parent_uid for row in _items(session, start) if row.parent_uid} - start
    while frontier:
        rows = _items(session, frontier)
        for row in rows:
            found[row.uid] = "thread"
        frontier = {row.parent_uid for row in rows if row.parent_uid} - start - set(found)
    owners = sorted(start | set(found))
    for chunk in _chunks(owners):
        for uid in session.scalars(select(Item.uid).where(Item.kind == "media", Item.parent_uid.in_(chunk))):
            if uid not in start and uid not in found:
                found[uid] = "media"
    return found


def _media_parents(session: Session, uids: Iterable[str]) -> dict[str, str]:
    """For media items among ``uids``: uid → the item they are attached to."""
    found: dict[str, str] = {}
    for chunk in _chunks(sorted(set(uids))):
        for uid, parent in session.execute(
            select(Item.uid, Item.parent_uid).where(
                Item.uid.in_(chunk), Item.kind == "media", Item.parent_uid.is_not(None)
            )
        ):
            if parent is not None:
                found[uid] = parent
    return found


def _files_needed(session: Session, file_ids: Iterable[int]) -> set[int]:
    """Those of the files that still hold a record of an item under an unreleased hold."""
    ids = set(file_ids)
    if not ids:
        return set()
    touching = items_touching(session, ids)
    still = held_uids(session, touching)
    return files_of_items(session, [touching[uid] for uid in still]) & ids


def _flag_objects(
    archive: Archive, session: Session, uids: dict[str, str], *, audit_store_only: bool = False
) -> tuple[list[str], bool]:
    """Flag every file holding a record of the items (index column, then the store, before commit).

    Returns the keys newly flagged and whether the store enforces legal holds. With
    ``audit_store_only`` (the index hook), a key already flagged in the store is not reported, so a
    reindex that re-marks its files does not fill the audit log.
    """
    enforce = archive.store.object_lock_enabled
    file_ids = files_of_items(session, _item_ids(session, uids).values())
    newly: list[str] = []
    for file in _files(session, file_ids):
        if file.legal_hold:
            continue
        file.legal_hold = True
        if enforce:
            info = archive.store.head(file.key) if audit_store_only else None
            if info is not None and info.legal_hold:
                continue
            archive.store.set_legal_hold(file.key, True)
        newly.append(file.key)
    session.flush()
    return newly, enforce
