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
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from hp_archive.errors import HPArchiveError, PlatformError, TransportError
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
    Verdict,
    text_of,
)
from hp_archive.sources.http import strip_query, with_params
from hp_archive.sources.meta_graph import (
    GraphErrorCodes,
    GraphItemsBuilder,
    GraphSource,
    edge_data,
    graph_payload,
    looks_json,
    next_page_url,
    path_segments,
    scrub,
)
from hp_archive.sources.support import (
    as_dict,
    as_text,
    as_time,
    pick,
    retry_after_seconds,
    success_verdict,
    type_name,
)
from hp_archive.sources.walking import ListingItems, download_files, listing_start, url_origin

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

_TOKEN_LIKE = re.compile(r"\bEAA[A-Za-z0-9]{16,}")
GRAPH_ERRORS = GraphErrorCodes(
    platform="Facebook",
    auth=AUTH_CODES,
    auth_subcodes=AUTH_SUBCODES,
    throttle=THROTTLE_CODES,
    transient=TRANSIENT_CODES,
    token_like=_TOKEN_LIKE,
    auth_fix=(
        "generate a new Page access token (a long-lived token of a user with a task on the Page) "
        "and store it in the account's token variable"
    ),
    permission_fix=(
        "grant the app pages_read_engagement and pages_read_user_content, give the token's user "
        "the Page's MODERATE task, then renew the Page access token"
    ),
)
# fbcdn signing and tracking parameters: they change on every fetch and identify nothing.
_VOLATILE_PARAMS = frozenset({"oh", "oe", "ccb", "stp", "efg", "edm", "fbclid", "h"})


class FacebookPagesSource(GraphSource):
    """A Facebook Page read with a Page access token."""

    platform: ClassVar[str] = "facebook"
    title: ClassVar[str] = "Facebook Page"
    api: ClassVar[str] = "Facebook Graph API v25.0: Page posts, comments"
    error_codes: ClassVar[GraphErrorCodes] = GRAPH_ERRORS

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
        download_files(ctx, media, "facebook media")
        for post_id in post_ids:
            download_files(ctx, self._list_comments(ctx, base, post_id, headers), "facebook media")

    def _list_posts(
        self, ctx: CaptureContext, base: str, page: str, headers: Mapping[str, str]
    ) -> tuple[list[str], dict[str, str]]:
        since = listing_start(
            ctx,
            "posts_listed_until",
            where=f"facebook:{page}/posts",
            fallback="listing every post instead",
            read_time=_parse_time,
        )
        params: dict[str, Any] = {
            "fields": POST_FIELDS,
            "limit": 100,
            "until": int(ctx.as_of.timestamp()),
        }
        if since is not None:
            params["since"] = int(since.timestamp())
        collected = ListingItems()
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
        collected = ListingItems()
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
        """Fetch ``url`` and every ``paging.next`` after it; False if the walk stopped early."""
        origin = url_origin(url)
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
            following, stop = next_page_url(fetched, origin=origin, seen=seen, page=pages)
            if stop is not None:
                listing.incomplete(stop)
                return False
            if following is None:
                return True
            seen.add(following)
            target, target_params = following, None
        return True

    # -- classify -------------------------------------------------------------------------------

    def _classify_plain(self, response: ArchivedResponse) -> Verdict:
        """A response without a Graph error object (a Graph success, or the photo CDN)."""
        status = response.status
        answered = success_verdict(response, looks_json, "Graph API")
        if answered is not None:
            return answered
        retry_after = retry_after_seconds(response)
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
            detail = ": " + scrub(_safe_text(response)[:120], _TOKEN_LIKE)
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
        payload, done = graph_payload(response)
        if done is not None:
            return done
        segments = path_segments(response.url)
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


class _Builder(GraphItemsBuilder):
    """Accumulates items and the reasons anything was skipped, for one response."""

    def read_time(self, value: Any) -> datetime | None:
        return _parse_time(value)

    def single(self, payload: dict[str, Any], node: str) -> None:
        object_id = payload.get("id")
        link = as_text(payload.get("permalink_url")) or ""
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
        name = as_text(raw.get("name"))
        self.items.append(
            ParsedItem(
                native_id=page_id,
                kind=KIND_PAGE,
                text=text_of([name, as_text(raw.get("about"))]),
                content={
                    "name": name,
                    "username": as_text(raw.get("username")),
                    "link": as_text(raw.get("link")),
                    "about": as_text(raw.get("about")),
                },
                author_id=page_id,
                author_name=name,
                author_is_agency=True,
                url=as_text(raw.get("link")),
            )
        )

    def post(self, raw: Any, where: str) -> None:
        if not isinstance(raw, dict):
            self.unparsed.append(f"{where}: unknown item type ({type_name(raw)}), not a post object")
            return
        post_id = as_text(raw.get("id"))
        if not post_id:
            self.unparsed.append(f"{where}: post without an id")
            return
        label = f"post {post_id}"
        author = as_dict(raw.get("from"))
        page_id = post_id.split("_", 1)[0] if "_" in post_id else None
        author_id = as_text(author.get("id")) or page_id
        # /posts holds only the Page's own posts; on /feed a visitor's post has another author
        agency = author_id is None or author_id == page_id
        message = self._text(raw, "message", label)
        story = self._text(raw, "story", label)
        created = self._time(raw, "created_time", label)
        attachments: list[dict[str, Any]] = []
        extra_text: list[str | None] = []
        media: list[ParsedItem] = []
        for index, att in enumerate(edge_data(raw.get("attachments"))):
            if not isinstance(att, dict):
                self.unparsed.append(f"{label}: attachment {index} is {type_name(att)}, not an object")
                continue
            attachments.append(_canonical_attachment(att))
            extra_text.extend(_attachment_text(att))
            media.extend(
                _media_items(att, parent=post_id, root=post_id, author_id=author_id,
                             author_name=as_text(author.get("name")), agency=agency, created=created)
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
                author_name=as_text(author.get("name")),
                author_is_agency=agency,
                created_at=created,
                hidden=raw["is_hidden"] if isinstance(raw.get("is_hidden"), bool) else None,
                url=as_text(raw.get("permalink_url")),
                extra=pick(raw, ("updated_time", "status_type", "is_published")) | _counts(raw),
            )
        )
        self.items.extend(media)
        comments = raw.get("comments")
        for index, comment in enumerate(edge_data(comments)):
            self.comment(comment, f"{label} comments[{index}]", listed_on=post_id)

    def comment(self, raw: Any, where: str, *, listed_on: str | None) -> None:
        if not isinstance(raw, dict):
            self.unparsed.append(f"{where}: unknown item type ({type_name(raw)}), not a comment")
            return
        comment_id = as_text(raw.get("id"))
        if not comment_id:
            self.unparsed.append(
                f"{where}: comment without an id (the token lacks the Page's MODERATE task, or "
                "the app reads through Page Public Content Access)"
            )
            return
        label = f"comment {comment_id}"
        thread = _Thread.of(comment_id, raw, listed_on)
        author = as_dict(raw.get("from"))
        author_id = as_text(author.get("id"))
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
                author_name=as_text(author.get("name")),
                author_is_agency=author_id is not None and author_id == thread.page_id,
                created_at=created,
                hidden=raw["is_hidden"] if isinstance(raw.get("is_hidden"), bool) else None,
                url=as_text(raw.get("permalink_url")),
                extra=pick(raw, ("can_hide", "can_comment", "can_remove", "is_private")) | _counts(raw),
            )
        )
        if isinstance(attachment, dict):
            self.items.extend(
                _media_items(attachment, parent=comment_id, root=thread.root, author_id=author_id,
                             author_name=as_text(author.get("name")),
                             agency=author_id is not None and author_id == thread.page_id,
                             created=created)
            )  # fmt: skip


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
        link = _permalink_parts(as_text(raw.get("permalink_url")))
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
        parent_id = as_text(parent.get("id")) if isinstance(parent, dict) else None
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
    subs = [s for s in edge_data(att.get("subattachments")) if isinstance(s, dict)]
    if subs:
        return [
            item
            for sub in subs
            for item in _media_items(sub, parent=parent, root=root, author_id=author_id,
                                     author_name=author_name, agency=agency, created=created)
        ]  # fmt: skip
    media = as_dict(att.get("media"))
    image = as_dict(media.get("image"))
    src = as_text(image.get("src"))
    if not src:
        return []
    target = as_dict(att.get("target"))
    target_id = as_text(target.get("id"))
    return [
        ParsedItem(
            native_id=media_key(parent, target_id, src),
            kind=KIND_MEDIA,
            text=text_of(_unique([as_text(att.get("title")), as_text(att.get("description"))])),
            content={
                "target_id": target_id,
                "type": as_text(att.get("type")),
                "media_type": as_text(att.get("media_type")),
                "target_url": _stable_url(as_text(target.get("url"))),
                "title": as_text(att.get("title")),
                "description": as_text(att.get("description")),
                "image": None if target_id else _stable_src(src),
            },
            parent_native_id=parent,
            root_native_id=root,
            author_id=author_id,
            author_name=author_name,
            author_is_agency=agency,
            created_at=created,
            url=as_text(target.get("url")) or as_text(att.get("url")),
            media_url=src,
            extra=pick(image, ("width", "height"))
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
    target = as_dict(att.get("target"))
    target_id = as_text(target.get("id"))
    media = as_dict(att.get("media"))
    image = as_dict(media.get("image"))
    src = as_text(image.get("src"))
    return {
        "type": as_text(att.get("type")),
        "media_type": as_text(att.get("media_type")),
        "title": as_text(att.get("title")),
        "description": as_text(att.get("description")),
        "target_id": target_id,
        "target_url": _stable_url(as_text(target.get("url"))),
        "url": _stable_url(as_text(att.get("unshimmed_url")) or as_text(att.get("url"))),
        "image": _stable_src(src) if src and not target_id else None,
        "subattachments": [
            _canonical_attachment(sub)
            for sub in edge_data(att.get("subattachments"))
            if isinstance(sub, dict)
        ],
    }


def _attachment_text(att: dict[str, Any]) -> list[str | None]:
    texts: list[str | None] = [as_text(att.get("title")), as_text(att.get("description"))]
    for sub in edge_data(att.get("subattachments")):
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
            tags.append(pick(tag, ("id", "name", "type", "offset", "length")))
    return tags


def _counts(raw: dict[str, Any]) -> dict[str, Any]:
    """Engagement counts: they change without an edit, so they never define a version."""
    counts = pick(raw, ("like_count", "comment_count"))
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


def _unique(texts: Iterable[str | None]) -> list[str]:
    seen: list[str] = []
    for text in texts:
        if text and text.strip() and text.strip() not in (s.strip() for s in seen):
            seen.append(text)
    return seen


def _parse_time(value: Any) -> datetime | None:
    """Graph time (``2021-07-09T19:09:52+0000``), any ISO-8601 time, or Unix seconds; UTC."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    return as_time(value)


def _safe_text(response: ArchivedResponse) -> str:
    try:
        return response.body().decode("utf-8", "replace")
    except HPArchiveError:
        return ""
