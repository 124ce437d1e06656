"""A parsed query as SQL over the index: which items match, and how well.

One compiler for both backends; only words and phrases differ (:mod:`~hp_archive.query.fts5` on
SQLite, :mod:`~hp_archive.query.tsquery` on PostgreSQL). Every condition is two-valued (never SQL
NULL), so ``NOT`` means exactly what :mod:`~hp_archive.query.evaluate` says it means. Words
under one OR are merged into a single full-text lookup, which is the same set of items.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import ModuleType
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    exists,
    func,
    not_,
    or_,
    true,
)
from sqlalchemy.orm import aliased

from hp_archive.index import models as m
from hp_archive.query import fts5, tsquery
from hp_archive.query.ast import And, Author, DateBound, Flag, Match, Node, Not, Or, Query, Text

_MATCH_COLUMNS = {
    "platform": m.Item.platform,
    "account": m.Item.account_id,
    "series": m.Item.series,
    "kind": m.Item.kind,
}


def item_time() -> ColumnElement[object]:
    """The item's time: its creation time on the platform, else when it was first captured."""
    return func.coalesce(m.Item.created_at, m.Item.first_seen_at)


class QueryCompiler:
    """Compiles one query for one SQL dialect (``sqlite`` or ``postgresql``)."""

    def __init__(self, query: Query, dialect: str) -> None:
        self.query = query
        self.text: ModuleType = fts5 if dialect == "sqlite" else tsquery

    def condition(self, *, scored: bool = False) -> ColumnElement[bool]:
        """A WHERE clause over ``items`` selecting exactly the matching items.

        With ``scored`` the caller has already joined :meth:`item_scores` (only items containing
        a positive word), so a top-level word that is the only positive word need not be looked
        up a second time.
        """
        root = self.query.root
        if scored and isinstance(root, And):
            positive = set(self.query.text_atoms(positive=True))
            words = [c for c in root.children if _only_words(c)]
            if len(words) == 1 and set(_words_of(words[0])) == positive:
                rest = tuple(c for c in root.children if c is not words[0])
                return self._node(And(rest))
        return self._node(root)

    def _node(self, node: Node) -> ColumnElement[bool]:
        if isinstance(node, Text):
            return self._text([node])
        if isinstance(node, And):
            if not node.children:
                return true()
            return and_(*(self._node(c) for c in node.children))
        if isinstance(node, Or):
            atoms = [c for c in node.children if isinstance(c, Text)]
            others = [self._node(c) for c in node.children if not isinstance(c, Text)]
            parts = ([self._text(atoms)] if atoms else []) + others
            return or_(*parts) if len(parts) > 1 else parts[0]
        if isinstance(node, Not):
            return not_(self._node(node.child))
        if isinstance(node, Match):
            return _MATCH_COLUMNS[node.name].in_(node.values)
        if isinstance(node, Author):
            return _author(node)
        if isinstance(node, Flag):
            return _flag(node)
        assert isinstance(node, DateBound)
        return _date(node)

    def _text(self, atoms: Sequence[Text]) -> ColumnElement[bool]:
        """Items one of whose searched versions contains any of ``atoms``."""
        condition: ColumnElement[bool] = self.text.item_condition(atoms, current_only=self.query.current_only)
        return condition

    def scores_decide(self) -> bool:
        """True when the query is only words ORed: having a score is the same as matching."""
        root = self.query.root
        return isinstance(root, Text) or (
            isinstance(root, Or) and all(isinstance(c, Text) for c in root.children)
        )

    def matches_are_scored(self) -> bool:
        """True when every matching item contains a positive word (so it has a score)."""
        return _needs_text(self.query.root)

    def item_scores(self) -> Select[int, float] | None:
        """(item id, score) for items with a searched version containing a positive word; lower is better.

        Only matching items are scored: when :meth:`matches_are_scored`, the rows are exactly the
        matching items. None when the query has no words outside a NOT (then results are ordered
        by time).
        """
        atoms = self.query.text_atoms(positive=True)
        if not atoms:
            return None
        # the backend only scores versions containing a positive word, so a lone top-level word
        # need not be looked up again (condition(scored=True))
        within = None if self.scores_decide() else self.condition(scored=True)
        scores: Select[int, float] = self.text.item_scores(
            atoms, current_only=self.query.current_only, within=within
        )
        return scores


def _only_words(node: Node) -> bool:
    return isinstance(node, Text) or (
        isinstance(node, Or) and all(isinstance(c, Text) for c in node.children)
    )


def _words_of(node: Node) -> list[Text]:
    if isinstance(node, Text):
        return [node]
    if isinstance(node, Or):
        return [c for c in node.children if isinstance(c, Text)]
    return []


def _needs_text(node: Node) -> bool:
    if isinstance(node, Text):
        return True
    if isinstance(node, And):
        return any(_needs_text(c) for c in node.children)
    if isinstance(node, Or):
        return all(_needs_text(c) for c in node.children)
    return False


def _author(node: Author) -> ColumnElement[bool]:
    key = m.Item.author_key
    if node.prefix:
        return and_(key.is_not(None), func.substr(key, 1, len(node.key)) == node.key)
    return or_(
        and_(key.is_not(None), key == node.key),
        and_(m.Item.author_id.is_not(None), m.Item.author_id == node.ident),
    )


def _flag(node: Flag) -> ColumnElement[bool]:
    condition: ColumnElement[bool]
    if node.name == "deleted":
        condition = m.Item.is_deleted.is_(True)
    elif node.name == "hidden":
        condition = m.Item.is_hidden.is_(True)
    elif node.name == "edited":
        condition = m.Item.version_count > 1
    else:
        child = aliased(m.Item)
        attached = exists().where(child.parent_uid == m.Item.uid, child.kind == "media")
        condition = or_(m.Item.media_record_id.is_not(None), attached)
    return condition if node.value else not_(condition)


def _date(node: DateBound) -> ColumnElement[bool]:
    def bound(column: Any) -> ColumnElement[bool]:
        result: ColumnElement[bool] = column >= node.at if node.lower else column < node.at
        return result

    if node.captured:
        return bound(m.Item.first_seen_at)
    # the item time as item_time() spells it, so the expression index of migration 0008 serves it
    # (first_seen_at is never NULL, so the coalesce is exactly "created_at, else first seen")
    return bound(item_time())
