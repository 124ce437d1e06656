"""e-discovery productions: numbered, Bates ranges, audit entry (authoritative, not rebuilt by reindex)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "productions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("matter_id", sa.String(length=128), nullable=False),
        sa.Column("query", sa.Text(), nullable=True),
        sa.Column("formats", JSON, nullable=False),
        sa.Column("bates_prefix", sa.String(length=32), nullable=False),
        sa.Column("bates_width", sa.Integer(), nullable=False),
        sa.Column("bates_first", sa.BigInteger(), nullable=False),
        sa.Column("bates_last", sa.BigInteger(), nullable=False),
        sa.Column("documents", sa.Integer(), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("manifest_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("audit_seq", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["matter_id"], ["matters.id"], name=op.f("fk_productions_matter_id_matters")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_productions")),
        sa.UniqueConstraint("number", name=op.f("uq_productions_number")),
        sa.UniqueConstraint("name", name=op.f("uq_productions_name")),
        sa.UniqueConstraint("bates_prefix", "bates_first", name=op.f("uq_productions_bates_prefix")),
    )
    with op.batch_alter_table("productions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_productions_matter_id"), ["matter_id"], unique=False)


def downgrade() -> None:
    op.drop_table("productions")
