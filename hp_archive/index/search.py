"""Search over every version of every item, and the item detail view.

Queries are written in the language of :mod:`hp_archive.query` (``docs/query-language.md``) and
mean the same on SQLite FTS5 and PostgreSQL: both receive the same normalized tokens, and the
item-level rules of :mod:`hp_archive.query.evaluate` are compiled once for both. Dates in queries
are read in the department's time zone, which every result set states.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, func, select, text, update
from sqlalchemy.orm import Session

from hp_archive.errors import NotFoundError
from hp_archive.index import models as m
from hp_archive.index.text import search_text, tokens
from hp_archive.query.ast import Query, Text
from hp_archive.query.evaluate import contains
from hp_archive.query.highlight import snippet as highlighted
from hp_archive.query.parser import DEFAULT_TIMEZONE, parse
from hp_archive.query.sql import QueryCompiler, item_time

if TYPE_CHECKING:
    from hp_archive.archive import Archive
    from hp_archive.index.ingest import IngestStats

MAX_LIMIT = 1000
CHUNK = 500
WITHIN_CHUNK = 5000
MAX_DEPTH = 16


def item_status(item: m.Item) -> str:
    """live / edited / hidden / deleted (the most serious applies)."""
    if item.is_deleted:
        return "deleted"
    if item.is_hidden:
        return "hidden"
    if (item.version_count or 0) > 1:
        return "edited"
    return "live"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


@dataclass
class SearchResults:
    """``{"total": N, "results": [...], "query": …, "timezone": …, "dates": [...]}`` in ``--json``."""

    total: int
    results: list[dict[str, Any]] = field(default_factory=list)
    query: str = ""
    timezone: str = DEFAULT_TIMEZONE
    dates: list[dict[str, str]] = field(default_factory=list)
    current_only: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "query": self.query,
            "versions_searched": "current" if self.current_only else "all",
            "timezone": self.timezone,
            "dates": self.dates,
            "results": self.results,
        }


def parsed(query: str | Query, timezone: str = DEFAULT_TIMEZONE) -> Query:
    """``query`` parsed (QueryError if malformed); an already parsed query is returned as is."""
    return query if isinstance(query, Query) else parse(query, timezone=timezone)


def _compiler(session: Session, query: Query) -> QueryCompiler:
    return QueryCompiler(query, session.get_bind().dialect.name)


def matching_uids(
    session: Session,
    query: str | Query,
    *,
    timezone: str = DEFAULT_TIMEZONE,
    within: Iterable[str] | None = None,
) -> list[str]:
    """Every matching item's uid, sorted (no limit); ``within`` restricts to those uids."""
    compiled = _compiler(session, parsed(query, timezone))
    condition = compiled.condition()
    if within is None:
        return list(session.scalars(select(m.Item.uid).where(condition).order_by(m.Item.uid)))
    found: list[str] = []
    pending = sorted(set(within))
    # large chunks: each statement evaluates the query's full-text lookups once
    for start in range(0, len(pending), WITHIN_CHUNK):
        chunk = pending[start : start + WITHIN_CHUNK]
        found.extend(session.scalars(select(m.Item.uid).where(m.Item.uid.in_(chunk), condition)))
    return sorted(found)


def on_indexed(archive: Archive, session: Session, stats: IngestStats) -> None:
    """Index hook: keep ``items.author_key`` (the author name normalized like the text) current.

    ``author:`` queries compare against it; filling it here, for the items each ingested file
    observed, keeps it right for captures and reindex alike whatever way the ingest writes items.
    """
    updates = []
    for chunk in _chunks(sorted(stats.uids)):
        for pk, name, key in session.execute(
            select(m.Item.id, m.Item.author_name, m.Item.author_key).where(m.Item.uid.in_(chunk))
        ):
            wanted = search_text(name or "") or None
            if wanted != key:
                updates.append({"id": pk, "author_key": wanted})
    for chunk in _chunks(updates):
        session.execute(update(m.Item), list(chunk))


def search(
    session: Session,
    query: str | Query,
    *,
    limit: int = 50,
    offset: int = 0,
    timezone: str = DEFAULT_TIMEZONE,
) -> SearchResults:
    """Matching items, best match first, each with snippet, thread, events and holds.

    Raises QueryError for a malformed query. Dates in the query are read in ``timezone``.
    """
    q = parsed(query, timezone)
    limit = max(1, min(limit, MAX_LIMIT))
    offset = max(0, offset)
    compiled = _compiler(session, q)
    condition = compiled.condition()
    if session.get_bind().dialect.name == "postgresql":
        # JIT-compiling a ranked full-text query costs PostgreSQL seconds and saves it milliseconds
        session.execute(text("SET LOCAL jit = off"))
    # the total rides along as a window count, so the query is evaluated once per page; rows stay
    # narrow (id and sort keys) until the page is cut, then the page's items are loaded
    total_column = func.count().over().label("total")
    scores = compiled.item_scores()
    order: list[ColumnElement[Any]] = []
    statement = select(m.Item.id, total_column)
    if scores is None:
        statement = statement.where(condition)
    else:
        best = scores.subquery("best")
        if compiled.scores_decide():
            statement = statement.join(best, best.c.item_id == m.Item.id)
        elif compiled.matches_are_scored():
            statement = statement.join(best, best.c.item_id == m.Item.id).where(
                compiled.condition(scored=True)
            )
        else:
            statement = statement.outerjoin(best, best.c.item_id == m.Item.id).where(condition)
        order.append(best.c.score.asc().nulls_last())
    order += [item_time().desc(), m.Item.uid.asc()]
    rows = session.execute(statement.order_by(*order).limit(limit).offset(offset)).all()
    loaded = {
        item.id: item for item in session.scalars(select(m.Item).where(m.Item.id.in_([r[0] for r in rows])))
    }
    items = [loaded[row[0]] for row in rows]
    if rows:
        total = int(rows[0][1])
    elif offset:
        total = session.scalar(select(func.count()).select_from(m.Item).where(condition)) or 0
    else:
        total = 0
    return SearchResults(
        total=total,
        results=_results(session, q, items),
        query=q.render(),
        timezone=q.timezone,
        dates=q.dates(),
        current_only=q.current_only,
    )


def _results(session: Session, query: Query, items: list[m.Item]) -> list[dict[str, Any]]:
    ids = [item.id for item in items]
    versions = _versions_of(session, ids)
    events = _events_of(session, ids)
    holds = holds_of(session, [item.uid for item in items])
    threads = _threads(session, items)
    atoms = query.text_atoms(positive=True)
    results = []
    for item in items:
        own = versions.get(item.id, [])
        current = next((v for v in own if v.id == item.current_version_id), own[-1] if own else None)
        searched = [current] if query.current_only and current is not None else own
        matched, best = _matched(searched, atoms)
        body = current.text if current else ""
        results.append(
            {
                **item_summary(item),
                "text": body,
                "matched_version": best.version_no if best else None,
                "matched_versions": [v.version_no for v in matched],
                "snippet": highlighted(best.text if best else body, atoms),
                "thread": threads.get(item.uid, []),
                "events": events.get(item.id, []),
                "holds": holds.get(item.uid, []),
            }
        )
    return results


def _matched(
    versions: Sequence[m.ItemVersion], atoms: Sequence[Text]
) -> tuple[list[m.ItemVersion], m.ItemVersion | None]:
    """Versions containing a positive word, and the one containing the most (latest on ties)."""
    if not atoms:
        return [], None
    scored = []
    for version in versions:
        have = version.search_text.split()
        count = sum(1 for atom in atoms if contains(have, atom))
        if count:
            scored.append((count, version.version_no, version))
    if not scored:
        return [], None
    best = max(scored, key=lambda entry: (entry[0], entry[1]))[2]
    return [entry[2] for entry in sorted(scored, key=lambda entry: entry[1])], best


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def _versions_of(session: Session, item_ids: Sequence[int]) -> dict[int, list[m.ItemVersion]]:
    found: dict[int, list[m.ItemVersion]] = defaultdict(list)
    for chunk in _chunks(item_ids):
        for version in session.scalars(
            select(m.ItemVersion)
            .where(m.ItemVersion.item_id.in_(chunk))
            .order_by(m.ItemVersion.item_id, m.ItemVersion.version_no)
        ):
            found[version.item_id].append(version)
    return found


def _event(event: m.ChangeEvent) -> dict[str, Any]:
    return {
        "kind": event.kind,
        "observed_at": _iso(event.observed_at),
        "occurred_at": _iso(event.occurred_at),
        "run": event.run_id,
        "details": event.details,
    }


def _events_of(session: Session, item_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    found: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for chunk in _chunks(item_ids):
        for event in session.scalars(
            select(m.ChangeEvent)
            .where(m.ChangeEvent.item_id.in_(chunk))
            .order_by(m.ChangeEvent.item_id, m.ChangeEvent.observed_at, m.ChangeEvent.id)
        ):
            found[event.item_id].append(_event(event))
    return found


def holds_of(session: Session, uids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """The unreleased holds covering each of ``uids``: matter, hold id, why, and since when."""
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for chunk in _chunks(sorted(set(uids))):
        for row, matter in session.execute(
            select(m.HoldItem, m.Hold.matter_id)
            .join(m.Hold, m.Hold.id == m.HoldItem.hold_id)
            .where(m.Hold.released_at.is_(None), m.HoldItem.item_uid.in_(chunk))
            .order_by(m.HoldItem.item_uid, m.Hold.id)
        ):
            found[row.item_uid].append(
                {"matter": matter, "hold": row.hold_id, "basis": row.basis, "since": _iso(row.added_at)}
            )
    return found


def _threads(session: Session, items: Sequence[m.Item]) -> dict[str, list[dict[str, Any]]]:
    """For each item, its ancestors from the thread's root down to its parent (post → comment)."""
    known: dict[str, m.Item] = {item.uid: item for item in items}
    missing: set[str] = set()
    wanted = {item.parent_uid for item in items if item.parent_uid} - set(known)
    for _ in range(MAX_DEPTH):
        if not wanted:
            break
        loaded = list(session.scalars(select(m.Item).where(m.Item.uid.in_(sorted(wanted)))))
        known.update((row.uid, row) for row in loaded)
        missing |= wanted - {row.uid for row in loaded}
        wanted = {row.parent_uid for row in loaded if row.parent_uid} - set(known) - missing
    own = {item.uid for item in items}
    texts = _current_texts(session, [row for row in known.values() if row.uid not in own])
    threads: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        chain: list[dict[str, Any]] = []
        seen = {item.uid}
        parent = item.parent_uid
        while parent and parent not in seen and len(chain) < MAX_DEPTH:
            seen.add(parent)
            row = known.get(parent)
            if row is None:
                chain.append({"id": parent, "status": "not archived"})
                break
            chain.append({**item_summary(row), "text": texts.get(row.id, "")})
            parent = row.parent_uid
        chain.reverse()
        threads[item.uid] = chain
    return threads


def _current_texts(session: Session, items: Sequence[m.Item]) -> dict[int, str]:
    version_ids = [item.current_version_id for item in items if item.current_version_id]
    texts: dict[int, str] = {}
    for chunk in _chunks(version_ids):
        for item_id, body in session.execute(
            select(m.ItemVersion.item_id, m.ItemVersion.text).where(m.ItemVersion.id.in_(chunk))
        ):
            texts[item_id] = body
    return texts


def item_summary(item: m.Item) -> dict[str, Any]:
    """The fields scripts rely on in ``search --json`` and ``show --json``."""
    return {
        "id": item.uid,
        "platform": item.platform,
        "account": item.account_id,
        "kind": item.kind,
        "author": item.author_name,
        "author_id": item.author_id,
        "author_is_agency": item.author_is_agency,
        "parent": item.parent_uid,
        "thread_root": item.root_uid,
        "url": item.url,
        "series": item.series,
        "created_at": _iso(item.created_at),
        "first_captured_at": _iso(item.first_seen_at),
        "last_seen_at": _iso(item.last_seen_at),
        "deleted_observed_at": _iso(item.deleted_observed_at),
        "status": item_status(item),
        "versions": item.version_count,
    }


def snippet(body: str, terms: list[str], width: int = 160) -> str:
    """A window of ``body`` around the first of ``terms`` (plain words), matches wrapped in [[ ]]."""
    atoms = [Text(tuple(tokens(term))) for term in terms if tokens(term)]
    return highlighted(body, atoms, width)


def show_item(session: Session, uid: str) -> dict[str, Any]:
    """An item with its thread (ancestors and replies), versions, change events and holds."""
    item = session.scalar(select(m.Item).where(m.Item.uid == uid))
    if item is None:
        raise NotFoundError(f"item {uid!r} is not in the index: find ids with 'hp-archive search'")
    thread = _threads(session, [item])[item.uid]
    children = list(
        session.scalars(
            select(m.Item).where(m.Item.parent_uid == item.uid).order_by(m.Item.created_at, m.Item.uid)
        )
    )
    child_texts = _current_texts(session, children)
    replies = [{**item_summary(child), "text": child_texts.get(child.id, "")} for child in children]
    versions = []
    for version, record, warc in session.execute(
        select(m.ItemVersion, m.WarcRecord, m.WarcFile)
        .join(m.WarcRecord, m.WarcRecord.id == m.ItemVersion.record_id)
        .join(m.WarcFile, m.WarcFile.id == m.WarcRecord.file_id)
        .where(m.ItemVersion.item_id == item.id)
        .order_by(m.ItemVersion.version_no)
    ):
        versions.append(
            {
                "version": version.version_no,
                "text": version.text,
                "content_digest": version.content_digest,
                "created_at": _iso(version.created_at),
                "edited_at": _iso(version.edited_at),
                "observed_at": _iso(version.observed_at),
                "evidence": {
                    "warc": warc.key,
                    "offset": record.offset,
                    "length": record.length,
                    "record_id": record.record_id,
                    "type": record.rec_type,
                    "target_uri": record.target_uri,
                },
            }
        )
    media = None
    if item.media_record_id is not None:
        row = session.execute(
            select(m.WarcRecord, m.WarcFile.key)
            .join(m.WarcFile, m.WarcFile.id == m.WarcRecord.file_id)
            .where(m.WarcRecord.id == item.media_record_id)
        ).first()
        if row is not None:
            media = {
                "warc": row.key,
                "offset": row[0].offset,
                "record_id": row[0].record_id,
                "uri": row[0].target_uri,
            }
    current = _current_texts(session, [item])
    return {
        **item_summary(item),
        "text": current.get(item.id, ""),
        "thread": thread,
        "replies": replies,
        "versions": versions,
        "events": _events_of(session, [item.id]).get(item.id, []),
        "media": media,
        "holds": holds_of(session, [item.uid]).get(item.uid, []),
    }
