"""initial schema: runs, WARC files and records, items, versions, change events, full text

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "accounts",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("handle", sa.String(length=512), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
    )
    op.create_table(
        "capture_runs",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("window_start", sa.DateTime(), nullable=True),
        sa.Column("window_end", sa.DateTime(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column(
            "files",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "report",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "source_state",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_capture_runs_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_capture_runs")),
    )
    with op.batch_alter_table("capture_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_capture_runs_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_capture_runs_status"), ["status"], unique=False)

    op.create_table(
        "warc_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=1024), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("series", sa.String(length=64), nullable=False),
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("record_count", sa.Integer(), nullable=False),
        sa.Column("first_date", sa.DateTime(), nullable=False),
        sa.Column("last_date", sa.DateTime(), nullable=False),
        sa.Column("retain_until", sa.DateTime(), nullable=True),
        sa.Column("legal_hold", sa.Boolean(), nullable=False),
        sa.Column("indexed_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_warc_files_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["capture_runs.id"], name=op.f("fk_warc_files_run_id_capture_runs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_warc_files")),
        sa.UniqueConstraint("key", name=op.f("uq_warc_files_key")),
    )
    with op.batch_alter_table("warc_files", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_warc_files_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_warc_files_run_id"), ["run_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_warc_files_series"), ["series"], unique=False)

    op.create_table(
        "warc_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        sa.Column("length", sa.BigInteger(), nullable=False),
        sa.Column("record_id", sa.String(length=64), nullable=False),
        sa.Column("rec_type", sa.String(length=16), nullable=False),
        sa.Column("target_uri", sa.Text(), nullable=True),
        sa.Column("date", sa.DateTime(), nullable=False),
        sa.Column("content_type", sa.String(length=255), nullable=True),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("block_digest", sa.String(length=80), nullable=True),
        sa.Column("payload_digest", sa.String(length=80), nullable=True),
        sa.Column("payload_length", sa.BigInteger(), nullable=True),
        sa.Column("refers_to", sa.String(length=64), nullable=True),
        sa.Column("parse_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["file_id"],
            ["warc_files.id"],
            name=op.f("fk_warc_records_file_id_warc_files"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_warc_records")),
        sa.UniqueConstraint("record_id", name=op.f("uq_warc_records_record_id")),
    )
    with op.batch_alter_table("warc_records", schema=None) as batch_op:
        batch_op.create_index("ix_warc_records_file_offset", ["file_id", "offset"], unique=False)
        batch_op.create_index(batch_op.f("ix_warc_records_payload_digest"), ["payload_digest"], unique=False)

    op.create_table(
        "items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=600), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("native_id", sa.String(length=512), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("parent_uid", sa.String(length=600), nullable=True),
        sa.Column("root_uid", sa.String(length=600), nullable=True),
        sa.Column("author_id", sa.String(length=255), nullable=True),
        sa.Column("author_name", sa.String(length=512), nullable=True),
        sa.Column("author_is_agency", sa.Boolean(), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("series", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=600), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("first_seen_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_run", sa.String(length=64), nullable=False),
        sa.Column("is_hidden", sa.Boolean(), nullable=False),
        sa.Column("is_deleted", sa.Boolean(), nullable=False),
        sa.Column("deleted_observed_at", sa.DateTime(), nullable=True),
        sa.Column("version_count", sa.Integer(), nullable=False),
        sa.Column("current_version_id", sa.Integer(), nullable=True),
        sa.Column("media_record_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_items_account_id_accounts")),
        sa.ForeignKeyConstraint(
            ["media_record_id"],
            ["warc_records.id"],
            name=op.f("fk_items_media_record_id_warc_records"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_items")),
        sa.UniqueConstraint("uid", name=op.f("uq_items_uid")),
    )
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_items_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_items_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_items_kind"), ["kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_items_parent_uid"), ["parent_uid"], unique=False)
        batch_op.create_index(batch_op.f("ix_items_root_uid"), ["root_uid"], unique=False)
        batch_op.create_index(batch_op.f("ix_items_scope"), ["scope"], unique=False)
        batch_op.create_index(batch_op.f("ix_items_series"), ["series"], unique=False)

    op.create_table(
        "item_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("version_no", sa.Integer(), nullable=False),
        sa.Column("content_digest", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column(
            "normalized",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("edited_at", sa.DateTime(), nullable=True),
        sa.Column("observed_at", sa.DateTime(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["items.id"],
            name=op.f("fk_item_versions_item_id_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["record_id"], ["warc_records.id"], name=op.f("fk_item_versions_record_id_warc_records")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_item_versions")),
        sa.UniqueConstraint("item_id", "version_no", name=op.f("uq_item_versions_item_id")),
    )
    with op.batch_alter_table("item_versions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_item_versions_item_id"), ["item_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_item_versions_record_id"), ["record_id"], unique=False)

    op.create_table(
        "change_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("observed_at", sa.DateTime(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(), nullable=True),
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=True),
        sa.Column("version_id", sa.Integer(), nullable=True),
        sa.Column(
            "details",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["items.id"],
            name=op.f("fk_change_events_item_id_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["record_id"], ["warc_records.id"], name=op.f("fk_change_events_record_id_warc_records")
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["item_versions.id"],
            name=op.f("fk_change_events_version_id_item_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_events")),
    )
    with op.batch_alter_table("change_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_change_events_item_id"), ["item_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_change_events_kind"), ["kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_change_events_observed_at"), ["observed_at"], unique=False)

    _create_full_text()


def _create_full_text() -> None:
    """FTS5 on SQLite, a generated tsvector with GIN on PostgreSQL, over search_text.

    search_text is already normalized (case-folded, accents removed, tokens joined by single
    spaces) so both engines see the same tokens and return the same items.
    """
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE version_fts USING fts5("
            "search_text, content='item_versions', content_rowid='id', "
            "tokenize='unicode61 remove_diacritics 0')"
        )
        op.execute(
            "CREATE TRIGGER item_versions_fts_insert AFTER INSERT ON item_versions BEGIN "
            "INSERT INTO version_fts(rowid, search_text) VALUES (new.id, new.search_text); END"
        )
        op.execute(
            "CREATE TRIGGER item_versions_fts_delete AFTER DELETE ON item_versions BEGIN "
            "INSERT INTO version_fts(version_fts, rowid, search_text) "
            "VALUES ('delete', old.id, old.search_text); END"
        )
        op.execute(
            "CREATE TRIGGER item_versions_fts_update AFTER UPDATE OF search_text ON item_versions "
            "BEGIN INSERT INTO version_fts(version_fts, rowid, search_text) "
            "VALUES ('delete', old.id, old.search_text); "
            "INSERT INTO version_fts(rowid, search_text) VALUES (new.id, new.search_text); END"
        )
    elif bind.dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE item_versions ADD COLUMN search_tsv tsvector "
            "GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, search_text)) STORED"
        )
        op.execute("CREATE INDEX ix_item_versions_search_tsv ON item_versions USING gin (search_tsv)")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS item_versions_fts_{trigger}")
        op.execute("DROP TABLE IF EXISTS version_fts")
    elif bind.dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_item_versions_search_tsv")
    with op.batch_alter_table("change_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_change_events_observed_at"))
        batch_op.drop_index(batch_op.f("ix_change_events_kind"))
        batch_op.drop_index(batch_op.f("ix_change_events_item_id"))

    op.drop_table("change_events")
    with op.batch_alter_table("item_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_item_versions_record_id"))
        batch_op.drop_index(batch_op.f("ix_item_versions_item_id"))

    op.drop_table("item_versions")
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_items_series"))
        batch_op.drop_index(batch_op.f("ix_items_scope"))
        batch_op.drop_index(batch_op.f("ix_items_root_uid"))
        batch_op.drop_index(batch_op.f("ix_items_parent_uid"))
        batch_op.drop_index(batch_op.f("ix_items_kind"))
        batch_op.drop_index(batch_op.f("ix_items_created_at"))
        batch_op.drop_index(batch_op.f("ix_items_account_id"))

    op.drop_table("items")
    with op.batch_alter_table("warc_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_warc_records_payload_digest"))
        batch_op.drop_index("ix_warc_records_file_offset")

    op.drop_table("warc_records")
    with op.batch_alter_table("warc_files", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_warc_files_series"))
        batch_op.drop_index(batch_op.f("ix_warc_files_run_id"))
        batch_op.drop_index(batch_op.f("ix_warc_files_account_id"))

    op.drop_table("warc_files")
    with op.batch_alter_table("capture_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_capture_runs_status"))
        batch_op.drop_index(batch_op.f("ix_capture_runs_account_id"))

    op.drop_table("capture_runs")
    op.drop_table("accounts")
