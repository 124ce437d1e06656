"""The SQL index: SQLAlchemy 2.0 typed models.

Derived tables (rebuilt by ``hp-archive reindex`` from the stored WARCs alone): accounts,
capture_runs, warc_files, warc_records, items, item_versions, change_events. Full text lives in
``item_versions.search_text`` and is indexed by FTS5 on SQLite and by a generated tsvector + GIN
on PostgreSQL (created in the migrations, not here, because it is dialect-specific).

Times are stored as naive UTC and handed back as aware UTC by :class:`UTCDateTime`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out; stored naive UTC on every backend."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the index: pass an aware UTC datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


JSONType = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSONType}


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    platform: Mapped[str] = mapped_column(String(32))
    handle: Mapped[str] = mapped_column(String(512))
    first_seen_at: Mapped[datetime]


class CaptureRun(Base):
    """One capture of one account for one window; ``files`` is the write-ahead list."""

    __tablename__ = "capture_runs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    platform: Mapped[str] = mapped_column(String(32))
    window_start: Mapped[datetime | None]
    window_end: Mapped[datetime]
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    # capturing -> spooled -> stored -> indexed; or failed
    status: Mapped[str] = mapped_column(String(16), index=True)
    # complete | partial | failed (None while capturing)
    outcome: Mapped[str | None] = mapped_column(String(16))
    files: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    report: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    source_state: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    error: Mapped[str | None] = mapped_column(Text)


class WarcFile(Base):
    """A stored WARC object. Rows exist only once the object is stored and verified."""

    __tablename__ = "warc_files"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(1024), unique=True)
    filename: Mapped[str] = mapped_column(String(255))
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    series: Mapped[str] = mapped_column(String(64), index=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("capture_runs.id"), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    record_count: Mapped[int] = mapped_column(Integer)
    first_date: Mapped[datetime]
    last_date: Mapped[datetime]
    retain_until: Mapped[datetime | None]
    legal_hold: Mapped[bool] = mapped_column(Boolean, default=False)
    indexed_at: Mapped[datetime]
    # gzip-members | plain | gzip-file (records of a gzip-file are read by inflating from the start)
    layout: Mapped[str] = mapped_column(String(16), default="gzip-members", server_default="gzip-members")


class WarcRecord(Base):
    """One record of a stored WARC file: where it is and what its digests are."""

    __tablename__ = "warc_records"
    __table_args__ = (Index("ix_warc_records_file_offset", "file_id", "offset"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("warc_files.id", ondelete="CASCADE"))
    offset: Mapped[int] = mapped_column(BigInteger)
    length: Mapped[int] = mapped_column(BigInteger)
    record_id: Mapped[str] = mapped_column(String(64), unique=True)
    rec_type: Mapped[str] = mapped_column(String(16))
    target_uri: Mapped[str | None] = mapped_column(Text)
    date: Mapped[datetime]
    content_type: Mapped[str | None] = mapped_column(String(255))
    http_status: Mapped[int | None]
    block_digest: Mapped[str | None] = mapped_column(String(80))
    payload_digest: Mapped[str | None] = mapped_column(String(80), index=True)
    payload_length: Mapped[int | None] = mapped_column(BigInteger)
    refers_to: Mapped[str | None] = mapped_column(String(64))
    parse_error: Mapped[str | None] = mapped_column(Text)


class Item(Base):
    """A post, comment, reply, media item or page; its state is the latest observation."""

    __tablename__ = "items"
    __table_args__ = (UniqueConstraint("uid"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(600))
    platform: Mapped[str] = mapped_column(String(32))
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    native_id: Mapped[str] = mapped_column(String(512))
    kind: Mapped[str] = mapped_column(String(16), index=True)
    parent_uid: Mapped[str | None] = mapped_column(String(600), index=True)
    root_uid: Mapped[str | None] = mapped_column(String(600), index=True)
    author_id: Mapped[str | None] = mapped_column(String(255))
    author_name: Mapped[str | None] = mapped_column(String(512))
    # the author name normalized like search_text, for author: queries (filled by an index hook)
    author_key: Mapped[str | None] = mapped_column(String(512), index=True)
    author_is_agency: Mapped[bool] = mapped_column(Boolean, default=False)
    url: Mapped[str | None] = mapped_column(Text)
    series: Mapped[str] = mapped_column(String(64), index=True)
    scope: Mapped[str | None] = mapped_column(String(600), index=True)
    created_at: Mapped[datetime | None] = mapped_column(index=True)
    first_seen_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    last_seen_run: Mapped[str] = mapped_column(String(64))
    is_hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    is_deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    deleted_observed_at: Mapped[datetime | None]
    version_count: Mapped[int] = mapped_column(Integer, default=0)
    current_version_id: Mapped[int | None] = mapped_column(Integer)
    media_record_id: Mapped[int | None] = mapped_column(ForeignKey("warc_records.id"))


class ItemVersion(Base):
    """A distinct content of an item, with the WARC record that evidences it."""

    __tablename__ = "item_versions"
    __table_args__ = (UniqueConstraint("item_id", "version_no"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    version_no: Mapped[int] = mapped_column(Integer)
    content_digest: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    search_text: Mapped[str] = mapped_column(Text)
    normalized: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[datetime | None]
    edited_at: Mapped[datetime | None]
    observed_at: Mapped[datetime]
    record_id: Mapped[int] = mapped_column(ForeignKey("warc_records.id"), index=True)


class ChangeEvent(Base):
    """created / edited / hidden / unhidden / deleted-observed / restored."""

    __tablename__ = "change_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(24), index=True)
    observed_at: Mapped[datetime] = mapped_column(index=True)
    occurred_at: Mapped[datetime | None]
    run_id: Mapped[str] = mapped_column(String(64))
    record_id: Mapped[int | None] = mapped_column(ForeignKey("warc_records.id"))
    version_id: Mapped[int | None] = mapped_column(ForeignKey("item_versions.id"))
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


EVENT_KINDS = ("created", "edited", "hidden", "unhidden", "deleted-observed", "restored")


class AuditEntry(Base):
    """One audit log entry (authoritative: never rebuilt by reindex; see hp_archive.audit)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(64), index=True)
    target: Mapped[str] = mapped_column(Text)
    params: Mapped[dict[str, Any]] = mapped_column(JSONType)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    mirrored: Mapped[bool] = mapped_column(Boolean, default=False, index=True)


class Matter(Base):
    """A legal matter holds and productions belong to (authoritative)."""

    __tablename__ = "matters"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    title: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(255))


class Hold(Base):
    """A legal hold: a query (re-applied to later captures) and/or explicit items (authoritative)."""

    __tablename__ = "holds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    matter_id: Mapped[str] = mapped_column(ForeignKey("matters.id"), index=True)
    query: Mapped[str | None] = mapped_column(Text)
    item_uids: Mapped[list[str]] = mapped_column(JSONType, default=list)
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(255))
    released_at: Mapped[datetime | None]
    released_by: Mapped[str | None] = mapped_column(String(255))
    release_reason: Mapped[str | None] = mapped_column(Text)
    # the time zone the query's dates were read in when the hold was placed (migration 0005)
    timezone: Mapped[str | None] = mapped_column(String(64))


class HoldItem(Base):
    """An item a hold covers, by its stable uid (survives reindex)."""

    __tablename__ = "hold_items"

    hold_id: Mapped[int] = mapped_column(ForeignKey("holds.id", ondelete="CASCADE"), primary_key=True)
    item_uid: Mapped[str] = mapped_column(String(600), primary_key=True, index=True)
    added_at: Mapped[datetime]
    # why the hold covers it: item (named), query (matched), thread (an ancestor of one), media
    basis: Mapped[str] = mapped_column(String(16), default="query")


class Production(Base):
    """A numbered e-discovery production of a matter (authoritative: never rebuilt by reindex).

    Bates numbers continue across the productions that share a prefix; ``audit_seq`` is the audit
    entry the production's signed chain-of-custody record names.
    """

    __tablename__ = "productions"
    __table_args__ = (UniqueConstraint("bates_prefix", "bates_first"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[int] = mapped_column(Integer, unique=True)
    name: Mapped[str] = mapped_column(String(32), unique=True)
    matter_id: Mapped[str] = mapped_column(ForeignKey("matters.id"), index=True)
    query: Mapped[str | None] = mapped_column(Text)
    formats: Mapped[list[str]] = mapped_column(JSONType, default=list)
    bates_prefix: Mapped[str] = mapped_column(String(32))
    bates_width: Mapped[int] = mapped_column(Integer)
    bates_first: Mapped[int] = mapped_column(BigInteger)
    bates_last: Mapped[int] = mapped_column(BigInteger)
    documents: Mapped[int] = mapped_column(Integer)
    pages: Mapped[int] = mapped_column(Integer)
    manifest_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(255))
    audit_seq: Mapped[int] = mapped_column(BigInteger)


# -- retention and disposal (authoritative: never rebuilt by reindex; see hp_archive.retention) ----


class RetentionClass(Base):
    """The schedule item a record (an item, by its stable uid) is classified under.

    ``source`` is ``rule`` (re-applied at every index time) or ``manual`` (the records officer's
    reclassification, which rules never override).
    """

    __tablename__ = "retention_classes"

    uid: Mapped[str] = mapped_column(String(600), primary_key=True)
    item_number: Mapped[str] = mapped_column(String(64), index=True)
    source: Mapped[str] = mapped_column(String(16))
    rule: Mapped[str | None] = mapped_column(String(128))
    event_key: Mapped[str | None] = mapped_column(String(255), index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    schedule_digest: Mapped[str] = mapped_column(String(64))
    classified_at: Mapped[datetime]
    classified_by: Mapped[str] = mapped_column(String(255))


class RetentionEvent(Base):
    """An event that starts event-based retention (e.g. ``case-closed`` for key ``2026-0142``)."""

    __tablename__ = "retention_events"
    __table_args__ = (UniqueConstraint("name", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(255))
    occurred_on: Mapped[date]
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_at: Mapped[datetime]
    recorded_by: Mapped[str] = mapped_column(String(255))


class DisposalCertificate(Base):
    """A Local Records Disposal Certificate and what became of it (proposed ... verified)."""

    __tablename__ = "disposal_certificates"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    state: Mapped[str] = mapped_column(String(16), index=True)
    as_of: Mapped[date]
    series_filter: Mapped[str | None] = mapped_column(String(64))
    schedule: Mapped[dict[str, Any]] = mapped_column(JSONType)
    waiting_days: Mapped[int] = mapped_column(Integer)
    summary: Mapped[dict[str, Any]] = mapped_column(JSONType)
    proposed_at: Mapped[datetime]
    proposed_by: Mapped[str] = mapped_column(String(255))
    submitted_on: Mapped[date | None]
    submitted_at: Mapped[datetime | None]
    submitted_by: Mapped[str | None] = mapped_column(String(255))
    approval_reference: Mapped[str | None] = mapped_column(String(255))
    approved_on: Mapped[date | None]
    approver: Mapped[str | None] = mapped_column(String(255))
    approval_recorded_at: Mapped[datetime | None]
    approval_recorded_by: Mapped[str | None] = mapped_column(String(255))
    executed_at: Mapped[datetime | None]
    executed_by: Mapped[str | None] = mapped_column(String(255))
    verified_at: Mapped[datetime | None]
    verified_by: Mapped[str | None] = mapped_column(String(255))
    execution: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    documents: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class CertificateRecord(Base):
    """One record listed on a certificate, and its fate (listed/removed/destroyed/retained/skipped)."""

    __tablename__ = "certificate_records"

    certificate_id: Mapped[str] = mapped_column(ForeignKey("disposal_certificates.id"), primary_key=True)
    uid: Mapped[str] = mapped_column(String(600), primary_key=True, index=True)
    item_number: Mapped[str] = mapped_column(String(64))
    first_date: Mapped[datetime | None]
    last_date: Mapped[datetime | None]
    due_on: Mapped[date]
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    # while executing: the WARC record ids evidencing it and when it was last observed
    evidence: Mapped[dict[str, Any] | None] = mapped_column(JSONType)


class DestroyedRecord(Base):
    """The stub a destroyed record leaves: what existed, under which authority, without its content."""

    __tablename__ = "destroyed_records"
    __table_args__ = (UniqueConstraint("certificate_id", "uid"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(600), index=True)
    certificate_id: Mapped[str] = mapped_column(ForeignKey("disposal_certificates.id"), index=True)
    item_number: Mapped[str] = mapped_column(String(64))
    series_title: Mapped[str] = mapped_column(Text)
    platform: Mapped[str] = mapped_column(String(32))
    account_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime | None]
    first_captured_at: Mapped[datetime | None]
    last_captured_at: Mapped[datetime | None]
    version_digests: Mapped[list[str]] = mapped_column(JSONType)
    captures: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    destroyed_at: Mapped[datetime]


class DisposalObject(Base):
    """A stored object a certificate's execution deletes or rewrites (the execution journal)."""

    __tablename__ = "disposal_objects"
    __table_args__ = (UniqueConstraint("certificate_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    certificate_id: Mapped[str] = mapped_column(ForeignKey("disposal_certificates.id"), index=True)
    key: Mapped[str] = mapped_column(String(1024))
    action: Mapped[str] = mapped_column(String(16))  # delete | rewrite
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    legal_hold: Mapped[bool] = mapped_column(Boolean, default=False)
    plan: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    new_key: Mapped[str | None] = mapped_column(String(1024))
    new_sha256: Mapped[str | None] = mapped_column(String(64))
    new_size: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))  # planned | written | switched | deleted


# Destruction deletes item versions and WARC records: without these, every deleted row makes the
# database scan the referencing tables for it (the foreign keys), and a large disposal turns
# quadratic. (Migration 0006 creates them.)
Index("ix_change_events_version_id", ChangeEvent.version_id)
Index("ix_change_events_record_id", ChangeEvent.record_id)
Index("ix_items_media_record_id", Item.media_record_id)
# Search orders by the item's time and date filters bound it (hp_archive.query.sql.item_time;
# migration 0008 creates it).
Index("ix_items_item_time", func.coalesce(Item.created_at, Item.first_seen_at).desc(), Item.uid)
