"""query language and holds: items.author_key, holds.timezone, hold_items.basis

``items.author_key`` is the author name normalized like the full text (derived: reindex and
ingest fill it; filled here for rows that exist). ``holds.timezone`` keeps the zone a hold's query
dates were read in, so later captures are matched against the same instants; ``hold_items.basis``
says why a hold covers an item (authoritative).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("author_key", sa.String(length=512), nullable=True))
        batch_op.create_index(batch_op.f("ix_items_author_key"), ["author_key"], unique=False)
    with op.batch_alter_table("holds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("timezone", sa.String(length=64), nullable=True))
    with op.batch_alter_table("hold_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("basis", sa.String(length=16), nullable=False, server_default="query"))
    _fill_author_keys()


def _fill_author_keys() -> None:
    from hp_archive.index.text import search_text

    bind = op.get_bind()
    items = sa.table(
        "items", sa.column("id", sa.Integer()), sa.column("author_name"), sa.column("author_key")
    )
    rows = bind.execute(sa.select(items.c.id, items.c.author_name).where(items.c.author_name.is_not(None)))
    updates = [{"row_id": row_id, "key": search_text(name) or None} for row_id, name in rows]
    if updates:
        bind.execute(
            items.update().where(items.c.id == sa.bindparam("row_id")).values(author_key=sa.bindparam("key")),
            updates,
        )


def downgrade() -> None:
    with op.batch_alter_table("hold_items", schema=None) as batch_op:
        batch_op.drop_column("basis")
    with op.batch_alter_table("holds", schema=None) as batch_op:
        batch_op.drop_column("timezone")
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_items_author_key"))
        batch_op.drop_column("author_key")
