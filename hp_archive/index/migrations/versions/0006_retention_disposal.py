"""retention and disposal: classifications, events, certificates, their records, stubs, journal

All authoritative (never rebuilt by reindex).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    # foreign keys a destruction deletes through: without an index each deleted row is a scan
    with op.batch_alter_table("change_events", schema=None) as batch_op:
        batch_op.create_index("ix_change_events_version_id", ["version_id"], unique=False)
        batch_op.create_index("ix_change_events_record_id", ["record_id"], unique=False)
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.create_index("ix_items_media_record_id", ["media_record_id"], unique=False)

    op.create_table(
        "retention_classes",
        sa.Column("uid", sa.String(length=600), nullable=False),
        sa.Column("item_number", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("rule", sa.String(length=128), nullable=True),
        sa.Column("event_key", sa.String(length=255), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("schedule_digest", sa.String(length=64), nullable=False),
        sa.Column("classified_at", sa.DateTime(), nullable=False),
        sa.Column("classified_by", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("uid", name=op.f("pk_retention_classes")),
    )
    with op.batch_alter_table("retention_classes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_retention_classes_item_number"), ["item_number"], unique=False)
        batch_op.create_index(batch_op.f("ix_retention_classes_event_key"), ["event_key"], unique=False)

    op.create_table(
        "retention_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("recorded_by", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retention_events")),
        sa.UniqueConstraint("name", "key", name=op.f("uq_retention_events_name")),
    )

    op.create_table(
        "disposal_certificates",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("series_filter", sa.String(length=64), nullable=True),
        sa.Column("schedule", JSON, nullable=False),
        sa.Column("waiting_days", sa.Integer(), nullable=False),
        sa.Column("summary", JSON, nullable=False),
        sa.Column("proposed_at", sa.DateTime(), nullable=False),
        sa.Column("proposed_by", sa.String(length=255), nullable=False),
        sa.Column("submitted_on", sa.Date(), nullable=True),
        sa.Column("submitted_at", sa.DateTime(), nullable=True),
        sa.Column("submitted_by", sa.String(length=255), nullable=True),
        sa.Column("approval_reference", sa.String(length=255), nullable=True),
        sa.Column("approved_on", sa.Date(), nullable=True),
        sa.Column("approver", sa.String(length=255), nullable=True),
        sa.Column("approval_recorded_at", sa.DateTime(), nullable=True),
        sa.Column("approval_recorded_by", sa.String(length=255), nullable=True),
        sa.Column("executed_at", sa.DateTime(), nullable=True),
        sa.Column("executed_by", sa.String(length=255), nullable=True),
        sa.Column("verified_at", sa.DateTime(), nullable=True),
        sa.Column("verified_by", sa.String(length=255), nullable=True),
        sa.Column("execution", JSON, nullable=False),
        sa.Column("documents", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disposal_certificates")),
    )
    with op.batch_alter_table("disposal_certificates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_disposal_certificates_state"), ["state"], unique=False)

    op.create_table(
        "certificate_records",
        sa.Column("certificate_id", sa.String(length=32), nullable=False),
        sa.Column("uid", sa.String(length=600), nullable=False),
        sa.Column("item_number", sa.String(length=64), nullable=False),
        sa.Column("first_date", sa.DateTime(), nullable=True),
        sa.Column("last_date", sa.DateTime(), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("evidence", JSON, nullable=True),
        sa.ForeignKeyConstraint(
            ["certificate_id"],
            ["disposal_certificates.id"],
            name=op.f("fk_certificate_records_certificate_id_disposal_certificates"),
        ),
        sa.PrimaryKeyConstraint("certificate_id", "uid", name=op.f("pk_certificate_records")),
    )
    with op.batch_alter_table("certificate_records", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_certificate_records_uid"), ["uid"], unique=False)

    op.create_table(
        "destroyed_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=600), nullable=False),
        sa.Column("certificate_id", sa.String(length=32), nullable=False),
        sa.Column("item_number", sa.String(length=64), nullable=False),
        sa.Column("series_title", sa.Text(), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("first_captured_at", sa.DateTime(), nullable=True),
        sa.Column("last_captured_at", sa.DateTime(), nullable=True),
        sa.Column("version_digests", JSON, nullable=False),
        sa.Column("captures", JSON, nullable=False),
        sa.Column("destroyed_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["certificate_id"],
            ["disposal_certificates.id"],
            name=op.f("fk_destroyed_records_certificate_id_disposal_certificates"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_destroyed_records")),
        sa.UniqueConstraint("certificate_id", "uid", name=op.f("uq_destroyed_records_certificate_id")),
    )
    with op.batch_alter_table("destroyed_records", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_destroyed_records_uid"), ["uid"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_destroyed_records_certificate_id"), ["certificate_id"], unique=False
        )

    op.create_table(
        "disposal_objects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("certificate_id", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=1024), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("legal_hold", sa.Boolean(), nullable=False),
        sa.Column("plan", JSON, nullable=False),
        sa.Column("new_key", sa.String(length=1024), nullable=True),
        sa.Column("new_sha256", sa.String(length=64), nullable=True),
        sa.Column("new_size", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["certificate_id"],
            ["disposal_certificates.id"],
            name=op.f("fk_disposal_objects_certificate_id_disposal_certificates"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disposal_objects")),
        sa.UniqueConstraint("certificate_id", "key", name=op.f("uq_disposal_objects_certificate_id")),
    )
    with op.batch_alter_table("disposal_objects", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_disposal_objects_certificate_id"), ["certificate_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("disposal_objects")
    op.drop_table("destroyed_records")
    op.drop_table("certificate_records")
    op.drop_table("disposal_certificates")
    op.drop_table("retention_events")
    op.drop_table("retention_classes")
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_index("ix_items_media_record_id")
    with op.batch_alter_table("change_events", schema=None) as batch_op:
        batch_op.drop_index("ix_change_events_record_id")
        batch_op.drop_index("ix_change_events_version_id")
