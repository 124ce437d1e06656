"""Instagram professional accounts through the Instagram Graph API.

Built to docs/research/instagram.md. A night's capture is:

1. ``GET /{ig-user-id}?fields=id,username,name,biography,website`` (the profile, kind ``page``);
2. ``GET /{ig-user-id}/media`` with explicit fields (carousel ``children`` expanded), ``limit``,
   ``until=as_of`` and, after the first run, ``since`` = last listed time minus the look-back,
   following ``paging.next`` until it is absent; a carousel whose children did not come inline is
   read with ``GET /{ig-media-id}/children``;
3. for every listed media ``GET /{ig-media-id}/comments`` with ``replies{...}`` expanded, and
   ``GET /{ig-comment-id}/replies`` for any reply list that pages on; hidden comments come too
   (the account's own token sees them, marked ``hidden: true``);
4. every image, video and video thumbnail once, keyed ``{ig-media-id}:{role}`` (CDN URLs are
   signed and change every night).

:meth:`InstagramSource.parse` reads any of those responses back into items from the stored bytes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import quote, unquote, urlsplit

from hp_archive.errors import HPArchiveError, PlatformError, TransportError
from hp_archive.settings import Secret
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
    parse_retry_after,
    text_of,
)
from hp_archive.sources.http import strip_query, with_params

USER_FIELDS = "id,username,name,biography,website"
CHILD_FIELDS = "id,media_type,media_url,thumbnail_url,timestamp"
MEDIA_FIELDS = (
    "id,caption,media_type,media_product_type,media_url,thumbnail_url,permalink,shortcode,"
    f"timestamp,username,owner,comments_count,like_count,is_comment_enabled,children{{{CHILD_FIELDS}}}"
)
_COMMENT_BASE = "id,text,timestamp,username,from{id,username},hidden,like_count,media{id},parent_id,user"
REPLY_FIELDS = _COMMENT_BASE
COMMENT_FIELDS = f"{_COMMENT_BASE},replies{{{REPLY_FIELDS}}}"
MEDIA_LIMIT = 100
COMMENT_LIMIT = 50  # "Returns a maximum of 50 comments per query" [notes §3]

MEDIA_TYPES = frozenset({"IMAGE", "VIDEO", "CAROUSEL_ALBUM"})

# Graph error codes [notes §5]
AUTH_CODES = frozenset({102, 190})
AUTH_SUBCODES = frozenset({458, 459, 460, 463, 464, 467, 492})
THROTTLE_CODES = frozenset({4, 17, 32, 613, 80001, 80002})
TRANSIENT_CODES = frozenset({1, 2})

_VERSION = re.compile(r"^v\d+\.\d+$")
_TOKEN_LIKE = re.compile(r"\b(?:EAA|IGQ|IGAA)[A-Za-z0-9_-]{16,}")
_TOKEN_PARAM = re.compile(r"(access_token=)[^&\s\"']+", re.IGNORECASE)


class InstagramSource(Source):
    """An Instagram professional (business or creator) account read with its own token."""

    platform: ClassVar[str] = "instagram"
    title: ClassVar[str] = "Instagram professional account"
    api: ClassVar[str] = "Instagram Graph API v25.0: user media, media children, comments, replies"
    default_base_url: ClassVar[str] = "https://graph.facebook.com/v25.0"

    #: a walk that reaches this many pages stops and marks its listing incomplete
    max_pages: ClassVar[int] = 10_000

    def auth_headers(self, token: Secret | None) -> dict[str, str]:
        """``Authorization: OAuth <token>``, never an ``access_token`` query parameter.

        Graph copies a query-parameter token into every ``paging.next`` URL of the response body
        [notes §6], and response bodies are evidence kept unmodified; a header stays in the
        request record, where it is redacted.
        """
        if token is None:
            return {}
        return {"Authorization": f"OAuth {token.reveal()}"}

    # -- capture --------------------------------------------------------------------------------

    def capture(self, ctx: CaptureContext) -> None:
        user = self.account.handle
        base = self.base_url.rstrip("/")
        headers = self.auth_headers(ctx.token)
        try:
            ctx.fetch(
                f"{base}/{quote(user, safe='')}",
                params={"fields": USER_FIELDS},
                headers=headers,
                kind=KIND_PAGE,
            )
        except (PlatformError, TransportError) as exc:
            ctx.note_failure(f"instagram:{user}", f"profile not captured: {exc}")
        media_ids, downloads = self._list_media(ctx, base, user, headers)
        self._download(ctx, downloads)
        for media_id in media_ids:
            self._list_comments(ctx, base, media_id, headers)

    def _list_media(
        self, ctx: CaptureContext, base: str, user: str, headers: Mapping[str, str]
    ) -> tuple[list[str], dict[str, str]]:
        since = None
        listed_until = ctx.state.get("media_listed_until")
        if listed_until is not None:
            previous = _parse_time(listed_until)
            if previous is None:
                ctx.note_failure(
                    f"instagram:{user}/media",
                    f"saved media_listed_until {listed_until!r} is not an ISO time; listing every media",
                )
            else:
                since = min(previous, ctx.as_of) - ctx.lookback
        params: dict[str, Any] = {
            "fields": MEDIA_FIELDS,
            "limit": MEDIA_LIMIT,
            "until": int(ctx.as_of.timestamp()),
        }
        if since is not None:
            params["since"] = int(since.timestamp())
        collected = _Collected()
        scope = f"instagram:{user}/media"
        with ctx.listing(scope, kind=KIND_POST, since=since, until=ctx.as_of) as listing:
            walk = _Walk(self, ctx, listing, headers, KIND_POST, collected.add)
            walked = walk.run(f"{base}/{quote(user, safe='')}/media", params)
            for album in collected.albums_without_children():
                # children did not come inline (or paged on): read the album's own edge
                walked = (
                    walk.run(f"{base}/{quote(album, safe='')}/children", {"fields": CHILD_FIELDS}) and walked
                )
            if walked and not walk.marked_incomplete:
                ctx.set_state("media_listed_until", ctx.as_of.isoformat())
        return list(collected.posts), collected.media

    def _list_comments(
        self, ctx: CaptureContext, base: str, media_id: str, headers: Mapping[str, str]
    ) -> None:
        collected = _Collected()
        scope = f"instagram:{media_id}/comments"
        with ctx.listing(scope, kind=KIND_COMMENT, until=ctx.as_of) as listing:
            walk = _Walk(self, ctx, listing, headers, KIND_COMMENT, collected.add)
            url = f"{base}/{quote(media_id, safe='')}/comments"
            walk.run(url, {"fields": COMMENT_FIELDS, "limit": COMMENT_LIMIT})
            # an expanded reply list holds only its first page; the rest pages on from its next
            for following in collected.reply_pages:
                walk.run(following, None)

    def _download(self, ctx: CaptureContext, media: Mapping[str, str]) -> None:
        for media_key, src in media.items():
            try:
                ctx.download_media(src, media_key=media_key)
            except (PlatformError, TransportError) as exc:
                # Only this file is lost tonight; the next listing brings a freshly signed URL.
                ctx.note_failure(f"instagram media {media_key}", str(exc))

    # -- classify -------------------------------------------------------------------------------

    def classify(self, response: ArchivedResponse) -> Verdict:
        status = response.status
        error = _graph_error(response)
        if error is None:
            return self._classify_plain(response)
        code = _as_int(error.get("code"))
        subcode = _as_int(error.get("error_subcode"))
        label = f"Graph API error {code}" + (f"/{subcode}" if subcode is not None else "")
        message = _scrub(str(error.get("message") or "no message"))
        if code in AUTH_CODES or subcode in AUTH_SUBCODES:
            return Verdict(
                "auth",
                f"{label}: {message} — generate a new long-lived access token for the account "
                "(a user with a task on the linked Page) and store it in the account's token variable",
            )
        if code in THROTTLE_CODES:
            retry_after = _regain_seconds(response)
            if retry_after is None:
                retry_after = parse_retry_after(response.header("Retry-After"), response.date)
            return Verdict("rate-limited", f"rate limited by Instagram, {label}: {message}", retry_after)
        if error.get("is_transient") is True or code in TRANSIENT_CODES or status >= 500:
            retry_after = parse_retry_after(response.header("Retry-After"), response.date)
            return Verdict("retry", f"transient {label}: {message}", retry_after)
        if code == 100 and subcode == 33:
            return Verdict(
                "error",
                f"{label}: object does not exist or is not visible (deleted, or the token cannot "
                f"see it): {strip_query(response.url)}",
            )
        if code == 10 or (code is not None and 200 <= code <= 299):
            return Verdict(
                "auth",
                f"{label}: permission missing: {message} — grant the app instagram_basic, "
                "instagram_manage_comments and pages_read_engagement, then renew the token",
            )
        return Verdict("error", f"{label}: {message}")

    def _classify_plain(self, response: ArchivedResponse) -> Verdict:
        """A response without a Graph error object (a Graph success, or the media CDN)."""
        status = response.status
        if 200 <= status < 300:
            if _looks_json(response):
                try:
                    response.json()
                except (ValueError, HPArchiveError) as exc:
                    # A cut or garbled page would end a walk early and make a complete-looking
                    # listing report live items as deleted: fetch it again.
                    return Verdict("retry", f"malformed JSON from the Graph API: {_short(exc)}")
            return Verdict.ok()
        if status == 304:
            return Verdict.ok()
        retry_after = parse_retry_after(response.header("Retry-After"), response.date)
        if status == 429:
            return Verdict(
                "rate-limited", f"rate limited (HTTP 429) at {strip_query(response.url)}", retry_after
            )
        if status >= 500:
            return Verdict("retry", f"HTTP {status} at {strip_query(response.url)}", retry_after)
        if status == 401:
            return Verdict("auth", f"HTTP 401 for {strip_query(response.url)}: renew the access token")
        # 403/404 without an error object is the media CDN (expired or re-signed URL)
        return Verdict("error", f"HTTP {status} for {strip_query(response.url)}")

    # -- parse ----------------------------------------------------------------------------------

    @classmethod
    def parse(cls, response: ArchivedResponse) -> ParseResult:
        content_type = response.message.content_type
        if content_type.startswith(("image/", "video/", "audio/")):
            return ParseResult()  # a media file: its item comes from the media that shows it
        if not 200 <= response.status < 300 and not _looks_json(response):
            return ParseResult()  # an error page (CDN refusal, proxy error): no items in it
        try:
            payload = response.json()
        except UnicodeDecodeError as exc:
            return ParseResult.failed(f"body is not valid UTF-8 (byte {exc.start})")
        except json.JSONDecodeError as exc:
            return ParseResult.failed(f"malformed JSON at line {exc.lineno} column {exc.colno}")
        except (ValueError, HPArchiveError) as exc:
            return ParseResult.failed(f"body cannot be read: {_short(exc)}")
        if not isinstance(payload, dict):
            return ParseResult.failed(f"unknown response shape: top level is {_kind(payload)}")
        if isinstance(payload.get("error"), dict):
            return ParseResult()  # a Graph error object: classify reported it; no items
        segments = _path_segments(response.url)
        builder = _Builder()
        if len(segments) == 2 and segments[1] == "media":
            owner = segments[0]
            builder.listing(payload, "media", lambda raw, where: builder.media(raw, where, owner=owner))
        elif len(segments) == 2 and segments[1] == "children":
            album = segments[0]
            builder.listing(payload, "children", lambda raw, where: builder.child(raw, where, album))
        elif len(segments) == 2 and segments[1] == "comments":
            media_id = segments[0]
            builder.listing(
                payload, "comments", lambda raw, where: builder.comment(raw, where, media_id=media_id)
            )
        elif len(segments) == 2 and segments[1] == "replies":
            parent = segments[0]
            builder.listing(payload, "replies", lambda raw, where: builder.reply(raw, where, parent=parent))
        elif len(segments) == 1:
            builder.single(payload, segments[0])
        else:
            return ParseResult.failed(f"unknown Graph API path {urlsplit(response.url).path}")
        return builder.result()


# -- capture helpers ----------------------------------------------------------------------------


class _Walk:
    """Follows ``paging.next`` from a first URL, attributing every page to one listing.

    Only Graph's own ``next`` URLs on the API's origin are followed: the Authorization header
    goes with every request there, so a URL elsewhere would hand it the token. A page that could
    not be read completely marks the listing incomplete (an item left out of it must not be
    judged deleted), and the walk goes on so the rest is still archived.
    """

    def __init__(
        self,
        source: InstagramSource,
        ctx: CaptureContext,
        listing: Listing,
        headers: Mapping[str, str],
        kind: str,
        on_page: Callable[[Fetched], None],
    ) -> None:
        self.source = source
        self.ctx = ctx
        self.listing = listing
        self.headers = headers
        self.kind = kind
        self.on_page = on_page
        self.pages = 0
        self.seen: set[str] = set()
        self.marked_incomplete = False

    def incomplete(self, reason: str) -> None:
        self.marked_incomplete = True
        self.listing.incomplete(reason)

    def run(self, url: str, params: Mapping[str, Any] | None) -> bool:
        """Fetch ``url`` and every ``next`` after it; False if the walk stopped early."""
        origin = _origin(url)
        self.seen.add(with_params(url, params))
        target: str | None = url
        target_params = params
        while target is not None:
            if self.pages >= self.source.max_pages:
                self.incomplete(f"stopped after {self.source.max_pages} pages (page cap)")
                return False
            fetched = self.ctx.fetch(
                target, params=target_params, headers=self.headers, kind=self.kind, listing=self.listing
            )
            self.pages += 1
            if fetched.parsed.unparsed:
                self.incomplete(f"page {self.pages} not fully parsed: {fetched.parsed.unparsed[0]}")
            self.on_page(fetched)
            try:
                body = fetched.json()
            except (ValueError, HPArchiveError):
                self.incomplete(f"page {self.pages} is not readable JSON, so it has no paging.next")
                return False
            paging = body.get("paging") if isinstance(body, dict) else None
            following = paging.get("next") if isinstance(paging, dict) else None
            if following is None:
                return True
            if not isinstance(following, str) or not following:
                self.incomplete(f"page {self.pages} has a paging.next that is not a URL")
                return False
            if _origin(following) != origin:
                elsewhere = _origin(following)
                self.incomplete(
                    f"page {self.pages}: paging.next points at {elsewhere}, not {origin}; not followed"
                )
                return False
            if following in self.seen:
                self.incomplete(f"page {self.pages}: paging.next repeats an earlier page")
                return False
            self.seen.add(following)
            target, target_params = following, None
        return True


@dataclass
class _Collected:
    """What the pages of one listing named: media ids, downloads, albums, reply pages."""

    posts: dict[str, None] = field(default_factory=dict)
    media: dict[str, str] = field(default_factory=dict)
    albums: dict[str, bool] = field(default_factory=dict)  # album id -> all children came inline
    reply_pages: list[str] = field(default_factory=list)

    def add(self, fetched: Fetched) -> None:
        for item in fetched.parsed.items:
            if item.kind == KIND_POST:
                self.posts.setdefault(item.native_id, None)
            elif item.kind == KIND_MEDIA and item.media_url:
                self.media.setdefault(item.native_id, item.media_url)
        try:
            body = fetched.json()
        except (ValueError, HPArchiveError):
            return
        for raw in _list(body.get("data")) if isinstance(body, dict) else []:
            if not isinstance(raw, dict):
                continue
            if raw.get("media_type") == "CAROUSEL_ALBUM" and isinstance(raw.get("id"), str):
                children = _obj(raw.get("children"))
                complete = isinstance(children.get("data"), list) and "next" not in _obj(
                    children.get("paging")
                )
                self.albums.setdefault(raw["id"], complete)
            following = _obj(_obj(raw.get("replies")).get("paging")).get("next")
            if isinstance(following, str) and following:
                self.reply_pages.append(following)

    def albums_without_children(self) -> list[str]:
        return [album for album, inline in self.albums.items() if not inline]


# -- parsing helpers ----------------------------------------------------------------------------


@dataclass
class _Builder:
    """Accumulates items and the reasons anything was left out, for one response."""

    items: list[ParsedItem] = field(default_factory=list)
    unparsed: list[str] = field(default_factory=list)

    def result(self) -> ParseResult:
        items = _break_cycles(self.items, self.unparsed)
        return ParseResult(items=tuple(items), unparsed=tuple(self.unparsed))

    def listing(self, payload: dict[str, Any], what: str, add: Callable[[Any, str], None]) -> None:
        data = payload.get("data")
        if not isinstance(data, list):
            self.unparsed.append(f"{what} listing has no 'data' list")
            return
        for index, raw in enumerate(data):
            add(raw, f"data[{index}]")

    def single(self, payload: dict[str, Any], node: str) -> None:
        if "media_type" in payload:
            self.media(payload, "object", owner=None)
        elif "text" in payload or "timestamp" in payload:
            parent = _str(payload.get("parent_id"))
            if parent:
                self.reply(payload, "object", parent=parent)
            else:
                self.comment(payload, "object", media_id=None)
        elif "username" in payload:
            self.profile(payload, node)
        else:
            self.unparsed.append(f"object {payload.get('id') or node!r}: unknown item type")

    def profile(self, raw: dict[str, Any], node: str) -> None:
        user_id = _str(raw.get("id")) or node
        username = _str(raw.get("username"))
        self.items.append(
            ParsedItem(
                native_id=user_id,
                kind=KIND_PAGE,
                text=text_of([_str(raw.get("name")), _str(raw.get("biography"))]),
                content={
                    "username": username,
                    "name": _str(raw.get("name")),
                    "biography": _str(raw.get("biography")),
                    "website": _str(raw.get("website")),
                },
                author_id=user_id,
                author_name=username,
                author_is_agency=True,
                url=f"https://www.instagram.com/{username}/" if username else None,
                extra=_pick(raw, ("media_count", "followers_count", "follows_count")),
            )
        )

    def media(self, raw: Any, where: str, *, owner: str | None) -> None:
        if not isinstance(raw, dict):
            self.unparsed.append(f"{where}: unknown item type ({_kind(raw)}), not a media object")
            return
        media_id = _str(raw.get("id"))
        if not media_id:
            self.unparsed.append(f"{where}: media without an id")
            return
        label = f"media {media_id}"
        media_type = _str(raw.get("media_type"))
        caption = self._text(raw, "caption", label)
        created = self._time(raw, "timestamp", label)
        username = _str(raw.get("username"))
        owner_id = _str(_obj(raw.get("owner")).get("id")) or owner
        children = [c for c in _edge_data(raw.get("children")) if isinstance(c, dict)]
        self.items.append(
            ParsedItem(
                native_id=media_id,
                kind=KIND_POST,
                text=caption or "",
                content={
                    "caption": caption,
                    "media_type": media_type,
                    "media_product_type": _str(raw.get("media_product_type")),
                    "children": [_str(c.get("id")) for c in children],
                },
                author_id=owner_id,
                author_name=username,
                author_is_agency=True,  # an account's media edge holds only its own media
                created_at=created,
                url=_str(raw.get("permalink")),
                extra=_pick(raw, ("like_count", "comments_count", "is_comment_enabled", "shortcode")),
            )
        )
        author = (owner_id, username)
        if media_type == "CAROUSEL_ALBUM":
            for index, child in enumerate(_edge_data(raw.get("children"))):
                self.child(child, f"{label} children[{index}]", media_id, author=author, created=created)
        elif media_type in MEDIA_TYPES:
            self.files(raw, media_id, parent=media_id, author=author, created=created)
        else:
            self.unparsed.append(f"{label}: unknown media_type {media_type!r}; its files were not read")

    def child(
        self,
        raw: Any,
        where: str,
        album: str,
        *,
        author: tuple[str | None, str | None] = (None, None),
        created: datetime | None = None,
    ) -> None:
        if not isinstance(raw, dict):
            self.unparsed.append(f"{where}: unknown item type ({_kind(raw)}), not a media object")
            return
        child_id = _str(raw.get("id"))
        if not child_id:
            self.unparsed.append(f"{where}: album child without an id")
            return
        media_type = _str(raw.get("media_type"))
        if media_type not in ("IMAGE", "VIDEO"):
            self.unparsed.append(f"album child {child_id}: unknown media_type {media_type!r}")
            return
        own_time = self._time(raw, "timestamp", f"album child {child_id}")
        self.files(raw, child_id, parent=album, author=author, created=own_time or created)

    def files(
        self,
        raw: dict[str, Any],
        media_id: str,
        *,
        parent: str,
        author: tuple[str | None, str | None],
        created: datetime | None,
    ) -> None:
        """The downloadable files of one image or video: the image, or the video and its cover."""
        media_type = _str(raw.get("media_type"))
        roles = [("image", "media_url")] if media_type == "IMAGE" else []
        if media_type == "VIDEO":
            roles = [("video", "media_url"), ("thumbnail", "thumbnail_url")]
        for role, key in roles:
            src = _str(raw.get(key))
            self.items.append(
                ParsedItem(
                    native_id=media_key(media_id, role),
                    kind=KIND_MEDIA,
                    text="",
                    # the CDN URL is signed and changes nightly: never part of a version
                    content={"media_id": media_id, "media_type": media_type, "role": role},
                    parent_native_id=parent,
                    root_native_id=parent,
                    author_id=author[0],
                    author_name=author[1],
                    author_is_agency=True,
                    created_at=created,
                    media_url=src,
                    # media_url is left out for copyrighted audio [notes §2]: nothing to download
                    extra={} if src else {"missing": key},
                )
            )

    def comment(self, raw: Any, where: str, *, media_id: str | None) -> None:
        if not isinstance(raw, dict):
            self.unparsed.append(f"{where}: unknown item type ({_kind(raw)}), not a comment")
            return
        comment_id = _str(raw.get("id"))
        root = _str(_obj(raw.get("media")).get("id")) or media_id
        if comment_id:
            declared = _str(raw.get("parent_id"))
            self.items.append(
                self._comment_item(raw, comment_id, parent=declared or root, root=root, reply=bool(declared))
            )
        else:
            self.unparsed.append(f"{where}: comment without an id")
        # replies name their parent themselves (parent_id), so they stand without it
        for index, reply in enumerate(_edge_data(raw.get("replies"))):
            self.reply(reply, f"comment {comment_id or where} replies[{index}]", parent=comment_id, root=root)

    def reply(self, raw: Any, where: str, *, parent: str | None, root: str | None = None) -> None:
        if not isinstance(raw, dict):
            self.unparsed.append(f"{where}: unknown item type ({_kind(raw)}), not a reply")
            return
        reply_id = _str(raw.get("id"))
        if not reply_id:
            self.unparsed.append(f"{where}: reply without an id")
            return
        root = _str(_obj(raw.get("media")).get("id")) or root
        declared = _str(raw.get("parent_id")) or parent
        self.items.append(self._comment_item(raw, reply_id, parent=declared, root=root, reply=True))

    def _comment_item(
        self, raw: dict[str, Any], comment_id: str, *, parent: str | None, root: str | None, reply: bool
    ) -> ParsedItem:
        label = f"comment {comment_id}"
        author = _obj(raw.get("from"))
        text = self._text(raw, "text", label)
        return ParsedItem(
            native_id=comment_id,
            kind=KIND_REPLY if reply else KIND_COMMENT,
            text=text or "",
            content={"text": text},
            parent_native_id=parent,
            root_native_id=root,
            author_id=_str(author.get("id")),
            author_name=_str(author.get("username")) or _str(raw.get("username")),
            # `user` is returned only when the app user (the account itself) wrote it [notes §3]
            author_is_agency=isinstance(raw.get("user"), dict),
            created_at=self._time(raw, "timestamp", label),
            hidden=raw["hidden"] if isinstance(raw.get("hidden"), bool) else None,
            extra=_pick(raw, ("like_count",)),
        )

    def _text(self, raw: dict[str, Any], key: str, label: str) -> str | None:
        value = raw.get(key)
        if value is None or isinstance(value, str):
            return value
        self.unparsed.append(f"{label}: {key} is {_kind(value)}, not text; left out")
        return None

    def _time(self, raw: dict[str, Any], key: str, label: str) -> datetime | None:
        value = raw.get(key)
        if value is None:
            return None
        parsed = _parse_time(value)
        if parsed is None:
            self.unparsed.append(f"{label}: {key} {str(value)[:40]!r} is not a time; left out")
        return parsed


def media_key(media_id: str, role: str) -> str:
    """The stable key of one file of an IG media: ``{ig-media-id}:{image|video|thumbnail}``."""
    return f"{media_id}:{role}"


def _break_cycles(items: list[ParsedItem], unparsed: list[str]) -> list[ParsedItem]:
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


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _edge_data(value: Any) -> list[Any]:
    return _list(_obj(value).get("data"))


def _pick(raw: Mapping[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    return {key: raw[key] for key in keys if key in raw}


def _str(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _parse_time(value: Any) -> datetime | None:
    """Graph time (``2017-08-31T19:16:02+0000``) or any ISO-8601 time; in UTC."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _path_segments(url: str) -> list[str]:
    """The Graph path of a URL without the version prefix: ``['17895695668004550', 'comments']``."""
    segments = [unquote(s) for s in urlsplit(url).path.split("/") if s]
    for index, segment in enumerate(segments):
        if _VERSION.match(segment):
            return segments[index + 1 :]
    return segments


# -- classify helpers ---------------------------------------------------------------------------


def _graph_error(response: ArchivedResponse) -> dict[str, Any] | None:
    if not _looks_json(response):
        return None
    try:
        payload = response.json()
    except (ValueError, HPArchiveError):
        return None
    error = payload.get("error") if isinstance(payload, dict) else None
    return error if isinstance(error, dict) else None


def _looks_json(response: ArchivedResponse) -> bool:
    content_type = response.message.content_type
    if content_type in ("application/json", "text/javascript"):
        return True
    if content_type.startswith(("image/", "video/", "audio/", "text/html")):
        return False
    try:
        return response.body().lstrip()[:1] in (b"{", b"[")
    except HPArchiveError:
        return False


def _regain_seconds(response: ArchivedResponse) -> float | None:
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


def _as_int(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _scrub(text: str) -> str:
    """Remove anything token-like from a message before it reaches logs or reports."""
    text = _TOKEN_PARAM.sub(r"\1REDACTED", text)
    return _TOKEN_LIKE.sub("[token]", " ".join(text.split()))


def _short(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:160]


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"
