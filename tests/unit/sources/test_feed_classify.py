"""FeedSource.classify: what the capture does with each answer of a feed server."""

from __future__ import annotations

import pytest

from hp_archive.settings import Account
from hp_archive.sources.feed import FeedSource
from tests.unit.sources.conftest import DATA, MakeResponse

URL = "https://www.hanoverparkillinois.org/police/news.rss?utm=x"
RSS = "application/rss+xml; charset=utf-8"


@pytest.fixture
def source() -> FeedSource:
    return FeedSource(Account(id="hppd-news", platform="feed", handle=URL))


def test_a_readable_feed_a_304_and_an_enclosure_are_ok(
    source: FeedSource, make_response: MakeResponse
) -> None:
    body = (DATA / "feed" / "news.rss").read_bytes()
    assert source.classify(make_response(URL, body, content_type=RSS)).action == "ok"
    assert source.classify(make_response(URL, b"", status=304)).action == "ok"
    assert source.classify(make_response(URL, b"\x89PNG", content_type="image/png")).action == "ok"


@pytest.mark.parametrize(
    "body",
    [b"<rss version='2.0'><channel><item>", b"<html><body>Maintenance</body></html>"],
    ids=["cut", "not-a-feed"],
)
def test_an_unreadable_feed_is_fetched_again(
    source: FeedSource, make_response: MakeResponse, body: bytes
) -> None:
    verdict = source.classify(make_response(URL, body, content_type=RSS))
    assert verdict.action == "retry"
    assert verdict.message.startswith("https://www.hanoverparkillinois.org/police/news.rss: not ")


def test_rate_limits_and_server_errors_wait(source: FeedSource, make_response: MakeResponse) -> None:
    limited = source.classify(make_response(URL, b"", status=429, headers=[("Retry-After", "120")]))
    assert (limited.action, limited.retry_after) == ("rate-limited", 120.0)
    broken = source.classify(make_response(URL, b"", status=503, headers=[("Retry-After", "5")]))
    assert (broken.action, broken.retry_after) == ("retry", 5.0)


@pytest.mark.parametrize("status", [401, 403, 404, 410])
def test_refusals_are_errors_of_the_night_not_token_problems(
    source: FeedSource, make_response: MakeResponse, status: int
) -> None:
    verdict = source.classify(make_response(URL, b"", status=status, content_type="text/plain"))
    assert verdict.action == "error"
    assert verdict.message == (
        f"HTTP {status} at https://www.hanoverparkillinois.org/police/news.rss: "
        "check the feed URL in the account's handle"
    )


def test_the_feed_url_is_the_handle_or_the_base_url() -> None:
    assert FeedSource(Account(id="a", platform="feed", handle=URL)).feed_url == URL
    other = Account(id="b", platform="feed", handle="news", base_url="https://example.org/news.atom")
    assert FeedSource(other).feed_url == "https://example.org/news.atom"
    assert FeedSource.needs_token is False
    assert FeedSource(other).auth_headers(None) == {}
