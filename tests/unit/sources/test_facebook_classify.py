"""FacebookPagesSource.classify: what the capture does with each Graph API answer."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hp_archive.settings import Account
from hp_archive.sources.facebook import FacebookPagesSource
from tests.unit.sources.conftest import MakeResponse

URL = "https://graph.facebook.com/v25.0/104857600000001/posts?fields=id&limit=100"
TOKEN = "EAAGm0PX4ZCpsBAKZAqSECRETtoken1234567890"


@pytest.fixture
def source() -> FacebookPagesSource:
    account = Account(
        id="hppd-facebook", platform="facebook", handle="104857600000001", token_env="HPPD_FB_TOKEN"
    )
    return FacebookPagesSource(account)


def graph_error(
    code: int, message: str, *, subcode: int | None = None, transient: bool | None = None
) -> bytes:
    error: dict[str, Any] = {"message": message, "type": "OAuthException"}
    if transient is not None:
        error["is_transient"] = transient
    error["code"] = code
    if subcode is not None:
        error["error_subcode"] = subcode
    error["fbtrace_id"] = "AbCdEf12345"
    return json.dumps({"error": error}).encode()


def buc(minutes: int) -> tuple[str, str]:
    usage = {
        "104857600000001": [
            {
                "type": "pages",
                "call_count": 100,
                "total_cputime": 25,
                "total_time": 33,
                "estimated_time_to_regain_access": minutes,
            }
        ]
    }
    return ("X-Business-Use-Case-Usage", json.dumps(usage, separators=(",", ":")))


@pytest.mark.parametrize(
    ("status", "body", "content_type"),
    [
        (200, b'{"data":[],"paging":{}}', "application/json; charset=UTF-8"),
        (200, b'{"data":[]}', "text/javascript; charset=UTF-8"),
        (200, b"\x89PNG\r\n\x1a\n", "image/png"),
        (304, b"", "application/json"),
    ],
)
def test_success_is_ok(
    source: FacebookPagesSource,
    make_response: MakeResponse,
    status: int,
    body: bytes,
    content_type: str,
) -> None:
    response = make_response(URL, body, status=status, content_type=content_type)

    assert source.classify(response).action == "ok"


@pytest.mark.parametrize("body", [b'{"data":[{"id":"1_2","mess', b'{"data":[{"id":"\xff\xfe"}]}'])
def test_a_garbled_success_is_fetched_again(
    source: FacebookPagesSource, make_response: MakeResponse, body: bytes
) -> None:
    # Taking it as the last page would make a cut listing look complete.
    verdict = source.classify(make_response(URL, body))

    assert verdict.action == "retry"
    assert "malformed JSON" in verdict.message


@pytest.mark.parametrize(
    ("code", "subcode", "message"),
    [
        (190, 463, "Error validating access token: Session has expired on Sunday, 01-Nov-26 07:00:00 UTC."),
        (190, 460, "Error validating access token: The session has been invalidated because the user has changed the password."),
        (190, None, "Invalid OAuth access token."),
        (102, None, "Session key invalid or no longer valid"),
        (104, None, "An access token is required to request this resource."),
        (2500, 467, "Error validating access token"),
    ],
)  # fmt: skip
def test_token_problems_stop_the_account(
    source: FacebookPagesSource,
    make_response: MakeResponse,
    code: int,
    subcode: int | None,
    message: str,
) -> None:
    verdict = source.classify(make_response(URL, graph_error(code, message, subcode=subcode), status=400))

    assert verdict.action == "auth"
    assert "generate a new Page access token" in verdict.message
    assert message.split(":", maxsplit=1)[0] in verdict.message


@pytest.mark.parametrize(
    ("code", "headers", "retry_after"),
    [
        (80001, [buc(7)], 420.0),  # minutes in the usage header become seconds
        (80001, [buc(0), ("Retry-After", "30")], 30.0),
        (4, [("X-App-Usage", '{"call_count":100,"total_cputime":40,"total_time":61}'), ("Retry-After", "12")], 12.0),
        (32, [], None),
        (17, [buc(2)], 120.0),
        (613, [], None),
    ],
)  # fmt: skip
def test_throttling_is_retried_after_the_advertised_wait(
    source: FacebookPagesSource,
    make_response: MakeResponse,
    code: int,
    headers: list[tuple[str, str]],
    retry_after: float | None,
) -> None:
    body = graph_error(code, f"(#{code}) There have been too many calls", transient=code == 4)
    verdict = source.classify(make_response(URL, body, status=400, headers=headers))

    assert verdict.action == "rate-limited"
    assert verdict.retry_after == retry_after
    assert "rate limited" in verdict.message


@pytest.mark.parametrize(
    ("status", "code", "transient"),
    [(500, 2, True), (503, 2, None), (400, 1, None), (400, 2, None), (400, 9007, True)],
)
def test_transient_errors_are_retried(
    source: FacebookPagesSource,
    make_response: MakeResponse,
    status: int,
    code: int,
    transient: bool | None,
) -> None:
    body = graph_error(
        code,
        "An unexpected error has occurred. Please retry your request later.",
        transient=transient,
    )
    verdict = source.classify(make_response(URL, body, status=status))

    assert verdict.action == "retry"
    assert "rate" not in verdict.message.lower()  # so the context never mistakes it for throttling


def test_a_missing_object_is_an_error_naming_the_object(
    source: FacebookPagesSource, make_response: MakeResponse
) -> None:
    url = f"https://graph.facebook.com/v25.0/104857600000001_1519/comments?access_token={TOKEN}"
    body = graph_error(
        100,
        "Unsupported get request. Object with ID '104857600000001_1519' does not exist",
        subcode=33,
    )
    verdict = source.classify(make_response(url, body, status=400))

    assert verdict.action == "error"
    assert "object does not exist or is not visible" in verdict.message
    assert "104857600000001_1519/comments" in verdict.message
    assert TOKEN not in verdict.message


@pytest.mark.parametrize("code", [10, 200, 230, 299])
def test_missing_permissions_stop_the_account(
    source: FacebookPagesSource, make_response: MakeResponse, code: int
) -> None:
    message = f"(#{code}) This endpoint requires the 'pages_read_engagement' permission"
    verdict = source.classify(make_response(URL, graph_error(code, message), status=400))

    assert verdict.action == "auth"
    assert "permission missing" in verdict.message
    assert "pages_read_engagement" in verdict.message


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (100, "(#100) Tried accessing nonexisting field (my_name) on node type (Page)"),
        (368, "(#368) Temporarily blocked"),
    ],
)
def test_other_graph_errors_are_errors(
    source: FacebookPagesSource, make_response: MakeResponse, code: int, message: str
) -> None:
    verdict = source.classify(make_response(URL, graph_error(code, message), status=400))

    assert verdict.action == "error"
    assert message in verdict.message


def test_an_error_object_decides_even_with_status_200(
    source: FacebookPagesSource, make_response: MakeResponse
) -> None:
    verdict = source.classify(make_response(URL, graph_error(190, "Invalid OAuth access token."), status=200))

    assert verdict.action == "auth"


@pytest.mark.parametrize(
    ("status", "content_type", "body", "headers", "action", "retry_after"),
    [
        (429, "text/plain", b"Too Many Requests", [("Retry-After", "5")], "retry", 5.0),
        (502, "text/html", b"<html>Bad Gateway</html>", [], "retry", None),
        (401, "text/plain", b"Unauthorized", [], "auth", None),
        (403, "text/plain", b"URL signature expired", [], "error", None),
        (404, "text/plain", b"Not Found", [], "error", None),
    ],
)  # fmt: skip
def test_answers_without_an_error_object(
    source: FacebookPagesSource,
    make_response: MakeResponse,
    status: int,
    content_type: str,
    body: bytes,
    headers: list[tuple[str, str]],
    action: str,
    retry_after: float | None,
) -> None:
    cdn = "https://scontent.xx.fbcdn.net/v/t39.30808-6/1550_n.png?oh=00_abc&oe=6AEAE600"
    verdict = source.classify(
        make_response(cdn, body, status=status, content_type=content_type, headers=headers)
    )

    assert (verdict.action, verdict.retry_after) == (action, retry_after)
    assert "oh=" not in verdict.message  # the URL's query is left out of messages
    if status == 403:
        assert "URL signature expired" in verdict.message  # a CDN refusal, not a token problem


def test_messages_never_carry_a_token(source: FacebookPagesSource, make_response: MakeResponse) -> None:
    body = graph_error(
        190,
        f"Malformed access token {TOKEN} in https://graph.facebook.com/me?access_token={TOKEN}&x=1",
    )
    verdict = source.classify(make_response(f"{URL}&access_token={TOKEN}", body, status=400))

    assert verdict.action == "auth"
    assert TOKEN not in verdict.message
    assert "access_token=REDACTED" in verdict.message


def test_the_token_travels_in_an_oauth_header(source: FacebookPagesSource) -> None:
    from hp_archive.settings import Secret

    assert source.auth_headers(Secret(TOKEN)) == {"Authorization": f"OAuth {TOKEN}"}
    assert source.auth_headers(None) == {}
