"""The Meta Graph API as the Facebook Pages and Instagram sources both read it.

Both platforms answer from ``graph.facebook.com``: versioned paths (``/v25.0/{node}/{edge}``),
listings as ``{"data": [...], "paging": {"next": ...}}``, one error object
(``{"error": {"code", "error_subcode", "is_transient", "message", ...}}``) and the
``X-Business-Use-Case-Usage`` header. What differs per platform — the error codes each documents,
what its messages tell the operator to do, how its tokens look — is passed in as data.
"""

from __future__ import annotations

import json
import re
from abc import abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import unquote, urlsplit

from hp_archive.errors import HPArchiveError
from hp_archive.settings import Secret
from hp_archive.sources.base import ArchivedResponse, Fetched, ParseResult, Source, Verdict
from hp_archive.sources.http import strip_query
from hp_archive.sources.support import (
    ItemsBuilder,
    as_dict,
    as_list,
    body_looks_json,
    is_media,
    json_body,
    read_json_object,
    redact_tokens,
    retry_after_seconds,
)
from hp_archive.sources.walking import url_origin

#: content types Graph answers JSON with (``text/javascript`` on older versions and JSONP paths)
JSON_TYPES = frozenset({"application/json", "text/javascript"})

_VERSION = re.compile(r"^v\d+\.\d+$")
_TOKEN_PARAM = re.compile(r"(access_token=)[^&\s\"']+", re.IGNORECASE)


def looks_json(response: ArchivedResponse) -> bool:
    """Whether a Graph response (or one from the CDN beside it) holds JSON."""
    return response.message.content_type in JSON_TYPES or body_looks_json(response)


def path_segments(url: str) -> list[str]:
    """The Graph path of a URL without the version prefix: ``['123_456', 'comments']``."""
    segments = [unquote(s) for s in urlsplit(url).path.split("/") if s]
    for index, segment in enumerate(segments):
        if _VERSION.match(segment):
            return segments[index + 1 :]
    return segments


def edge_data(value: Any) -> list[Any]:
    """The ``data`` list of an expanded edge (``attachments{...}``, ``children{...}``), else []."""
    return as_list(as_dict(value).get("data"))


def graph_error(response: ArchivedResponse) -> dict[str, Any] | None:
    """The error object of a Graph answer, or None when it has none."""
    payload = json_body(response) if looks_json(response) else None
    error = payload.get("error") if isinstance(payload, dict) else None
    return error if isinstance(error, dict) else None


def graph_payload(response: ArchivedResponse) -> tuple[dict[str, Any], ParseResult | None]:
    """(the JSON object of a Graph answer, None), or (``{}``, the parse result to return instead).

    Media files, error pages and Graph error objects hold no items (an empty result: the file's
    item comes from the object that shows it, and classify reported the error); a body that
    cannot be read is a failed parse.
    """
    if is_media(response):
        return {}, ParseResult()
    if not 200 <= response.status < 300 and not looks_json(response):
        return {}, ParseResult()  # an error page (CDN refusal, proxy error)
    payload, failed = read_json_object(response)
    if failed is not None:
        return payload, failed
    if isinstance(payload.get("error"), dict):
        return payload, ParseResult()
    return payload, None


def next_page_url(
    fetched: Fetched, *, origin: str, seen: set[str], page: int
) -> tuple[str | None, str | None]:
    """The ``paging.next`` URL to fetch after page number ``page``.

    Returns (URL, None) to go on, (None, None) at the end of the listing, or (None, why the walk
    must stop and its listing is incomplete). Only URLs on ``origin`` are followed: the
    Authorization header goes with every request, so a URL elsewhere would hand it the token.
    """
    try:
        body = fetched.json()
    except (ValueError, HPArchiveError):
        return None, f"page {page} is not readable JSON, so it has no paging.next"
    paging = body.get("paging") if isinstance(body, dict) else None
    following = paging.get("next") if isinstance(paging, dict) else None
    if following is None:
        return None, None
    if not isinstance(following, str) or not following:
        return None, f"page {page} has a paging.next that is not a URL"
    if url_origin(following) != origin:
        return None, f"page {page}: paging.next points at {url_origin(following)}, not {origin}; not followed"
    if following in seen:
        return None, f"page {page}: paging.next repeats an earlier page"
    return following, None


def regain_seconds(response: ArchivedResponse) -> float | None:
    """Seconds until access returns, from X-Business-Use-Case-Usage (given in minutes)."""
    try:
        usage = json.loads(response.header("X-Business-Use-Case-Usage") or "null")
    except ValueError:
        return None
    minutes = [
        entry["estimated_time_to_regain_access"]
        for entries in (usage.values() if isinstance(usage, dict) else ())
        if isinstance(entries, list)
        for entry in entries
        if isinstance(entry, dict) and isinstance(entry.get("estimated_time_to_regain_access"), int | float)
    ]
    longest = max(minutes, default=0)
    return float(longest) * 60 if longest > 0 else None


def as_int(value: Any) -> int | None:
    """An error code as Graph writes it (a number, or digits in a string)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def scrub(text: str, token_like: re.Pattern[str]) -> str:
    """``text`` on one line without tokens: ``access_token=`` values and whatever ``token_like``
    matches, before it reaches logs or reports."""
    return redact_tokens(_TOKEN_PARAM.sub(r"\1REDACTED", text), token_like)


@dataclass(frozen=True)
class GraphErrorCodes:
    """One platform's documented Graph error codes, and what its messages tell the operator."""

    platform: str  # as in "rate limited by Facebook"
    auth: frozenset[int]
    auth_subcodes: frozenset[int]
    throttle: frozenset[int]
    transient: frozenset[int]
    token_like: re.Pattern[str]
    auth_fix: str  # what an authentication error tells the operator to do
    permission_fix: str  # what a missing-permission error tells the operator to do

    def classify(self, response: ArchivedResponse, error: dict[str, Any]) -> Verdict:
        """The verdict on a response carrying the Graph error object ``error``."""
        status = response.status
        code = as_int(error.get("code"))
        subcode = as_int(error.get("error_subcode"))
        label = f"Graph API error {code}" + (f"/{subcode}" if subcode is not None else "")
        message = scrub(str(error.get("message") or "no message"), self.token_like)
        # No account or page names here: the context prefixes its own, and a name must not be
        # able to change how a message is read (the context looks for "rate" in it).
        if code in self.auth or subcode in self.auth_subcodes:
            return Verdict("auth", f"{label}: {message} — {self.auth_fix}")
        if code in self.throttle:
            retry_after = regain_seconds(response)
            if retry_after is None:
                retry_after = retry_after_seconds(response)
            return Verdict(
                "rate-limited", f"rate limited by {self.platform}, {label}: {message}", retry_after
            )
        if error.get("is_transient") is True or code in self.transient or status >= 500:
            return Verdict("retry", f"transient {label}: {message}", retry_after_seconds(response))
        if code == 100 and subcode == 33:
            return Verdict(
                "error",
                f"{label}: object does not exist or is not visible (deleted, or the token cannot "
                f"see it): {strip_query(response.url)}",
            )
        if code == 10 or (code is not None and 200 <= code <= 299):
            return Verdict("auth", f"{label}: permission missing: {message} — {self.permission_fix}")
        return Verdict("error", f"{label}: {message}")


class GraphSource(Source):
    """A platform read through the Graph API with a token in the Authorization header."""

    default_base_url: ClassVar[str] = "https://graph.facebook.com/v25.0"
    #: the error codes the platform documents, and what its messages tell the operator
    error_codes: ClassVar[GraphErrorCodes]

    #: a walk that reaches this many pages stops and marks its listing incomplete
    max_pages: ClassVar[int] = 10_000

    def auth_headers(self, token: Secret | None) -> dict[str, str]:
        """``Authorization: OAuth <token>``, never an ``access_token`` query parameter.

        Graph copies a query-parameter token into every ``paging.next`` URL of the response
        body. Response records are evidence and are stored unmodified, so the token would sit
        in the archive for as long as the records are kept, and go out in every e-discovery
        production. A header stays in the request record, where it is redacted. ``OAuth`` is
        the scheme Meta documents for header authentication.
        """
        if token is None:
            return {}
        return {"Authorization": f"OAuth {token.reveal()}"}

    def classify(self, response: ArchivedResponse) -> Verdict:
        error = graph_error(response)
        if error is None:
            return self._classify_plain(response)
        return self.error_codes.classify(response, error)

    @abstractmethod
    def _classify_plain(self, response: ArchivedResponse) -> Verdict:
        """A response without a Graph error object (a Graph success, or the platform's CDN)."""


class GraphItemsBuilder(ItemsBuilder):
    """An :class:`ItemsBuilder` that reads Graph listings."""

    def listing(self, payload: dict[str, Any], what: str, add: Callable[[Any, str], None]) -> None:
        """Add every entry of a listing's ``data`` (``add(raw, where)``)."""
        data = payload.get("data")
        if not isinstance(data, list):
            self.unparsed.append(f"{what} listing has no 'data' list")
            return
        for index, raw in enumerate(data):
            add(raw, f"data[{index}]")
