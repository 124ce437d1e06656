"""Credentials are removed from request records and URIs, and the removal is named."""

from __future__ import annotations

from hp_archive.warc.redaction import redact_request, redact_url, scrub_text

TOKEN = "EAAGm0PX4ZCpsBAKZBsecretTOKENvalue123"


def test_authorization_cookie_and_api_key_headers_are_redacted() -> None:
    block = (
        b"GET /v25.0/1/posts?fields=id HTTP/1.1\r\nHost: graph.example\r\n"
        b"Authorization: OAuth " + TOKEN.encode() + b"\r\nCookie: sid=abc; c_user=1\r\n"
        b"X-Api-Key: k123\r\nUser-Agent: hp\r\n\r\n"
    )
    result = redact_request(block, [TOKEN])
    assert TOKEN.encode() not in result.data
    assert b"Authorization: OAuth REDACTED" in result.data
    assert b"Cookie: REDACTED" in result.data
    assert b"X-Api-Key: REDACTED" in result.data
    assert b"User-Agent: hp" in result.data
    assert result.removed == ("header Authorization", "header Cookie", "header X-Api-Key")


def test_token_query_parameters_are_redacted_in_request_line_and_uri() -> None:
    block = (
        f"GET /v25.0/1/posts?access_token={TOKEN}&limit=100&key=AIzaXYZ HTTP/1.1\r\nHost: h\r\n\r\n".encode()
    )
    result = redact_request(block, [TOKEN])
    first_line = result.data.split(b"\r\n", 1)[0]
    assert first_line == b"GET /v25.0/1/posts?access_token=REDACTED&limit=100&key=REDACTED HTTP/1.1"
    assert "query parameter access_token" in result.note
    url, removed = redact_url(f"https://h/x?access_token={TOKEN}&after=QVFI", [TOKEN])
    assert url == "https://h/x?access_token=REDACTED&after=QVFI"
    assert removed == ["query parameter access_token"]


def test_secret_anywhere_else_in_the_request_is_removed() -> None:
    block = f"GET /x HTTP/1.1\r\nX-Custom: {TOKEN}\r\n\r\n".encode()
    result = redact_request(block, [TOKEN])
    assert TOKEN.encode() not in result.data
    assert "credential value" in result.removed


def test_url_userinfo_is_removed() -> None:
    url, removed = redact_url("https://user:pass@host.example/feed.xml")
    assert url == "https://host.example/feed.xml"
    assert removed == ["URL user-info"]


def test_nothing_to_redact_leaves_bytes_identical() -> None:
    block = b"GET /feed.xml HTTP/1.1\r\nHost: h\r\nAccept: */*\r\n\r\n"
    result = redact_request(block, [TOKEN])
    assert result.data == block
    assert result.removed == ()


def test_scrub_text() -> None:
    assert scrub_text(f"failed with {TOKEN}", [TOKEN]) == "failed with REDACTED"
