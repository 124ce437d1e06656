"""Bulk rows through the session's own connection: ids reserved ahead, ``executemany`` inserts.

The ingest writes tens of thousands of rows per second, so it bypasses the ORM's unit of work
(which costs more per row than SQLite takes to store it) but stays inside the caller's session and
transaction. Ids are reserved before rows are written, so an item's versions and events can be
written without reading anything back: on PostgreSQL from the table's own sequence (safe with
concurrent writers), on SQLite from ``max(id)`` — the ingest holds SQLite's single write lock from
its first write until commit, so nobody else can take the same ids.

Values are converted here the way SQLAlchemy's column types would: aware datetimes to naive UTC
(SQLite: SQLAlchemy's text format, so comparisons with ORM-written rows stay exact), JSON as text
(``::jsonb`` on PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

_ZERO = timedelta(0)


def stamp(value: datetime | None) -> str | None:
    """An aware datetime as the index's canonical text: naive UTC ``YYYY-MM-DD HH:MM:SS.ffffff``.

    SQLAlchemy stores datetimes on SQLite in exactly this form, and PostgreSQL reads it as a
    ``timestamp``; fixed width, so stamps compare like the times they stand for.
    """
    if value is None:
        return None
    naive = (value if value.utcoffset() == _ZERO else value.astimezone(UTC)).replace(tzinfo=None)
    return naive.isoformat(" ", "microseconds")


def stamp_from_db(value: Any) -> str | None:
    """A datetime column read with plain SQL (SQLite: text, PostgreSQL: naive) as a stamp."""
    if value is None or isinstance(value, str):
        return value
    return value.isoformat(" ", "microseconds")  # type: ignore[no-any-return]


def from_stamp(value: str | None) -> datetime | None:
    """A stamp back to an aware UTC datetime."""
    return None if value is None else datetime.fromisoformat(value).replace(tzinfo=UTC)


class BulkWriter:
    """Inserts and updates of plain tuples for one transaction (one file's ingest)."""

    def __init__(self, session: Session) -> None:
        self.conn: Connection = session.connection()
        self.sqlite = self.conn.dialect.name == "sqlite"
        self.mark = "?" if self.sqlite else "%s"
        self._next: dict[str, int] = {}
        self._sequences: dict[str, str] = {}

    # -- values ------------------------------------------------------------------------------------

    def dt(self, value: datetime | None) -> Any:
        """An aware datetime as the index stores it (naive UTC)."""
        if value is None:
            return None
        naive = (value if value.utcoffset() == _ZERO else value.astimezone(UTC)).replace(tzinfo=None)
        if self.sqlite:
            return naive.isoformat(" ", "microseconds")  # SQLAlchemy's SQLite format
        return naive

    def json_mark(self) -> str:
        return "?" if self.sqlite else "%s::jsonb"

    # -- ids ---------------------------------------------------------------------------------------

    def reserve(self, table: str, count: int) -> list[int]:
        """``count`` new primary keys for ``table``."""
        if count <= 0:
            return []
        if self.sqlite:
            start = self._next.get(table)
            if start is None:
                start = (
                    self.conn.exec_driver_sql(f"SELECT coalesce(max(id), 0) FROM {table}").scalar() or 0
                ) + 1
            self._next[table] = start + count
            return list(range(start, start + count))
        sequence = self._sequences.get(table)
        if sequence is None:
            sequence = self.conn.execute(
                text("SELECT pg_get_serial_sequence(:table, 'id')"), {"table": table}
            ).scalar_one()
            self._sequences[table] = sequence
        rows = self.conn.execute(
            text("SELECT nextval(CAST(:seq AS regclass)) FROM generate_series(1, :n)"),
            {"seq": sequence, "n": count},
        )
        return [int(value) for (value,) in rows]

    # -- rows --------------------------------------------------------------------------------------

    def insert(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], *, json: Sequence[str] = ()
    ) -> None:
        if not rows:
            return
        marks = ", ".join(self.json_mark() if c in json else self.mark for c in columns)
        self.conn.exec_driver_sql(
            f"INSERT INTO {table} ({_quoted(columns)}) VALUES ({marks})",
            list(map(tuple, rows)),
        )

    def update(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """``UPDATE table SET columns… WHERE id = ?``; each row is the values then the id."""
        if not rows:
            return
        sets = ", ".join(f'"{c}" = {self.mark}' for c in columns)
        self.conn.exec_driver_sql(f"UPDATE {table} SET {sets} WHERE id = {self.mark}", list(map(tuple, rows)))

    def select(self, sql: str, params: Sequence[Any]) -> list[Any]:
        """Rows of a query written with ``?`` placeholders (rewritten for PostgreSQL)."""
        if not self.sqlite:
            sql = sql.replace("?", "%s")
        return list(self.conn.exec_driver_sql(sql, tuple(params)))

    def placeholders(self, count: int) -> str:
        return ", ".join("?" for _ in range(count))


class FullTextBatch:
    """SQLite: full text for one transaction's new versions in one statement, not a trigger per row.

    The ``item_versions`` insert trigger feeds FTS5 one row at a time, which costs more than
    storing the row. Inside the caller's transaction the trigger is dropped, and :meth:`finish`
    indexes every version added since (``id`` above the largest before) with one
    ``INSERT … SELECT`` — the same rowids and text the trigger would have given — then re-creates
    the trigger from the schema's own SQL. The drop is part of the transaction: a rollback or crash
    restores the trigger with everything else. PostgreSQL needs none of this (a generated column).
    """

    TRIGGER = "item_versions_fts_insert"

    def __init__(self, bulk: BulkWriter) -> None:
        self.bulk = bulk
        self.trigger_sql: str | None = None
        self.after_id = 0
        if not bulk.sqlite:
            return
        conn = bulk.conn
        found = conn.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?", (self.TRIGGER,)
        ).scalar()
        if found is None:
            return
        self.trigger_sql = str(found)
        self.after_id = conn.exec_driver_sql("SELECT coalesce(max(id), 0) FROM item_versions").scalar() or 0
        conn.exec_driver_sql(f"DROP TRIGGER {self.TRIGGER}")

    def finish(self) -> None:
        """Index the new versions and put the trigger back (idempotent)."""
        if self.trigger_sql is None:
            return
        conn = self.bulk.conn
        conn.exec_driver_sql(
            "INSERT INTO version_fts(rowid, search_text) SELECT id, search_text FROM item_versions "
            "WHERE id > ? ORDER BY id",
            (self.after_id,),
        )
        conn.exec_driver_sql(self.trigger_sql)
        self.trigger_sql = None


def _quoted(columns: Sequence[str]) -> str:
    return ", ".join(f'"{c}"' for c in columns)
