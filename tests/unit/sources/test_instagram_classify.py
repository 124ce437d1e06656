"""InstagramSource.classify: what the capture does with each Graph API answer."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hp_archive.settings import Account, Secret
from hp_archive.sources.instagram import InstagramSource
from tests.unit.sources.conftest import DATA, MakeResponse

URL = "https://graph.facebook.com/v25.0/17841406338772941/media?fields=id&limit=100"
CDN = "https://scontent-gmp1-1.cdninstagram.com/v/t51.29350-15/1_n.jpg?oh=1&oe=2"
TOKEN = "IGQVJsecretINSTAGRAMtoken0123456789"


@pytest.fixture
def source() -> InstagramSource:
    account = Account(
        id="hppd-instagram", platform="instagram", handle="17841406338772941", token_env="HPPD_IG"
    )
    return InstagramSource(account)


def fixture(name: str) -> bytes:
    return (DATA / "instagram" / name).read_bytes()


def graph_error(
    code: int, message: str, *, subcode: int | None = None, transient: bool | None = None
) -> bytes:
    error: dict[str, Any] = {"message": message, "type": "OAuthException"}
    if transient is not None:
        error["is_transient"] = transient
    error["code"] = code
    if subcode is not None:
        error["error_subcode"] = subcode
    return json.dumps({"error": error}).encode()


def buc(minutes: int) -> tuple[str, str]:
    usage = {"17841406338772941": [{"type": "instagram", "call_count": 100, "total_cputime": 25,
                                    "total_time": 33, "estimated_time_to_regain_access": minutes}]}  # fmt: skip
    return ("X-Business-Use-Case-Usage", json.dumps(usage, separators=(",", ":")))


def test_the_token_travels_in_an_oauth_header(source: InstagramSource) -> None:
    assert source.auth_headers(Secret(TOKEN)) == {"Authorization": f"OAuth {TOKEN}"}
    assert source.auth_headers(None) == {}


@pytest.mark.parametrize(
    ("status", "body", "content_type"),
    [
        (200, b'{"data":[],"paging":{}}', "application/json; charset=UTF-8"),
        (200, b"\x89PNG\r\n\x1a\n", "image/png"),
        (200, b"\x00\x00\x00\x20ftypisom", "video/mp4"),
        (304, b"", "application/json"),
    ],
)
def test_answers_that_are_fine(
    source: InstagramSource, make_response: MakeResponse, status: int, body: bytes, content_type: str
) -> None:
    verdict = source.classify(make_response(URL, body, status=status, content_type=content_type))
    assert (verdict.action, verdict.retry_after) == ("ok", None)


@pytest.mark.parametrize("body", [b'{"data":[{"id":"1"},,}', b'{"data":[{"\xff\xfeid":"1"}]}'])
def test_a_garbled_page_is_fetched_again(
    source: InstagramSource, make_response: MakeResponse, body: bytes
) -> None:
    verdict = source.classify(make_response(URL, body))
    assert verdict.action == "retry"
    assert verdict.message.startswith("malformed JSON from the Graph API")


def test_an_expired_token_stops_the_account_without_leaking_it(
    source: InstagramSource, make_response: MakeResponse
) -> None:
    body = graph_error(190, f"Error validating access token: the token {TOKEN} has expired", subcode=463)
    verdict = source.classify(make_response(URL, body, status=400, reason="Bad Request"))

    assert verdict.action == "auth"
    assert verdict.message.startswith("Graph API error 190/463: Error validating access token")
    assert "generate a new long-lived access token" in verdict.message
    assert TOKEN not in verdict.message and "[token]" in verdict.message


def test_the_recorded_expiry_is_an_auth_failure(source: InstagramSource, make_response: MakeResponse) -> None:
    verdict = source.classify(
        make_response(URL, fixture("error_expired.json"), status=400, reason="Bad Request")
    )
    assert verdict.action == "auth"


def test_account_throttling_waits_as_the_usage_header_says(
    source: InstagramSource, make_response: MakeResponse
) -> None:
    response = make_response(
        URL, fixture("error_throttled.json"), status=400, reason="Bad Request", headers=[buc(7)]
    )
    verdict = source.classify(response)

    assert (verdict.action, verdict.retry_after) == ("rate-limited", 420.0)
    assert verdict.message.startswith("rate limited by Instagram, Graph API error 80002")


@pytest.mark.parametrize("code", [4, 17, 32, 613])
def test_other_throttling_codes_back_off(
    source: InstagramSource, make_response: MakeResponse, code: int
) -> None:
    verdict = source.classify(make_response(URL, graph_error(code, f"(#{code}) limit reached"), status=400))
    assert (verdict.action, verdict.retry_after) == ("rate-limited", None)  # the context backs off


def test_retry_after_is_used_when_there_is_no_usage_header(
    source: InstagramSource, make_response: MakeResponse
) -> None:
    response = make_response(URL, graph_error(4, "(#4) Application request limit reached"), status=400,
                             headers=[("Retry-After", "30")])  # fmt: skip
    assert source.classify(response).retry_after == 30.0


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (500, graph_error(2, "An unexpected error has occurred.", transient=True)),
        (400, graph_error(1, "An unknown error occurred")),
        (503, b'{"error":{"message":"Service unavailable","code":-3}}'),
        (502, b"<html>Bad Gateway</html>"),
    ],
)
def test_transient_failures_are_retried(
    source: InstagramSource, make_response: MakeResponse, status: int, body: bytes
) -> None:
    assert source.classify(make_response(URL, body, status=status)).action == "retry"


def test_a_deleted_object_fails_only_its_request(
    source: InstagramSource, make_response: MakeResponse
) -> None:
    verdict = source.classify(make_response(URL, fixture("error_missing.json"), status=400))
    assert verdict.action == "error"
    assert "does not exist or is not visible" in verdict.message
    assert "fields=" not in verdict.message  # the query (which may hold a token) is left out


@pytest.mark.parametrize("code", [10, 200, 230])
def test_missing_permissions_stop_the_account(
    source: InstagramSource, make_response: MakeResponse, code: int
) -> None:
    verdict = source.classify(make_response(URL, graph_error(code, "(#10) Permission denied"), status=400))
    assert verdict.action == "auth"
    assert "instagram_manage_comments" in verdict.message


def test_cdn_refusals_fail_only_the_download(source: InstagramSource, make_response: MakeResponse) -> None:
    verdict = source.classify(
        make_response(CDN, b"URL signature expired", status=403, content_type="text/plain")
    )
    assert verdict.action == "error"
    assert verdict.message == "HTTP 403 for https://scontent-gmp1-1.cdninstagram.com/v/t51.29350-15/1_n.jpg"


def test_plain_429_and_401(source: InstagramSource, make_response: MakeResponse) -> None:
    limited = source.classify(
        make_response(CDN, b"", status=429, headers=[("Retry-After", "5")], content_type="text/plain")
    )
    refused = source.classify(make_response(URL, b"Unauthorized", status=401, content_type="text/plain"))

    assert (limited.action, limited.retry_after) == ("rate-limited", 5.0)
    assert refused.action == "auth"
