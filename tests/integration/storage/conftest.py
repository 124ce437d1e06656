"""Fixtures for the object-store suite: a local directory, and moto's S3 server over HTTP.

One moto server serves the whole session; every test gets fresh buckets, so tests never see each
other's objects. The S3 credentials are dummies set in the environment, the way boto3's normal
chain would find real ones; the secret is distinctive so tests can assert it never leaks.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from hp_archive.storage import LocalObjectStore, ObjectStore, S3ObjectStore
from tests.support.s3 import ACCESS_KEY, REGION, SECRET_KEY  # noqa: F401 - used by the suite

MiB = 1024 * 1024


@dataclass
class StoreKind:
    """How to build one adapter for a test, and how its retention clock moves."""

    name: str
    make: Callable[..., ObjectStore]
    #: local retention follows ``as_of``; S3 Object Lock follows the server's real clock
    server_clock: bool

    def wait_until(self, moment: datetime) -> None:
        """Let the server's clock pass ``moment`` (only S3 enforces retention by its clock)."""
        if self.server_clock:
            remaining = (moment - datetime.now(UTC)).total_seconds()
            if remaining > 0:
                time.sleep(remaining + 0.2)


@pytest.fixture
def local_kind(tmp_path: Path) -> StoreKind:
    def make(*, object_lock: bool = True, **_: Any) -> ObjectStore:
        return LocalObjectStore(tmp_path / f"store-{uuid.uuid4().hex[:8]}")

    return StoreKind("local", make, server_clock=False)


@pytest.fixture
def s3_kind(moto_endpoint: str, make_bucket: Callable[..., str]) -> StoreKind:
    def make(*, object_lock: bool = False, versioned: bool = False, **kwargs: Any) -> ObjectStore:
        bucket = make_bucket(object_lock=object_lock, versioned=versioned)
        kwargs.setdefault("lock_mode", "GOVERNANCE")
        return S3ObjectStore(bucket, "archive", endpoint_url=moto_endpoint, **kwargs)

    return StoreKind("s3", make, server_clock=True)


@pytest.fixture(params=["local", "s3"])
def kind(request: pytest.FixtureRequest) -> StoreKind:
    """Each adapter in turn: the whole suite runs against both."""
    return request.getfixturevalue(f"{request.param}_kind")  # type: ignore[no-any-return]


@pytest.fixture
def store(kind: StoreKind) -> ObjectStore:
    """A store for plain write/read tests (S3: a bucket without Object Lock)."""
    return kind.make()


@pytest.fixture
def locked_store(kind: StoreKind) -> ObjectStore:
    """A store that enforces retention (S3: a bucket with Object Lock, GOVERNANCE mode)."""
    return kind.make(object_lock=True)
