"""matters and legal holds (authoritative, not rebuilt by reindex)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "matters",
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_matters")),
    )
    op.create_table(
        "holds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("matter_id", sa.String(length=128), nullable=False),
        sa.Column("query", sa.Text(), nullable=True),
        sa.Column("item_uids", JSON, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("released_at", sa.DateTime(), nullable=True),
        sa.Column("released_by", sa.String(length=255), nullable=True),
        sa.Column("release_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["matter_id"], ["matters.id"], name=op.f("fk_holds_matter_id_matters")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_holds")),
    )
    with op.batch_alter_table("holds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_holds_matter_id"), ["matter_id"], unique=False)
    op.create_table(
        "hold_items",
        sa.Column("hold_id", sa.Integer(), nullable=False),
        sa.Column("item_uid", sa.String(length=600), nullable=False),
        sa.Column("added_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["hold_id"], ["holds.id"], name=op.f("fk_hold_items_hold_id_holds"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("hold_id", "item_uid", name=op.f("pk_hold_items")),
    )
    with op.batch_alter_table("hold_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_hold_items_item_uid"), ["item_uid"], unique=False)


def downgrade() -> None:
    op.drop_table("hold_items")
    op.drop_table("holds")
    op.drop_table("matters")
