"""Fixtures for the object-store suite: a local directory, and moto's S3 server over HTTP.

One moto server serves the whole session; every test gets fresh buckets, so tests never see each
other's objects. The S3 credentials are dummies set in the environment, the way boto3's normal
chain would find real ones; the secret is distinctive so tests can assert it never leaks.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from hp_archive.storage import LocalObjectStore, ObjectStore, S3ObjectStore
from tests.support.moto_server import start_moto_server

ACCESS_KEY = "AKIAHPARCHIVETESTING"
SECRET_KEY = "hp-archive-test-secret-Zq9vX2mW7kL4"
REGION = "us-east-1"
MiB = 1024 * 1024


@dataclass(frozen=True)
class AwsCredentials:
    access_key: str = ACCESS_KEY
    secret_key: str = SECRET_KEY
    region: str = REGION


@pytest.fixture(scope="session")
def aws_env() -> Iterator[AwsCredentials]:
    """Dummy credentials in the environment; nothing from the developer's own AWS setup."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        mp.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        mp.setenv("AWS_DEFAULT_REGION", REGION)
        mp.setenv("AWS_CONFIG_FILE", "/nonexistent/hp-archive-test/config")
        mp.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/hp-archive-test/credentials")
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
            mp.delenv(name, raising=False)
        yield AwsCredentials()


@pytest.fixture(scope="session")
def moto_endpoint(aws_env: AwsCredentials) -> Iterator[str]:
    endpoint_url, stop = start_moto_server()
    try:
        yield endpoint_url
    finally:
        stop()


@pytest.fixture(scope="session")
def s3_client(moto_endpoint: str) -> Any:
    """A plain boto3 client for setting up buckets and looking behind the adapter's back."""
    return boto3.client(
        "s3",
        endpoint_url=moto_endpoint,
        region_name=REGION,
        config=Config(s3={"addressing_style": "path"}),
    )


@pytest.fixture
def make_bucket(s3_client: Any) -> Callable[..., str]:
    """Create a fresh bucket: plain, versioned, or with Object Lock (which implies versioning)."""

    def make(*, object_lock: bool = False, versioned: bool = False) -> str:
        name = f"hp-test-{uuid.uuid4().hex[:12]}"
        if object_lock:
            s3_client.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
        else:
            s3_client.create_bucket(Bucket=name)
        if versioned:
            s3_client.put_bucket_versioning(
                Bucket=name, VersioningConfiguration={"Status": "Enabled"}
            )
        return name

    return make


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
