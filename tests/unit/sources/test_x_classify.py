"""XSource.classify: what the capture does with each X API answer."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from hp_archive.settings import Account
from hp_archive.sources.x import USAGE_CAP_WAIT, XSource
from tests.unit.sources.conftest import archived_response

DATA = Path(__file__).resolve().parents[2] / "data" / "x"
URL = "https://api.x.com/2/users/1262468093209534465/tweets?max_results=100"
AT = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
PROBLEM = "application/problem+json"


@pytest.fixture
def source() -> XSource:
    return XSource(Account(id="hppd-x", platform="x", handle="HanoverParkPD", token_env="HPPD_X_TOKEN"))


def fixture(name: str) -> bytes:
    return (DATA / name).read_bytes()


def limits(reset: datetime | None = None, remaining: int = 0) -> list[tuple[str, str]]:
    headers = [("x-rate-limit-limit", "900"), ("x-rate-limit-remaining", str(remaining))]
    if reset is not None:
        headers.append(("x-rate-limit-reset", str(int(reset.timestamp()))))
    return headers


@pytest.mark.parametrize(
    ("status", "body", "content_type"),
    [
        (200, b'{"meta":{"result_count":0}}', "application/json; charset=utf-8"),
        (200, b"\x89PNG\r\n\x1a\n", "image/png"),
        (304, b"", "application/json"),
    ],
)
def test_success_is_ok(source: XSource, status: int, body: bytes, content_type: str) -> None:
    response = archived_response(URL, body, status=status, content_type=content_type, date=AT)
    assert source.classify(response).action == "ok"


def test_a_cut_or_garbled_page_is_fetched_again(source: XSource) -> None:
    body = fixture("user_tweets_page1.json")
    cut = archived_response(URL, body[:300] + b",,}", date=AT)
    garbled = archived_response(URL, body.replace(b'"', b'"\xff\xfe', 1), date=AT)

    for response in (cut, garbled):
        verdict = source.classify(response)
        assert verdict.action == "retry"
        assert verdict.message.startswith("malformed JSON from the X API")


def test_429_waits_until_the_window_resets(source: XSource) -> None:
    response = archived_response(
        URL,
        fixture("problem_too_many_requests.json"),
        status=429,
        reason="Too Many Requests",
        content_type=PROBLEM,
        headers=limits(datetime(2026, 11, 2, 8, 12, 30, tzinfo=UTC)),
        date=datetime(2026, 11, 2, 8, 0, 0, 250000, tzinfo=UTC),
    )

    verdict = source.classify(response)

    assert verdict.action == "rate-limited"
    assert verdict.retry_after == 750.0  # 12.5 minutes, rounded up to the whole second
    assert (
        verdict.message
        == "rate limited by X (HTTP 429, limit 900 per window, resets at 2026-11-02T08:12:30+00:00)"
    )


def test_429_without_a_reset_header_leaves_the_wait_to_the_backoff(source: XSource) -> None:
    response = archived_response(
        URL, fixture("problem_too_many_requests.json"), status=429, content_type=PROBLEM, date=AT
    )

    verdict = source.classify(response)

    assert (verdict.action, verdict.retry_after) == ("rate-limited", None)


def test_a_reset_in_the_past_means_try_now(source: XSource) -> None:
    response = archived_response(
        URL, fixture("problem_too_many_requests.json"), status=429, content_type=PROBLEM,
        headers=limits(datetime(2026, 11, 2, 7, 59, tzinfo=UTC)), date=AT,
    )  # fmt: skip
    assert source.classify(response).retry_after == 0.0


def test_a_spent_usage_cap_stops_the_account(source: XSource) -> None:
    response = archived_response(
        URL,
        fixture("problem_usage_capped.json"),
        status=429,
        content_type=PROBLEM,
        headers=limits(AT),
        date=AT,
    )

    verdict = source.classify(response)

    assert verdict.action == "rate-limited"
    assert verdict.retry_after == USAGE_CAP_WAIT  # beyond any retry budget: the run stops partial
    assert "monthly post cap is spent" in verdict.message


def test_401_is_an_auth_failure_with_the_fix(source: XSource) -> None:
    response = archived_response(
        URL, fixture("problem_unauthorized.json"), status=401, content_type=PROBLEM, date=AT
    )

    verdict = source.classify(response)

    assert verdict.action == "auth"
    assert verdict.message.startswith("X API 401 Unauthorized: the token is invalid, expired or revoked")
    assert "generate a new Bearer Token" in verdict.message


def test_a_client_forbidden_app_is_an_auth_failure(source: XSource) -> None:
    response = archived_response(
        URL, fixture("problem_client_forbidden.json"), status=403, content_type=PROBLEM, date=AT
    )

    verdict = source.classify(response)

    assert verdict.action == "auth"
    assert "attach the app to a Project" in verdict.message


def test_a_protected_resource_is_an_error_of_that_request_only(source: XSource) -> None:
    body = b'{"title":"Forbidden","type":"https://api.twitter.com/2/problems/not-authorized-for-resource","detail":"Sorry, you are not authorized to see the User with id: [1]."}'
    response = archived_response(URL, body, status=403, content_type=PROBLEM, date=AT)

    verdict = source.classify(response)

    assert verdict.action == "error"
    assert "not authorized to see the User" in verdict.message


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_retried(source: XSource, status: int) -> None:
    body = b'{"title":"Service Unavailable","detail":"Service Unavailable","type":"about:blank","status":503}'
    response = archived_response(
        URL, body, status=status, content_type=PROBLEM, headers=[("Retry-After", "7")], date=AT
    )

    verdict = source.classify(response)

    assert (verdict.action, verdict.retry_after) == ("retry", 7.0)


def test_an_invalid_request_names_the_parameter_problem(source: XSource) -> None:
    response = archived_response(
        URL, fixture("problem_invalid_start_time.json"), status=400, content_type=PROBLEM, date=AT
    )

    verdict = source.classify(response)

    assert verdict.action == "error"
    assert verdict.message == (
        "X API HTTP 400 at https://api.x.com/2/users/1262468093209534465/tweets: "
        "One or more parameters to your request was invalid."
    )


def test_a_missing_photo_is_an_error_of_that_download(source: XSource) -> None:
    response = archived_response(
        "https://pbs.twimg.com/media/G4kLm2aWgAAe1Qx.jpg", b"", status=404, content_type="text/html", date=AT
    )
    assert source.classify(response).action == "error"


def test_bearer_tokens_never_reach_a_message(source: XSource) -> None:
    token = "AAAAAAAAAAAAAAAAAAAAAMLheAAAAAAA0%2BuSeid%2BULvsea4JtiGRiSDSJSI%3DEUifiRBkKG5E2XzMDjRfl76ZC9Ub0wnz4XsNiRVBChTYbJcE3F"
    body = (
        '{"title":"Unauthorized","type":"about:blank","status":401,"detail":"Unauthorized token '
        + token
        + '"}'
    ).encode()
    verdict = source.classify(archived_response(URL, body, status=401, content_type=PROBLEM, date=AT))

    assert token not in verdict.message and "[token]" in verdict.message
