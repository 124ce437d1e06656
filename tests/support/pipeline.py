"""Building a real archive (store + index + spool) around a platform simulator for tests."""

from __future__ import annotations

import gzip
import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from hp_archive.archive import Archive
from hp_archive.index import models as m
from hp_archive.index.db import make_engine, upgrade
from hp_archive.settings import Account
from hp_archive.sources.context import RetryPolicy
from hp_archive.sources.simulators.base import SimulatorServer
from hp_archive.sources.simulators.facebook import FacebookGraphSimulator
from hp_archive.sources.simulators.scenario import Scenario
from hp_archive.storage import ObjectStore
from tests.support.clock import FakeClock

TOKEN = "EAAGtestTOKEN0123456789abcdefSECRET"
TOKEN_ENV = "HP_TEST_FACEBOOK_TOKEN"


def make_archive(
    store: ObjectStore, database_url: str, spool: Path, clock: FakeClock, **kwargs: Any
) -> Archive:
    engine = make_engine(database_url)
    upgrade(engine)
    return Archive(
        store=store,
        engine=engine,
        spool_dir=spool,
        clock=clock,
        sleep=clock.sleep,
        environ={TOKEN_ENV: TOKEN},
        host="testhost",
        retry=RetryPolicy(max_attempts=4, base_delay=1.0, budget=600.0),
        **kwargs,
    )


@dataclass
class FacebookWorld:
    scenario: Scenario
    server: SimulatorServer
    account: Account


@contextmanager
def facebook_world(
    *, posts: int = 8, comments_per_post: int = 4, account_id: str = "hppd-facebook"
) -> Iterator[FacebookWorld]:
    scenario = Scenario.department(posts=posts, comments_per_post=comments_per_post, days=20)
    with SimulatorServer(FacebookGraphSimulator(scenario, valid_tokens={TOKEN})) as server:
        account = Account(
            id=account_id,
            platform="facebook",
            handle=scenario.account.id,
            base_url=f"{server.url}/v25.0",
            token_env=TOKEN_ENV,
            series="social-media",
        )
        yield FacebookWorld(scenario, server, account)


def snapshot(archive: Archive) -> dict[str, Any]:
    """Items, versions and events as plain values (no surrogate keys) for comparisons."""
    with archive.sessions() as session:
        items = {
            i.uid: (
                i.kind,
                i.parent_uid,
                i.root_uid,
                i.author_name,
                i.author_is_agency,
                i.is_hidden,
                i.is_deleted,
                i.version_count,
                i.first_seen_at,
                i.last_seen_at,
                i.deleted_observed_at,
                i.scope,
                i.created_at,
            )
            for i in session.scalars(select(m.Item))
        }
        versions = sorted(
            (uid, v.version_no, v.content_digest, v.text, v.search_text, v.observed_at, rec)
            for v, uid, rec in session.execute(
                select(m.ItemVersion, m.Item.uid, m.WarcRecord.record_id)
                .join(m.Item, m.Item.id == m.ItemVersion.item_id)
                .join(m.WarcRecord, m.WarcRecord.id == m.ItemVersion.record_id)
            )
        )
        events = sorted(
            (uid, e.kind, e.observed_at, e.occurred_at, e.run_id)
            for e, uid in session.execute(
                select(m.ChangeEvent, m.Item.uid).join(m.Item, m.Item.id == m.ChangeEvent.item_id)
            )
        )
        media = sorted(
            (uid, rid)
            for uid, rid in session.execute(
                select(m.Item.uid, m.WarcRecord.record_id).join(
                    m.WarcRecord, m.WarcRecord.id == m.Item.media_record_id
                )
            )
        )
    return {"items": items, "versions": versions, "events": events, "media": media}


def counts(archive: Archive) -> dict[str, int]:
    with archive.sessions() as session:
        return {
            table.__tablename__: session.scalar(select(func.count()).select_from(table)) or 0
            for table in (
                m.Item,
                m.ItemVersion,
                m.ChangeEvent,
                m.WarcFile,
                m.WarcRecord,
                m.CaptureRun,
            )
        }


def stored_warc_bytes(store: ObjectStore) -> Iterator[tuple[str, bytes]]:
    for info in store.list("warcs/"):
        yield info.key, store.get_bytes(info.key)


def decompressed(data: bytes) -> bytes:
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=io.BytesIO(data)) as fh:
        out.write(fh.read())
    return out.getvalue()
