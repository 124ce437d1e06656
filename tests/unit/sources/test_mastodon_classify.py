"""MastodonSource.classify: what the capture does with each Mastodon answer."""

from __future__ import annotations

import pytest

from hp_archive.settings import Account
from hp_archive.sources.mastodon import MastodonSource, reset_seconds
from tests.unit.sources.conftest import RECORDED_AT, MakeResponse

URL = "https://mastodon.example/api/v1/accounts/109301000000001/statuses?limit=40"
JSON = "application/json; charset=utf-8"


@pytest.fixture
def source() -> MastodonSource:
    account = Account(
        id="hppd-mastodon",
        platform="mastodon",
        handle="HanoverParkPD",
        base_url="https://mastodon.example",
        token_env="HPPD_MASTODON_TOKEN",
    )
    return MastodonSource(account)


@pytest.mark.parametrize(
    ("status", "body", "content_type"),
    [
        (200, b"[]", JSON),
        (200, b'{"ancestors":[],"descendants":[]}', JSON),
        (200, b"\x89PNG\r\n\x1a\n", "image/png"),
        (304, b"", JSON),
    ],
)
def test_success_is_ok(
    source: MastodonSource, make_response: MakeResponse, status: int, body: bytes, content_type: str
) -> None:
    verdict = source.classify(make_response(URL, body, status=status, content_type=content_type))
    assert verdict.action == "ok"


@pytest.mark.parametrize("body", [b'[{"id":"1",,}', b'[{"id":"\xff\xfe"}]', b'{"descendants":['])
def test_malformed_json_is_fetched_again(
    source: MastodonSource, make_response: MakeResponse, body: bytes
) -> None:
    verdict = source.classify(make_response(URL, body))
    assert verdict.action == "retry"
    assert verdict.message.startswith("malformed JSON from Mastodon at https://mastodon.example/api/v1/")


def test_429_waits_until_the_reset_time(source: MastodonSource, make_response: MakeResponse) -> None:
    response = make_response(
        URL,
        b'{"error":"Too many requests"}',
        status=429,
        reason="Too Many Requests",
        headers=[
            ("X-RateLimit-Limit", "300"),
            ("X-RateLimit-Remaining", "0"),
            ("X-RateLimit-Reset", "2026-11-02T08:04:30.500000Z"),
        ],
    )
    verdict = source.classify(response)
    assert (verdict.action, verdict.retry_after) == ("rate-limited", 271.0)
    assert verdict.message == "rate limited by Mastodon (limit 300 requests per window): Too many requests"


def test_429_without_a_reset_falls_back_to_retry_after(
    source: MastodonSource, make_response: MakeResponse
) -> None:
    response = make_response(URL, b"", status=429, headers=[("Retry-After", "17")])
    assert source.classify(response).retry_after == 17.0
    assert source.classify(make_response(URL, b"", status=429)).retry_after is None


def test_a_reset_in_the_past_means_no_wait(make_response: MakeResponse) -> None:
    response = make_response(URL, b"", status=429, headers=[("X-RateLimit-Reset", "2026-11-02T07:00:00Z")])
    assert reset_seconds(response) == 0.0
    garbled = make_response(URL, b"", status=429, headers=[("X-RateLimit-Reset", "soon")])
    assert reset_seconds(garbled) is None


def test_invalid_token_stops_the_account_with_what_to_do(
    source: MastodonSource, make_response: MakeResponse
) -> None:
    response = make_response(
        URL,
        b'{"error":"The access token is invalid"}',
        status=401,
        reason="Unauthorized",
        headers=[
            (
                "WWW-Authenticate",
                'Bearer realm="Doorkeeper", error="invalid_token", error_description="The access token is invalid"',
            )
        ],
    )
    verdict = source.classify(response)
    assert verdict.action == "auth"
    assert verdict.message.startswith("HTTP 401: The access token is invalid — create a new access token")
    assert "read:statuses" in verdict.message


def test_forbidden_with_an_error_is_auth_but_a_bare_403_is_not(
    source: MastodonSource, make_response: MakeResponse
) -> None:
    disabled = make_response(URL, b'{"error":"Your login is currently disabled"}', status=403)
    assert source.classify(disabled).action == "auth"
    cdn = make_response(
        "https://files.mastodon.example/x.png", b"Forbidden", status=403, content_type="text/plain"
    )
    assert source.classify(cdn).action == "error"


def test_not_found_is_an_error_of_that_request(source: MastodonSource, make_response: MakeResponse) -> None:
    url = "https://mastodon.example/api/v1/statuses/115480000000000001/context?token=abc"
    verdict = source.classify(make_response(url, b'{"error":"Record not found"}', status=404))
    assert verdict.action == "error"
    assert verdict.message == (
        "Record not found (deleted, or not visible to the token): "
        "https://mastodon.example/api/v1/statuses/115480000000000001/context"
    )


@pytest.mark.parametrize(
    ("status", "body", "content_type", "said"),
    [
        (500, b"<html><body>We're sorry</body></html>", "text/html", ""),
        (503, b'{"error":"Remote data could not be fetched"}', JSON, ": Remote data could not be fetched"),
    ],
)
def test_server_errors_are_retried(
    source: MastodonSource,
    make_response: MakeResponse,
    status: int,
    body: bytes,
    content_type: str,
    said: str,
) -> None:
    verdict = source.classify(make_response(URL, body, status=status, content_type=content_type))
    assert verdict.action == "retry"
    assert (
        verdict.message
        == f"HTTP {status} at https://mastodon.example/api/v1/accounts/109301000000001/statuses{said}"
    )


def test_other_client_errors_end_the_request(source: MastodonSource, make_response: MakeResponse) -> None:
    assert source.classify(make_response(URL, b"", status=410)).message.endswith("the account is suspended")
    verdict = source.classify(make_response(URL, b'{"error":"Validation failed"}', status=422))
    assert (verdict.action, verdict.message) == (
        "error",
        "HTTP 422 at https://mastodon.example/api/v1/accounts/109301000000001/statuses: Validation failed",
    )


def test_recorded_at_is_the_reference_for_waits() -> None:
    assert RECORDED_AT.isoformat() == "2026-11-02T08:00:00+00:00"
