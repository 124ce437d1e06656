"""WebPageSource.classify: what the capture does with each answer of the department's site."""

from __future__ import annotations

import pytest

from hp_archive.errors import PlatformError
from hp_archive.settings import Account
from hp_archive.sources.web import WebPageSource
from tests.unit.sources.conftest import MakeResponse

URL = "https://www.hanoverparkillinois.org/police/news/?page=2"


@pytest.fixture
def source() -> WebPageSource:
    return WebPageSource(
        Account(id="hppd-web", platform="web", handle="https://www.hanoverparkillinois.org/police/")
    )


@pytest.mark.parametrize("status", [200, 301, 302, 304, 307, 308, 404, 410])
def test_pages_redirects_and_removals_are_evidence(
    source: WebPageSource, make_response: MakeResponse, status: int
) -> None:
    response = make_response(URL, b"<html><title>x</title></html>", status=status, content_type="text/html")
    assert source.classify(response).action == "ok"


def test_a_page_that_does_not_decode_is_fetched_again(
    source: WebPageSource, make_response: MakeResponse
) -> None:
    response = make_response(
        URL, b"<html><title>\xff\xfe</title></html>", content_type="text/html; charset=utf-8"
    )
    verdict = source.classify(response)
    assert (verdict.action, verdict.message) == (
        "retry",
        "https://www.hanoverparkillinois.org/police/news/: body is not valid utf-8 (byte 13)",
    )


def test_waits_follow_retry_after(source: WebPageSource, make_response: MakeResponse) -> None:
    limited = source.classify(make_response(URL, b"", status=429, headers=[("Retry-After", "30")]))
    assert (limited.action, limited.retry_after) == ("rate-limited", 30.0)
    assert source.classify(make_response(URL, b"", status=502)).action == "retry"


@pytest.mark.parametrize("status", [401, 403, 451])
def test_refusals_are_errors_not_token_problems(
    source: WebPageSource, make_response: MakeResponse, status: int
) -> None:
    verdict = source.classify(make_response(URL, b"Forbidden", status=status, content_type="text/plain"))
    assert (verdict.action, verdict.message) == (
        "error",
        f"HTTP {status} at https://www.hanoverparkillinois.org/police/news/",
    )


def test_the_start_page_is_the_handle_or_a_path_on_the_base_url() -> None:
    assert (
        WebPageSource(Account(id="a", platform="web", handle="https://Example.org")).start_url
        == "https://example.org/"
    )
    on_base = Account(id="b", platform="web", handle="police/", base_url="https://example.org/village")
    assert WebPageSource(on_base).start_url == "https://example.org/village/police/"
    with pytest.raises(PlatformError, match="put the page's URL in the account's handle"):
        _ = WebPageSource(Account(id="c", platform="web", handle="police")).start_url
    assert WebPageSource.needs_token is False
