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

from sqlalchemy import ColumnElement, func, literal, select, text, update
from sqlalchemy.orm import Session, load_only

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
# above every score either backend gives (BM25 and -ts_rank are finite and far below this)
MAX_SCORE = 1e30
VERSION_FIELDS = (
    m.ItemVersion.id,
    m.ItemVersion.item_id,
    m.ItemVersion.version_no,
    m.ItemVersion.text,
    m.ItemVersion.search_text,
)


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
    if session.get_bind().dialect.name == "postgresql":
        # JIT-compiling a ranked full-text query costs PostgreSQL seconds and saves it milliseconds
        session.execute(text("SET LOCAL jit = off"))
    ids, total = _page(session, compiled, limit, offset)
    loaded = {item.id: item for item in session.scalars(select(m.Item).where(m.Item.id.in_(ids)))}
    items = [loaded[pk] for pk in ids]
    return SearchResults(
        total=total,
        results=_results(session, q, items),
        query=q.render(),
        timezone=q.timezone,
        dates=q.dates(),
        current_only=q.current_only,
    )


def _page(session: Session, compiled: QueryCompiler, limit: int, offset: int) -> tuple[list[int], int]:
    """Ids of one page of matching items, best first, and how many items match in all.

    Ranked queries are cut on the score alone before any item row is read: the page can only hold
    items scoring at most as well as the ``offset + limit``-th best score, so only those (ties
    included, for the time and uid tie-breaks) are looked up and sorted. Unranked queries count and
    page separately, so the page is a top-N walk of the item-time index, never a sort of every match.
    """
    scores = compiled.item_scores()
    order_tail: list[ColumnElement[Any]] = [item_time().desc(), m.Item.uid.asc()]
    if scores is None or not compiled.matches_are_scored():
        condition = compiled.condition()
        statement = select(m.Item.id)
        order: list[ColumnElement[Any]] = []
        if scores is not None:
            # some matches have no positive word (``deleted:true OR police``): they rank last
            scored = scores.subquery("best")
            statement = statement.outerjoin(scored, scored.c.item_id == m.Item.id)
            order.append(scored.c.score.asc().nulls_last())
        ids = list(
            session.scalars(
                statement.where(condition).order_by(*order, *order_tail).limit(limit).offset(offset)
            )
        )
        total = session.scalar(select(func.count()).select_from(m.Item).where(condition)) or 0
        return ids, total
    # every matching item has a score and only matching items are scored
    hits = scores.cte("best").prefix_with("MATERIALIZED")
    cut = select(hits.c.score).order_by(hits.c.score).limit(1).offset(offset + limit - 1).scalar_subquery()
    # the tie-breaks are looked up only for the rows left after the cut (a join would let the planner
    # read every item row when it misjudges how few rows pass the cut)
    owner = select(m.Item).where(m.Item.id == hits.c.item_id)
    statement = (
        select(hits.c.item_id, select(func.count()).select_from(hits).scalar_subquery())
        .where(hits.c.score <= func.coalesce(cut, literal(MAX_SCORE)))
        .order_by(
            hits.c.score.asc(),
            owner.with_only_columns(item_time()).scalar_subquery().desc(),
            owner.with_only_columns(m.Item.uid).scalar_subquery().asc(),
        )
        .limit(limit)
        .offset(offset)
    )
    rows = session.execute(statement).all()
    if rows:
        return [row[0] for row in rows], int(rows[0][1])
    return [], session.scalar(select(func.count()).select_from(hits)) or 0


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
            # only what results show: the normalized platform JSON can be kilobytes per version
            .options(load_only(*VERSION_FIELDS))
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
