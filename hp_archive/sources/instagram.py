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

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit

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
)
from hp_archive.sources.support import (
    as_dict,
    as_list,
    as_text,
    drop_reply_cycles,
    overload_verdict,
    pick,
    success_verdict,
    type_name,
)
from hp_archive.sources.walking import ListingItems, PageWalk, download_files, listing_start, url_origin

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
GRAPH_ERRORS = GraphErrorCodes(
    platform="Instagram",
    auth=AUTH_CODES,
    auth_subcodes=AUTH_SUBCODES,
    throttle=THROTTLE_CODES,
    transient=TRANSIENT_CODES,
    token_like=re.compile(r"\b(?:EAA|IGQ|IGAA)[A-Za-z0-9_-]{16,}"),
    auth_fix=(
        "generate a new long-lived access token for the account (a user with a task on the "
        "linked Page) and store it in the account's token variable"
    ),
    permission_fix=(
        "grant the app instagram_basic, instagram_manage_comments and pages_read_engagement, "
        "then renew the token"
    ),
)


class InstagramSource(GraphSource):
    """An Instagram professional (business or creator) account read with its own token."""

    platform: ClassVar[str] = "instagram"
    title: ClassVar[str] = "Instagram professional account"
    api: ClassVar[str] = "Instagram Graph API v25.0: user media, media children, comments, replies"
    error_codes: ClassVar[GraphErrorCodes] = GRAPH_ERRORS

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
        download_files(ctx, downloads, "instagram media")
        for media_id in media_ids:
            self._list_comments(ctx, base, media_id, headers)

    def _list_media(
        self, ctx: CaptureContext, base: str, user: str, headers: Mapping[str, str]
    ) -> tuple[list[str], dict[str, str]]:
        since = listing_start(
            ctx, "media_listed_until", where=f"instagram:{user}/media", fallback="listing every media"
        )
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
            walk = _Walk(ctx, listing, headers, KIND_POST, collected.add, max_pages=self.max_pages)
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
            walk = _Walk(ctx, listing, headers, KIND_COMMENT, collected.add, max_pages=self.max_pages)
            url = f"{base}/{quote(media_id, safe='')}/comments"
            walk.run(url, {"fields": COMMENT_FIELDS, "limit": COMMENT_LIMIT})
            # an expanded reply list holds only its first page; the rest pages on from its next
            for following in collected.reply_pages:
                walk.run(following, None)

    # -- classify -------------------------------------------------------------------------------

    def _classify_plain(self, response: ArchivedResponse) -> Verdict:
        """A response without a Graph error object (a Graph success, or the media CDN)."""
        status = response.status
        answered = success_verdict(response, looks_json, "the Graph API")
        if answered is not None:
            return answered
        overloaded = overload_verdict(response)
        if overloaded is not None:
            return overloaded
        if status == 401:
            return Verdict("auth", f"HTTP 401 for {strip_query(response.url)}: renew the access token")
        # 403/404 without an error object is the media CDN (expired or re-signed URL)
        return Verdict("error", f"HTTP {status} for {strip_query(response.url)}")

    # -- parse ----------------------------------------------------------------------------------

    @classmethod
    def parse(cls, response: ArchivedResponse) -> ParseResult:
        payload, done = graph_payload(response)
        if done is not None:
            return done
        segments = path_segments(response.url)
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


class _Walk(PageWalk):
    """Follows ``paging.next`` from a first URL, attributing every page to one listing.

    Only ``next`` URLs on the API's origin are followed (see :func:`next_page_url`), and none
    twice within the listing.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.seen: set[str] = set()

    def run(self, url: str, params: Mapping[str, Any] | None) -> bool:
        """Fetch ``url`` and every ``next`` after it; False if the walk stopped early."""
        origin = url_origin(url)
        self.seen.add(with_params(url, params))
        target: str | None = url
        target_params = params
        while target is not None:
            fetched = self.fetch_page(target, target_params)
            if fetched is None:
                return False
            following, stop = next_page_url(fetched, origin=origin, seen=self.seen, page=self.pages)
            if stop is not None:
                self.incomplete(stop)
                return False
            if following is None:
                return True
            self.seen.add(following)
            target, target_params = following, None
        return True


@dataclass
class _Collected(ListingItems):
    """What the pages of one listing named: media, downloads, albums, reply pages."""

    albums: dict[str, bool] = field(default_factory=dict)  # album id -> all children came inline
    reply_pages: list[str] = field(default_factory=list)

    def add(self, fetched: Fetched) -> None:
        super().add(fetched)
        try:
            body = fetched.json()
        except (ValueError, HPArchiveError):
            return
        for raw in as_list(body.get("data")) if isinstance(body, dict) else []:
            if not isinstance(raw, dict):
                continue
            if raw.get("media_type") == "CAROUSEL_ALBUM" and isinstance(raw.get("id"), str):
                children = as_dict(raw.get("children"))
                complete = isinstance(children.get("data"), list) and "next" not in as_dict(
                    children.get("paging")
                )
                self.albums.setdefault(raw["id"], complete)
            following = as_dict(as_dict(raw.get("replies")).get("paging")).get("next")
            if isinstance(following, str) and following:
                self.reply_pages.append(following)

    def albums_without_children(self) -> list[str]:
        return [album for album, inline in self.albums.items() if not inline]


# -- parsing helpers ----------------------------------------------------------------------------


class _Builder(GraphItemsBuilder):
    """Accumulates items and the reasons anything was left out, for one response."""

    def result(self) -> ParseResult:
        items = drop_reply_cycles(self.items, self.unparsed)
        return ParseResult(items=tuple(items), unparsed=tuple(self.unparsed))

    def single(self, payload: dict[str, Any], node: str) -> None:
        if "media_type" in payload:
            self.media(payload, "object", owner=None)
        elif "text" in payload or "timestamp" in payload:
            parent = as_text(payload.get("parent_id"))
            if parent:
                self.reply(payload, "object", parent=parent)
            else:
                self.comment(payload, "object", media_id=None)
        elif "username" in payload:
            self.profile(payload, node)
        else:
            self.unparsed.append(f"object {payload.get('id') or node!r}: unknown item type")

    def profile(self, raw: dict[str, Any], node: str) -> None:
        user_id = as_text(raw.get("id")) or node
        username = as_text(raw.get("username"))
        self.items.append(
            ParsedItem(
                native_id=user_id,
                kind=KIND_PAGE,
                text=text_of([as_text(raw.get("name")), as_text(raw.get("biography"))]),
                content={
                    "username": username,
                    "name": as_text(raw.get("name")),
                    "biography": as_text(raw.get("biography")),
                    "website": as_text(raw.get("website")),
                },
                author_id=user_id,
                author_name=username,
                author_is_agency=True,
                url=f"https://www.instagram.com/{username}/" if username else None,
                extra=pick(raw, ("media_count", "followers_count", "follows_count")),
            )
        )

    def media(self, raw: Any, where: str, *, owner: str | None) -> None:
        if not isinstance(raw, dict):
            self.unparsed.append(f"{where}: unknown item type ({type_name(raw)}), not a media object")
            return
        media_id = as_text(raw.get("id"))
        if not media_id:
            self.unparsed.append(f"{where}: media without an id")
            return
        label = f"media {media_id}"
        media_type = as_text(raw.get("media_type"))
        caption = self._text(raw, "caption", label)
        created = self._time(raw, "timestamp", label)
        username = as_text(raw.get("username"))
        owner_id = as_text(as_dict(raw.get("owner")).get("id")) or owner
        children = [c for c in edge_data(raw.get("children")) if isinstance(c, dict)]
        self.items.append(
            ParsedItem(
                native_id=media_id,
                kind=KIND_POST,
                text=caption or "",
                content={
                    "caption": caption,
                    "media_type": media_type,
                    "media_product_type": as_text(raw.get("media_product_type")),
                    "children": [as_text(c.get("id")) for c in children],
                },
                author_id=owner_id,
                author_name=username,
                author_is_agency=True,  # an account's media edge holds only its own media
                created_at=created,
                url=as_text(raw.get("permalink")),
                extra=pick(raw, ("like_count", "comments_count", "is_comment_enabled", "shortcode")),
            )
        )
        author = (owner_id, username)
        if media_type == "CAROUSEL_ALBUM":
            for index, child in enumerate(edge_data(raw.get("children"))):
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
            self.unparsed.append(f"{where}: unknown item type ({type_name(raw)}), not a media object")
            return
        child_id = as_text(raw.get("id"))
        if not child_id:
            self.unparsed.append(f"{where}: album child without an id")
            return
        media_type = as_text(raw.get("media_type"))
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
        media_type = as_text(raw.get("media_type"))
        roles = [("image", "media_url")] if media_type == "IMAGE" else []
        if media_type == "VIDEO":
            roles = [("video", "media_url"), ("thumbnail", "thumbnail_url")]
        for role, key in roles:
            src = as_text(raw.get(key))
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
            self.unparsed.append(f"{where}: unknown item type ({type_name(raw)}), not a comment")
            return
        comment_id = as_text(raw.get("id"))
        root = as_text(as_dict(raw.get("media")).get("id")) or media_id
        if comment_id:
            declared = as_text(raw.get("parent_id"))
            self.items.append(
                self._comment_item(raw, comment_id, parent=declared or root, root=root, reply=bool(declared))
            )
        else:
            self.unparsed.append(f"{where}: comment without an id")
        # replies name their parent themselves (parent_id), so they stand without it
        for index, reply in enumerate(edge_data(raw.get("replies"))):
            self.reply(reply, f"comment {comment_id or where} replies[{index}]", parent=comment_id, root=root)

    def reply(self, raw: Any, where: str, *, parent: str | None, root: str | None = None) -> None:
        if not isinstance(raw, dict):
            self.unparsed.append(f"{where}: unknown item type ({type_name(raw)}), not a reply")
            return
        reply_id = as_text(raw.get("id"))
        if not reply_id:
            self.unparsed.append(f"{where}: reply without an id")
            return
        root = as_text(as_dict(raw.get("media")).get("id")) or root
        declared = as_text(raw.get("parent_id")) or parent
        self.items.append(self._comment_item(raw, reply_id, parent=declared, root=root, reply=True))

    def _comment_item(
        self, raw: dict[str, Any], comment_id: str, *, parent: str | None, root: str | None, reply: bool
    ) -> ParsedItem:
        label = f"comment {comment_id}"
        author = as_dict(raw.get("from"))
        text = self._text(raw, "text", label)
        return ParsedItem(
            native_id=comment_id,
            kind=KIND_REPLY if reply else KIND_COMMENT,
            text=text or "",
            content={"text": text},
            parent_native_id=parent,
            root_native_id=root,
            author_id=as_text(author.get("id")),
            author_name=as_text(author.get("username")) or as_text(raw.get("username")),
            # `user` is returned only when the app user (the account itself) wrote it [notes §3]
            author_is_agency=isinstance(raw.get("user"), dict),
            created_at=self._time(raw, "timestamp", label),
            hidden=raw["hidden"] if isinstance(raw.get("hidden"), bool) else None,
            extra=pick(raw, ("like_count",)),
        )


def media_key(media_id: str, role: str) -> str:
    """The stable key of one file of an IG media: ``{ig-media-id}:{image|video|thumbnail}``."""
    return f"{media_id}:{role}"
