"""Words and phrases as PostgreSQL tsquery over ``item_versions.search_tsv`` (``simple`` config).

Each atom becomes ``'a' <-> 'b'`` (adjacent tokens), the last token with ``:*`` for a prefix;
several atoms are joined with ``|``. The expression goes through ``to_tsquery('simple', …)``,
the same parser and dictionary that built ``search_tsv`` from the normalized text.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, Select, String, bindparam, exists, func, literal, literal_column, select
from sqlalchemy.dialects.postgresql import REGCONFIG
from sqlalchemy.orm import aliased

from hp_archive.index import models as m
from hp_archive.query.ast import Text

SEARCH_TSV: ColumnElement[object] = literal_column("item_versions.search_tsv")


def _lexeme(token: str) -> str:
    return "'" + token.replace("\\", "\\\\").replace("'", "''") + "'"


def atom(text: Text) -> str:
    """One atom in to_tsquery syntax (``'a' <-> 'b':*``)."""
    parts = [_lexeme(t) for t in text.tokens]
    if text.prefix:
        parts[-1] += ":*"
    return "(" + " <-> ".join(parts) + ")"


def expression(atoms: Sequence[Text]) -> str:
    """The atoms ORed, as one to_tsquery string."""
    return " | ".join(atom(a) for a in atoms)


def _tsquery(atoms: Sequence[Text]) -> ColumnElement[object]:
    return func.to_tsquery(
        literal("simple", type_=REGCONFIG), bindparam(None, expression(atoms), type_=String())
    )


def matching_versions(atoms: Sequence[Text]) -> Select[int]:
    """Ids of the versions containing any of the atoms."""
    return select(m.ItemVersion.id).where(SEARCH_TSV.op("@@")(_tsquery(atoms)))


def item_condition(atoms: Sequence[Text], *, current_only: bool) -> ColumnElement[bool]:
    """Items with a searched version containing any atom.

    Written as EXISTS so that under NOT the planner makes an anti-join: ``NOT IN`` over a large
    subquery falls back to re-scanning it for every item once its hash table outgrows work_mem.
    """
    query = _tsquery(atoms)
    if current_only:
        link = m.ItemVersion.id == m.Item.current_version_id
    else:
        link = m.ItemVersion.item_id == m.Item.id
    return exists().where(link, SEARCH_TSV.op("@@")(query))


def item_scores(
    atoms: Sequence[Text], *, current_only: bool, within: ColumnElement[bool] | None = None
) -> Select[int, float]:
    """(item id, best -ts_rank) over the searched versions containing any atom; lower ranks higher.

    Ranked in the same scan that finds the versions, so the tsvectors never travel through a sort;
    with ``within`` (a condition over ``items``) only the items meeting it are ranked, which saves
    most of the work when filters or other words narrow a common word.
    """
    query = _tsquery(atoms)
    statement = select(
        m.ItemVersion.item_id.label("item_id"),
        func.min(-func.ts_rank(SEARCH_TSV, query)).label("score"),
    ).where(SEARCH_TSV.op("@@")(query))
    if within is not None:
        statement = statement.where(
            m.ItemVersion.item_id.in_(select(m.Item.id).where(within).correlate(None))
        )
    if current_only:
        owner = aliased(m.Item)
        statement = statement.join(owner, owner.current_version_id == m.ItemVersion.id)
    return statement.group_by(m.ItemVersion.item_id)
