"""warc_files.layout: how a stored WARC's records are compressed (imported files vary)

gzip-members (one gzip member per record: range-readable, what hp_archive writes), plain, or
gzip-file (one gzip stream: offsets are positions in the decompressed stream).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("warc_files", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("layout", sa.String(length=16), nullable=False, server_default="gzip-members")
        )


def downgrade() -> None:
    with op.batch_alter_table("warc_files", schema=None) as batch_op:
        batch_op.drop_column("layout")
