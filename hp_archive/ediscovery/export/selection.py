"""Which items a production holds and in what order: documents, families and Bates numbers.

The items of a matter are those its holds cover (``hold_items``, released holds included: a
production may be made after the hold that froze its items was lifted); ``--query`` narrows them
with the query language, or selects items by itself for a matter without holds.

Every post is a parent document and its comments and replies are its family, in thread order
(a reply follows the comment it answers). A selected comment brings its ancestors along, marked
``selected=False``, so every family is whole and every comment can be shown under its post. Media
items are not documents of their own: they belong to the document they are attached to (their
bytes are its native media files and thumbnails on its page images), unless nothing they are
attached to is archived.

Bates numbers are given per page when page images are produced (one number per page image, as
the Opticon load file requires) and per document otherwise. :func:`number_documents` is pure.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from hp_archive.errors import ConfigError, NotFoundError
from hp_archive.index import models as m
from hp_archive.index.search import item_status, matching_uids

CHUNK = 500
T = TypeVar("T")
KIND_MEDIA = "media"
PREFIX_PATTERN = re.compile(r"^[A-Z][A-Z0-9_-]{0,15}$")
MIN_WIDTH, MAX_WIDTH = 4, 12


@dataclass(frozen=True)
class RecordRef:
    """Where one WARC record of the evidence is stored."""

    file_key: str
    file_sha256: str
    offset: int
    length: int
    record_id: str
    rec_type: str
    target_uri: str | None
    date: datetime
    refers_to: str | None = None


@dataclass(frozen=True)
class VersionView:
    """One archived version of an item and the record that evidences it (maybe a revisit)."""

    number: int
    text: str
    content_digest: str
    created_at: datetime | None
    edited_at: datetime | None
    observed_at: datetime
    record: RecordRef


@dataclass(frozen=True)
class EventView:
    kind: str
    observed_at: datetime
    occurred_at: datetime | None


@dataclass(frozen=True)
class ProducedItem:
    """An item as the production sees it: plain values, no database rows."""

    uid: str
    platform: str
    account: str
    kind: str
    native_id: str
    parent_uid: str | None
    root_uid: str | None
    author_name: str | None
    author_id: str | None
    url: str | None
    series: str
    created_at: datetime | None
    first_seen_at: datetime
    last_seen_at: datetime
    deleted_observed_at: datetime | None
    is_hidden: bool
    is_deleted: bool
    status: str
    versions: tuple[VersionView, ...] = ()
    events: tuple[EventView, ...] = ()
    media_record: RecordRef | None = None
    selected: bool = True

    @property
    def item_time(self) -> datetime:
        """When the platform says it was created, else when it was first captured."""
        return self.created_at or self.first_seen_at

    @property
    def current(self) -> VersionView | None:
        return self.versions[-1] if self.versions else None


@dataclass(frozen=True)
class PlannedDocument:
    """A document before numbering: its item, attached media, family and thread context."""

    item: ProducedItem
    family: int
    depth: int
    media: tuple[ProducedItem, ...] = ()
    context: tuple[ProducedItem, ...] = ()  # ancestors in the production, thread root first


@dataclass(frozen=True)
class NumberedDocument:
    """A document with its Bates range and its family's range (BEGATTACH/ENDATTACH)."""

    planned: PlannedDocument
    first: int
    last: int
    family_first: int
    family_last: int
    parent_first: int | None

    @property
    def item(self) -> ProducedItem:
        return self.planned.item

    @property
    def pages(self) -> int:
        return self.last - self.first + 1


@dataclass(frozen=True)
class Bates:
    """The numbering scheme: ``HPPD0000001`` is prefix ``HPPD`` at width 7."""

    prefix: str
    width: int

    def __post_init__(self) -> None:
        if not PREFIX_PATTERN.match(self.prefix):
            raise ConfigError(
                f"Bates prefix {self.prefix!r} is not allowed: use 1-16 capital letters, digits, '_' "
                "or '-', starting with a letter (it becomes part of every file name)"
            )
        if not MIN_WIDTH <= self.width <= MAX_WIDTH:
            raise ConfigError(
                f"Bates width {self.width} is out of range: use {MIN_WIDTH} to {MAX_WIDTH} digits"
            )

    def label(self, number: int) -> str:
        if number < 1 or number >= 10**self.width:
            raise ConfigError(
                f"Bates number {number} does not fit {self.width} digits: use a larger --bates-width"
            )
        return f"{self.prefix}{number:0{self.width}d}"

    def parse(self, label: str) -> int | None:
        """The number in ``label`` if it is one of this scheme's labels."""
        if not label.startswith(self.prefix):
            return None
        digits = label[len(self.prefix) :]
        if len(digits) != self.width or not digits.isdigit():
            return None
        return int(digits)


# -- pure planning -------------------------------------------------------------------------------


def _order_key(item: ProducedItem) -> tuple[datetime, str]:
    return (item.item_time, item.uid)


def plan_documents(items: Iterable[ProducedItem]) -> list[PlannedDocument]:
    """Documents in production order: families by their parent's time, each in thread order."""
    by_uid = {item.uid: item for item in items}
    media_of: dict[str, list[ProducedItem]] = defaultdict(list)
    documents: dict[str, ProducedItem] = {}
    for item in by_uid.values():
        if item.kind == KIND_MEDIA and item.parent_uid and _nearest_document(item, by_uid) is not None:
            owner = _nearest_document(item, by_uid)
            assert owner is not None
            media_of[owner.uid].append(item)
        else:
            documents[item.uid] = item
    children: dict[str, list[ProducedItem]] = defaultdict(list)
    roots: list[ProducedItem] = []
    for item in documents.values():
        parent = _nearest_ancestor(item, documents)
        if parent is None:
            roots.append(item)
        else:
            children[parent.uid].append(item)
    planned: list[PlannedDocument] = []
    for family, root in enumerate(sorted(roots, key=_order_key)):
        stack: list[tuple[ProducedItem, int, tuple[ProducedItem, ...]]] = [(root, 0, ())]
        while stack:
            item, depth, context = stack.pop()
            planned.append(
                PlannedDocument(
                    item=item,
                    family=family,
                    depth=depth,
                    media=tuple(sorted(media_of.get(item.uid, ()), key=_order_key)),
                    context=context,
                )
            )
            for child in sorted(children.get(item.uid, ()), key=_order_key, reverse=True):
                stack.append((child, depth + 1, (*context, item)))
    return planned


def _nearest_ancestor(item: ProducedItem, documents: dict[str, ProducedItem]) -> ProducedItem | None:
    """The document a document hangs under: its parent, else (parent not archived) its root."""
    for uid in (item.parent_uid, item.root_uid):
        if uid and uid != item.uid and uid in documents:
            return documents[uid]
    return None


def _nearest_document(item: ProducedItem, by_uid: dict[str, ProducedItem]) -> ProducedItem | None:
    """The closest non-media ancestor of a media item that the production holds."""
    seen = {item.uid}
    parent_uid = item.parent_uid
    while parent_uid and parent_uid not in seen:
        seen.add(parent_uid)
        parent = by_uid.get(parent_uid)
        if parent is None:
            return None
        if parent.kind != KIND_MEDIA:
            return parent
        parent_uid = parent.parent_uid
    return None


def number_documents(
    planned: Sequence[PlannedDocument], pages: Sequence[int], *, start: int
) -> list[NumberedDocument]:
    """Continuous Bates numbers from ``start``: ``pages[i]`` numbers for document ``i``."""
    if len(pages) != len(planned):
        raise ValueError("one page count per document is needed")
    ranges: list[tuple[int, int]] = []
    cursor = start
    for count in pages:
        if count < 1:
            raise ValueError("a document has at least one page")
        ranges.append((cursor, cursor + count - 1))
        cursor += count
    family_range: dict[int, tuple[int, int]] = {}
    for doc, (first, last) in zip(planned, ranges, strict=True):
        low, _high = family_range.get(doc.family, (first, last))
        family_range[doc.family] = (min(low, first), last)
    first_of = {doc.item.uid: first for doc, (first, _) in zip(planned, ranges, strict=True)}
    numbered = []
    for doc, (first, last) in zip(planned, ranges, strict=True):
        parent = doc.context[-1].uid if doc.context else None
        numbered.append(
            NumberedDocument(
                planned=doc,
                first=first,
                last=last,
                family_first=family_range[doc.family][0],
                family_last=family_range[doc.family][1],
                parent_first=first_of.get(parent) if parent else None,
            )
        )
    return numbered


# -- the database side ---------------------------------------------------------------------------


def matter_uids(session: Session, matter: str, *, query: str | None, timezone: str) -> list[str]:
    """The uids a production of ``matter`` selects (see the module docstring)."""
    if session.get(m.Matter, matter) is None:
        raise NotFoundError(
            f"matter {matter!r} does not exist: place a hold first with 'hp-archive hold create {matter} …'"
        )
    held = set(
        session.scalars(
            select(m.HoldItem.item_uid)
            .join(m.Hold, m.Hold.id == m.HoldItem.hold_id)
            .where(m.Hold.matter_id == matter)
            .distinct()
        )
    )
    has_holds = session.scalar(select(m.Hold.id).where(m.Hold.matter_id == matter).limit(1)) is not None
    if query is None:
        return sorted(held)
    if has_holds:
        return sorted(matching_uids(session, query, timezone=timezone, within=held))
    return sorted(matching_uids(session, query, timezone=timezone))


def load_items(session: Session, uids: Iterable[str]) -> list[ProducedItem]:
    """The selected items plus their archived ancestors and attached media, as plain values."""
    selected = set(uids)
    rows: dict[str, m.Item] = {row.uid: row for row in _items_by_uid(session, selected)}
    pending = {row.parent_uid for row in rows.values() if row.parent_uid} - rows.keys()
    while pending:
        found = {row.uid: row for row in _items_by_uid(session, pending)}
        rows.update(found)
        pending = {row.parent_uid for row in found.values() if row.parent_uid} - rows.keys()
    owners = [uid for uid, row in rows.items() if row.kind != KIND_MEDIA]
    for chunk in _chunks(sorted(owners)):
        for row in session.scalars(
            select(m.Item).where(m.Item.parent_uid.in_(chunk), m.Item.kind == KIND_MEDIA)
        ):
            rows.setdefault(row.uid, row)
    by_id = {row.id: row for row in rows.values()}
    versions = _versions(session, list(by_id))
    events = _events(session, list(by_id))
    media = _records(session, [row.media_record_id for row in rows.values() if row.media_record_id])
    items = []
    for row in rows.values():
        items.append(
            ProducedItem(
                uid=row.uid,
                platform=row.platform,
                account=row.account_id,
                kind=row.kind,
                native_id=row.native_id,
                parent_uid=row.parent_uid,
                root_uid=row.root_uid,
                author_name=row.author_name,
                author_id=row.author_id,
                url=row.url,
                series=row.series,
                created_at=row.created_at,
                first_seen_at=row.first_seen_at,
                last_seen_at=row.last_seen_at,
                deleted_observed_at=row.deleted_observed_at,
                is_hidden=row.is_hidden,
                is_deleted=row.is_deleted,
                status=item_status(row),
                versions=tuple(versions.get(row.id, ())),
                events=tuple(events.get(row.id, ())),
                media_record=media.get(row.media_record_id) if row.media_record_id else None,
                selected=row.uid in selected,
            )
        )
    return sorted(items, key=lambda item: item.uid)


def resolve_revisits(session: Session, refs: Iterable[RecordRef]) -> dict[str, RecordRef]:
    """Record id of each revisit → the original record it refers to (when archived)."""
    wanted = {ref.refers_to for ref in refs if ref.rec_type == "revisit" and ref.refers_to}
    found: dict[str, RecordRef] = {}
    for chunk in _chunks(sorted(wanted)):
        for record, key, sha in session.execute(
            select(m.WarcRecord, m.WarcFile.key, m.WarcFile.sha256)
            .join(m.WarcFile, m.WarcFile.id == m.WarcRecord.file_id)
            .where(m.WarcRecord.record_id.in_(chunk))
        ):
            found[record.record_id] = _ref(record, key, sha)
    return {
        ref.record_id: found[ref.refers_to]
        for ref in refs
        if ref.rec_type == "revisit" and ref.refers_to in found
    }


def _items_by_uid(session: Session, uids: Iterable[str]) -> list[m.Item]:
    out: list[m.Item] = []
    for chunk in _chunks(sorted(set(uids))):
        out.extend(session.scalars(select(m.Item).where(m.Item.uid.in_(chunk))))
    return out


def _ref(record: m.WarcRecord, key: str, sha256: str) -> RecordRef:
    return RecordRef(
        file_key=key,
        file_sha256=sha256,
        offset=record.offset,
        length=record.length,
        record_id=record.record_id,
        rec_type=record.rec_type,
        target_uri=record.target_uri,
        date=record.date,
        refers_to=record.refers_to,
    )


def _versions(session: Session, item_ids: Sequence[int]) -> dict[int, list[VersionView]]:
    out: dict[int, list[VersionView]] = defaultdict(list)
    for chunk in _chunks(sorted(item_ids)):
        for version, record, key, sha in session.execute(
            select(m.ItemVersion, m.WarcRecord, m.WarcFile.key, m.WarcFile.sha256)
            .join(m.WarcRecord, m.WarcRecord.id == m.ItemVersion.record_id)
            .join(m.WarcFile, m.WarcFile.id == m.WarcRecord.file_id)
            .where(m.ItemVersion.item_id.in_(chunk))
            .order_by(m.ItemVersion.item_id, m.ItemVersion.version_no)
        ):
            out[version.item_id].append(
                VersionView(
                    number=version.version_no,
                    text=version.text,
                    content_digest=version.content_digest,
                    created_at=version.created_at,
                    edited_at=version.edited_at,
                    observed_at=version.observed_at,
                    record=_ref(record, key, sha),
                )
            )
    return out


def _events(session: Session, item_ids: Sequence[int]) -> dict[int, list[EventView]]:
    out: dict[int, list[EventView]] = defaultdict(list)
    for chunk in _chunks(sorted(item_ids)):
        for event in session.scalars(
            select(m.ChangeEvent)
            .where(m.ChangeEvent.item_id.in_(chunk))
            .order_by(m.ChangeEvent.item_id, m.ChangeEvent.observed_at, m.ChangeEvent.id)
        ):
            out[event.item_id].append(EventView(event.kind, event.observed_at, event.occurred_at))
    return out


def _records(session: Session, record_ids: Sequence[int]) -> dict[int, RecordRef]:
    out: dict[int, RecordRef] = {}
    for chunk in _chunks(sorted(set(record_ids))):
        for record, key, sha in session.execute(
            select(m.WarcRecord, m.WarcFile.key, m.WarcFile.sha256)
            .join(m.WarcFile, m.WarcFile.id == m.WarcRecord.file_id)
            .where(m.WarcRecord.id.in_(chunk))
        ):
            out[record.id] = _ref(record, key, sha)
    return out


def _chunks(values: Sequence[T]) -> Iterable[Sequence[T]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]
