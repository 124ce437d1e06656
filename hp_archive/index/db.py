"""Engines, sessions and migrations for the index (SQLite by default, PostgreSQL at scale)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from hp_archive.errors import ConfigError, IndexError_

MIGRATIONS = Path(__file__).parent / "migrations"


def make_engine(url: str) -> Engine:
    """An engine for ``sqlite:///…`` or ``postgresql+psycopg://…``; ConfigError if unusable."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(
            "HP_ARCHIVE_DATABASE_URL is not a database URL: use sqlite:///path or "
            "postgresql+psycopg://user@host/db"
        ) from None
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise ConfigError(f"database backend {backend!r} is not supported: use SQLite or PostgreSQL")
    kwargs: dict[str, Any] = {}
    if backend == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": 60}
    else:
        kwargs["pool_pre_ping"] = True
        # psycopg prepares a statement on the server after five runs, and PostgreSQL then may plan
        # it once for any parameters: an `uid IN (500 values)` lookup planned generically while
        # the tables were small stays a sequential scan as they grow (a reindex slowed to a crawl).
        # Plan each statement for its own values.
        kwargs["connect_args"] = {"prepare_threshold": None}
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
    try:
        engine = create_engine(parsed, **kwargs)
    except (NoSuchModuleError, ModuleNotFoundError):
        raise ConfigError(
            "PostgreSQL driver missing: pip install 'hp-archive[postgres]' (psycopg 3)"
        ) from None
    if backend == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=60000")
    # full-text queries over a large index walk many pages: 16 MiB of page cache per connection
    # (the default 2 MiB re-reads the same FTS pages from the OS on every query). Not more: a
    # capture's transaction keeps its dirty pages in this cache until it commits, and a capture of
    # a post with 100,000 comments must stay under 300 MB (64 MiB measured 305 MB).
    cursor.execute("PRAGMA cache_size=-16384")
    cursor.close()


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration (idempotent)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "heads")
    except OperationalError as exc:
        raise IndexError_(f"cannot reach or migrate the index at {safe_url(engine)}: {exc.orig}") from exc


def safe_url(engine: Engine) -> str:
    """The engine URL with any password hidden."""
    return engine.url.render_as_string(hide_password=True)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextlib.contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose work commits at the end of the block or rolls back entirely."""
    session = factory()
    try:
        yield session
        session.commit()
    except SQLAlchemyError as exc:
        session.rollback()
        raise IndexError_(
            f"index transaction failed and was rolled back: {type(exc).__name__}: {exc}"
        ) from exc
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def is_sqlite(session_or_engine: Session | Engine) -> bool:
    bind = session_or_engine.get_bind() if isinstance(session_or_engine, Session) else session_or_engine
    return bind.dialect.name == "sqlite"


def check_connection(engine: Engine) -> None:
    """Raise IndexError_ with a one-line reason when the database cannot be reached."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        raise IndexError_(
            f"cannot connect to the index at {safe_url(engine)}: check HP_ARCHIVE_DATABASE_URL "
            f"and that the server is running ({type(exc).__name__})"
        ) from exc
