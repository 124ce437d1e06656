"""Words and phrases as SQLite FTS5 MATCH expressions over ``version_fts`` (one row per version).

Each atom becomes a quoted FTS5 string — ``"o brien"`` — which FTS5 reads as a phrase of adjacent
tokens; a trailing ``*`` marks the last token as a prefix. Several atoms are joined with ``OR``.
The tokens were normalized exactly as ``item_versions.search_text`` was, so FTS5 sees the same
tokens in the text and in the query.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    bindparam,
    column,
    func,
    literal_column,
    select,
    table,
)
from sqlalchemy.orm import aliased

from hp_archive.index import models as m
from hp_archive.query.ast import Text

VERSION_FTS = table("version_fts", column("rowid"))


def atom(text: Text) -> str:
    """One atom as an FTS5 string (``"a b"`` or ``"a b" *``)."""
    quoted = '"' + " ".join(token.replace('"', '""') for token in text.tokens) + '"'
    return quoted + " *" if text.prefix else quoted


def expression(atoms: Sequence[Text]) -> str:
    """The atoms ORed, as one MATCH string."""
    return " OR ".join(atom(a) for a in atoms)


def _match(atoms: Sequence[Text]) -> ColumnElement[bool]:
    return literal_column("version_fts").op("MATCH", return_type=None)(
        bindparam(None, expression(atoms), type_=String())
    )


def matching_versions(atoms: Sequence[Text]) -> Select[int]:
    """Ids of the versions containing any of the atoms."""
    return select(VERSION_FTS.c.rowid).where(_match(atoms))


def item_condition(atoms: Sequence[Text], *, current_only: bool) -> ColumnElement[bool]:
    """Items with a searched version containing any atom.

    Written as ``IN`` so SQLite drives the query from the FTS5 matches (a correlated EXISTS would
    visit every item); ``NOT (… IN …)`` stays exact because neither side is ever NULL.
    """
    versions = matching_versions(atoms)
    if current_only:
        return and_(m.Item.current_version_id.is_not(None), m.Item.current_version_id.in_(versions))
    return m.Item.id.in_(select(m.ItemVersion.item_id).where(m.ItemVersion.id.in_(versions)))


def item_scores(
    atoms: Sequence[Text], *, current_only: bool, within: ColumnElement[bool] | None = None
) -> Select[int, float]:
    """(item id, best BM25) over the searched versions containing any atom; lower ranks higher.

    The FTS5 matches drive the query (``rowid + 0`` keeps SQLite from probing FTS5 by rowid, which
    re-reads the whole doclist per probe) and each is joined to its version and item; ``within`` (a
    condition over ``items``) is checked there, so bm25() — the costly part — runs only for the
    versions of matching items.
    """
    version = aliased(m.ItemVersion)
    link = m.Item.current_version_id == version.id if current_only else m.Item.id == version.item_id
    statement = (
        select(version.item_id.label("item_id"), func.bm25(literal_column("version_fts")).label("score"))
        .select_from(VERSION_FTS)
        .join(version, version.id == VERSION_FTS.c.rowid + 0)
        .where(_match(atoms))
    )
    if within is not None or current_only:
        statement = statement.join(m.Item, link)
    if within is not None:
        statement = statement.where(within)
    # bm25() must be read while FTS5 sits on the row: materialized before the grouping
    scored = statement.cte("scored").prefix_with("MATERIALIZED")
    return select(scored.c.item_id, func.min(scored.c.score).label("score")).group_by(scored.c.item_id)
