"""YouTubeSource.classify: what the capture does with each Data API answer."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from hp_archive.settings import Account, Secret
from hp_archive.sources.youtube import YouTubeSource
from tests.unit.sources.conftest import DATA, MakeResponse

URL = "https://www.googleapis.com/youtube/v3/commentThreads?part=snippet&videoId=D-lhorsDlUQ"
THUMB = "https://i.ytimg.com/vi/D-lhorsDlUQ/hqdefault.jpg"
TOKEN = "ya29.a0AfH6SMsecretOAUTHtoken0123456789"


def make_source(**options: Any) -> YouTubeSource:
    return YouTubeSource(
        Account(id="hppd-youtube", platform="youtube", handle="mine", token_env="HPPD_YT", options=options)
    )


@pytest.fixture
def source() -> YouTubeSource:
    return make_source()


def fixture(name: str) -> bytes:
    return (DATA / "youtube" / name).read_bytes()


def api_error(code: int, reason: str, message: str = "message", domain: str = "global") -> bytes:
    errors = [{"message": message, "domain": domain, "reason": reason}]
    return json.dumps({"error": {"code": code, "message": message, "errors": errors}}).encode()


def test_the_owner_token_is_a_bearer_header(source: YouTubeSource) -> None:
    assert source.auth_headers(Secret(TOKEN)) == {"Authorization": f"Bearer {TOKEN}"}


def test_an_api_key_goes_in_a_header_never_in_the_url() -> None:
    keyed = make_source(auth="api_key")
    assert keyed.auth_headers(Secret("AIzaSyKEY")) == {"X-Goog-Api-Key": "AIzaSyKEY"}


@pytest.mark.parametrize(
    ("status", "body", "content_type"),
    [
        (200, b'{"kind":"youtube#commentThreadListResponse","items":[]}', "application/json; charset=UTF-8"),
        (200, b"\xff\xd8\xff\xe0", "image/jpeg"),
        (304, b"", "application/json"),
    ],
)
def test_answers_that_are_fine(
    source: YouTubeSource, make_response: MakeResponse, status: int, body: bytes, content_type: str
) -> None:
    assert source.classify(make_response(URL, body, status=status, content_type=content_type)).action == "ok"


@pytest.mark.parametrize("body", [b'{"items":[{"id":"1"},,}', b'{"items":[{"\xff\xfeid":"1"}]}'])
def test_a_garbled_page_is_fetched_again(
    source: YouTubeSource, make_response: MakeResponse, body: bytes
) -> None:
    verdict = source.classify(make_response(URL, body))
    assert verdict.action == "retry"
    assert verdict.message.startswith("malformed JSON from the YouTube API")


@pytest.mark.parametrize(
    ("answered_at", "wait"),
    [
        (datetime(2026, 11, 2, 8, 0, tzinfo=UTC), 86_400.0),  # 00:00 PST: the next reset is a day away
        (datetime(2026, 7, 15, 20, 0, tzinfo=UTC), 39_600.0),  # 13:00 PDT: reset at 07:00 UTC
        (datetime(2026, 11, 1, 6, 30, tzinfo=UTC), 1_800.0),  # 23:30 PDT on the night DST ends
        (datetime(2026, 3, 8, 7, 59, 30, tzinfo=UTC), 60.0),  # 23:59:30 PST: at least a minute
    ],
)
def test_spent_quota_waits_for_midnight_pacific(
    source: YouTubeSource, make_response: MakeResponse, answered_at: datetime, wait: float
) -> None:
    response = make_response(
        URL, fixture("error_quota.json"), status=403, reason="Forbidden", date=answered_at
    )
    verdict = source.classify(response)

    assert (verdict.action, verdict.retry_after) == ("rate-limited", wait)
    assert verdict.message.startswith(
        "YouTube API error 403 (quotaExceeded): the project's daily quota is spent"
    )
    assert "midnight Pacific time" in verdict.message


def test_daily_limit_exceeded_is_quota_too(source: YouTubeSource, make_response: MakeResponse) -> None:
    verdict = source.classify(
        make_response(URL, api_error(403, "dailyLimitExceeded", domain="usageLimits"), status=403)
    )
    assert verdict.action == "rate-limited" and (verdict.retry_after or 0) >= 60


@pytest.mark.parametrize(
    ("status", "reason", "headers", "wait"),
    [
        (429, "rateLimitExceeded", [("Retry-After", "30")], 30.0),
        (403, "rateLimitExceeded", [], None),
        (403, "userRateLimitExceeded", [], None),
    ],
)
def test_short_term_limits_wait_or_back_off(
    source: YouTubeSource,
    make_response: MakeResponse,
    status: int,
    reason: str,
    headers: list[tuple[str, str]],
    wait: float | None,
) -> None:
    response = make_response(URL, api_error(status, reason, "Rate Limit Exceeded", "usageLimits"), status=status,
                             headers=headers)  # fmt: skip
    verdict = source.classify(response)
    assert (verdict.action, verdict.retry_after) == ("rate-limited", wait)


def test_disabled_comments_are_an_answer_not_a_failure(
    source: YouTubeSource, make_response: MakeResponse
) -> None:
    response = make_response(URL, fixture("error_comments_disabled.json"), status=403, reason="Forbidden")
    assert source.classify(response).action == "ok"


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (401, fixture("error_auth.json")),
        (403, api_error(403, "insufficientPermissions", "Request had insufficient authentication scopes.")),
        (401, api_error(401, "required", "Login Required.")),
    ],
)
def test_refused_credentials_stop_the_account(
    source: YouTubeSource, make_response: MakeResponse, status: int, body: bytes
) -> None:
    verdict = source.classify(make_response(URL, body, status=status))
    assert verdict.action == "auth"
    assert "refresh the channel owner's OAuth access token" in verdict.message


def test_the_recorded_auth_error_reads_well(source: YouTubeSource, make_response: MakeResponse) -> None:
    verdict = source.classify(make_response(URL, fixture("error_auth.json"), status=401))
    assert verdict.message.startswith(
        "YouTube API error 401 (authError): Request had invalid authentication credentials."
    )


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (500, api_error(500, "backendError", "Internal error encountered.")),
        (503, api_error(503, "backendError", "The service is currently unavailable.")),
        (502, b"<html><title>Error 502 (Server Error)!!1</title></html>"),
    ],
)
def test_server_failures_are_retried(
    source: YouTubeSource, make_response: MakeResponse, status: int, body: bytes
) -> None:
    content_type = "text/html" if body.startswith(b"<") else "application/json; charset=UTF-8"
    assert (
        source.classify(make_response(URL, body, status=status, content_type=content_type)).action == "retry"
    )


def test_a_video_gone_fails_only_its_listing(source: YouTubeSource, make_response: MakeResponse) -> None:
    verdict = source.classify(make_response(URL, fixture("error_video_not_found.json"), status=404))

    assert verdict.action == "error"
    assert verdict.message == (
        "YouTube API error 404 (videoNotFound) at https://www.googleapis.com/youtube/v3/commentThreads: "
        "The video identified by the videoId parameter could not be found."
    )


def test_a_forbidden_listing_fails_only_itself(source: YouTubeSource, make_response: MakeResponse) -> None:
    body = api_error(403, "forbidden", "The request is not properly authorized.", "youtube.commentThread")
    assert source.classify(make_response(URL, body, status=403)).action == "error"


def test_thumbnail_host_refusals_fail_only_the_download(
    source: YouTubeSource, make_response: MakeResponse
) -> None:
    verdict = source.classify(make_response(THUMB, b"<html>404</html>", status=404, content_type="text/html"))
    assert (verdict.action, verdict.message) == ("error", f"HTTP 404 for {THUMB}")
