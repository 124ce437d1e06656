"""Holds on S3 (moto's server over HTTP): Object Lock legal holds set and cleared on the objects."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hp_archive.archive import Archive
from hp_archive.capture import capture_account
from hp_archive.ediscovery.holds import place_hold, release_holds
from hp_archive.index import models as m
from hp_archive.storage import S3ObjectStore
from tests.support.clock import FakeClock
from tests.support.pipeline import FacebookWorld, facebook_world, make_archive


@pytest.fixture
def world() -> Iterator[FacebookWorld]:
    with facebook_world(posts=6, comments_per_post=4) as w:
        yield w


def captured(tmp_path: Path, clock: FakeClock, world: FacebookWorld, store: S3ObjectStore) -> Archive:
    archive = make_archive(store, f"sqlite:///{tmp_path / 'index.sqlite'}", tmp_path / "spool", clock)
    clock.set(world.scenario.now())
    assert capture_account(archive, world.account, window_end=world.scenario.now()).outcome == "complete"
    return archive


def object_lock_status(s3_client: Any, store: S3ObjectStore, key: str) -> str:
    answer = s3_client.get_object_legal_hold(Bucket=store.bucket, Key=f"{store.prefix}/{key}")
    return str(answer["LegalHold"]["Status"])


def test_held_objects_get_and_lose_the_object_lock_legal_hold(
    tmp_path: Path,
    clock: FakeClock,
    world: FacebookWorld,
    moto_endpoint: str,
    make_bucket: Callable[..., str],
    s3_client: Any,
) -> None:
    store = S3ObjectStore(
        make_bucket(object_lock=True), "archive", endpoint_url=moto_endpoint, lock_mode="GOVERNANCE"
    )
    archive = captured(tmp_path, clock, world, store)
    try:
        outcome = place_hold(archive, "2026-CV-7", reason="preservation letter", query="speeding")
        assert outcome.objects and outcome.store_enforces
        for key in outcome.objects:
            assert object_lock_status(s3_client, store, key) == "ON"
        released = release_holds(archive, "2026-CV-7", reason="withdrawn")
        assert released.objects == outcome.objects
        for key in outcome.objects:
            assert object_lock_status(s3_client, store, key) == "OFF"
    finally:
        archive.close()


def test_a_bucket_without_object_lock_still_records_the_hold(
    tmp_path: Path,
    clock: FakeClock,
    world: FacebookWorld,
    moto_endpoint: str,
    make_bucket: Callable[..., str],
) -> None:
    store = S3ObjectStore(make_bucket(), "archive", endpoint_url=moto_endpoint)
    archive = captured(tmp_path, clock, world, store)
    try:
        outcome = place_hold(archive, "2026-CV-8", reason="preservation letter", query="speeding")
        assert outcome.store_enforces is False
        assert outcome.objects
        with archive.sessions() as session:
            flagged = set(session.scalars(select(m.WarcFile.key).where(m.WarcFile.legal_hold.is_(True))))
        assert flagged == set(outcome.objects)
        assert outcome.as_dict()["store_enforces_legal_hold"] is False
    finally:
        archive.close()
