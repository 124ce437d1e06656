"""Bluesky through the AT Protocol AppView: an account's posts and the full thread of each.

Built to docs/research/bluesky.md. The public AppView (``public.api.bsky.app``) needs no token;
an optional one (sent as ``Authorization: Bearer``) is used when the account names one. A
night's capture is:

1. ``GET /xrpc/app.bsky.actor.getProfile?actor={handle}`` — the profile (kind ``page``) and DID;
2. ``GET /xrpc/app.bsky.feed.getAuthorFeed?actor={did}&limit=100&filter=posts_with_replies``,
   following ``cursor`` until it is absent — or, after the first night, until a page reaches
   posts older than the previous night's end minus the look-back window;
3. for each of the account's own thread roots that is young enough or has replies,
   ``GET /xrpc/app.bsky.feed.getPostThread?uri={at-uri}&depth=1000&parentHeight=0``: the whole
   reply tree, with the root's threadgate record naming the replies its author hid;
4. each image once (``fullsize`` CDN URL), keyed by its post and blob CID.

Items are keyed by their ``at://`` URI, which never changes. Bluesky has no edit feature; a
record rewritten in place gets a new CID, so the CID is part of a post's content and a changed
CID is a new version. :meth:`BlueskySource.parse` reads any response back from its bytes alone.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import parse_qsl, unquote, urlsplit

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
    Source,
    Verdict,
    parse_retry_after,
    text_of,
)
from hp_archive.sources.http import strip_query

NS = "app.bsky.feed.defs#"
THREAD_VIEW = NS + "threadViewPost"
NOT_FOUND = NS + "notFoundPost"
BLOCKED = NS + "blockedPost"
REASON_REPOST = NS + "reasonRepost"
POST_RECORD = "app.bsky.feed.post"
IMAGES_VIEW = "app.bsky.embed.images#view"
VIDEO_VIEW = "app.bsky.embed.video#view"
RECORD_WITH_MEDIA_VIEW = "app.bsky.embed.recordWithMedia#view"
FEED_FILTER = "posts_with_replies"
PARSED_METHODS = frozenset(
    {"app.bsky.actor.getProfile", "app.bsky.feed.getAuthorFeed", "app.bsky.feed.getPostThread"}
)
#: error names that mean the credential is no good [notes §5]
AUTH_ERRORS = frozenset(
    {"ExpiredToken", "InvalidToken", "AuthMissing", "AuthenticationRequired", "BadJwt", "AccountTakedown"}
)


class BlueskySource(Source):
    """A Bluesky account read through the public AppView (a token is optional)."""

    platform: ClassVar[str] = "bluesky"
    title: ClassVar[str] = "Bluesky account"
    api: ClassVar[str] = "AT Protocol AppView: app.bsky.feed.getAuthorFeed, app.bsky.feed.getPostThread"
    default_base_url: ClassVar[str] = "https://public.api.bsky.app"
    needs_token: ClassVar[bool] = False

    #: a walk that reaches this many pages stops and marks its listing incomplete
    max_pages: ClassVar[int] = 10_000
    #: getPostThread's maximum reply depth [lexicon]
    thread_depth: ClassVar[int] = 1000

    # -- capture --------------------------------------------------------------------------------

    def capture(self, ctx: CaptureContext) -> None:
        base = self.base_url.rstrip("/")
        headers = self.auth_headers(ctx.token)
        did = self._did(ctx, base, headers)
        if did is None:
            return
        roots, media = self._list_feed(ctx, base, headers, did)
        self._download_media(ctx, media)
        for root in roots:
            if self._thread_due(ctx, root):
                self._download_media(ctx, self._list_thread(ctx, base, headers, root))

    def _did(self, ctx: CaptureContext, base: str, headers: Mapping[str, str]) -> str | None:
        actor = self.account.handle.lstrip("@")
        where = f"bluesky:{actor}"
        saved = ctx.state.get("did")
        try:
            fetched = ctx.fetch(
                f"{base}/xrpc/app.bsky.actor.getProfile",
                params={"actor": actor},
                headers=headers,
                kind=KIND_PAGE,
            )
        except (PlatformError, TransportError) as exc:
            if isinstance(saved, str) and saved.startswith("did:"):
                ctx.note_failure(where, f"profile not captured ({exc}); using the saved DID")
                return saved
            ctx.note_failure(
                where,
                f"profile not captured and no saved DID: {exc} — check the account's handle",
            )
            return None
        profile = next((i for i in fetched.parsed.items if i.kind == KIND_PAGE), None)
        if profile is None:
            ctx.note_failure(where, "the profile response names no DID; nothing else can be listed")
            return None
        ctx.set_state("did", profile.native_id)
        return profile.native_id

    def _list_feed(
        self, ctx: CaptureContext, base: str, headers: Mapping[str, str], did: str
    ) -> tuple[list[ParsedItem], dict[str, str]]:
        since: datetime | None = None
        listed_until = ctx.state.get("posts_listed_until")
        if listed_until is not None:
            previous = _parse_time(listed_until)
            if previous is None:
                ctx.note_failure(
                    f"bluesky:{did}/feed",
                    f"saved posts_listed_until {listed_until!r} is not an ISO time; listing every post",
                )
            else:
                since = min(previous, ctx.as_of) - ctx.lookback
        params = {"actor": did, "limit": 100, "filter": FEED_FILTER}
        collected = _Collected()
        completed = False
        with ctx.listing(f"bluesky:{did}/feed", kind=KIND_POST, since=since, until=ctx.as_of) as listing:
            completed = self._walk_feed(
                ctx, listing, f"{base}/xrpc/app.bsky.feed.getAuthorFeed", params, headers, since, collected
            )
        if completed:
            ctx.set_state("posts_listed_until", ctx.as_of.isoformat())
        return collected.roots(did), collected.media

    def _walk_feed(
        self,
        ctx: CaptureContext,
        listing: Listing,
        url: str,
        params: Mapping[str, Any],
        headers: Mapping[str, str],
        since: datetime | None,
        collected: _Collected,
    ) -> bool:
        """Page through the feed (newest first); stop at the cursor's end or past ``since``."""
        seen: set[str] = set()
        page_params = dict(params)
        pages = 0
        while True:
            if pages >= self.max_pages:
                listing.incomplete(f"stopped after {self.max_pages} pages (page cap)")
                return False
            fetched = ctx.fetch(url, params=page_params, headers=headers, kind=KIND_POST, listing=listing)
            pages += 1
            collected.add(fetched)
            _judge_page(listing, fetched, pages)
            try:
                body = fetched.json()
            except (ValueError, HPArchiveError):
                listing.incomplete(f"page {pages} is not readable JSON, so it has no cursor")
                return False
            cursor = body.get("cursor") if isinstance(body, dict) else None
            if cursor is None:
                return True
            if not isinstance(cursor, str) or not cursor:
                listing.incomplete(f"page {pages} has a cursor that is not a string")
                return False
            oldest = _oldest_sort_time(body)
            if since is not None and oldest is not None and oldest < since:
                return True  # the rest is older than the look-back window
            if cursor in seen:
                listing.incomplete(f"page {pages}: the cursor repeats an earlier page")
                return False
            seen.add(cursor)
            page_params = {**params, "cursor": cursor}

    def _thread_due(self, ctx: CaptureContext, root: ParsedItem) -> bool:
        """Re-list a thread when its root is inside the look-back window or has replies."""
        if root.created_at is not None and root.created_at >= ctx.as_of - ctx.lookback:
            return True
        replies = root.extra.get("replyCount")
        return not isinstance(replies, int) or replies > 0

    def _list_thread(
        self, ctx: CaptureContext, base: str, headers: Mapping[str, str], root: ParsedItem
    ) -> dict[str, str]:
        collected = _Collected()
        with ctx.listing(f"bluesky:{root.native_id}/thread", kind=KIND_COMMENT) as listing:
            fetched = ctx.fetch(
                f"{base}/xrpc/app.bsky.feed.getPostThread",
                params={"uri": root.native_id, "depth": self.thread_depth, "parentHeight": 0},
                headers=headers,
                kind=KIND_COMMENT,
                listing=listing,
            )
            collected.add(fetched)
            _judge_page(listing, fetched, 1)
            try:
                body = fetched.json()
            except (ValueError, HPArchiveError):
                listing.incomplete("the thread is not readable JSON")
                return collected.media
            problem = _thread_gaps(body, self.thread_depth)
            if problem:
                listing.incomplete(problem)
        return collected.media

    def _download_media(self, ctx: CaptureContext, media: Mapping[str, str]) -> None:
        for media_key, url in media.items():
            try:
                ctx.download_media(url, media_key=media_key)
            except (PlatformError, TransportError) as exc:
                ctx.note_failure(f"bluesky media {media_key}", str(exc))

    # -- classify -------------------------------------------------------------------------------

    def classify(self, response: ArchivedResponse) -> Verdict:
        status = response.status
        where = strip_query(response.url)
        if 200 <= status < 300:
            if _looks_json(response):
                try:
                    response.json()
                except (ValueError, HPArchiveError) as exc:
                    # a cut page has no cursor: the walk would end early and look complete
                    return Verdict("retry", f"malformed JSON from the AppView: {_short(exc)}")
            return Verdict.ok()
        if status == 304:
            return Verdict.ok()
        name, message = _xrpc_error(response)
        label = f"{name}: {message}" if message else name or f"HTTP {status}"
        if status == 429 or name == "RateLimitExceeded":
            return Verdict("rate-limited", f"rate limited by the AppView ({label})", _reset_wait(response))
        if status == 401 or name in AUTH_ERRORS:
            return Verdict(
                "auth",
                f"the AppView refused the token ({label}) — create a new access token (app "
                "password session) and store it in the account's token variable, or remove "
                "token_env to read the public AppView without one",
            )
        if status >= 500:
            return Verdict(
                "retry",
                f"AppView HTTP {status} ({label}) at {where}",
                parse_retry_after(response.header("Retry-After"), response.date),
            )
        if name == "NotFound":
            return Verdict("error", f"{label} (deleted, or hidden from this viewer) at {where}")
        return Verdict("error", f"AppView HTTP {status} ({label}) at {where}")

    # -- parse ----------------------------------------------------------------------------------

    @classmethod
    def recognizes(cls, url: str) -> bool:
        """AppView reads of posts and profiles (any host: the AppView, or a PDS proxying it)."""
        parts = urlsplit(url)
        method = parts.path.rsplit("/", 1)[-1]
        return parts.path.startswith("/xrpc/") and method in PARSED_METHODS

    @classmethod
    def parse(cls, response: ArchivedResponse) -> ParseResult:
        content_type = response.message.content_type
        if content_type.startswith(("image/", "video/", "audio/")):
            return ParseResult()  # a media file: its item comes from the post that shows it
        if not 200 <= response.status < 300:
            return ParseResult()  # an XRPC error object: classify reported it
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
        parts = urlsplit(response.url)
        method = unquote(parts.path.rsplit("/", 1)[-1])
        query = dict(parse_qsl(parts.query))
        builder = _Builder()
        if method == "app.bsky.actor.getProfile":
            builder.profile(payload)
        elif method == "app.bsky.feed.getAuthorFeed":
            builder.feed(payload, actor=query.get("actor", ""))
        elif method == "app.bsky.feed.getPostThread":
            builder.thread(payload, anchor=query.get("uri", ""))
        else:
            return ParseResult.failed(f"unknown XRPC method {method!r}")
        return builder.result()


# -- capture helpers ----------------------------------------------------------------------------


def _judge_page(listing: Listing, fetched: Fetched, page: int) -> None:
    if fetched.parsed.unparsed:
        listing.incomplete(
            f"page {page}: {len(fetched.parsed.unparsed)} part(s) could not be parsed, so nothing "
            "missing from this listing is judged deleted"
        )


def _oldest_sort_time(body: Mapping[str, Any]) -> datetime | None:
    """The earliest feed sort time on a page: min(createdAt, indexedAt), or a repost's time."""
    times = []
    for entry in _list(body.get("feed")):
        if not isinstance(entry, dict):
            continue
        reason = _obj(entry.get("reason"))
        if reason.get("$type") == REASON_REPOST:
            moment = _parse_time(reason.get("indexedAt"))
        else:
            post = _obj(entry.get("post"))
            created = _parse_time(_obj(post.get("record")).get("createdAt"))
            indexed = _parse_time(post.get("indexedAt"))
            found = [t for t in (created, indexed) if t is not None]
            moment = min(found) if found else None
        if moment is not None:
            times.append(moment)
    return min(times) if times else None


def _thread_gaps(body: Any, max_depth: int) -> str | None:
    """Why a thread cannot prove absences: blocked or missing posts, or depth cut off."""
    thread = body.get("thread") if isinstance(body, dict) else None
    blocked = missing = 0
    cut = False
    stack: list[tuple[Any, int]] = [(thread, 0)]
    while stack:
        node, depth = stack.pop()
        if not isinstance(node, dict):
            continue
        kind = node.get("$type")
        if kind == BLOCKED:
            blocked += 1
            continue
        if kind == NOT_FOUND:
            missing += 1
            continue
        replies = node.get("replies")
        count = _obj(node.get("post")).get("replyCount")
        if depth >= max_depth and not replies and isinstance(count, int) and count > 0:
            cut = True
        stack.extend((child, depth + 1) for child in _list(replies))
    reasons = []
    if blocked:
        reasons.append(f"{blocked} blocked post(s)")
    if missing:
        reasons.append(f"{missing} post(s) not found")
    if cut:
        reasons.append(f"replies deeper than {max_depth} levels")
    if not reasons:
        return None
    return "the thread shows " + ", ".join(reasons) + "; absences in it are not judged deletions"


@dataclass
class _Collected:
    """Posts and media (key → URL) seen in one listing, in order."""

    posts: dict[str, ParsedItem] = field(default_factory=dict)
    media: dict[str, str] = field(default_factory=dict)

    def add(self, fetched: Fetched) -> None:
        for item in fetched.parsed.items:
            if item.kind == KIND_POST:
                self.posts.setdefault(item.native_id, item)
            elif item.kind == KIND_MEDIA and item.media_url:
                self.media.setdefault(item.native_id, item.media_url)

    def roots(self, did: str) -> list[ParsedItem]:
        """The account's own thread roots, in feed order."""
        return [p for p in self.posts.values() if p.author_id == did]


# -- parsing ------------------------------------------------------------------------------------


@dataclass
class _Builder:
    """Items and the reasons anything was skipped, for one response."""

    items: list[ParsedItem] = field(default_factory=list)
    unparsed: list[str] = field(default_factory=list)
    _seen: set[str] = field(default_factory=set)

    def result(self) -> ParseResult:
        return ParseResult(items=tuple(self.items), unparsed=tuple(self.unparsed))

    def profile(self, payload: dict[str, Any]) -> None:
        did = _str(payload.get("did"))
        if not did or not did.startswith("did:"):
            self.unparsed.append("profile without a DID")
            return
        handle = _str(payload.get("handle"))
        name = _str(payload.get("displayName")) or handle
        self.items.append(
            ParsedItem(
                native_id=did,
                kind=KIND_PAGE,
                text=text_of([name, _str(payload.get("description"))]),
                content={
                    "handle": handle,
                    "displayName": _str(payload.get("displayName")),
                    "description": _str(payload.get("description")),
                },
                author_id=did,
                author_name=name,
                author_is_agency=True,
                created_at=_parse_time(payload.get("createdAt")),
                url=f"https://bsky.app/profile/{handle or did}",
                extra=_pick(payload, ("followersCount", "followsCount", "postsCount", "avatar", "banner")),
            )
        )

    def feed(self, payload: dict[str, Any], *, actor: str) -> None:
        entries = payload.get("feed")
        if not isinstance(entries, list):
            self.unparsed.append("author feed has no 'feed' list")
            return
        for index, entry in enumerate(entries):
            where = f"feed[{index}]"
            if not isinstance(entry, dict) or not isinstance(entry.get("post"), dict):
                self.unparsed.append(f"{where}: unknown item type ({_kind(entry)}), not a feed view post")
                continue
            reason = _obj(entry.get("reason"))
            if reason.get("$type") == REASON_REPOST:
                continue  # the account reposted someone else's post: not the account's content
            post = entry["post"]
            author = _obj(post.get("author"))
            agency = actor in (_str(author.get("did")), _str(author.get("handle")))
            self.post(post, where, agency=agency, hidden=None)

    def thread(self, payload: dict[str, Any], *, anchor: str) -> None:
        thread = payload.get("thread")
        if not isinstance(thread, dict):
            self.unparsed.append(f"thread is {_kind(thread)}, not a thread view")
            return
        root_did = _did_of(anchor)
        hidden = _hidden_replies(payload)
        nodes = list(self._walk(thread, "thread"))
        parents = {
            uri: _str(_obj(_obj(_obj(post.get("record")).get("reply")).get("parent")).get("uri"))
            for uri, post, _where in nodes
        }
        for uri, post, where in nodes:
            loop = _cycle(uri, parents)
            if loop:
                self.unparsed.append(
                    f"{where} {uri}: reply links form a cycle ({' → '.join(loop)}); left out"
                )
                continue
            author = _obj(post.get("author"))
            agency = root_did is not None and _str(author.get("did")) == root_did
            is_reply = isinstance(_obj(post.get("record")).get("reply"), dict)
            self.post(post, where, agency=agency, hidden=(uri in hidden) if is_reply else None)

    def _walk(self, node: dict[str, Any], where: str) -> Iterator[tuple[str, dict[str, Any], str]]:
        """Every post view under ``node`` (depth first), with a repeat along a path reported."""
        stack: list[tuple[Any, str, tuple[str, ...]]] = [(node, where, ())]
        while stack:
            current, label, path = stack.pop()
            if not isinstance(current, dict):
                self.unparsed.append(f"{label}: unknown item type ({_kind(current)}), not a thread view")
                continue
            kind = current.get("$type")
            if kind in (NOT_FOUND, BLOCKED):
                continue  # a deleted, blocked or hidden-from-viewer post: nothing to archive
            if kind not in (THREAD_VIEW, None):
                self.unparsed.append(f"{label}: unknown item type {kind!r}; left out")
                continue
            post = current.get("post")
            uri = _str(post.get("uri")) if isinstance(post, dict) else None
            if not isinstance(post, dict) or not uri:
                self.unparsed.append(f"{label}: thread view without a post URI; left out")
                continue
            if uri in path:
                self.unparsed.append(
                    f"{label} {uri}: reply links form a cycle ({' → '.join([*path, uri])}); left out"
                )
                continue
            yield uri, post, label
            replies = current.get("replies")
            if replies is not None and not isinstance(replies, list):
                self.unparsed.append(f"{label}: replies is {_kind(replies)}, not a list")
                continue
            children = _list(replies)
            for index in range(len(children) - 1, -1, -1):
                stack.append((children[index], f"{label}.replies[{index}]", (*path, uri)))

    def post(self, post: dict[str, Any], where: str, *, agency: bool, hidden: bool | None) -> None:
        uri = _str(post.get("uri"))
        cid = _str(post.get("cid"))
        record = post.get("record")
        if not uri or not cid:
            self.unparsed.append(f"{where}: post view without uri or cid; left out")
            return
        if not isinstance(record, dict) or record.get("$type") not in (POST_RECORD, None):
            kind = record.get("$type") if isinstance(record, dict) else _kind(record)
            self.unparsed.append(f"{where} {uri}: unknown item type {kind!r}, not a post record; left out")
            return
        text = record.get("text")
        if not isinstance(text, str):
            self.unparsed.append(f"{where} {uri}: record text is {_kind(text)}; left out")
            return
        if uri in self._seen:
            return
        self._seen.add(uri)
        reply = _obj(record.get("reply"))
        parent = _str(_obj(reply.get("parent")).get("uri"))
        root = _str(_obj(reply.get("root")).get("uri"))
        if parent is None:
            kind, root = KIND_POST, None
        else:
            root = root or parent
            kind = KIND_COMMENT if parent == root else KIND_REPLY
        author = _obj(post.get("author"))
        did = _str(author.get("did")) or _did_of(uri)
        handle = _str(author.get("handle"))
        name = _str(author.get("displayName")) or handle
        created = _parse_time(record.get("createdAt"))
        self.items.append(
            ParsedItem(
                native_id=uri,
                kind=kind,
                text=text,
                content={
                    "cid": cid,
                    "text": text,
                    "facets": _facets(record.get("facets")),
                    "embed": _embed_record(record.get("embed")),
                    "reply": {"root": root, "parent": parent} if parent else None,
                    "langs": [x for x in _list(record.get("langs")) if isinstance(x, str)],
                    "tags": [x for x in _list(record.get("tags")) if isinstance(x, str)],
                    "createdAt": _str(record.get("createdAt")),
                },
                parent_native_id=parent,
                root_native_id=root,
                author_id=did,
                author_name=name,
                author_is_agency=agency,
                created_at=created,
                hidden=hidden,
                url=f"https://bsky.app/profile/{handle or did}/post/{uri.rsplit('/', 1)[-1]}",
                extra=_pick(
                    post,
                    ("replyCount", "repostCount", "likeCount", "quoteCount", "bookmarkCount", "indexedAt"),
                )
                | ({"handle": handle} if handle else {})
                | ({"labels": _labels(post.get("labels"))} if post.get("labels") else {}),
            )
        )
        for media in _media(post, record, where):
            key = f"{uri}#{media['cid']}"
            self.items.append(
                ParsedItem(
                    native_id=key,
                    kind=KIND_MEDIA,
                    text=media["alt"] or "",
                    content={"cid": media["cid"], "alt": media["alt"], "kind": media["kind"]},
                    parent_native_id=uri,
                    root_native_id=root or uri,
                    author_id=did,
                    author_name=name,
                    author_is_agency=agency,
                    created_at=created,
                    url=media["url"],
                    media_url=media["url"],
                    extra=media["extra"],
                )
            )


def _hidden_replies(payload: Mapping[str, Any]) -> set[str]:
    """URIs the thread root's author hid (threadgate ``hiddenReplies``), from either place."""
    gates = [payload.get("threadgate"), _obj(_obj(payload.get("thread")).get("post")).get("threadgate")]
    hidden: set[str] = set()
    for gate in gates:
        record = _obj(_obj(gate).get("record"))
        hidden.update(x for x in _list(record.get("hiddenReplies")) if isinstance(x, str))
    return hidden


def _cycle(start: str, parents: Mapping[str, str | None]) -> list[str]:
    """The loop of reply links through ``start``, if following parents comes back to it."""
    path = [start]
    current = parents.get(start)
    while current is not None and len(path) <= len(parents):
        if current == start:
            return [*path, start]
        if current in path:
            return []
        path.append(current)
        current = parents.get(current)
    return []


def _media(post: Mapping[str, Any], record: Mapping[str, Any], where: str) -> list[dict[str, Any]]:
    """Images (fullsize) and video thumbnails, with the blob CID that identifies each."""
    view = _obj(post.get("embed"))
    embed = _obj(record.get("embed"))
    if view.get("$type") == RECORD_WITH_MEDIA_VIEW:
        view, embed = _obj(view.get("media")), _obj(embed.get("media"))
    found: list[dict[str, Any]] = []
    if view.get("$type") == IMAGES_VIEW:
        blobs = _list(embed.get("images"))
        for index, image in enumerate(_list(view.get("images"))):
            if not isinstance(image, dict) or not _str(image.get("fullsize")):
                continue
            blob = _obj(blobs[index]) if index < len(blobs) else {}
            cid = _blob_cid(blob.get("image")) or _cdn_cid(str(image["fullsize"])) or f"{where}-image-{index}"
            found.append(
                {
                    "cid": cid,
                    "alt": _str(image.get("alt")),
                    "kind": "image",
                    "url": str(image["fullsize"]),
                    "extra": _pick(image, ("thumb", "aspectRatio")),
                }
            )
    elif view.get("$type") == VIDEO_VIEW and _str(view.get("thumbnail")):
        found.append(
            {
                "cid": _str(view.get("cid")) or _blob_cid(embed.get("video")) or f"{where}-video",
                "alt": _str(view.get("alt")),
                "kind": "video-thumbnail",
                "url": str(view["thumbnail"]),
                "extra": _pick(view, ("playlist", "aspectRatio")),
            }
        )
    return found


def _embed_record(embed: Any) -> dict[str, Any] | None:
    """What a post's embed says, from the record (the view's CDN URLs are derived)."""
    if not isinstance(embed, dict):
        return None
    kind = _str(embed.get("$type"))
    out: dict[str, Any] = {"type": kind}
    if isinstance(embed.get("images"), list):
        out["images"] = [
            {"alt": _str(_obj(i).get("alt")), "blob": _blob_cid(_obj(i).get("image"))}
            for i in embed["images"]
        ]
    if isinstance(embed.get("video"), dict):
        out["video"] = {"alt": _str(embed.get("alt")), "blob": _blob_cid(embed.get("video"))}
    if isinstance(embed.get("external"), dict):
        external = embed["external"]
        out["external"] = _pick(external, ("uri", "title", "description"))
    record = embed.get("record")
    if isinstance(record, dict):
        inner = _obj(record.get("record")) or record
        out["record"] = _pick(inner, ("uri", "cid"))
    if isinstance(embed.get("media"), dict):
        out["media"] = _embed_record(embed["media"])
    return out


def _facets(value: Any) -> list[dict[str, Any]]:
    out = []
    for facet in _list(value):
        if not isinstance(facet, dict):
            continue
        index = _obj(facet.get("index"))
        for feature in _list(facet.get("features")):
            if isinstance(feature, dict):
                out.append(
                    {
                        "type": _str(feature.get("$type")),
                        "start": index.get("byteStart"),
                        "end": index.get("byteEnd"),
                    }
                    | _pick(feature, ("uri", "did", "tag"))
                )
    return out


def _labels(value: Any) -> list[str]:
    return sorted({str(label["val"]) for label in _list(value) if isinstance(label, dict) and "val" in label})


def _blob_cid(blob: Any) -> str | None:
    ref = _obj(_obj(blob).get("ref"))
    return _str(ref.get("$link")) or _str(_obj(blob).get("cid"))


def _cdn_cid(url: str) -> str | None:
    """The blob CID in a CDN URL: ``.../plain/{did}/{cid}@jpeg``."""
    tail = urlsplit(url).path.rsplit("/", 1)[-1]
    cid = tail.split("@", 1)[0]
    return cid or None


def _did_of(uri: str) -> str | None:
    if not uri.startswith("at://"):
        return None
    authority = uri[5:].split("/", 1)[0]
    return authority if authority.startswith("did:") else None


# -- classify helpers ---------------------------------------------------------------------------


def _xrpc_error(response: ArchivedResponse) -> tuple[str, str]:
    """The ``{"error": name, "message": text}`` of an XRPC error answer."""
    if not _looks_json(response):
        return "", ""
    try:
        payload = response.json()
    except (ValueError, HPArchiveError):
        return "", ""
    if not isinstance(payload, dict):
        return "", ""
    name = payload.get("error")
    message = payload.get("message")
    return (name if isinstance(name, str) else "", " ".join(str(message).split())[:200] if message else "")


def _reset_wait(response: ArchivedResponse) -> float | None:
    """Seconds until ``RateLimit-Reset`` (epoch seconds), else ``Retry-After``."""
    reset = response.header("RateLimit-Reset")
    if reset and reset.strip().isdigit():
        return float(max(0, math.ceil(int(reset.strip()) - response.date.timestamp())))
    return parse_retry_after(response.header("Retry-After"), response.date)


def _looks_json(response: ArchivedResponse) -> bool:
    content_type = response.message.content_type
    if content_type == "application/json":
        return True
    if content_type.startswith(("image/", "video/", "audio/", "text/html")):
        return False
    try:
        return response.body().lstrip()[:1] in (b"{", b"[")
    except HPArchiveError:
        return False


# -- small helpers ------------------------------------------------------------------------------


def _parse_time(value: Any) -> datetime | None:
    """An ISO-8601 datetime in UTC, or None."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else []


def _pick(raw: Mapping[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    return {key: raw[key] for key in keys if key in raw}


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _short(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:160]
