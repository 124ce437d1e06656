"""Helpers for the source unit tests: archived responses built from recorded-shape bodies."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hp_archive.sources.base import ArchivedResponse
from hp_archive.warc.http import split_http_message

DATA = Path(__file__).resolve().parents[2] / "data"
RECORDED_AT = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)

MakeResponse = Callable[..., ArchivedResponse]


def archived_response(
    url: str,
    body: bytes,
    *,
    status: int = 200,
    reason: str = "OK",
    content_type: str = "application/json; charset=UTF-8",
    headers: Sequence[tuple[str, str]] = (),
    date: datetime = RECORDED_AT,
) -> ArchivedResponse:
    """An archived response as the WARC holds it: status line, headers, body."""
    lines = [f"HTTP/1.1 {status} {reason}", f"Content-Type: {content_type}"]
    lines += [f"{name}: {value}" for name, value in headers]
    lines.append(f"Content-Length: {len(body)}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return ArchivedResponse(url=url, date=date, message=split_http_message(head + body))


@pytest.fixture
def make_response() -> MakeResponse:
    return archived_response


@pytest.fixture
def fixture_bytes() -> Callable[[str], bytes]:
    """The bytes of a recorded-shape body in tests/data/facebook/."""

    def read(name: str) -> bytes:
        return (DATA / "facebook" / name).read_bytes()

    return read
