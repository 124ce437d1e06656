"""The source interface: what one platform module provides.

A source does two separate things:

* **capture** — walks the platform's API through a :class:`CaptureContext`, which performs each
  request, archives every exchange (request + response or revisit) in the WARC spool, retries as
  the source's :meth:`Source.classify` says, and records which listings completed;
* **parse** — a pure class method turning one archived response (URL + bytes) into items. The
  index calls it on stored WARC records, at capture time and again on ``reindex``, so derived
  data always comes from the evidence, never from what the capture code happened to keep.

Adding a platform is one module with a :class:`Source` subclass (plus its simulator); nothing
else in the package branches on the platform.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar, Protocol

from hp_archive.settings import Account, Secret
from hp_archive.warc.http import HttpMessage

KIND_POST = "post"
KIND_COMMENT = "comment"
KIND_REPLY = "reply"
KIND_MEDIA = "media"
KIND_PAGE = "page"


@dataclass(frozen=True)
class ArchivedResponse:
    """A response as archived: the URL requested, the WARC-Date, and the HTTP message."""

    url: str
    date: datetime
    message: HttpMessage
    record_id: str = ""

    @property
    def status(self) -> int:
        return self.message.status

    def header(self, name: str) -> str | None:
        return self.message.header(name)

    def body(self) -> bytes:
        return self.message.body()

    def json(self) -> Any:
        """The body as JSON; raises ValueError (malformed JSON or invalid UTF-8)."""
        return json.loads(self.body().decode("utf-8"))


@dataclass(frozen=True)
class ParsedItem:
    """One post, comment, reply, media item or page, as parsed from a response.

    ``content`` is what defines a version: its digest changing means the item was edited. Fields
    that change without an edit (like counts) go in ``extra`` and never create versions.
    ``hidden`` is None when the response does not say.
    """

    native_id: str
    kind: str
    text: str
    content: Mapping[str, Any]
    parent_native_id: str | None = None
    root_native_id: str | None = None
    author_id: str | None = None
    author_name: str | None = None
    author_is_agency: bool = False
    created_at: datetime | None = None
    edited_at: datetime | None = None
    hidden: bool | None = None
    url: str | None = None
    media_url: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def content_digest(self) -> str:
        """SHA-256 (hex) of the canonical JSON of ``content``."""
        canonical = json.dumps(self.content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ParseResult:
    """Items parsed from one response, and why anything in it could not be parsed."""

    items: tuple[ParsedItem, ...] = ()
    unparsed: tuple[str, ...] = ()

    @classmethod
    def failed(cls, reason: str) -> ParseResult:
        return cls(items=(), unparsed=(reason,))


@dataclass(frozen=True)
class Verdict:
    """What the capture context should do with a response (see :meth:`Source.classify`)."""

    #: "ok"; "retry" (transient: back off and try again); "rate-limited" (wait retry_after, then
    #: try again; when attempts or the wait budget run out the account stops with a partial
    #: capture); "auth" (stop the account); "error" (this request failed: the listing is incomplete)
    action: str
    message: str = ""
    retry_after: float | None = None

    @classmethod
    def ok(cls) -> Verdict:
        return cls("ok")


class Listing(AbstractContextManager["Listing"]):
    """A paged listing the source walks (a page's posts, a post's comments).

    Used as a context manager: leaving the block normally marks it complete; a
    :class:`~hp_archive.errors.PlatformError` or transport failure marks it incomplete, is
    recorded as a failure, and is suppressed so the capture goes on. Authentication and
    rate-limit errors mark it incomplete and propagate (they stop the account). Only complete
    listings can ever report an item as deleted.
    """

    scope: str
    kind: str

    @abstractmethod
    def add_page(self, fetched: Fetched) -> None:
        """Attribute one archived response page to this listing."""

    @abstractmethod
    def incomplete(self, reason: str) -> None:
        """Mark the listing incomplete although no exception was raised (e.g. a page cap)."""

    def not_modified(self) -> None:
        """The platform answered "unchanged" (HTTP 304): nothing in it is judged deleted, and
        the listing does not count against completeness."""
        self.incomplete("not modified since the last capture")

    def skipped(self, reason: str) -> None:
        """The platform answered that there is nothing to list (e.g. comments turned off):
        like :meth:`not_modified`, nothing is judged deleted and completeness is not affected,
        and the report says why."""
        self.not_modified()
        del reason

    def expect(self, count: int) -> None:
        """Record how many items the platform says the listing holds (e.g. a total_count)."""
        del count


@dataclass(frozen=True)
class Fetched:
    """The result of :meth:`CaptureContext.fetch`: the archived response and its parse."""

    response: ArchivedResponse
    parsed: ParseResult
    record_id: str
    revisit: bool = False

    def json(self) -> Any:
        return self.response.json()


class CaptureContext(Protocol):
    """What a source may use while capturing; implemented by :mod:`hp_archive.capture`."""

    account: Account
    as_of: datetime
    state: Mapping[str, Any]

    @property
    def token(self) -> Secret | None: ...

    @property
    def lookback(self) -> timedelta: ...

    def fetch(
        self,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        kind: str,
        listing: Listing | None = None,
    ) -> Fetched:
        """GET and archive; ``kind`` (post/comment/…) picks the record series of the file.

        Retries as :meth:`Source.classify` says; raises AuthenticationError, RateLimitedError,
        PlatformError (error object), or TransportError. The exchange is archived in every case.
        """
        ...

    def listing(
        self,
        scope: str,
        *,
        kind: str,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> Listing:
        """Open a listing; ``since``/``until`` bound the item creation times it covers."""
        ...

    def media_known(self, media_key: str) -> bool:
        """True if the media item with this stable key is already archived for the account."""
        ...

    def download_media(self, url: str, *, media_key: str, kind: str = KIND_MEDIA) -> Fetched | None:
        """Download a media file once (skipped when ``media_key`` is known; revisit if unchanged)."""
        ...

    def set_state(self, key: str, value: Any) -> None:
        """Remember a cursor for the next run (written into the run's metadata record)."""
        ...

    def note_failure(self, what: str, reason: str) -> None:
        """Record a failure in the capture report without stopping."""
        ...


class Source(ABC):
    """One platform. Subclasses set the class attributes and implement capture and parse."""

    platform: ClassVar[str]
    title: ClassVar[str]
    api: ClassVar[str]
    default_base_url: ClassVar[str]
    needs_token: ClassVar[bool] = True

    def __init__(self, account: Account) -> None:
        self.account = account

    @property
    def base_url(self) -> str:
        return self.account.base_url or self.default_base_url

    def auth_headers(self, token: Secret | None) -> dict[str, str]:
        """Headers carrying the credential; the WARC request record gets them redacted."""
        if token is None:
            return {}
        return {"Authorization": f"Bearer {token.reveal()}"}

    @abstractmethod
    def capture(self, ctx: CaptureContext) -> None:
        """Walk the platform for ``ctx.account`` and archive everything through ``ctx``."""

    @classmethod
    @abstractmethod
    def parse(cls, response: ArchivedResponse) -> ParseResult:
        """Items in one archived response. Pure: no I/O, no clock; never raises on bad data."""

    def classify(self, response: ArchivedResponse) -> Verdict:
        """Decide ok / retry / auth / rate-limited / error for a response (override per platform)."""
        status = response.status
        if 200 <= status < 300 or status == 304:
            return Verdict.ok()
        retry_after = parse_retry_after(response.header("Retry-After"), response.date)
        if status == 429:
            return Verdict("rate-limited", "rate limited (HTTP 429)", retry_after)
        if status in (401, 403):
            return Verdict("auth", f"HTTP {status}")
        if status >= 500:
            return Verdict("retry", f"server error HTTP {status}", retry_after)
        return Verdict("error", f"HTTP {status}")

    @classmethod
    def recognizes(cls, url: str) -> bool:
        """Whether ``url`` is one of this platform's API responses that :meth:`parse` reads.

        Used for WARCs written by other tools (``hp-archive import``): a recognized response is
        parsed into this platform's items. The default recognizes nothing.
        """
        del url
        return False

    @classmethod
    def describe(cls) -> dict[str, Any]:
        """The entry ``hp-archive sources`` prints."""
        return {
            "platform": cls.platform,
            "title": cls.title,
            "api": cls.api,
            "default_base_url": cls.default_base_url,
            "needs_token": cls.needs_token,
        }


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - now).total_seconds())


def text_of(parts: Sequence[str | None]) -> str:
    """Join non-empty text parts with blank lines (message, description, alt text…)."""
    return "\n\n".join(p.strip() for p in parts if p and p.strip())
