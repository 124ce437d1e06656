"""The capture context a source walks the platform through (implements ``CaptureContext``).

Every attempt is archived before it is judged: a 429, a 500 or an expired-token answer is
evidence of what the platform said, so it goes into the WARC like any other response. Retry
waits use the injected ``sleep`` and are bounded by a per-account budget; when it is spent the
account stops with :class:`RateLimitedError` and a partial-capture record.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from hp_archive.errors import (
    AuthenticationError,
    PlatformError,
    RateLimitedError,
    TransportError,
)
from hp_archive.settings import Account, Secret
from hp_archive.sources.base import (
    KIND_MEDIA,
    ArchivedResponse,
    Fetched,
    Listing,
    ParseResult,
    Source,
)
from hp_archive.sources.http import RecordingHTTPClient, strip_query, with_params
from hp_archive.warc.redaction import scrub_text
from hp_archive.warc.spool import SpoolWriter

Sleep = Callable[[float], None]

NON_PARSEABLE = ("image/", "video/", "audio/", "font/", "application/octet-stream")


def same_origin(url: str, base_url: str) -> bool:
    """Whether ``url`` is on the platform API's scheme, host and port (credentials go nowhere else)."""
    a, b = urlsplit(url), urlsplit(base_url)
    return (a.scheme, a.hostname, a.port) == (b.scheme, b.hostname, b.port)


def is_parseable(content_type: str) -> bool:
    """Whether a response's body can hold items (media downloads never do)."""
    return not content_type.lower().startswith(NON_PARSEABLE)


def parse_safely(source: type[Source], response: ArchivedResponse) -> ParseResult:
    """Run a source's parser; a parser bug becomes an 'unparsed' note, never a lost run."""
    if not is_parseable(response.message.content_type):
        return ParseResult()
    try:
        return source.parse(response)
    except Exception as exc:  # a parser must not raise; if it does, the bytes are still archived
        return ParseResult.failed(f"parser error {type(exc).__name__}: {exc}")


@dataclass(frozen=True)
class RetryPolicy:
    """How long to keep trying. ``budget`` bounds the total wait for one account's run."""

    max_attempts: int = 5
    base_delay: float = 2.0
    max_delay: float = 300.0
    budget: float = 900.0

    def backoff(self, attempt: int) -> float:
        """Exponential delay before attempt ``attempt + 1`` (attempt counts from 1)."""
        return float(min(self.max_delay, self.base_delay * (2 ** (attempt - 1))))


@dataclass
class ListingState:
    """What the capture report says of one listing."""

    scope: str
    kind: str
    series: str
    since: datetime | None
    until: datetime | None
    complete: bool | None = None
    error: str | None = None
    pages: list[str] = field(default_factory=list)
    items: Counter[str] = field(default_factory=Counter)
    expected: int | None = None
    not_modified: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "scope": self.scope,
            "kind": self.kind,
            "series": self.series,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "complete": bool(self.complete),
            "error": self.error,
            "pages": list(self.pages),
            "items_listed": dict(sorted(self.items.items())),
            "expected": self.expected,
            "not_modified": self.not_modified and not self.error,
            "skipped": self.error if self.not_modified else None,
        }


class RunListing(Listing):
    """A listing inside one run (see :class:`hp_archive.sources.base.Listing`)."""

    def __init__(self, context: RunContext, state: ListingState) -> None:
        self._context = context
        self.state = state
        self.scope = state.scope
        self.kind = state.kind

    def add_page(self, fetched: Fetched) -> None:
        self.state.pages.append(fetched.record_id)
        self.state.items.update(item.kind for item in fetched.parsed.items)

    def incomplete(self, reason: str) -> None:
        self.state.complete = False
        self.state.error = reason

    def expect(self, count: int) -> None:
        self.state.expected = count

    def not_modified(self) -> None:
        self.state.complete = False
        self.state.not_modified = True

    def skipped(self, reason: str) -> None:
        self.state.complete = False
        self.state.not_modified = True
        self.state.error = reason

    def __enter__(self) -> RunListing:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        if exc is None:
            if self.state.complete is None:
                self.state.complete = True
            return False
        self.state.complete = False
        self.state.error = self._context.scrub(str(exc))
        if isinstance(exc, AuthenticationError | RateLimitedError):
            return False
        if isinstance(exc, PlatformError | TransportError):
            self._context.note_failure(self.scope, str(exc))
            return True
        return False


class RunContext:
    """One account's capture run: HTTP through the recording client, records into the spool."""

    def __init__(
        self,
        *,
        source: Source,
        account: Account,
        as_of: datetime,
        state: Mapping[str, Any],
        token: Secret | None,
        http: RecordingHTTPClient,
        spool: SpoolWriter,
        sleep: Sleep,
        media_known: Callable[[str], bool],
        retry: RetryPolicy | None = None,
    ) -> None:
        self.source = source
        self.account = account
        self.as_of = as_of
        self.state: Mapping[str, Any] = dict(state)
        self._token = token
        self._http = http
        self._spool = spool
        self._sleep = sleep
        self._media_known = media_known
        self.retry = retry or RetryPolicy()
        self.new_state: dict[str, Any] = {}
        self.listings: list[ListingState] = []
        self.failures: list[dict[str, str]] = []
        self.counts: Counter[str] = Counter()
        self.media: Counter[str] = Counter()
        self.waited = 0.0
        self._media_done: set[str] = set()
        self._auth = source.auth_headers(token)

    # -- CaptureContext --------------------------------------------------------------------------

    @property
    def token(self) -> Secret | None:
        return self._token

    @property
    def lookback(self) -> timedelta:
        return timedelta(days=self.account.lookback_days)

    def scrub(self, text: str) -> str:
        return scrub_text(text, [self._token.reveal()] if self._token else [])

    def fetch(
        self,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        kind: str,
        listing: Listing | None = None,
    ) -> Fetched:
        full_url = with_params(url, params)
        series = self.account.series_for(kind)
        where = f"{self.account.platform} {strip_query(full_url)}"
        attempt = 0
        while True:
            attempt += 1
            self.counts["requests"] += 1
            try:
                auth = self._auth if same_origin(full_url, self.source.base_url) else {}
                exchange = self._http.get(full_url, headers={**(headers or {}), **auth})
            except TransportError as exc:
                self.counts["transport_errors"] += 1
                if attempt >= self.retry.max_attempts:
                    raise TransportError(f"{self.scrub(str(exc))} after {attempt} attempts") from None
                self._wait(self.retry.backoff(attempt), where)
                continue
            written = self._spool.write_exchange(
                url=exchange.url,
                request_bytes=exchange.request_bytes,
                response_bytes=exchange.response_bytes,
                date=exchange.date,
                series=series,
                remote_ip=exchange.remote_ip,
            )
            self.counts["revisits" if written.revisit else "responses"] += 1
            response = ArchivedResponse(
                url=written.target_uri,
                date=exchange.date,
                message=exchange.response,
                record_id=written.record_id,
            )
            verdict = self.source.classify(response)
            if verdict.action == "ok":
                fetched = Fetched(
                    response=response,
                    parsed=parse_safely(type(self.source), response),
                    record_id=written.record_id,
                    revisit=written.revisit,
                )
                if fetched.parsed.unparsed:
                    self.counts["unparsed_responses"] += 1
                if listing is not None:
                    listing.add_page(fetched)
                return fetched
            message = self.scrub(verdict.message)
            if verdict.action == "auth":
                raise AuthenticationError(
                    f"account '{self.account.id}' ({self.account.platform}): the platform refused "
                    f"the token ({message}); renew the access token"
                    + (
                        f" in Airflow connection '{self.account.token_conn}'"
                        if self.account.token_conn
                        else f" in {self.account.token_env}"
                        if self.account.token_env
                        else ""
                    )
                    + " and re-run; other accounts are not affected"
                )
            if verdict.action in ("retry", "rate-limited") and attempt < self.retry.max_attempts:
                self.counts["retries"] += 1
                delay = verdict.retry_after
                if delay is None:
                    delay = self.retry.backoff(attempt)
                self._wait(delay, where, message)
                continue
            if verdict.action == "rate-limited":
                raise RateLimitedError(
                    f"account '{self.account.id}' ({self.account.platform}): rate limit not lifted "
                    f"after {attempt} attempts ({message}); the run stops with a partial capture"
                )
            raise PlatformError(f"{where}: {message}" + (f" after {attempt} attempts" if attempt > 1 else ""))

    def _wait(self, seconds: float, where: str, reason: str = "") -> None:
        seconds = max(0.0, float(seconds))
        if self.waited + seconds > self.retry.budget:
            because = f" ({reason})" if reason else ""
            raise RateLimitedError(
                f"account '{self.account.id}' ({self.account.platform}): waiting {seconds:.0f}s more "
                f"at {where}{because} would exceed the {self.retry.budget:.0f}s retry budget; the run "
                "stops with a partial capture"
            )
        self.waited += seconds
        self.counts["waits"] += 1
        self._sleep(seconds)

    def listing(
        self,
        scope: str,
        *,
        kind: str,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> RunListing:
        state = ListingState(
            scope=scope, kind=kind, series=self.account.series_for(kind), since=since, until=until
        )
        self.listings.append(state)
        return RunListing(self, state)

    def media_known(self, media_key: str) -> bool:
        return media_key in self._media_done or self._media_known(media_key)

    def download_media(self, url: str, *, media_key: str, kind: str = KIND_MEDIA) -> Fetched | None:
        self.media["listed"] += 1
        if self.media_known(media_key):
            self.media["already_archived"] += 1
            return None
        self._media_done.add(media_key)
        try:
            fetched = self.fetch(url, kind=kind)
        except (PlatformError, TransportError) as exc:
            self.media["failed"] += 1
            self.note_failure(f"media {media_key}", str(exc))
            return None
        self.media["revisit" if fetched.revisit else "downloaded"] += 1
        return fetched

    def set_state(self, key: str, value: Any) -> None:
        self.new_state[key] = value

    def note_failure(self, what: str, reason: str) -> None:
        self.failures.append({"what": self.scrub(what), "reason": self.scrub(reason)})

    # -- the report ------------------------------------------------------------------------------

    def listings_for(self, series: str) -> list[dict[str, Any]]:
        return [state.as_dict() for state in self.listings if state.series == series]

    def complete(self) -> bool:
        return not self.failures and all(state.complete or state.not_modified for state in self.listings)
