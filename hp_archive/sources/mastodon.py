"""Mastodon through its REST API: the account's statuses, the replies to them, and their edits.

Built to docs/research/mastodon.md. A night's capture is:

1. ``GET /api/v1/accounts/lookup?acct={handle}`` (``GET /api/v1/accounts/{id}`` when the handle is
   the numeric id): the account's profile (kind ``page``) and its id;
2. ``GET /api/v1/accounts/{id}/statuses?limit=40``, newest first, following the ``Link`` header's
   ``rel="next"`` (``max_id``) until it is absent or, after the first night, until a page reaches
   statuses older than the look-back window;
3. for every top-level status of the account in the window, ``GET /api/v1/statuses/{id}/context``:
   its ``descendants`` are the replies, replies to replies nesting through ``in_reply_to_id``;
4. for every status whose ``edited_at`` is newer than the last night that saw every edit,
   ``GET /api/v1/statuses/{id}/history``: the platform's own list of every revision, archived as
   evidence of edits made between two captures;
5. each media attachment once, keyed by its attachment id (Mastodon's file URLs are stable).

Mastodon has no "hidden comment": the account can only block, mute or report. A blocked or muted
author's replies drop out of ``context`` for the token's user, so capture with a token of a user
that blocks and mutes no one (see the research notes). A deleted status vanishes from ``context``
(and its replies with it), which a complete context listing reports as a deletion.

:meth:`MastodonSource.parse` reads any of those responses back into items, from the stored bytes
and URL alone.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import quote, unquote, urlsplit

from requests.utils import parse_header_links

from hp_archive.errors import PlatformError, TransportError
from hp_archive.sources.base import (
    KIND_COMMENT,
    KIND_MEDIA,
    KIND_PAGE,
    KIND_POST,
    KIND_REPLY,
    ArchivedResponse,
    CaptureContext,
    Fetched,
    Listing,
    ParsedItem,
    ParseResult,
    Source,
    Verdict,
    text_of,
)
from hp_archive.sources.http import strip_query
from hp_archive.sources.support import (
    ItemsBuilder,
    as_dict,
    as_text,
    body_looks_json,
    is_media,
    json_body,
    parse_time,
    pick,
    read_json,
    retry_after_seconds,
    success_verdict,
    type_name,
)
from hp_archive.sources.walking import listing_start, url_origin
from hp_archive.sources.web import html_to_text

API = "/api/v1"
PAGE_LIMIT = 40  # the documented maximum for account statuses
# Fields that change without an edit: kept beside the item, never in what defines a version.
ACCOUNT_EXTRA = (
    "followers_count", "following_count", "statuses_count", "last_status_at", "avatar", "header",
    "locked", "bot",
)  # fmt: skip
STATUS_EXTRA = (
    "uri", "visibility", "language", "in_reply_to_account_id", "replies_count", "reblogs_count",
    "favourites_count", "quotes_count", "pinned",
)  # fmt: skip
RENEW = (
    "create a new access token (an application with the read:accounts and read:statuses scopes, "
    "authorized by the department's account) and store it in the account's token variable"
)


class MastodonSource(Source):
    """A Mastodon account read with a user access token (public statuses also read without)."""

    platform: ClassVar[str] = "mastodon"
    title: ClassVar[str] = "Mastodon account"
    api: ClassVar[str] = "Mastodon REST API v1: account statuses, status context, status history"
    default_base_url: ClassVar[str] = "https://mastodon.social"

    #: a walk that reaches this many pages stops and marks its listing incomplete
    max_pages: ClassVar[int] = 10_000

    # -- capture --------------------------------------------------------------------------------

    def capture(self, ctx: CaptureContext) -> None:
        base = self.base_url.rstrip("/")
        headers = self.auth_headers(ctx.token)
        account_id = self._resolve(ctx, base, headers)
        if account_id is None:
            return
        run = _Run()
        self._list_statuses(ctx, base, account_id, headers, run)
        for status_id in run.threads:
            self._list_context(ctx, base, status_id, headers, run)
        for media_key, url in run.media.items():
            ctx.download_media(url, media_key=media_key)
        self._fetch_histories(ctx, base, headers, run)
        if run.all_listed:
            ctx.set_state("edits_seen_until", ctx.as_of.isoformat())

    def _resolve(self, ctx: CaptureContext, base: str, headers: Mapping[str, str]) -> str | None:
        """The account id: looked up every night (the profile is evidence too), else remembered."""
        handle = self.account.handle.strip().lstrip("@")
        if handle.isdigit():
            url, params = f"{base}{API}/accounts/{handle}", None
        else:
            url, params = f"{base}{API}/accounts/lookup", {"acct": handle}
        remembered = ctx.state.get("account_id")
        try:
            fetched = ctx.fetch(url, params=params, headers=headers, kind=KIND_PAGE)
        except (PlatformError, TransportError) as exc:
            ctx.note_failure(f"mastodon:{handle}", f"account lookup failed: {exc}")
            return remembered if isinstance(remembered, str) else None
        found = next((i.native_id for i in fetched.parsed.items if i.kind == KIND_PAGE), None)
        if found is None:
            ctx.note_failure(f"mastodon:{handle}", "the account lookup answered no account")
            return remembered if isinstance(remembered, str) else None
        account_id = found.removeprefix("accounts/")
        ctx.set_state("account_id", account_id)
        return account_id

    def _list_statuses(
        self, ctx: CaptureContext, base: str, account_id: str, headers: Mapping[str, str], run: _Run
    ) -> None:
        cutoff = listing_start(
            ctx,
            "statuses_listed_until",
            where=f"mastodon:{self.account.handle}",
            fallback="listing every status",
        )
        scope = f"mastodon:{account_id}/statuses"
        completed = False
        with ctx.listing(scope, kind=KIND_POST, since=cutoff, until=ctx.as_of) as listing:
            url = f"{base}{API}/accounts/{quote(account_id, safe='')}/statuses"
            completed = self._walk(ctx, listing, url, {"limit": PAGE_LIMIT}, headers, run, cutoff)
        if completed:
            ctx.set_state("statuses_listed_until", ctx.as_of.isoformat())
        else:
            run.all_listed = False

    def _walk(
        self,
        ctx: CaptureContext,
        listing: Listing,
        url: str,
        params: Mapping[str, Any],
        headers: Mapping[str, str],
        run: _Run,
        cutoff: datetime | None,
    ) -> bool:
        """Fetch ``url`` and each ``Link: rel="next"`` after it; False if the walk stopped early.

        Only next links on the API's own origin are followed: the Authorization header goes with
        every request, so a link elsewhere would hand it the token.
        """
        origin = url_origin(url)
        seen: set[str] = set()
        target: str | None = url
        target_params: Mapping[str, Any] | None = params
        pages = 0
        clean = True
        while target is not None:
            if pages >= self.max_pages:
                listing.incomplete(f"stopped after {self.max_pages} pages (page cap)")
                return False
            fetched = ctx.fetch(
                target, params=target_params, headers=headers, kind=KIND_POST, listing=listing
            )
            pages += 1
            if fetched.parsed.unparsed:
                # a status that could not be read is missing from the page: nothing may be
                # judged deleted from this listing, but the rest of it is still worth having
                listing.incomplete(f"page {pages}: " + "; ".join(fetched.parsed.unparsed)[:300])
                clean = False
            oldest = run.add_statuses(fetched, cutoff)
            if cutoff is not None and oldest is not None and oldest < cutoff:
                return clean  # the page reached statuses older than the window
            following = next_link(fetched.response)
            if following is None:
                return clean
            if url_origin(following) != origin:
                listing.incomplete(f"page {pages}: Link next points at {url_origin(following)}, not {origin}")
                return False
            if following in seen:
                listing.incomplete(f"page {pages}: Link next repeats an earlier page")
                return False
            seen.add(following)
            target, target_params = following, None
        return clean

    def _list_context(
        self, ctx: CaptureContext, base: str, status_id: str, headers: Mapping[str, str], run: _Run
    ) -> None:
        scope = f"mastodon:{status_id}/context"
        ok = False
        with ctx.listing(scope, kind=KIND_COMMENT, until=ctx.as_of) as listing:
            url = f"{base}{API}/statuses/{quote(status_id, safe='')}/context"
            fetched = ctx.fetch(url, headers=headers, kind=KIND_COMMENT, listing=listing)
            ok = True
            if fetched.parsed.unparsed:
                listing.incomplete("; ".join(fetched.parsed.unparsed)[:300])
                ok = False
            run.add_replies(fetched)
        if not ok:
            run.all_listed = False

    def _fetch_histories(self, ctx: CaptureContext, base: str, headers: Mapping[str, str], run: _Run) -> None:
        seen_until = parse_time(ctx.state.get("edits_seen_until"))
        for status_id, (edited_at, kind) in run.edited.items():
            if seen_until is not None and edited_at <= seen_until:
                continue  # this edit's history was archived on an earlier night
            url = f"{base}{API}/statuses/{quote(status_id, safe='')}/history"
            try:
                ctx.fetch(url, headers=headers, kind=kind)
            except (PlatformError, TransportError) as exc:
                ctx.note_failure(f"mastodon:{status_id}/history", str(exc))
                run.all_listed = False

    # -- classify -------------------------------------------------------------------------------

    def classify(self, response: ArchivedResponse) -> Verdict:
        status = response.status
        where = strip_query(response.url)
        answered = success_verdict(response, _looks_json, f"Mastodon at {where}")
        if answered is not None:
            return answered
        error = _error_text(response)
        said = f": {error}" if error else ""
        if status == 429:
            wait = reset_seconds(response)
            if wait is None:
                wait = retry_after_seconds(response)
            limit = response.header("X-RateLimit-Limit")
            per = f" (limit {limit} requests per window)" if limit else ""
            return Verdict("rate-limited", f"rate limited by Mastodon{per}{said}", wait)
        if status >= 500:
            return Verdict("retry", f"HTTP {status} at {where}{said}", retry_after_seconds(response))
        if status == 401:
            return Verdict("auth", f"HTTP 401{said} — {RENEW}")
        if status == 403 and error is not None:
            return Verdict("auth", f"HTTP 403{said} — the token's user cannot read this; {RENEW}")
        if status == 404:
            return Verdict("error", f"{error or 'not found'} (deleted, or not visible to the token): {where}")
        if status == 410:
            return Verdict("error", f"HTTP 410 at {where}: the account is suspended")
        return Verdict("error", f"HTTP {status} at {where}{said}")

    # -- parse ----------------------------------------------------------------------------------

    @classmethod
    def parse(cls, response: ArchivedResponse) -> ParseResult:
        if is_media(response):
            return ParseResult()  # a media file: its item comes from the status that shows it
        if not 200 <= response.status < 300:
            return ParseResult()  # an error answer: classify reported it; no items
        payload, failed = read_json(response)
        if failed is not None:
            return failed
        segments = api_path(response.url)
        builder = _Builder()
        if segments[:1] == ["accounts"] and len(segments) == 3 and segments[2] == "statuses":
            builder.statuses(payload, account_id=segments[1])
        elif segments == ["accounts", "lookup"] or (segments[:1] == ["accounts"] and len(segments) == 2):
            builder.account(payload)
        elif segments[:1] == ["statuses"] and len(segments) == 3 and segments[2] == "context":
            builder.context(payload, root=segments[1])
        elif segments[:1] == ["statuses"] and len(segments) == 3 and segments[2] == "history":
            builder.history(payload, status_id=segments[1])
        elif segments[:1] == ["statuses"] and len(segments) == 2:
            builder.single(payload)
        else:
            return ParseResult.failed(f"unknown Mastodon API path {urlsplit(response.url).path}")
        return builder.result()


# -- what one night collected ----------------------------------------------------------------------


@dataclass
class _Run:
    """Threads to open, media to download and edits to look up, gathered from parsed pages."""

    threads: dict[str, None] = field(default_factory=dict)
    media: dict[str, str] = field(default_factory=dict)
    edited: dict[str, tuple[datetime, str]] = field(default_factory=dict)
    all_listed: bool = True

    def add_statuses(self, fetched: Fetched, cutoff: datetime | None) -> datetime | None:
        """Note the statuses of one page; returns the oldest creation time on it."""
        oldest: datetime | None = None
        for item in fetched.parsed.items:
            self._note(item, KIND_POST)
            if item.kind not in (KIND_POST, KIND_REPLY) or item.created_at is None:
                continue
            oldest = item.created_at if oldest is None else min(oldest, item.created_at)
            in_window = cutoff is None or item.created_at >= cutoff
            if item.kind == KIND_POST and not item.extra.get("reblog") and in_window:
                self.threads.setdefault(item.native_id, None)
        return oldest

    def add_replies(self, fetched: Fetched) -> None:
        for item in fetched.parsed.items:
            self._note(item, KIND_COMMENT)

    def _note(self, item: ParsedItem, kind: str) -> None:
        if item.kind == KIND_MEDIA and item.media_url:
            self.media.setdefault(item.native_id, item.media_url)
        elif item.edited_at is not None:
            self.edited[item.native_id] = (item.edited_at, kind)


# -- parsing helpers ----------------------------------------------------------------------------


class _Builder(ItemsBuilder):
    """Accumulates items and the reasons anything was skipped, for one response."""

    # -- responses ------------------------------------------------------------------------------

    def account(self, payload: Any) -> None:
        if not isinstance(payload, dict):
            self.unparsed.append(f"unknown response shape: an account is {type_name(payload)}, not an object")
            return
        if _is_error(payload):
            return
        account_id = as_text(payload.get("id"))
        if not account_id:
            self.unparsed.append("account without an id")
            return
        name = as_text(payload.get("display_name")) or as_text(payload.get("username"))
        note = as_text(payload.get("note"))
        fields = [
            {"name": as_text(f.get("name")), "value": html_to_text(as_text(f.get("value")))}
            for f in payload.get("fields") or []
            if isinstance(f, dict)
        ]
        self.items.append(
            ParsedItem(
                native_id=f"accounts/{account_id}",
                kind=KIND_PAGE,
                text=text_of([name, html_to_text(note), *(f"{f['name']}: {f['value']}" for f in fields)]),
                content={
                    "username": as_text(payload.get("username")),
                    "acct": as_text(payload.get("acct")),
                    "display_name": as_text(payload.get("display_name")),
                    "note": note,
                    "url": as_text(payload.get("url")),
                    "fields": fields,
                },
                author_id=account_id,
                author_name=name,
                author_is_agency=True,
                created_at=parse_time(payload.get("created_at")),
                url=as_text(payload.get("url")),
                extra=pick(payload, ACCOUNT_EXTRA),
            )
        )

    def statuses(self, payload: Any, *, account_id: str) -> None:
        if not isinstance(payload, list):
            if isinstance(payload, dict) and _is_error(payload):
                return
            self.unparsed.append(f"unknown response shape: statuses are {type_name(payload)}, not a list")
            return
        for index, raw in enumerate(payload):
            status = self._checked(raw, f"[{index}]")
            if status is None:
                continue
            author = as_dict(status.get("account"))
            agency = as_text(author.get("id")) == account_id
            parent = as_text(status.get("in_reply_to_id"))
            if parent is None:
                self.status(status, kind=KIND_POST, parent=None, root=None, agency=agency)
            else:
                # the account's own reply; its thread's root is not in this response
                self.status(status, kind=KIND_REPLY, parent=parent, root=None, agency=agency)

    def context(self, payload: Any, *, root: str) -> None:
        if not isinstance(payload, dict) or not isinstance(payload.get("descendants"), list):
            if isinstance(payload, dict) and _is_error(payload):
                return
            self.unparsed.append("unknown response shape: a context has no 'descendants' list")
            return
        by_id: dict[str, dict[str, Any]] = {}
        for index, raw in enumerate(payload["descendants"]):
            status = self._checked(raw, f"descendants[{index}]")
            if status is not None:
                by_id.setdefault(str(status["id"]), status)
        # The thread root's author (the department) is the account direct replies answer; its
        # own replies are items of its statuses listing, which knows them without a thread.
        agency = next(
            (
                as_text(s.get("in_reply_to_account_id"))
                for s in by_id.values()
                if as_text(s.get("in_reply_to_id")) == root and as_text(s.get("in_reply_to_account_id"))
            ),
            None,
        )
        for status_id, status in by_id.items():
            parent = as_text(status.get("in_reply_to_id"))
            if parent is None:
                self.unparsed.append(f"status {status_id}: a descendant without in_reply_to_id")
                continue
            cycle = _reply_cycle(status_id, by_id, root)
            if cycle:
                self.unparsed.append(
                    f"status {status_id}: reply links form a cycle ({' -> '.join(cycle)}); left out"
                )
                continue
            if agency is not None and as_text(as_dict(status.get("account")).get("id")) == agency:
                continue
            kind = KIND_COMMENT if parent == root else KIND_REPLY
            self.status(status, kind=kind, parent=parent, root=root, agency=False)

    def history(self, payload: Any, *, status_id: str) -> None:
        """A status's revisions: archived evidence; the index versions come from nightly views.

        The revisions predate the current text the same night's listing already recorded, so
        they cannot be added as later versions (see docs/research/mastodon.md §5).
        """
        if not isinstance(payload, list):
            if isinstance(payload, dict) and _is_error(payload):
                return
            self.unparsed.append(
                f"unknown response shape: the history of {status_id} is {type_name(payload)}"
            )
            return
        for index, raw in enumerate(payload):
            if not isinstance(raw, dict):
                self.unparsed.append(
                    f"history[{index}]: unknown item type ({type_name(raw)}), not a revision"
                )
            elif not isinstance(raw.get("content"), str) or parse_time(raw.get("created_at")) is None:
                self.unparsed.append(f"history[{index}]: a revision without content or created_at")

    def single(self, payload: Any) -> None:
        if isinstance(payload, dict) and _is_error(payload):
            return
        status = self._checked(payload, "status")
        if status is None:
            return
        parent = as_text(status.get("in_reply_to_id"))
        kind = KIND_POST if parent is None else KIND_REPLY
        self.status(status, kind=kind, parent=parent, root=None, agency=parent is None)

    # -- entities -------------------------------------------------------------------------------

    def _checked(self, raw: Any, where: str) -> dict[str, Any] | None:
        """``raw`` if it is a status with what every status has, else None and the reason."""
        if not isinstance(raw, dict):
            self.unparsed.append(f"{where}: unknown item type ({type_name(raw)}), not a status")
            return None
        status_id = as_text(raw.get("id"))
        if not status_id:
            self.unparsed.append(f"{where}: status without an id")
            return None
        missing = [
            name
            for name, ok in (
                ("created_at", parse_time(raw.get("created_at")) is not None),
                ("account", isinstance(raw.get("account"), dict) and as_text(raw["account"].get("id"))),
                ("content", isinstance(raw.get("content"), str)),
            )
            if not ok
        ]
        if missing:
            self.unparsed.append(f"status {status_id}: missing or malformed {', '.join(missing)}; left out")
            return None
        return raw

    def status(
        self, raw: dict[str, Any], *, kind: str, parent: str | None, root: str | None, agency: bool
    ) -> None:
        status_id = str(raw["id"])
        label = f"status {status_id}"
        author = as_dict(raw.get("account"))
        author_id = as_text(author.get("id"))
        author_name = as_text(author.get("display_name")) or as_text(author.get("acct"))
        created = parse_time(raw.get("created_at"))
        spoiler = raw.get("spoiler_text") if isinstance(raw.get("spoiler_text"), str) else ""
        attachments = self._attachments(raw, label)
        poll = _poll_options(raw.get("poll"))
        reblog = raw.get("reblog") if isinstance(raw.get("reblog"), dict) else None
        reblogged = _reblog_summary(reblog) if reblog is not None else None
        body = html_to_text(raw["content"])
        if reblogged is not None:
            body = text_of([f"Boosted {reblogged['account'] or 'a status'}:", reblogged["text"]])
        self.items.append(
            ParsedItem(
                native_id=status_id,
                kind=kind,
                text=text_of([spoiler, body, *(a.get("description") for a in attachments), *poll]),
                content={
                    "content": raw["content"],
                    "spoiler_text": spoiler,
                    "sensitive": raw.get("sensitive") is True,
                    "media": [pick(a, ("id", "type", "description")) for a in attachments],
                    "poll": poll or None,
                    "reblog": pick(reblogged, ("id", "uri", "url", "account")) if reblogged else None,
                },
                parent_native_id=parent,
                root_native_id=root,
                author_id=author_id,
                author_name=author_name,
                author_is_agency=agency,
                created_at=created,
                edited_at=parse_time(raw.get("edited_at")),
                url=as_text(raw.get("url")) or as_text(raw.get("uri")),
                extra={
                    **pick(raw, STATUS_EXTRA),
                    "acct": as_text(author.get("acct")),
                    "reblog": reblog is not None,
                    "card_url": as_text(as_dict(raw.get("card")).get("url")),
                    "tags": [as_text(t.get("name")) for t in raw.get("tags") or [] if isinstance(t, dict)],
                },
            )
        )
        thread_root = root if root is not None else status_id
        for attachment in attachments:
            media_id = attachment["id"]
            src = attachment.get("url") or attachment.get("remote_url")
            description = attachment.get("description")
            self.items.append(
                ParsedItem(
                    native_id=media_key(media_id),
                    kind=KIND_MEDIA,
                    text=description or "",
                    content={"type": attachment.get("type"), "description": description},
                    parent_native_id=status_id,
                    root_native_id=thread_root,
                    author_id=author_id,
                    author_name=author_name,
                    author_is_agency=agency,
                    created_at=created,
                    url=src,
                    media_url=src,
                    extra={
                        "preview_url": attachment.get("preview_url"),
                        "remote_url": attachment.get("remote_url"),
                        "blurhash": attachment.get("blurhash"),
                        "meta": attachment.get("meta"),
                    },
                )
            )

    def _attachments(self, raw: dict[str, Any], label: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        value = raw.get("media_attachments")
        if value is None:
            return found
        if not isinstance(value, list):
            self.unparsed.append(f"{label}: media_attachments is {type_name(value)}, not a list")
            return found
        for index, attachment in enumerate(value):
            if not isinstance(attachment, dict) or not as_text(attachment.get("id")):
                self.unparsed.append(f"{label}: media_attachments[{index}] is not an attachment; left out")
                continue
            found.append(
                {
                    "id": as_text(attachment["id"]),
                    "type": as_text(attachment.get("type")),
                    "description": as_text(attachment.get("description")),
                    "url": as_text(attachment.get("url")),
                    "remote_url": as_text(attachment.get("remote_url")),
                    "preview_url": as_text(attachment.get("preview_url")),
                    "blurhash": as_text(attachment.get("blurhash")),
                    "meta": attachment.get("meta") if isinstance(attachment.get("meta"), dict) else None,
                }
            )
        return found


def media_key(attachment_id: str) -> str:
    """The stable key (and native id) of a media attachment."""
    return f"media/{attachment_id}"


def _reply_cycle(status_id: str, by_id: Mapping[str, Mapping[str, Any]], root: str) -> list[str]:
    """The ids of a cycle reached by following ``in_reply_to_id`` up from ``status_id``, else []."""
    path = [status_id]
    current = as_text(by_id[status_id].get("in_reply_to_id"))
    while current is not None and current != root:
        if current in path:
            return [*path[path.index(current) :], current]
        if current not in by_id:
            return []  # the parent is outside this response (not a cycle)
        path.append(current)
        current = as_text(by_id[current].get("in_reply_to_id"))
    return []


def _poll_options(poll: Any) -> list[str]:
    if not isinstance(poll, dict) or not isinstance(poll.get("options"), list):
        return []
    return [o["title"] for o in poll["options"] if isinstance(o, dict) and isinstance(o.get("title"), str)]


def _reblog_summary(reblog: dict[str, Any]) -> dict[str, Any]:
    author = as_dict(reblog.get("account"))
    return {
        "id": as_text(reblog.get("id")),
        "uri": as_text(reblog.get("uri")),
        "url": as_text(reblog.get("url")),
        "account": as_text(author.get("acct")),
        "text": html_to_text(as_text(reblog.get("content"))),
    }


def api_path(url: str) -> list[str]:
    """The path after ``/api/v1/``: ``['statuses', '123', 'context']`` (empty if elsewhere)."""
    segments = [unquote(s) for s in urlsplit(url).path.split("/") if s]
    for index in range(len(segments) - 1):
        if segments[index] == "api" and segments[index + 1] in ("v1", "v2"):
            return segments[index + 2 :]
    return []


def next_link(response: ArchivedResponse) -> str | None:
    """The ``rel="next"`` URL of a response's ``Link`` header (RFC 8288), or None."""
    value = response.header("Link")
    if not value:
        return None
    for link in parse_header_links(value):
        if "next" in link.get("rel", "").split() and link.get("url"):
            return str(link["url"])
    return None


def reset_seconds(response: ArchivedResponse) -> float | None:
    """Seconds until ``X-RateLimit-Reset`` (an ISO 8601 time), counted from the response's date."""
    reset = parse_time(response.header("X-RateLimit-Reset"))
    if reset is None:
        return None
    return float(max(0, math.ceil((reset - response.date).total_seconds())))


def _error_text(response: ArchivedResponse) -> str | None:
    """The ``error`` of Mastodon's error entity, if the body is one."""
    payload = json_body(response) if _looks_json(response) else None
    if isinstance(payload, dict) and isinstance(payload.get("error"), str):
        return " ".join(payload["error"].split())[:200]
    return None


def _is_error(payload: Mapping[str, Any]) -> bool:
    return isinstance(payload.get("error"), str) and "id" not in payload


def _looks_json(response: ArchivedResponse) -> bool:
    content_type = response.message.content_type
    return content_type == "application/json" or content_type.endswith("+json") or body_looks_json(response)
