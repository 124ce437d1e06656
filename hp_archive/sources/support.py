"""What the platform modules share to read an archived response: its JSON into items, its
status into a verdict.

Everything here is platform-neutral. A platform's own rules (which content types it calls JSON,
which error codes mean what, how it writes times) stay in its module and are passed in as data
where a helper needs them.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from hp_archive.errors import HPArchiveError
from hp_archive.sources.base import (
    KIND_COMMENT,
    KIND_REPLY,
    ArchivedResponse,
    ParsedItem,
    ParseResult,
    Verdict,
    parse_retry_after,
)
from hp_archive.sources.http import strip_query

_MEDIA_TYPES = ("image/", "video/", "audio/")

# -- the archived response ----------------------------------------------------------------------


def is_media(response: ArchivedResponse) -> bool:
    """Whether the response is an image, video or audio file (its item comes from what shows it)."""
    return response.message.content_type.startswith(_MEDIA_TYPES)


def body_looks_json(response: ArchivedResponse) -> bool:
    """Whether a body the Content-Type does not call JSON holds JSON all the same: it is no media
    file or HTML page and starts with ``{`` or ``[``. False when the body cannot be read."""
    if response.message.content_type.startswith((*_MEDIA_TYPES, "text/html")):
        return False
    try:
        return response.body().lstrip()[:1] in (b"{", b"[")
    except HPArchiveError:
        return False


def json_body(response: ArchivedResponse) -> Any:
    """The body as JSON, or None when it is not readable JSON (malformed, invalid UTF-8, cut)."""
    try:
        return response.json()
    except (ValueError, HPArchiveError):
        return None


def unreadable_json(response: ArchivedResponse) -> str | None:
    """Why the body cannot be read as JSON, on one line; None when it can."""
    try:
        response.json()
    except (ValueError, HPArchiveError) as exc:
        return one_line(exc)
    return None


def read_json(response: ArchivedResponse) -> tuple[Any, ParseResult | None]:
    """(the body as JSON, None), or (None, the failed parse saying why it cannot be read)."""
    try:
        return response.json(), None
    except UnicodeDecodeError as exc:
        return None, ParseResult.failed(f"body is not valid UTF-8 (byte {exc.start})")
    except json.JSONDecodeError as exc:
        return None, ParseResult.failed(f"malformed JSON at line {exc.lineno} column {exc.colno}")
    except (ValueError, HPArchiveError) as exc:
        return None, ParseResult.failed(f"body cannot be read: {one_line(exc)}")


def read_json_object(response: ArchivedResponse) -> tuple[dict[str, Any], ParseResult | None]:
    """(the body's JSON object, None), or (``{}``, the failed parse saying why there is none)."""
    payload, failed = read_json(response)
    if failed is not None:
        return {}, failed
    if not isinstance(payload, dict):
        return {}, ParseResult.failed(f"unknown response shape: top level is {type_name(payload)}")
    return payload, None


def success_verdict(
    response: ArchivedResponse, looks_json: Callable[[ArchivedResponse], bool], api: str
) -> Verdict | None:
    """The verdict on a 2xx or 304 answer from ``api``: ok, or retry when its JSON is garbled;
    None for any other status.

    A cut or garbled listing page would end a walk early (no next page) and make a
    complete-looking listing report live items as deleted, so it is fetched again.
    """
    status = response.status
    if 200 <= status < 300:
        malformed = unreadable_json(response) if looks_json(response) else None
        if malformed is not None:
            return Verdict("retry", f"malformed JSON from {api}: {malformed}")
        return Verdict.ok()
    if status == 304:
        return Verdict.ok()
    return None


def retry_after_seconds(response: ArchivedResponse) -> float | None:
    """Seconds to wait from the response's Retry-After header (counted from its WARC-Date)."""
    return parse_retry_after(response.header("Retry-After"), response.date)


def wait_until_reset(response: ArchivedResponse, header: str) -> float | None:
    """Seconds from the response's date until the epoch-seconds time in ``header`` (a rate-limit
    reset), else the Retry-After wait."""
    reset = response.header(header)
    if reset and reset.strip().isdigit():
        return float(max(0, math.ceil(int(reset.strip()) - response.date.timestamp())))
    return retry_after_seconds(response)


def overload_verdict(response: ArchivedResponse) -> Verdict | None:
    """HTTP 429 (rate-limited) or 5xx (retry), each with the Retry-After wait; None otherwise."""
    status = response.status
    where = strip_query(response.url)
    if status == 429:
        return Verdict("rate-limited", f"rate limited (HTTP 429) at {where}", retry_after_seconds(response))
    if status >= 500:
        return Verdict("retry", f"HTTP {status} at {where}", retry_after_seconds(response))
    return None


# -- text ---------------------------------------------------------------------------------------


def one_line(exc: BaseException) -> str:
    """An exception's message on one line, at most 160 characters."""
    return " ".join(str(exc).split())[:160]


def redact_tokens(text: str, token_like: re.Pattern[str]) -> str:
    """``text`` on one line, with whatever ``token_like`` matches replaced by ``[token]``, before
    it reaches logs or reports."""
    return token_like.sub("[token]", " ".join(text.split()))


# -- JSON values --------------------------------------------------------------------------------


def as_dict(value: Any) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty one (missing and malformed alike)."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    """A copy of ``value`` if it is a JSON array, else an empty list."""
    return list(value) if isinstance(value, list) else []


def as_str(value: Any) -> str | None:
    """``value`` if it is a string, else None."""
    return value if isinstance(value, str) else None


def as_nonempty_str(value: Any) -> str | None:
    """``value`` if it is a string other than ``""``, else None."""
    return value if isinstance(value, str) and value else None


def as_text(value: Any) -> str | None:
    """A string as it is, or an integer as its digits (APIs give ids as either); else None."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def pick(raw: Mapping[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    """The entries of ``raw`` under ``keys`` that are present."""
    return {key: raw[key] for key in keys if key in raw}


def type_name(value: Any) -> str:
    """What a JSON value is, for a message: ``null``, ``dict``, ``list``, ``str``, ``int``…"""
    return "null" if value is None else type(value).__name__


# -- times --------------------------------------------------------------------------------------


def as_utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a naive one is taken to be in UTC already."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def parse_time(value: Any) -> datetime | None:
    """An ISO-8601 date or time string (``2026-11-01``, ``…T08:00:00.000Z``, ``…+0000``) in UTC,
    a naive one taken as UTC; None for anything else."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return as_utc(parsed)


def as_time(value: Any) -> datetime | None:
    """A datetime (in UTC) as it is, or an ISO-8601 string read by :func:`parse_time`."""
    if isinstance(value, datetime):
        return as_utc(value)
    return parse_time(value)


# -- building items -----------------------------------------------------------------------------


@dataclass
class ItemsBuilder:
    """Accumulates the items of one response and the reasons anything in it was left out."""

    items: list[ParsedItem] = field(default_factory=list)
    unparsed: list[str] = field(default_factory=list)

    def result(self) -> ParseResult:
        return ParseResult(items=tuple(self.items), unparsed=tuple(self.unparsed))

    def read_time(self, value: Any) -> datetime | None:
        """A time value as the platform writes it (ISO-8601 strings; override for others)."""
        return parse_time(value)

    def _text(self, raw: Mapping[str, Any], key: str, label: str) -> str | None:
        value = raw.get(key)
        if value is None or isinstance(value, str):
            return value
        self.unparsed.append(f"{label}: {key} is {type_name(value)}, not text; left out")
        return None

    def _time(self, raw: Mapping[str, Any], key: str, label: str) -> datetime | None:
        value = raw.get(key)
        if value is None:
            return None
        parsed = self.read_time(value)
        if parsed is None:
            self.unparsed.append(f"{label}: {key} {str(value)[:40]!r} is not a time; left out")
        return parsed


def drop_reply_cycles(items: list[ParsedItem], unparsed: list[str]) -> list[ParsedItem]:
    """Drop comments whose parent links, followed within this response, come back to them."""
    parent_of = {i.native_id: i.parent_native_id for i in items if i.kind in (KIND_COMMENT, KIND_REPLY)}
    cyclic: set[str] = set()
    for start in parent_of:
        chain = [start]
        current = parent_of.get(start)
        while current is not None and current in parent_of and current not in chain:
            chain.append(current)
            current = parent_of.get(current)
        if current is not None and current in chain:
            loop = chain[chain.index(current) :]
            if not cyclic.intersection(loop):
                unparsed.append("reply links form a cycle: " + " -> ".join([*loop, current]))
            cyclic.update(loop)
    return [i for i in items if i.native_id not in cyclic or i.kind not in (KIND_COMMENT, KIND_REPLY)]


def reply_loop(start: str, parents: Mapping[str, str | None]) -> list[str]:
    """The loop of reply links through ``start``, if following parents comes back to it."""
    path = [start]
    current = parents.get(start)
    while current is not None and len(path) <= len(parents):
        if current == start:
            return [*path, start]
        if current in path:
            return []  # a loop further up: reported for the posts on it, not this one
        path.append(current)
        current = parents.get(current)
    return []
