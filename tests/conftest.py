"""Fixtures shared by the whole suite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.clock import FakeClock
from tests.support.databases import database_url_for
from tests.support.s3 import aws_env, make_bucket, moto_endpoint, s3_client  # noqa: F401 - fixtures


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The index on each backend: SQLite, then PostgreSQL (skipped with a reason if not set up)."""
    with database_url_for(request.param, tmp_path) as url:
        yield url
