"""The Meta Graph API as the Facebook and Instagram simulators both serve it.

Both answer on ``/vNN.0`` paths (unversioned too), take ``fields`` with Graph's expansion syntax
(``from{id,name}``, ``comments.summary(true).limit(0)``), page with ``after``/``before`` cursors and
a ``paging`` object, fail with Graph error objects (HTTP 400 and a ``WWW-Authenticate`` header), and
sign their CDN URLs with an ``oh``/``oe`` query that changes every night and expires. What each
platform's nodes hold, and how it words its usage headers, stays in its own module.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import re
from abc import abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, NoReturn
from urllib.parse import unquote, urlencode

from hp_archive.sources.simulators.base import SimRequest, SimResponse, SimulatorApp
from hp_archive.sources.simulators.scenario import Scenario

DEFAULT_VERSION = "v25.0"
DEFAULT_LIMIT = 25
# fbcdn URL lifetime is NOT FOUND in Meta's docs; recorded `oe` values sit a few days after the
# fetch, so signed URLs here expire three days after the night they were issued.
CDN_URL_LIFETIME = timedelta(days=3)
TEXT_PLAIN = (("Content-Type", "text/plain"),)

_VERSION = re.compile(r"^v\d+\.\d+$")
_FIELD_NAME = re.compile(r"[A-Za-z0-9_]+")


class GraphError(Exception):
    """A Graph API error object, raised while answering a request."""

    def __init__(
        self,
        code: int,
        message: str,
        *,
        subcode: int | None = None,
        type_: str = "OAuthException",
        transient: bool | None = None,
        oauth_error: str = "invalid_request",
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.subcode = subcode
        self.type = type_
        self.transient = transient
        self.oauth_error = oauth_error

    def body(self, request: SimRequest) -> dict[str, Any]:
        """The ``{"error": {...}}`` answer, its keys in Graph's order."""
        error: dict[str, Any] = {"message": self.message, "type": self.type}
        if self.transient is not None:
            error["is_transient"] = self.transient
        error["code"] = self.code
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        error["fbtrace_id"] = trace_id(request)
        return {"error": error}

    def www_authenticate(self) -> tuple[str, str]:
        return ("WWW-Authenticate", f'OAuth "Facebook Platform" "{self.oauth_error}" "{self.message}"')


def expired_token(now: datetime) -> GraphError:
    """190/463, as Graph answers a token whose session has expired."""
    # Meta words this in Pacific time; the simulator says UTC to stay free of tz data.
    message = (
        "Error validating access token: Session has expired on "
        f"{session_time(now - timedelta(hours=1))}. The current time is {session_time(now)}."
    )
    return GraphError(190, message, subcode=463, oauth_error="invalid_token")


def missing_object(node_id: str) -> GraphError:
    """100/33: no such object, or not visible to the token."""
    return GraphError(
        100,
        f"Unsupported get request. Object with ID '{node_id}' does not exist, cannot be loaded due to "
        "missing permissions, or does not support this operation. Please read the Graph API "
        "documentation at https://developers.facebook.com/docs/graph-api",
        subcode=33,
        type_="GraphMethodException",
    )


def no_field(name: str, type_name: str) -> GraphError:
    """100: a field or edge the node type does not have."""
    return GraphError(100, f"(#100) Tried accessing nonexisting field ({name}) on node type ({type_name})")


class GraphSimulator(SimulatorApp):
    """What a Graph API simulator answers the way every Graph platform does.

    Expired tokens (190/463), server errors (code 2, transient) and business-use-case throttling
    (HTTP 400 and the wait in ``X-Business-Use-Case-Usage``). A subclass says how its error
    responses look (:meth:`_error`) and how it names its accounts in the throttling message and
    the usage header (the class attributes).
    """

    #: the code of "too many calls to this account" and how the message names the account
    throttle_code: ClassVar[int]
    throttle_account: ClassVar[str]
    #: the ``type`` of the account's entry in X-Business-Use-Case-Usage
    usage_type: ClassVar[str]

    def __init__(
        self, scenario: Scenario, *, valid_tokens: Iterable[str], default_version: str = DEFAULT_VERSION
    ) -> None:
        super().__init__()
        self.scenario = scenario
        self.valid_tokens = set(valid_tokens)
        self.default_version = default_version

    @abstractmethod
    def _error(
        self,
        request: SimRequest,
        version: str,
        error: GraphError,
        *,
        status: int = 400,
        usage: tuple[str, str] | None = None,
    ) -> SimResponse:
        """The response carrying ``error`` (plus the ``usage`` header, if given)."""

    def auth_error(self, request: SimRequest) -> SimResponse:
        return self._error(request, self._version_of(request), expired_token(self.scenario.now()))

    def rate_limit_error(self, request: SimRequest, retry_after: int) -> SimResponse:
        """Business-use-case throttling: HTTP 400, the platform's code, the wait in the usage header.

        Meta sends no Retry-After (NOT FOUND in the docs); the wait is the usage header's
        ``estimated_time_to_regain_access``, in whole minutes.
        """
        minutes = max(1, math.ceil(retry_after / 60))
        error = GraphError(
            self.throttle_code,
            f"(#{self.throttle_code}) There have been too many calls to this {self.throttle_account} "
            "account. Wait a bit and try again. For more info, please refer to "
            "https://developers.facebook.com/docs/graph-api/overview/rate-limiting.",
        )
        usage = ("X-Business-Use-Case-Usage", self._buc_usage(100, minutes))
        return self._error(request, self._version_of(request), error, usage=usage)

    def server_error(self, request: SimRequest, status: int) -> SimResponse:
        error = GraphError(
            2, "An unexpected error has occurred. Please retry your request later.", transient=True
        )
        return self._error(request, self._version_of(request), error, status=status)

    def _version_of(self, request: SimRequest) -> str:
        first = next((s for s in request.path.split("/") if s), "")
        return first if _VERSION.match(first) else self.default_version

    def _buc_usage(self, percent: int, regain_minutes: int) -> str:
        # Constant figures keep headers deterministic; only throttling reports 100 %.
        entry = {
            "type": self.usage_type,
            "call_count": percent,
            "total_cputime": max(1, percent // 4),
            "total_time": max(1, percent // 3),
            "estimated_time_to_regain_access": regain_minutes,
        }
        return compact_json({self.scenario.account.id: [entry]})


# -- requests -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class GraphCall:
    """What one request established: its version, and the token and how it travelled."""

    request: SimRequest
    version: str
    prefix: str  # "/v25.0", or "" for an unversioned request
    token: str
    token_in_query: bool

    @property
    def host(self) -> str:
        return self.request.host


def split_version(path: str, default_version: str) -> tuple[str, str, list[str]]:
    """(API version, path prefix naming it or "", the node path's segments) of a request path."""
    segments = [unquote(s) for s in path.split("/") if s]
    version, prefix = default_version, ""
    if segments and _VERSION.match(segments[0]):
        version = segments.pop(0)
        prefix = "/" + version
    return version, prefix, segments


def request_token(request: SimRequest) -> str | None:
    """The access token: the Authorization header's, else the ``access_token`` parameter."""
    return request.bearer_token or request.query.get("access_token") or None


def check_node_path(segments: list[str]) -> None:
    """Graph serves ``/{node}`` and ``/{node}/{edge}``; anything else is error 2500."""
    if not segments or len(segments) > 2:
        extra = "/".join(segments[1:])
        raise GraphError(2500, f"Unknown path components: /{extra}" if extra else "Unsupported get request.")


def parse_limit(value: str | None, maximum: int | None) -> int:
    """A ``limit`` parameter (the default when absent); error 100 when not a number or over ``maximum``."""
    if value is None or value == "":
        return DEFAULT_LIMIT
    if not value.isdigit():
        raise GraphError(100, f"(#100) Param limit must be a non-negative integer, got '{value}'")
    limit = int(value)
    if maximum is not None and limit > maximum:
        # The notes say only that a larger value "returns an error"; the wording is ours.
        raise GraphError(100, f"(#100) The limit parameter cannot exceed {maximum}")
    return limit


def time_param(params: Mapping[str, str], name: str) -> float | None:
    """A ``since``/``until`` value: Unix seconds or an ISO-8601 (strtotime-like) string."""
    value = params.get(name, "").strip()
    if not value:
        return None
    if re.fullmatch(r"-?\d+(\.\d+)?", value):
        return float(value)
    try:
        parsed = datetime.fromisoformat(value.replace(" ", "T", 1))
    except ValueError:
        raise GraphError(
            100, f"(#100) The parameter {name} must be a unix timestamp or a strtotime string"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


# -- fields -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldSpec:
    """One entry of a ``fields`` parameter: ``name.modifier(arg){children}``."""

    name: str
    modifiers: tuple[tuple[str, str], ...] = ()
    children: tuple[FieldSpec, ...] | None = None

    def modifier(self, name: str) -> str | None:
        return next((value for key, value in self.modifiers if key == name), None)


def parse_fields(text: str) -> tuple[FieldSpec, ...] | None:
    """Parse a ``fields`` value; None for an empty one (the node's default fields)."""
    if not text.strip():
        return None
    return _FieldParser(text).parse()


def format_fields(specs: Iterable[FieldSpec]) -> str:
    """The inverse of :func:`parse_fields` (used to carry nested fields into paging URLs)."""
    parts = []
    for spec in specs:
        text = spec.name + "".join(f".{k}({v})" for k, v in spec.modifiers)
        if spec.children is not None:
            text += "{" + format_fields(spec.children) + "}"
        parts.append(text)
    return ",".join(parts)


def edge_params(spec: FieldSpec) -> dict[str, str]:
    """The query a nested edge's modifiers amount to (``replies.limit(5){text}``), for its paging."""
    params = {key: value for key, value in spec.modifiers if key != "as"}
    if spec.children is not None:
        params["fields"] = format_fields(spec.children)
    return params


class _FieldParser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def parse(self) -> tuple[FieldSpec, ...]:
        specs = self._list()
        if self._peek() != "":
            self._fail("end of string")
        return specs

    def _list(self) -> tuple[FieldSpec, ...]:
        specs = [self._field()]
        while self._peek() == ",":
            self.pos += 1
            specs.append(self._field())
        return tuple(specs)

    def _field(self) -> FieldSpec:
        name = self._name()
        modifiers = []
        while self._peek() == ".":
            self.pos += 1
            modifier = self._name()
            if self._peek() != "(":
                self._fail('"("')
            end = self.text.find(")", self.pos)
            if end < 0:
                self._fail('")"')
            modifiers.append((modifier, self.text[self.pos + 1 : end].strip()))
            self.pos = end + 1
        children = None
        if self._peek() == "{":
            self.pos += 1
            children = self._list()
            if self._peek() != "}":
                self._fail('"}"')
            self.pos += 1
        return FieldSpec(name, tuple(modifiers), children)

    def _name(self) -> str:
        self._peek()
        match = _FIELD_NAME.match(self.text, self.pos)
        if match is None:
            self._fail("a field name")
        self.pos = match.end()
        return match.group()

    def _peek(self) -> str:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def _fail(self, expected: str) -> NoReturn:
        found = self.text[self.pos] if self.pos < len(self.text) else "end of string"
        raise GraphError(
            2500,
            f'Syntax error "Expected {expected} instead of "{found}"." at character {self.pos}: {self.text}',
        )


@dataclass(frozen=True)
class GraphNode:
    """A Graph node: its field values, projected by the requested (or default) fields."""

    kind: str
    values: Mapping[str, Any]


@dataclass(frozen=True)
class GraphEdge:
    """A nested edge rendered on demand from its field spec (``comments.summary(true)``)."""

    render: Callable[[FieldSpec], Any]


# -- paging -------------------------------------------------------------------------------------

#: a listing's entries: (sort key, node), sorted by key; a cursor encodes the key of its entry
Entries = list[tuple[tuple[int, str], GraphNode]]


def cursor_page(
    entries: Entries,
    params: Mapping[str, str],
    limit: int,
    *,
    render: Callable[[GraphNode], Any],
    link: Callable[[str, str], str],
) -> dict[str, Any]:
    """One cursor page of ``entries`` with Graph's ``paging`` object.

    ``render`` projects a node; ``link(direction, cursor)`` is the URL of the page ``before`` or
    ``after`` a cursor. A cursor encodes the sort key of its item, not the item, so paging
    survives a deletion mid-walk; the notes warn that real cursors may not, and the sources never
    store them.
    """
    keys = [key for key, _ in entries]
    after, before = params.get("after"), params.get("before")
    if after:
        cursor = _decode_cursor(after)
        start = next((i for i, key in enumerate(keys) if key > cursor), len(keys))
        stop = start + limit
    elif before:
        cursor = _decode_cursor(before)
        stop = next((i for i, key in enumerate(keys) if key >= cursor), len(keys))
        start = max(0, stop - limit)
    else:
        start, stop = 0, limit
    window = entries[start:stop]
    out: dict[str, Any] = {"data": [render(node) for _, node in window]}
    if window:
        first, last = _encode_cursor(window[0][0]), _encode_cursor(window[-1][0])
        paging: dict[str, Any] = {"cursors": {"before": first, "after": last}}
        if start > 0:
            paging["previous"] = link("before", first)
        if start + len(window) < len(entries):
            paging["next"] = link("after", last)
        out["paging"] = paging
    return out


def _encode_cursor(key: tuple[int, str]) -> str:
    return base64.urlsafe_b64encode(compact_json(list(key)).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[int, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        sort_time, item_id = json.loads(raw)
        if not isinstance(sort_time, int) or not isinstance(item_id, str):
            raise ValueError(cursor)
    except (ValueError, TypeError, binascii.Error):
        raise GraphError(100, "(#100) The cursor specified is not valid") from None
    return sort_time, item_id


# -- the CDN ------------------------------------------------------------------------------------


def cdn_signature(*parts: object) -> str:
    """The ``oh`` of a signed CDN URL: a digest of what it signs (seed, file, night, ...)."""
    return "00_" + hashlib.sha256(":".join(str(p) for p in parts).encode()).hexdigest()[:40]


def cdn_expiry(scenario: Scenario, night: int) -> str:
    """The ``oe`` of a CDN URL signed on ``night``: its expiry in Unix seconds, hexadecimal."""
    issued = scenario.epoch + timedelta(days=night)
    return format(int((issued + CDN_URL_LIFETIME).timestamp()), "X")


def cdn_refusal(
    query: Mapping[str, str], scenario: Scenario, signature: Callable[[int], str]
) -> SimResponse | None:
    """None when ``oh``/``oe`` were signed (``signature(night)``) on a night so far and have not
    expired; else the CDN's 403."""
    now = int(scenario.now().timestamp())
    for night in range(scenario.night, -1, -1):
        expiry = cdn_expiry(scenario, night)
        if query.get("oh") == signature(night) and query.get("oe") == expiry:
            if int(expiry, 16) <= now:
                return SimResponse(403, b"URL signature expired", list(TEXT_PLAIN))
            return None
    return SimResponse(403, b"Bad URL hash", list(TEXT_PLAIN))


# -- responses ----------------------------------------------------------------------------------


def etag(body: bytes) -> str:
    return '"' + hashlib.sha1(body).hexdigest() + '"'  # noqa: S324 - an ETag, not security


def graph_time(value: datetime) -> str:
    """Graph's time format: ``2026-11-01T08:00:00+0000`` (UTC, offset without a colon)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def session_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%A, %d-%b-%y %H:%M:%S UTC")


def compact_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def trace_id(request: SimRequest) -> str:
    """An ``fbtrace_id``: a function of the request, so the same request gets the same bytes."""
    seed = request.path + "?" + urlencode(sorted(request.query.items()))
    return base64.b64encode(hashlib.sha256(seed.encode()).digest()[:8]).decode().rstrip("=")
