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

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
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
    as_list,
    as_nonempty_str,
    as_time,
    body_looks_json,
    is_media,
    json_body,
    pick,
    read_json_object,
    reply_loop,
    retry_after_seconds,
    success_verdict,
    type_name,
    wait_until_reset,
)
from hp_archive.sources.walking import ListingItems, download_files, judge_page, listing_start

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
        download_files(ctx, media, "bluesky media")
        for root in roots:
            if self._thread_due(ctx, root):
                download_files(ctx, self._list_thread(ctx, base, headers, root), "bluesky media")

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
        since = listing_start(
            ctx,
            "posts_listed_until",
            where=f"bluesky:{did}/feed",
            fallback="listing every post",
            read_time=as_time,
        )
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
            judge_page(listing, fetched, pages)
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
            judge_page(listing, fetched, 1)
            try:
                body = fetched.json()
            except (ValueError, HPArchiveError):
                listing.incomplete("the thread is not readable JSON")
                return collected.media
            problem = _thread_gaps(body, self.thread_depth)
            if problem:
                listing.incomplete(problem)
        return collected.media

    # -- classify -------------------------------------------------------------------------------

    def classify(self, response: ArchivedResponse) -> Verdict:
        status = response.status
        where = strip_query(response.url)
        answered = success_verdict(response, _looks_json, "the AppView")
        if answered is not None:
            return answered
        name, message = _xrpc_error(response)
        label = f"{name}: {message}" if message else name or f"HTTP {status}"
        if status == 429 or name == "RateLimitExceeded":
            return Verdict(
                "rate-limited",
                f"rate limited by the AppView ({label})",
                wait_until_reset(response, "RateLimit-Reset"),
            )
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
                retry_after_seconds(response),
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
        if is_media(response):
            return ParseResult()  # a media file: its item comes from the post that shows it
        if not 200 <= response.status < 300:
            return ParseResult()  # an XRPC error object: classify reported it
        payload, failed = read_json_object(response)
        if failed is not None:
            return failed
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


def _oldest_sort_time(body: Mapping[str, Any]) -> datetime | None:
    """The earliest feed sort time on a page: min(createdAt, indexedAt), or a repost's time."""
    times = []
    for entry in as_list(body.get("feed")):
        if not isinstance(entry, dict):
            continue
        reason = as_dict(entry.get("reason"))
        if reason.get("$type") == REASON_REPOST:
            moment = as_time(reason.get("indexedAt"))
        else:
            post = as_dict(entry.get("post"))
            created = as_time(as_dict(post.get("record")).get("createdAt"))
            indexed = as_time(post.get("indexedAt"))
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
        count = as_dict(node.get("post")).get("replyCount")
        if depth >= max_depth and not replies and isinstance(count, int) and count > 0:
            cut = True
        stack.extend((child, depth + 1) for child in as_list(replies))
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


class _Collected(ListingItems):
    """Posts and media (key → URL) seen in one listing, in order."""

    def roots(self, did: str) -> list[ParsedItem]:
        """The account's own thread roots, in feed order."""
        return [p for p in self.posts.values() if p.author_id == did]


# -- parsing ------------------------------------------------------------------------------------


@dataclass
class _Builder(ItemsBuilder):
    """Items and the reasons anything was skipped, for one response."""

    _seen: set[str] = field(default_factory=set)

    def profile(self, payload: dict[str, Any]) -> None:
        did = as_nonempty_str(payload.get("did"))
        if not did or not did.startswith("did:"):
            self.unparsed.append("profile without a DID")
            return
        handle = as_nonempty_str(payload.get("handle"))
        name = as_nonempty_str(payload.get("displayName")) or handle
        self.items.append(
            ParsedItem(
                native_id=did,
                kind=KIND_PAGE,
                text=text_of([name, as_nonempty_str(payload.get("description"))]),
                content={
                    "handle": handle,
                    "displayName": as_nonempty_str(payload.get("displayName")),
                    "description": as_nonempty_str(payload.get("description")),
                },
                author_id=did,
                author_name=name,
                author_is_agency=True,
                created_at=as_time(payload.get("createdAt")),
                url=f"https://bsky.app/profile/{handle or did}",
                extra=pick(payload, ("followersCount", "followsCount", "postsCount", "avatar", "banner")),
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
                self.unparsed.append(f"{where}: unknown item type ({type_name(entry)}), not a feed view post")
                continue
            reason = as_dict(entry.get("reason"))
            if reason.get("$type") == REASON_REPOST:
                continue  # the account reposted someone else's post: not the account's content
            post = entry["post"]
            author = as_dict(post.get("author"))
            agency = actor in (as_nonempty_str(author.get("did")), as_nonempty_str(author.get("handle")))
            self.post(post, where, agency=agency, hidden=None)

    def thread(self, payload: dict[str, Any], *, anchor: str) -> None:
        thread = payload.get("thread")
        if not isinstance(thread, dict):
            self.unparsed.append(f"thread is {type_name(thread)}, not a thread view")
            return
        root_did = _did_of(anchor)
        hidden = _hidden_replies(payload)
        nodes = list(self._walk(thread, "thread"))
        parents = {
            uri: as_nonempty_str(
                as_dict(as_dict(as_dict(post.get("record")).get("reply")).get("parent")).get("uri")
            )
            for uri, post, _where in nodes
        }
        for uri, post, where in nodes:
            loop = reply_loop(uri, parents)
            if loop:
                self.unparsed.append(
                    f"{where} {uri}: reply links form a cycle ({' → '.join(loop)}); left out"
                )
                continue
            author = as_dict(post.get("author"))
            agency = root_did is not None and as_nonempty_str(author.get("did")) == root_did
            is_reply = isinstance(as_dict(post.get("record")).get("reply"), dict)
            self.post(post, where, agency=agency, hidden=(uri in hidden) if is_reply else None)

    def _walk(self, node: dict[str, Any], where: str) -> Iterator[tuple[str, dict[str, Any], str]]:
        """Every post view under ``node`` (depth first), with a repeat along a path reported."""
        stack: list[tuple[Any, str, tuple[str, ...]]] = [(node, where, ())]
        while stack:
            current, label, path = stack.pop()
            if not isinstance(current, dict):
                self.unparsed.append(f"{label}: unknown item type ({type_name(current)}), not a thread view")
                continue
            kind = current.get("$type")
            if kind in (NOT_FOUND, BLOCKED):
                continue  # a deleted, blocked or hidden-from-viewer post: nothing to archive
            if kind not in (THREAD_VIEW, None):
                self.unparsed.append(f"{label}: unknown item type {kind!r}; left out")
                continue
            post = current.get("post")
            uri = as_nonempty_str(post.get("uri")) if isinstance(post, dict) else None
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
                self.unparsed.append(f"{label}: replies is {type_name(replies)}, not a list")
                continue
            children = as_list(replies)
            for index in range(len(children) - 1, -1, -1):
                stack.append((children[index], f"{label}.replies[{index}]", (*path, uri)))

    def post(self, post: dict[str, Any], where: str, *, agency: bool, hidden: bool | None) -> None:
        uri = as_nonempty_str(post.get("uri"))
        cid = as_nonempty_str(post.get("cid"))
        record = post.get("record")
        if not uri or not cid:
            self.unparsed.append(f"{where}: post view without uri or cid; left out")
            return
        if not isinstance(record, dict) or record.get("$type") not in (POST_RECORD, None):
            kind = record.get("$type") if isinstance(record, dict) else type_name(record)
            self.unparsed.append(f"{where} {uri}: unknown item type {kind!r}, not a post record; left out")
            return
        text = record.get("text")
        if not isinstance(text, str):
            self.unparsed.append(f"{where} {uri}: record text is {type_name(text)}; left out")
            return
        if uri in self._seen:
            return
        self._seen.add(uri)
        reply = as_dict(record.get("reply"))
        parent = as_nonempty_str(as_dict(reply.get("parent")).get("uri"))
        root = as_nonempty_str(as_dict(reply.get("root")).get("uri"))
        if parent is None:
            kind, root = KIND_POST, None
        else:
            root = root or parent
            kind = KIND_COMMENT if parent == root else KIND_REPLY
        author = as_dict(post.get("author"))
        did = as_nonempty_str(author.get("did")) or _did_of(uri)
        handle = as_nonempty_str(author.get("handle"))
        name = as_nonempty_str(author.get("displayName")) or handle
        created = as_time(record.get("createdAt"))
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
                    "langs": [x for x in as_list(record.get("langs")) if isinstance(x, str)],
                    "tags": [x for x in as_list(record.get("tags")) if isinstance(x, str)],
                    "createdAt": as_nonempty_str(record.get("createdAt")),
                },
                parent_native_id=parent,
                root_native_id=root,
                author_id=did,
                author_name=name,
                author_is_agency=agency,
                created_at=created,
                hidden=hidden,
                url=f"https://bsky.app/profile/{handle or did}/post/{uri.rsplit('/', 1)[-1]}",
                extra=pick(
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
    gates = [payload.get("threadgate"), as_dict(as_dict(payload.get("thread")).get("post")).get("threadgate")]
    hidden: set[str] = set()
    for gate in gates:
        record = as_dict(as_dict(gate).get("record"))
        hidden.update(x for x in as_list(record.get("hiddenReplies")) if isinstance(x, str))
    return hidden


def _media(post: Mapping[str, Any], record: Mapping[str, Any], where: str) -> list[dict[str, Any]]:
    """Images (fullsize) and video thumbnails, with the blob CID that identifies each."""
    view = as_dict(post.get("embed"))
    embed = as_dict(record.get("embed"))
    if view.get("$type") == RECORD_WITH_MEDIA_VIEW:
        view, embed = as_dict(view.get("media")), as_dict(embed.get("media"))
    found: list[dict[str, Any]] = []
    if view.get("$type") == IMAGES_VIEW:
        blobs = as_list(embed.get("images"))
        for index, image in enumerate(as_list(view.get("images"))):
            if not isinstance(image, dict) or not as_nonempty_str(image.get("fullsize")):
                continue
            blob = as_dict(blobs[index]) if index < len(blobs) else {}
            cid = _blob_cid(blob.get("image")) or _cdn_cid(str(image["fullsize"])) or f"{where}-image-{index}"
            found.append(
                {
                    "cid": cid,
                    "alt": as_nonempty_str(image.get("alt")),
                    "kind": "image",
                    "url": str(image["fullsize"]),
                    "extra": pick(image, ("thumb", "aspectRatio")),
                }
            )
    elif view.get("$type") == VIDEO_VIEW and as_nonempty_str(view.get("thumbnail")):
        found.append(
            {
                "cid": as_nonempty_str(view.get("cid")) or _blob_cid(embed.get("video")) or f"{where}-video",
                "alt": as_nonempty_str(view.get("alt")),
                "kind": "video-thumbnail",
                "url": str(view["thumbnail"]),
                "extra": pick(view, ("playlist", "aspectRatio")),
            }
        )
    return found


def _embed_record(embed: Any) -> dict[str, Any] | None:
    """What a post's embed says, from the record (the view's CDN URLs are derived)."""
    if not isinstance(embed, dict):
        return None
    kind = as_nonempty_str(embed.get("$type"))
    out: dict[str, Any] = {"type": kind}
    if isinstance(embed.get("images"), list):
        out["images"] = [
            {"alt": as_nonempty_str(as_dict(i).get("alt")), "blob": _blob_cid(as_dict(i).get("image"))}
            for i in embed["images"]
        ]
    if isinstance(embed.get("video"), dict):
        out["video"] = {"alt": as_nonempty_str(embed.get("alt")), "blob": _blob_cid(embed.get("video"))}
    if isinstance(embed.get("external"), dict):
        external = embed["external"]
        out["external"] = pick(external, ("uri", "title", "description"))
    record = embed.get("record")
    if isinstance(record, dict):
        inner = as_dict(record.get("record")) or record
        out["record"] = pick(inner, ("uri", "cid"))
    if isinstance(embed.get("media"), dict):
        out["media"] = _embed_record(embed["media"])
    return out


def _facets(value: Any) -> list[dict[str, Any]]:
    out = []
    for facet in as_list(value):
        if not isinstance(facet, dict):
            continue
        index = as_dict(facet.get("index"))
        for feature in as_list(facet.get("features")):
            if isinstance(feature, dict):
                out.append(
                    {
                        "type": as_nonempty_str(feature.get("$type")),
                        "start": index.get("byteStart"),
                        "end": index.get("byteEnd"),
                    }
                    | pick(feature, ("uri", "did", "tag"))
                )
    return out


def _labels(value: Any) -> list[str]:
    return sorted(
        {str(label["val"]) for label in as_list(value) if isinstance(label, dict) and "val" in label}
    )


def _blob_cid(blob: Any) -> str | None:
    ref = as_dict(as_dict(blob).get("ref"))
    return as_nonempty_str(ref.get("$link")) or as_nonempty_str(as_dict(blob).get("cid"))


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
    payload = json_body(response) if _looks_json(response) else None
    if not isinstance(payload, dict):
        return "", ""
    name = payload.get("error")
    message = payload.get("message")
    return (name if isinstance(name, str) else "", " ".join(str(message).split())[:200] if message else "")


def _looks_json(response: ArchivedResponse) -> bool:
    return response.message.content_type == "application/json" or body_looks_json(response)


# -- small helpers ------------------------------------------------------------------------------
