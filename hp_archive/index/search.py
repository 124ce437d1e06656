"""Full-text search over every version of every item, and the item detail view.

Plain terms for now (all must match, in any version of the item). Both backends search the same
normalized tokens (see :mod:`hp_archive.index.text`), so they return the same items.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, literal, literal_column, select, text
from sqlalchemy.dialects.postgresql import REGCONFIG
from sqlalchemy.orm import Session

from hp_archive.errors import NotFoundError, QueryError
from hp_archive.index import models as m
from hp_archive.index.db import is_sqlite
from hp_archive.index.text import tokens

MAX_LIMIT = 1000


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
    """``{"total": N, "results": [...]}`` in ``--json`` output."""

    total: int
    results: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"total": self.total, "results": self.results}


def _matching_versions(session: Session, terms: list[str]) -> Select[int, float]:
    """(version id, score) of versions containing every term; lower score ranks higher."""
    if is_sqlite(session):
        match = " ".join(f'"{t}"' for t in terms)
        version_id: ColumnElement[int] = literal_column("version_fts.rowid")
        score: ColumnElement[float] = literal_column("bm25(version_fts)")
        return (
            select(version_id.label("version_id"), score.label("score"))
            .select_from(text("version_fts"))
            .where(text("version_fts MATCH :match").bindparams(match=match))
        )
    query = func.plainto_tsquery(literal("simple", type_=REGCONFIG), " ".join(terms))
    tsv: ColumnElement[Any] = literal_column("item_versions.search_tsv")
    return select(
        m.ItemVersion.id.label("version_id"),
        (-func.ts_rank(tsv, query)).label("score"),
    ).where(tsv.op("@@")(query))


def search(session: Session, query: str, *, limit: int = 50, offset: int = 0) -> SearchResults:
    """Items any version of which contains all the query's words, best match first."""
    terms = tokens(query)
    if not terms:
        raise QueryError(f"query {query!r} has no searchable words: give at least one word or number")
    limit = max(1, min(limit, MAX_LIMIT))
    matching = _matching_versions(session, terms)
    # SQLite must not flatten the FTS query into the join, or bm25() loses its context
    matches = (
        matching.cte("matches").prefix_with("MATERIALIZED") if is_sqlite(session) else matching.subquery()
    )
    per_item = (
        select(m.ItemVersion.item_id.label("item_id"), func.min(matches.c.score).label("score"))
        .join(matches, matches.c.version_id == m.ItemVersion.id)
        .group_by(m.ItemVersion.item_id)
        .subquery()
    )
    total = session.scalar(select(func.count()).select_from(per_item)) or 0
    rows = session.execute(
        select(m.Item, per_item.c.score)
        .join(per_item, per_item.c.item_id == m.Item.id)
        .order_by(per_item.c.score, m.Item.uid)
        .limit(limit)
        .offset(offset)
    ).all()
    results = []
    for item, _score in rows:
        current = session.get(m.ItemVersion, item.current_version_id) if item.current_version_id else None
        matched = _best_version(session, item.id, terms)
        body = current.text if current else ""
        results.append(
            {
                **item_summary(item),
                "text": body,
                "matched_version": matched.version_no if matched else None,
                "snippet": snippet(matched.text if matched else body, terms),
            }
        )
    return SearchResults(total=total, results=results)


def _best_version(session: Session, item_id: int, terms: list[str]) -> m.ItemVersion | None:
    versions = list(
        session.scalars(
            select(m.ItemVersion)
            .where(m.ItemVersion.item_id == item_id)
            .order_by(m.ItemVersion.version_no.desc())
        )
    )
    for version in versions:
        have = set(version.search_text.split())
        if all(t in have for t in terms):
            return version
    return versions[0] if versions else None


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
    """A window of ``body`` around the first matching word, matches wrapped in [[ ]]."""
    words = body.split()
    wanted = set(terms)
    marked = []
    first = None
    for index, word in enumerate(words):
        if set(tokens(word)) & wanted:
            marked.append(f"[[{word}]]")
            if first is None:
                first = index
        else:
            marked.append(word)
    start = max(0, (first or 0) - 8)
    out = " ".join(marked[start:])
    if len(out) > width:
        out = out[:width].rsplit(" ", 1)[0] + " …"
    return ("… " if start else "") + out


def show_item(session: Session, uid: str) -> dict[str, Any]:
    """An item with its thread (ancestors and replies), versions and change events."""
    item = session.scalar(select(m.Item).where(m.Item.uid == uid))
    if item is None:
        raise NotFoundError(f"item {uid!r} is not in the index: find ids with 'hp-archive search'")
    ancestors = []
    parent_uid = item.parent_uid
    seen = {item.uid}
    while parent_uid and parent_uid not in seen:
        seen.add(parent_uid)
        parent = session.scalar(select(m.Item).where(m.Item.uid == parent_uid))
        if parent is None:
            ancestors.append({"id": parent_uid, "status": "not archived"})
            break
        ancestors.append(_with_text(session, parent))
        parent_uid = parent.parent_uid
    ancestors.reverse()
    children = [
        _with_text(session, child)
        for child in session.scalars(
            select(m.Item).where(m.Item.parent_uid == item.uid).order_by(m.Item.created_at, m.Item.uid)
        )
    ]
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
    events = [
        {
            "kind": event.kind,
            "observed_at": _iso(event.observed_at),
            "occurred_at": _iso(event.occurred_at),
            "run": event.run_id,
            "details": event.details,
        }
        for event in session.scalars(
            select(m.ChangeEvent)
            .where(m.ChangeEvent.item_id == item.id)
            .order_by(m.ChangeEvent.observed_at, m.ChangeEvent.id)
        )
    ]
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
    return {
        **_with_text(session, item),
        "thread": ancestors,
        "replies": children,
        "versions": versions,
        "events": events,
        "media": media,
    }


def _with_text(session: Session, item: m.Item) -> dict[str, Any]:
    current = session.get(m.ItemVersion, item.current_version_id) if item.current_version_id else None
    return {**item_summary(item), "text": current.text if current else ""}
