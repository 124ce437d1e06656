"""BlueskySource.classify: what the capture does with each AppView answer."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from hp_archive.settings import Account
from hp_archive.sources.bluesky import BlueskySource
from tests.unit.sources.conftest import archived_response

DATA = Path(__file__).resolve().parents[2] / "data" / "bluesky"
URL = "https://public.api.bsky.app/xrpc/app.bsky.feed.getAuthorFeed?actor=did%3Aplc%3Az7ja7uhcr5is6uqmnsjyn3k7&limit=100"
AT = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


@pytest.fixture
def source() -> BlueskySource:
    return BlueskySource(Account(id="hppd-bluesky", platform="bluesky", handle="hanoverparkpd.bsky.social"))


def fixture(name: str) -> bytes:
    return (DATA / name).read_bytes()


def rate_headers(reset: datetime) -> list[tuple[str, str]]:
    return [
        ("RateLimit-Limit", "3000"),
        ("RateLimit-Remaining", "0"),
        ("RateLimit-Reset", str(int(reset.timestamp()))),
        ("RateLimit-Policy", "3000;w=300"),
        ("Retry-After", "300"),
    ]


@pytest.mark.parametrize(
    ("status", "body", "content_type"),
    [
        (200, b'{"feed":[]}', "application/json; charset=utf-8"),
        (200, b"\xff\xd8\xff\xe0", "image/jpeg"),
        (304, b"", "application/json"),
    ],
)
def test_success_is_ok(source: BlueskySource, status: int, body: bytes, content_type: str) -> None:
    assert (
        source.classify(
            archived_response(URL, body, status=status, content_type=content_type, date=AT)
        ).action
        == "ok"
    )


def test_a_cut_or_garbled_page_is_fetched_again(source: BlueskySource) -> None:
    body = fixture("author_feed_page1.json")
    for bad in (body[:200], body.replace(b'"', b'"\xff\xfe', 1)):
        verdict = source.classify(archived_response(URL, bad, date=AT))
        assert verdict.action == "retry"
        assert verdict.message.startswith("malformed JSON from the AppView")


def test_429_waits_until_ratelimit_reset(source: BlueskySource) -> None:
    response = archived_response(
        URL, fixture("error_rate_limit.json"), status=429, reason="Too Many Requests",
        headers=rate_headers(datetime(2026, 11, 2, 8, 2, 30, tzinfo=UTC)),
        date=datetime(2026, 11, 2, 8, 0, 0, 400000, tzinfo=UTC),
    )  # fmt: skip

    verdict = source.classify(response)

    assert (verdict.action, verdict.retry_after) == ("rate-limited", 150.0)
    assert verdict.message == "rate limited by the AppView (RateLimitExceeded: Rate Limit Exceeded)"


def test_429_without_reset_uses_retry_after(source: BlueskySource) -> None:
    response = archived_response(
        URL, fixture("error_rate_limit.json"), status=429, headers=[("Retry-After", "42")], date=AT
    )
    assert source.classify(response).retry_after == 42.0


@pytest.mark.parametrize("status", [400, 401])
def test_an_expired_token_stops_the_account_with_the_fix(source: BlueskySource, status: int) -> None:
    response = archived_response(URL, fixture("error_expired_token.json"), status=status, date=AT)

    verdict = source.classify(response)

    assert verdict.action == "auth"
    assert verdict.message.startswith("the AppView refused the token (ExpiredToken: Token has expired)")
    assert "remove token_env to read the public AppView without one" in verdict.message


def test_a_post_not_found_fails_only_that_request(source: BlueskySource) -> None:
    thread = "https://public.api.bsky.app/xrpc/app.bsky.feed.getPostThread?uri=at%3A%2F%2Fx"
    verdict = source.classify(archived_response(thread, fixture("error_not_found.json"), status=400, date=AT))

    assert verdict.action == "error"
    assert verdict.message.startswith("NotFound: Post not found: at://did:plc:z7ja7uhcr5is6uqmnsjyn3k7/")
    assert "(deleted, or hidden from this viewer)" in verdict.message


def test_an_invalid_request_is_an_error(source: BlueskySource) -> None:
    verdict = source.classify(
        archived_response(URL, fixture("error_invalid_request.json"), status=400, date=AT)
    )

    assert verdict.action == "error"
    assert "InvalidRequest: Error: limit can not be greater than 100" in verdict.message


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (500, b'{"error":"InternalServerError","message":"Internal Server Error"}'),
        (502, b'{"error":"UpstreamFailure","message":"Upstream Failure"}'),
        (503, b'{"error":"NotEnoughResources","message":"Not Enough Resources"}'),
        (504, b"<html>gateway timeout</html>"),
    ],
)
def test_server_errors_are_retried(source: BlueskySource, status: int, body: bytes) -> None:
    verdict = source.classify(
        archived_response(URL, body, status=status, headers=[("Retry-After", "5")], date=AT)
    )

    assert (verdict.action, verdict.retry_after) == ("retry", 5.0)


def test_a_missing_image_is_an_error_of_that_download(source: BlueskySource) -> None:
    image = "https://cdn.bsky.app/img/feed_fullsize/plain/did:plc:z7ja7uhcr5is6uqmnsjyn3k7/bafkrei@jpeg"
    verdict = source.classify(
        archived_response(image, b"Not Found", status=404, content_type="text/plain", date=AT)
    )

    assert verdict.action == "error"
