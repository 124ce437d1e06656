"""Migration 0005 on an index that already holds items: author keys are filled for author: queries."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from hp_archive.index.db import MIGRATIONS, make_engine, session_factory, upgrade
from hp_archive.index.search import matching_uids


def test_existing_items_get_author_keys(database_url: str) -> None:
    engine = make_engine(database_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0003")
    at = datetime(2026, 11, 1, tzinfo=UTC).replace(tzinfo=None)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO accounts (id, platform, handle, first_seen_at) VALUES ('a', 'facebook', 'a', :at)"
            ),
            {"at": at},
        )
        for number, name in enumerate(["Zoë Ångström", "J. Doe", None], start=1):
            conn.execute(
                text(
                    "INSERT INTO items (id, uid, platform, account_id, native_id, kind, author_name, "
                    "author_is_agency, series, first_seen_at, last_seen_at, last_seen_run, is_hidden, "
                    "is_deleted, version_count) VALUES (:id, :uid, 'facebook', 'a', :uid, 'comment', :name, "
                    "false, 'social-media', :at, :at, 'r', false, false, 0)"
                ),
                {"id": number, "uid": f"facebook:{number}", "name": name, "at": at},
            )
    upgrade(engine)
    with session_factory(engine)() as session:
        assert matching_uids(session, 'author:"zoe angstrom"') == ["facebook:1"]
        assert matching_uids(session, 'author:"j doe"') == ["facebook:2"]
        assert matching_uids(session, "NOT author:j*") == ["facebook:1", "facebook:3"]
    engine.dispose()
