"""items: an index on the item's time (created on the platform, else first captured), newest first

Search orders unranked results by that time (newest first, then uid) and date filters bound it, so
one expression index serves both: a date range reads only its own slice, and the first page of a
broad filter is a walk down the index instead of a sort of every match.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # the expression must be spelled exactly as hp_archive.query.sql.item_time() compiles it
    op.execute("CREATE INDEX ix_items_item_time ON items (coalesce(created_at, first_seen_at) DESC, uid)")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_items_item_time")
