"""Facebook Pages through the Graph API: the Page, its posts, comments, replies and photos.

Built to docs/research/facebook-graph-api.md. A night's capture is:

1. ``GET /{page}?fields=id,name,username,link`` (the Page's own profile, kind ``page``);
2. ``GET /{page}/posts`` with explicit fields, ``limit=100`` and ``until=as_of`` (plus
   ``since`` after the first run), following ``paging.next`` until it is absent;
3. for every listed post ``GET /{post}/comments?filter=stream&order=chronological&summary=true
   &limit=100``, which returns replies too (each with ``parent``), hidden ones included for a
   Page token;
4. each attachment image once, keyed by its stable ``target.id`` (CDN URLs change nightly).

:meth:`FacebookPagesSource.parse` reads any of those responses back into items, from the
stored bytes alone.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

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

_ATTACHMENT_FIELDS = (
    "type,media_type,title,description,url,unshimmed_url,target{id,url},media{image{src,height,width},source}"
)
PAGE_FIELDS = "id,name,username,link"
POST_FIELDS = (
    "id,created_time,updated_time,message,story,message_tags,permalink_url,status_type,"
    "is_hidden,is_published,from{id,name},shares,"
    f"attachments{{{_ATTACHMENT_FIELDS},subattachments{{{_ATTACHMENT_FIELDS}}}}}"
)
COMMENT_FIELDS = (
    "id,created_time,message,message_tags,from{id,name},parent{id},is_hidden,can_hide,"
    "can_comment,like_count,comment_count,permalink_url,"
    "attachment{type,title,description,url,target{id,url},media{image{src,height,width}}}"
)
POST_EDGES = frozenset({"posts", "feed", "published_posts"})
GRAPH_HOSTS = frozenset({"graph.facebook.com", "graph.beta.facebook.com"})

# Graph error codes [notes §4]
AUTH_CODES = frozenset({102, 104, 190})
AUTH_SUBCODES = frozenset({458, 459, 460, 463, 464, 467, 492})
THROTTLE_CODES = frozenset({4, 17, 32, 341, 613, 80001})
TRANSIENT_CODES = frozenset({1, 2})

_VERSION = re.compile(r"^v\d+\.\d+$")
_TOKEN_LIKE = re.compile(r"\bEAA[A-Za-z0-9]{16,}")
_TOKEN_PARAM = re.compile(r"(access_token=)[^&\s\"']+", re.IGNORECASE)
# fbcdn signing and tracking parameters: they change on every fetch and identify nothing.
_VOLATILE_PARAMS = frozenset({"oh", "oe", "ccb", "stp", "efg", "edm", "fbclid", "h"})


class FacebookPagesSource(Source):
    """A Facebook Page read with a Page access token."""

    platform: ClassVar[str] = "facebook"
    title: ClassVar[str] = "Facebook Page"
    api: ClassVar[str] = "Facebook Graph API v25.0: Page posts, comments"
    default_base_url: ClassVar[str] = "https://graph.facebook.com/v25.0"

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

    # -- capture --------------------------------------------------------------------------------

    def capture(self, ctx: CaptureContext) -> None:
        page = self.account.handle
        base = self.base_url.rstrip("/")
        headers = self.auth_headers(ctx.token)
        try:
            ctx.fetch(
                f"{base}/{quote(page, safe='')}",
                params={"fields": PAGE_FIELDS},
                headers=headers,
                kind=KIND_PAGE,
            )
        except (PlatformError, TransportError) as exc:
            ctx.note_failure(f"facebook:{page}", f"page profile not captured: {exc}")
        post_ids, media = self._list_posts(ctx, base, page, headers)
        self._download_media(ctx, media)
        for post_id in post_ids:
            self._download_media(ctx, self._list_comments(ctx, base, post_id, headers))

    def _list_posts(
        self, ctx: CaptureContext, base: str, page: str, headers: Mapping[str, str]
    ) -> tuple[list[str], dict[str, str]]:
        since = None
        listed_until = ctx.state.get("posts_listed_until")
        if listed_until is not None:
            previous = _parse_time(listed_until)
            if previous is None:
                ctx.note_failure(
                    f"facebook:{page}/posts",
                    f"saved posts_listed_until {listed_until!r} is not an ISO time; "
                    "listing every post instead",
                )
            else:
                since = min(previous, ctx.as_of) - ctx.lookback
        params: dict[str, Any] = {
            "fields": POST_FIELDS,
            "limit": 100,
            "until": int(ctx.as_of.timestamp()),
        }
        if since is not None:
            params["since"] = int(since.timestamp())
        collected = _Collected()
        completed = False
        scope = f"facebook:{page}/posts"
        with ctx.listing(scope, kind=KIND_POST, since=since, until=ctx.as_of) as listing:
            url = f"{base}/{quote(page, safe='')}/posts"
            completed = self._walk(
                ctx, listing, url, params=params, headers=headers, kind=KIND_POST,
                on_page=collected.add,
            )  # fmt: skip
        if completed:
            ctx.set_state("posts_listed_until", ctx.as_of.isoformat())
        return list(collected.posts), collected.media

    def _list_comments(
        self, ctx: CaptureContext, base: str, post_id: str, headers: Mapping[str, str]
    ) -> dict[str, str]:
        params = {
            "fields": COMMENT_FIELDS,
            "filter": "stream",
            "order": "chronological",
            "summary": "true",
            "limit": 100,
        }
        collected = _Collected()
        scope = f"facebook:{post_id}/comments"
        with ctx.listing(scope, kind=KIND_COMMENT, until=ctx.as_of) as listing:
            url = f"{base}/{quote(post_id, safe='')}/comments"
            self._walk(
                ctx, listing, url, params=params, headers=headers, kind=KIND_COMMENT,
                on_page=collected.add,
            )  # fmt: skip
        return collected.media

    def _walk(
        self,
        ctx: CaptureContext,
        listing: Listing,
        url: str,
        *,
        params: Mapping[str, Any],
        headers: Mapping[str, str],
        kind: str,
        on_page: Callable[[Fetched], None],
    ) -> bool:
        """Fetch ``url`` and every ``paging.next`` after it; False if the walk stopped early.

        Only Graph's own ``next`` URLs on the same origin are followed: the Authorization header
        goes with every request, so a URL elsewhere would hand it the token.
        """
        origin = _origin(url)
        seen = {with_params(url, params)}
        target: str | None = url
        target_params: Mapping[str, Any] | None = params
        pages = 0
        while target is not None:
            if pages >= self.max_pages:
                listing.incomplete(f"stopped after {self.max_pages} pages (page cap)")
                return False
            fetched = ctx.fetch(target, params=target_params, headers=headers, kind=kind, listing=listing)
            pages += 1
            on_page(fetched)
            try:
                body = fetched.json()
            except (ValueError, HPArchiveError):
                listing.incomplete(f"page {pages} is not readable JSON, so it has no paging.next")
                return False
            paging = body.get("paging") if isinstance(body, dict) else None
            following = paging.get("next") if isinstance(paging, dict) else None
            if following is None:
                return True
            if not isinstance(following, str) or not following:
                listing.incomplete(f"page {pages} has a paging.next that is not a URL")
                return False
            if _origin(following) != origin:
                listing.incomplete(
                    f"page {pages}: paging.next points at {_origin(following)}, not {origin}; not followed"
                )
                return False
            if following in seen:
                listing.incomplete(f"page {pages}: paging.next repeats an earlier page")
                return False
            seen.add(following)
            target, target_params = following, None
        return True

    def _download_media(self, ctx: CaptureContext, media: Mapping[str, str]) -> None:
        for media_key, src in media.items():
            try:
                ctx.download_media(src, media_key=media_key)
            except (PlatformError, TransportError) as exc:
                # Only this file is lost for tonight; its post still names it, and the next
                # night's listing brings a freshly signed URL.
                ctx.note_failure(f"facebook media {media_key}", str(exc))

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
        # No account or page names here: the context prefixes its own, and a name must not be
        # able to change how a message is read (the context looks for "rate" in it).
        if code in AUTH_CODES or subcode in AUTH_SUBCODES:
            return Verdict(
                "auth",
                f"{label}: {message} — generate a new Page access token (a long-lived token of "
                "a user with a task on the Page) and store it in the account's token variable",
            )
        if code in THROTTLE_CODES:
            retry_after = _regain_seconds(response)
            if retry_after is None:
                retry_after = parse_retry_after(response.header("Retry-After"), response.date)
            return Verdict("rate-limited", f"rate limited by Facebook, {label}: {message}", retry_after)
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
                f"{label}: permission missing: {message} — grant the app pages_read_engagement "
                "and pages_read_user_content, give the token's user the Page's MODERATE task, "
                "then renew the Page access token",
            )
        return Verdict("error", f"{label}: {message}")

    def _classify_plain(self, response: ArchivedResponse) -> Verdict:
        """A response without a Graph error object (a Graph success, or the photo CDN)."""
        status = response.status
        if 200 <= status < 300:
            if _looks_json(response):
                try:
                    response.json()
                except (ValueError, HPArchiveError) as exc:
                    # A cut or garbled listing page would end the walk early and make a
                    # complete-looking listing report live items as deleted: fetch it again.
                    return Verdict("retry", f"malformed JSON from Graph API: {_short(exc)}")
            return Verdict.ok()
        if status == 304:
            return Verdict.ok()
        retry_after = parse_retry_after(response.header("Retry-After"), response.date)
        if status == 429:
            return Verdict("retry", f"rate limited (HTTP 429) at {strip_query(response.url)}", retry_after)
        if status >= 500:
            return Verdict("retry", f"HTTP {status} at {strip_query(response.url)}", retry_after)
        if status == 401:
            return Verdict(
                "auth",
                f"HTTP 401 for {strip_query(response.url)}: renew the Page access token",
            )
        detail = ""
        if response.message.content_type == "text/plain":
            detail = ": " + _scrub(_safe_text(response)[:120])
        # 403/404 here comes from the photo CDN (expired or re-signed URL), not the token.
        return Verdict("error", f"HTTP {status} for {strip_query(response.url)}{detail}")

    # -- parse ----------------------------------------------------------------------------------

    @classmethod
    def recognizes(cls, url: str) -> bool:
        """Graph API responses (``graph.facebook.com``, any version), e.g. in a warcprox WARC."""
        parts = urlsplit(url)
        return parts.scheme in ("http", "https") and (parts.hostname or "") in GRAPH_HOSTS

    @classmethod
    def parse(cls, response: ArchivedResponse) -> ParseResult:
        content_type = response.message.content_type
        if content_type.startswith(("image/", "video/", "audio/")):
            return ParseResult()  # a media file: its item comes from the post that shows it
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
        if len(segments) == 2 and segments[1] in POST_EDGES:
            builder.listing(payload, "posts", builder.post)
        elif len(segments) == 2 and segments[1] == "comments":
            listed_on = segments[0]
            builder.listing(
                payload,
                "comments",
                lambda raw, where: builder.comment(raw, where, listed_on=listed_on),
            )
        elif len(segments) == 1:
            builder.single(payload, segments[0])
        else:
            return ParseResult.failed(f"unknown Graph API path {urlsplit(response.url).path}")
        return builder.result()


# -- parsing helpers ----------------------------------------------------------------------------


@dataclass
class _Builder:
    """Accumulates items and the reasons anything was skipped, for one response."""

    items: list[ParsedItem] = field(default_factory=list)
    unparsed: list[str] = field(default_factory=list)

    def result(self) -> ParseResult:
        return ParseResult(items=tuple(self.items), unparsed=tuple(self.unparsed))

    def listing(self, payload: dict[str, Any], what: str, add: Callable[[Any, str], None]) -> None:
        data = payload.get("data")
        if not isinstance(data, list):
            self.unparsed.append(f"{what} listing has no 'data' list")
            return
        for index, raw in enumerate(data):
            add(raw, f"data[{index}]")

    def single(self, payload: dict[str, Any], node: str) -> None:
        object_id = payload.get("id")
        link = _str(payload.get("permalink_url")) or ""
        if _is_page(payload):
            self.page(payload)
        elif "comment_id=" in link or _COMMENT_MARKERS & payload.keys():
            self.comment(payload, "object", listed_on=None)
        elif "/posts/" in link or _POST_MARKERS & payload.keys():
            self.post(payload, "object")
        else:
            self.unparsed.append(
                f"object {object_id or node!r}: cannot tell whether it is a post or a comment"
            )

    def page(self, raw: dict[str, Any]) -> None:
        page_id = str(raw["id"])
        name = _str(raw.get("name"))
        self.items.append(
            ParsedItem(
                native_id=page_id,
                kind=KIND_PAGE,
                text=text_of([name, _str(raw.get("about"))]),
                content={
                    "name": name,
                    "username": _str(raw.get("username")),
                    "link": _str(raw.get("link")),
                    "about": _str(raw.get("about")),
                },
                author_id=page_id,
                author_name=name,
                author_is_agency=True,
                url=_str(raw.get("link")),
            )
        )

    def post(self, raw: Any, where: str) -> None:
        if not isinstance(raw, dict):
            self.unparsed.append(f"{where}: unknown item type ({_kind(raw)}), not a post object")
            return
        post_id = _str(raw.get("id"))
        if not post_id:
            self.unparsed.append(f"{where}: post without an id")
            return
        label = f"post {post_id}"
        author = _obj(raw.get("from"))
        page_id = post_id.split("_", 1)[0] if "_" in post_id else None
        author_id = _str(author.get("id")) or page_id
        # /posts holds only the Page's own posts; on /feed a visitor's post has another author
        agency = author_id is None or author_id == page_id
        message = self._text(raw, "message", label)
        story = self._text(raw, "story", label)
        created = self._time(raw, "created_time", label)
        attachments: list[dict[str, Any]] = []
        extra_text: list[str | None] = []
        media: list[ParsedItem] = []
        for index, att in enumerate(_edge_data(raw.get("attachments"))):
            if not isinstance(att, dict):
                self.unparsed.append(f"{label}: attachment {index} is {_kind(att)}, not an object")
                continue
            attachments.append(_canonical_attachment(att))
            extra_text.extend(_attachment_text(att))
            media.extend(
                _media_items(att, parent=post_id, root=post_id, author_id=author_id,
                             author_name=_str(author.get("name")), agency=agency, created=created)
            )  # fmt: skip
        self.items.append(
            ParsedItem(
                native_id=post_id,
                kind=KIND_POST,
                text=text_of(_unique([message, story, *extra_text])),
                content={
                    "message": message,
                    "story": story,
                    "message_tags": _tags(raw.get("message_tags")),
                    "attachments": attachments,
                },
                author_id=author_id,
                author_name=_str(author.get("name")),
                author_is_agency=agency,
                created_at=created,
                hidden=raw["is_hidden"] if isinstance(raw.get("is_hidden"), bool) else None,
                url=_str(raw.get("permalink_url")),
                extra=_pick(raw, ("updated_time", "status_type", "is_published")) | _counts(raw),
            )
        )
        self.items.extend(media)
        comments = raw.get("comments")
        for index, comment in enumerate(_edge_data(comments)):
            self.comment(comment, f"{label} comments[{index}]", listed_on=post_id)

    def comment(self, raw: Any, where: str, *, listed_on: str | None) -> None:
        if not isinstance(raw, dict):
            self.unparsed.append(f"{where}: unknown item type ({_kind(raw)}), not a comment")
            return
        comment_id = _str(raw.get("id"))
        if not comment_id:
            self.unparsed.append(
                f"{where}: comment without an id (the token lacks the Page's MODERATE task, or "
                "the app reads through Page Public Content Access)"
            )
            return
        label = f"comment {comment_id}"
        thread = _Thread.of(comment_id, raw, listed_on)
        author = _obj(raw.get("from"))
        author_id = _str(author.get("id"))
        message = self._text(raw, "message", label)
        created = self._time(raw, "created_time", label)
        attachment = raw.get("attachment")
        canonical = _canonical_attachment(attachment) if isinstance(attachment, dict) else None
        extra_text = _attachment_text(attachment) if isinstance(attachment, dict) else []
        self.items.append(
            ParsedItem(
                native_id=comment_id,
                kind=KIND_REPLY if thread.is_reply else KIND_COMMENT,
                text=text_of(_unique([message, *extra_text])),
                content={
                    "message": message,
                    "message_tags": _tags(raw.get("message_tags")),
                    "attachment": canonical,
                },
                parent_native_id=thread.parent,
                root_native_id=thread.root,
                author_id=author_id,
                author_name=_str(author.get("name")),
                author_is_agency=author_id is not None and author_id == thread.page_id,
                created_at=created,
                hidden=raw["is_hidden"] if isinstance(raw.get("is_hidden"), bool) else None,
                url=_str(raw.get("permalink_url")),
                extra=_pick(raw, ("can_hide", "can_comment", "can_remove", "is_private")) | _counts(raw),
            )
        )
        if isinstance(attachment, dict):
            self.items.extend(
                _media_items(attachment, parent=comment_id, root=thread.root, author_id=author_id,
                             author_name=_str(author.get("name")),
                             agency=author_id is not None and author_id == thread.page_id,
                             created=created)
            )  # fmt: skip

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


@dataclass(frozen=True)
class _Thread:
    """Where a comment sits: its Page, post (root) and parent, from whatever the data says.

    Comment ids are ``{post-object-id}_{comment-id}``; post ids are ``{page-id}_{post-id}``; a
    comment's ``permalink_url`` is ``.../{page-id}/posts/{post-id}/?comment_id=…`` with
    ``&reply_comment_id=…`` for a reply [notes §3].
    """

    page_id: str | None
    root: str | None
    parent: str | None
    is_reply: bool

    @classmethod
    def of(cls, comment_id: str, raw: dict[str, Any], listed_on: str | None) -> _Thread:
        post_object = comment_id.split("_", 1)[0] if "_" in comment_id else None
        link = _permalink_parts(_str(raw.get("permalink_url")))
        page_id = link.get("page")
        if post_object is None:
            post_object = link.get("post")
        if page_id is None and listed_on and post_object and listed_on.endswith(f"_{post_object}"):
            page_id = listed_on.split("_", 1)[0]
        root = f"{page_id}_{post_object}" if page_id and post_object else None
        listed_on_comment = bool(listed_on and post_object and listed_on.startswith(f"{post_object}_"))
        if root is None and listed_on and not listed_on_comment:
            root = listed_on
        parent = raw.get("parent")
        parent_id = _str(parent.get("id")) if isinstance(parent, dict) else None
        if parent_id is None and listed_on_comment:
            parent_id = listed_on  # GET /{comment-id}/comments lists that comment's replies
        if parent_id is None and link.get("reply_comment_id") and post_object:
            parent_id = f"{post_object}_{link['comment_id']}"
        if parent_id is not None and parent_id != root:
            return cls(page_id, root, parent_id, True)
        return cls(page_id, root, root or listed_on, False)


_COMMENT_MARKERS = frozenset(
    {"parent", "comment_count", "like_count", "can_hide", "can_reply_privately", "attachment"}
)
_POST_MARKERS = frozenset({"attachments", "status_type", "story", "full_picture", "shares", "updated_time"})


def _is_page(raw: dict[str, Any]) -> bool:
    object_id = raw.get("id")
    return (
        isinstance(object_id, str | int)
        and "_" not in str(object_id)
        and "name" in raw
        and "created_time" not in raw
        and "message" not in raw
    )


def _media_items(
    att: dict[str, Any],
    *,
    parent: str,
    root: str | None,
    author_id: str | None,
    author_name: str | None,
    agency: bool,
    created: datetime | None,
) -> list[ParsedItem]:
    """One media item per image: the subattachments of an album, else the attachment itself.

    An album's own image repeats its first photo under another signed URL, so it is skipped.
    """
    subs = [s for s in _edge_data(att.get("subattachments")) if isinstance(s, dict)]
    if subs:
        return [
            item
            for sub in subs
            for item in _media_items(sub, parent=parent, root=root, author_id=author_id,
                                     author_name=author_name, agency=agency, created=created)
        ]  # fmt: skip
    media = _obj(att.get("media"))
    image = _obj(media.get("image"))
    src = _str(image.get("src"))
    if not src:
        return []
    target = _obj(att.get("target"))
    target_id = _str(target.get("id"))
    return [
        ParsedItem(
            native_id=media_key(parent, target_id, src),
            kind=KIND_MEDIA,
            text=text_of(_unique([_str(att.get("title")), _str(att.get("description"))])),
            content={
                "target_id": target_id,
                "type": _str(att.get("type")),
                "media_type": _str(att.get("media_type")),
                "target_url": _stable_url(_str(target.get("url"))),
                "title": _str(att.get("title")),
                "description": _str(att.get("description")),
                "image": None if target_id else _stable_src(src),
            },
            parent_native_id=parent,
            root_native_id=root,
            author_id=author_id,
            author_name=author_name,
            author_is_agency=agency,
            created_at=created,
            url=_str(target.get("url")) or _str(att.get("url")),
            media_url=src,
            extra=_pick(image, ("width", "height"))
            | ({"video_source": media["source"]} if isinstance(media.get("source"), str) else {}),
        )
    ]


def media_key(parent: str, target_id: str | None, src: str) -> str:
    """The stable key of an attachment image: its ``target.id`` (the Photo or Video node).

    A link preview has no target id; its key is the parent plus a digest of the image URL
    without the CDN's signing parameters.
    """
    if target_id:
        return target_id
    return f"{parent}:" + hashlib.sha256(_stable_src(src).encode()).hexdigest()[:16]


def _canonical_attachment(att: dict[str, Any]) -> dict[str, Any]:
    """What an attachment shows, without the per-fetch parts (signed image URLs, sizes)."""
    target = _obj(att.get("target"))
    target_id = _str(target.get("id"))
    media = _obj(att.get("media"))
    image = _obj(media.get("image"))
    src = _str(image.get("src"))
    return {
        "type": _str(att.get("type")),
        "media_type": _str(att.get("media_type")),
        "title": _str(att.get("title")),
        "description": _str(att.get("description")),
        "target_id": target_id,
        "target_url": _stable_url(_str(target.get("url"))),
        "url": _stable_url(_str(att.get("unshimmed_url")) or _str(att.get("url"))),
        "image": _stable_src(src) if src and not target_id else None,
        "subattachments": [
            _canonical_attachment(sub)
            for sub in _edge_data(att.get("subattachments"))
            if isinstance(sub, dict)
        ],
    }


def _attachment_text(att: dict[str, Any]) -> list[str | None]:
    texts: list[str | None] = [_str(att.get("title")), _str(att.get("description"))]
    for sub in _edge_data(att.get("subattachments")):
        if isinstance(sub, dict):
            texts.extend(_attachment_text(sub))
    return texts


def _stable_url(url: str | None) -> str | None:
    """A link without Facebook's redirect wrapper and tracking parameters."""
    if not url:
        return url
    parts = urlsplit(url)
    if parts.netloc.endswith("facebook.com") and parts.path == "/l.php":
        target = dict(parse_qsl(parts.query)).get("u")
        if target:
            return target
    pairs = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k not in _VOLATILE_PARAMS and not k.startswith(("__", "_nc_"))
    ]
    query = f"?{urlencode(pairs)}" if pairs else ""
    return f"{parts.scheme}://{parts.netloc}{parts.path}{query}"


def _stable_src(src: str) -> str:
    """An image URL's identity: the previewed URL of a safe_image, else the CDN path."""
    parts = urlsplit(src)
    if parts.path.endswith("safe_image.php"):
        previewed = dict(parse_qsl(parts.query)).get("url")
        if previewed:
            return previewed
    return parts.path  # host (CDN point of presence) and query (signature) vary per fetch


def _tags(value: Any) -> list[dict[str, Any]]:
    tags = []
    for tag in value if isinstance(value, list) else []:
        if isinstance(tag, dict):
            tags.append(_pick(tag, ("id", "name", "type", "offset", "length")))
    return tags


def _counts(raw: dict[str, Any]) -> dict[str, Any]:
    """Engagement counts: they change without an edit, so they never define a version."""
    counts = _pick(raw, ("like_count", "comment_count"))
    shares = raw.get("shares")
    if isinstance(shares, dict) and isinstance(shares.get("count"), int):
        counts["share_count"] = shares["count"]
    summary = raw.get("comments", {}).get("summary") if isinstance(raw.get("comments"), dict) else None
    if isinstance(summary, dict) and isinstance(summary.get("total_count"), int):
        counts["comments_total"] = summary["total_count"]
    return counts


def _permalink_parts(link: str | None) -> dict[str, str]:
    if not link:
        return {}
    parts = urlsplit(link)
    found: dict[str, str] = {}
    match = re.match(r"^/([^/]+)/posts/([^/]+)/?$", parts.path)
    if match and match.group(1).isdigit():
        found["page"], found["post"] = match.group(1), match.group(2)
    for key, value in parse_qsl(parts.query):
        if key in ("comment_id", "reply_comment_id"):
            found[key] = value
    return found


def _obj(value: Any) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty one (missing and malformed alike)."""
    return value if isinstance(value, dict) else {}


def _edge_data(value: Any) -> list[Any]:
    if isinstance(value, dict) and isinstance(value.get("data"), list):
        return list(value["data"])
    return []


def _pick(raw: Mapping[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    return {key: raw[key] for key in keys if key in raw}


def _unique(texts: Iterable[str | None]) -> list[str]:
    seen: list[str] = []
    for text in texts:
        if text and text.strip() and text.strip() not in (s.strip() for s in seen):
            seen.append(text)
    return seen


def _str(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _parse_time(value: Any) -> datetime | None:
    """Graph time (``2021-07-09T19:09:52+0000``), any ISO-8601 time, or Unix seconds; UTC."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _path_segments(url: str) -> list[str]:
    """The Graph path of a URL without the version prefix: ``['123_456', 'comments']``."""
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


def _safe_text(response: ArchivedResponse) -> str:
    try:
        return response.body().decode("utf-8", "replace")
    except HPArchiveError:
        return ""


def _short(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:160]


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


@dataclass
class _Collected:
    """Post ids and media (key → image URL) seen on the pages of one listing, in order."""

    posts: dict[str, None] = field(default_factory=dict)
    media: dict[str, str] = field(default_factory=dict)

    def add(self, fetched: Fetched) -> None:
        for item in fetched.parsed.items:
            if item.kind == KIND_POST:
                self.posts.setdefault(item.native_id, None)
            elif item.kind == KIND_MEDIA and item.media_url:
                self.media.setdefault(item.native_id, item.media_url)
