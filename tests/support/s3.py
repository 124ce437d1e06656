"""moto's S3 server for the whole session, dummy credentials, and fresh buckets."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.config import Config

from tests.support.moto_server import start_moto_server

ACCESS_KEY = "AKIAHPARCHIVETESTING"
SECRET_KEY = "hp-archive-test-secret-Zq9vX2mW7kL4"
REGION = "us-east-1"


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
            s3_client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        return name

    return make
