"""A loopback Bluesky AppView for one account, rendered from a :class:`Scenario`.

It follows docs/research/bluesky.md and the lexicons it cites: ``app.bsky.actor.getProfile``,
``app.bsky.feed.getAuthorFeed`` (``limit`` ≤ 100, opaque ``cursor``, the ``filter`` values),
``app.bsky.feed.getPostThread`` (``depth``/``parentHeight``, ``threadViewPost`` /
``notFoundPost`` / ``blockedPost`` unions with ``$type``), post views with their records,
``app.bsky.embed.images#view`` with ``thumb``/``fullsize`` CDN URLs (served under ``/img/`` on
the same server, keyed by the blob CID as cdn.bsky.app is), XRPC error objects
``{"error", "message"}`` and ``RateLimit-*`` headers.

How the scenario maps: the account is one DID; each :class:`SimPost` is a thread root; each
:class:`SimComment` is a reply (replies to replies nest); each :class:`SimMedia` is an image blob.
Record keys are TIDs computed from the creation time. Bluesky has no edit feature; a scenario
edit is rendered as the record rewritten in place (same URI and ``createdAt``, new text, new CID),
which is what a ``putRecord`` update looks like to an AppView. A hidden comment is listed in the
root's threadgate ``hiddenReplies`` and still served in the thread, as ``getPostThread`` does. A
deleted reply vanishes together with the replies under it; a deleted root answers ``NotFound``.

Everything is a function of the scenario state and the request: the same state gives
byte-identical JSON, so unchanged listings become WARC revisits.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import unquote

from hp_archive.sources.simulators.base import SimRequest, SimResponse, SimulatorApp
from hp_archive.sources.simulators.scenario import Scenario, SimComment, SimMedia
from hp_archive.sources.simulators.support import iso_millis

NS = "app.bsky.feed.defs#"
IMG_PREFIX = "/img/"
DEFAULT_FEED_LIMIT = 50
DEFAULT_DEPTH = 6
DEFAULT_PARENT_HEIGHT = 80
RATE_LIMIT = 3000
RATE_WINDOW = 300
_TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
_AT_URI = re.compile(r"^at://(did:[a-z]+:[A-Za-z0-9._:%-]+)/app\.bsky\.feed\.post/([A-Za-z0-9._~:-]{1,512})$")
_KNOWN_METHODS = frozenset(
    {"app.bsky.actor.getProfile", "app.bsky.feed.getAuthorFeed", "app.bsky.feed.getPostThread"}
)


class XrpcError(Exception):
    """An XRPC error answer, raised while handling a request."""

    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message


def _invalid(message: str) -> XrpcError:
    return XrpcError(400, "InvalidRequest", message)


@dataclass(frozen=True)
class _Actor:
    did: str
    handle: str
    name: str
    created: str


@dataclass
class _Post:
    """One post record with every version it had (a version is a rewrite of the record)."""

    did: str
    rkey: str
    author: _Actor
    created: datetime
    texts: list[tuple[datetime, str]]  # (when this version was written, text)
    media: list[SimMedia] = field(default_factory=list)
    parent: _Post | None = None
    root: _Post | None = None
    children: list[_Post] = field(default_factory=list)
    like_count: int = 0
    share_count: int = 0
    hidden: bool = False
    deleted: bool = False
    records: list[tuple[dict[str, Any], str]] = field(default_factory=list)  # (record, cid)

    @property
    def uri(self) -> str:
        return f"at://{self.did}/app.bsky.feed.post/{self.rkey}"

    @property
    def record(self) -> dict[str, Any]:
        return self.records[-1][0]

    @property
    def cid(self) -> str:
        return self.records[-1][1]

    @property
    def indexed(self) -> datetime:
        # the AppView re-indexes a rewritten record when it sees the new version
        return self.texts[-1][0] + timedelta(milliseconds=731)

    def cid_at(self, moment: datetime) -> str:
        """The CID that was current at ``moment`` (a reply's strong ref names it)."""
        chosen = self.records[0][1]
        for (when, _text), (_record, cid) in zip(self.texts, self.records, strict=True):
            if when <= moment:
                chosen = cid
        return chosen

    def live_children(self) -> list[_Post]:
        return [c for c in self.children if not c.deleted]


@dataclass
class _World:
    actors: dict[str, _Actor] = field(default_factory=dict)  # did -> actor
    roots: list[_Post] = field(default_factory=list)
    posts: dict[str, _Post] = field(default_factory=dict)  # uri -> post (live or not)
    blobs: dict[str, SimMedia] = field(default_factory=dict)  # blob cid -> media


class BlueskyAppViewSimulator(SimulatorApp):
    """The public AppView for the scenario's account.

    No token is needed. A request that does send ``Authorization: Bearer`` must use one of
    ``valid_tokens``; any other token is answered ``ExpiredToken`` (HTTP 400), as the PDS that
    proxies AppView calls for a signed-in client answers an expired session.
    """

    def __init__(self, scenario: Scenario, *, valid_tokens: Iterable[str] = frozenset()) -> None:
        super().__init__()
        self.scenario = scenario
        self.valid_tokens = set(valid_tokens)

    def uri_of(self, sim_id: str) -> str:
        """The ``at://`` URI a scenario post or comment gets."""
        account = self.scenario.account
        for post in account.posts:
            if post.id == sim_id:
                return f"at://{_did(account.id)}/app.bsky.feed.post/{_tid(post.created, int(post.id))}"
            stack = list(post.comments)
            while stack:
                comment = stack.pop()
                if comment.id == sim_id:
                    rkey = _tid(comment.created, int(comment.id))
                    return f"at://{_did(comment.author_id)}/app.bsky.feed.post/{rkey}"
                stack.extend(comment.replies)
        raise KeyError(f"no post or comment {sim_id!r} in the scenario")

    @property
    def did(self) -> str:
        """The account's DID."""
        return _did(self.scenario.account.id)

    # -- the SimulatorApp hooks -----------------------------------------------------------------

    def handle(self, request: SimRequest) -> SimResponse:
        if request.path.startswith(IMG_PREFIX):
            return self._image(request)
        token = request.bearer_token
        if token is not None and token not in self.valid_tokens:
            return self.auth_error(request)
        segments = [unquote(s) for s in request.path.split("/") if s]
        try:
            if len(segments) != 2 or segments[0] != "xrpc":
                raise XrpcError(404, "NotFound", "Not Found")
            method = segments[1]
            if method not in _KNOWN_METHODS:
                raise XrpcError(501, "MethodNotImplemented", "Method Not Implemented")
            payload = self._route(request, method)
        except XrpcError as error:
            return self._error(error)
        return SimResponse.json(200, payload, self._headers())

    def auth_error(self, request: SimRequest) -> SimResponse:
        del request
        return self._error(XrpcError(400, "ExpiredToken", "Token has expired"))

    def rate_limit_error(self, request: SimRequest, retry_after: int) -> SimResponse:
        """HTTP 429 as xrpc-server sends it: RateLimit-* headers and Retry-After [code]."""
        del request
        reset = int(self.scenario.now().timestamp()) + retry_after
        body = {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}
        headers = self._headers(remaining=0, reset=reset)
        headers.append(("Retry-After", str(retry_after)))
        return SimResponse.json(429, body, headers)

    def server_error(self, request: SimRequest, status: int) -> SimResponse:
        del request
        if status == 503:
            return self._error(XrpcError(503, "NotEnoughResources", "Not Enough Resources"))
        return self._error(XrpcError(status, "InternalServerError", "Internal Server Error"))

    # -- routing --------------------------------------------------------------------------------

    def _route(self, request: SimRequest, method: str) -> dict[str, Any]:
        query = request.query
        host = request.host
        world = self._world()
        if method == "app.bsky.actor.getProfile":
            actor = self._actor(world, _required(query, "actor"))
            return self._profile(world, actor, host)
        if method == "app.bsky.feed.getAuthorFeed":
            return self._author_feed(world, query, host)
        return self._thread(world, query, host)

    def _actor(self, world: _World, value: str) -> _Actor:
        if not (value.startswith("did:") or "." in value):
            raise _invalid("Error: actor must be a valid did or a handle")
        for actor in world.actors.values():
            # handles are case-insensitive (atproto handle spec); DIDs are exact
            if value == actor.did or value.lower() == actor.handle:
                return actor
        raise _invalid("Profile not found")

    def _profile(self, world: _World, actor: _Actor, host: str) -> dict[str, Any]:
        account = self.scenario.account
        own = [p for p in world.posts.values() if p.author.did == actor.did and not p.deleted]
        out: dict[str, Any] = {"did": actor.did, "handle": actor.handle, "displayName": actor.name}
        if actor.did == _did(account.id):
            out["description"] = (
                f"Official account of the {account.name}. Not monitored 24/7 — in an emergency "
                "call 911. Non-emergency: 630-823-5500."
            )
        out["avatar"] = _avatar(host, actor.did)
        out["associated"] = {"lists": 0, "feedgens": 0, "starterPacks": 0, "labeler": False}
        out["followersCount"] = 4210 if actor.did == _did(account.id) else 37
        out["followsCount"] = 58
        out["postsCount"] = len(own)
        out["indexedAt"] = actor.created
        out["createdAt"] = actor.created
        out["labels"] = []
        return out

    def _author_feed(self, world: _World, query: Mapping[str, str], host: str) -> dict[str, Any]:
        actor = self._actor(world, _required(query, "actor"))
        limit = _int_param(query, "limit", DEFAULT_FEED_LIMIT, 1, 100)
        feed_filter = query.get("filter", "posts_with_replies")
        rows = []
        for post in world.posts.values():
            if post.author.did != actor.did or post.deleted:
                continue
            is_reply = post.parent is not None
            if feed_filter == "posts_no_replies" and is_reply:
                continue
            if feed_filter == "posts_with_media" and (is_reply or not post.media):
                continue
            if feed_filter == "posts_with_video":
                continue
            if feed_filter == "posts_and_author_threads" and is_reply:
                assert post.root is not None
                if post.root.author.did != actor.did or (post.parent and post.parent.author.did != actor.did):
                    continue
            rows.append(post)
        # feed items sort by sortAt = min(createdAt, indexedAt), then CID [code]
        rows.sort(key=lambda p: (_ms(min(p.created, p.indexed)), p.cid), reverse=True)
        keys = [(_ms(min(p.created, p.indexed)), p.cid) for p in rows]
        start = 0
        cursor = query.get("cursor")
        if cursor:
            pivot = _decode_cursor(cursor)
            start = next((i for i, key in enumerate(keys) if key < pivot), len(keys))
        window = rows[start : start + limit]
        out: dict[str, Any] = {}
        if start + limit < len(rows) and window:
            last = window[-1]
            out["cursor"] = f"{_ms(min(last.created, last.indexed))}__{last.cid}"
        out["feed"] = [self._feed_item(world, post, host) for post in window]
        return out

    def _feed_item(self, world: _World, post: _Post, host: str) -> dict[str, Any]:
        item: dict[str, Any] = {"post": self._post_view(world, post, host)}
        if post.parent is not None and post.root is not None:
            reply: dict[str, Any] = {
                "root": self._ref_view(world, post.root, host),
                "parent": self._ref_view(world, post.parent, host),
            }
            if post.parent.parent is not None:
                reply["grandparentAuthor"] = self._author(post.parent.parent.author, host)
            item["reply"] = reply
        return item

    def _ref_view(self, world: _World, post: _Post, host: str) -> dict[str, Any]:
        if not self._visible(post):
            return {"$type": NS + "notFoundPost", "uri": post.uri, "notFound": True}
        return {"$type": NS + "postView", **self._post_view(world, post, host)}

    def _thread(self, world: _World, query: Mapping[str, str], host: str) -> dict[str, Any]:
        uri = _required(query, "uri")
        if not _AT_URI.match(uri):
            raise _invalid("Error: uri must be a valid at-uri")
        depth = _int_param(query, "depth", DEFAULT_DEPTH, 0, 1000)
        height = _int_param(query, "parentHeight", DEFAULT_PARENT_HEIGHT, 0, 1000)
        anchor = world.posts.get(uri)
        if anchor is None or not self._visible(anchor):
            raise XrpcError(400, "NotFound", f"Post not found: {uri}")
        thread: dict[str, Any] = {
            "$type": NS + "threadViewPost",
            "post": self._post_view(world, anchor, host),
        }
        if height > 0 and anchor.parent is not None:
            thread["parent"] = self._parent_view(world, anchor.parent, height, host)
        replies = self._replies(world, anchor, depth, host)
        if replies is not None:
            thread["replies"] = replies
        thread["threadContext"] = {}
        out: dict[str, Any] = {"thread": thread}
        root = anchor.root or anchor
        gate = self._threadgate(root)
        if gate is not None:
            out["threadgate"] = gate
        return out

    def _parent_view(self, world: _World, post: _Post, height: int, host: str) -> dict[str, Any]:
        if not self._visible(post):
            return {"$type": NS + "notFoundPost", "uri": post.uri, "notFound": True}
        view: dict[str, Any] = {"$type": NS + "threadViewPost", "post": self._post_view(world, post, host)}
        if height > 1 and post.parent is not None:
            view["parent"] = self._parent_view(world, post.parent, height - 1, host)
        view["threadContext"] = {}
        return view

    def _replies(self, world: _World, post: _Post, depth: int, host: str) -> list[dict[str, Any]] | None:
        if depth < 1:
            return None
        out = []
        # a deleted reply is dropped with everything under it [code: threadReplies]
        for child in sorted(post.live_children(), key=lambda c: (c.created, c.rkey)):
            view: dict[str, Any] = {
                "$type": NS + "threadViewPost",
                "post": self._post_view(world, child, host),
            }
            replies = self._replies(world, child, depth - 1, host)
            if replies is not None:
                view["replies"] = replies
            view["threadContext"] = {}
            out.append(view)
        return out

    # -- views ----------------------------------------------------------------------------------

    def _post_view(self, world: _World, post: _Post, host: str) -> dict[str, Any]:
        view: dict[str, Any] = {
            "uri": post.uri,
            "cid": post.cid,
            "author": self._author(post.author, host),
            "record": post.record,
        }
        if post.media:
            view["embed"] = {
                "$type": "app.bsky.embed.images#view",
                "images": [
                    {
                        "thumb": self._cdn(host, "feed_thumbnail", post.did, media),
                        "fullsize": self._cdn(host, "feed_fullsize", post.did, media),
                        "alt": media.alt,
                        "aspectRatio": {"height": media.height, "width": media.width},
                    }
                    for media in post.media
                ],
            }
        view["bookmarkCount"] = post.like_count // 7
        view["replyCount"] = len(post.live_children())
        view["repostCount"] = post.share_count
        view["likeCount"] = post.like_count
        view["quoteCount"] = post.share_count // 5
        view["indexedAt"] = iso_millis(post.indexed)
        view["labels"] = []
        if post.parent is None:
            gate = self._threadgate(post)
            if gate is not None:
                view["threadgate"] = gate  # only a root post carries its gate [code]
        return view

    def _author(self, actor: _Actor, host: str) -> dict[str, Any]:
        return {
            "did": actor.did,
            "handle": actor.handle,
            "displayName": actor.name,
            "avatar": _avatar(host, actor.did),
            "associated": {"chat": {"allowIncoming": "following"}},
            "labels": [],
            "createdAt": actor.created,
        }

    def _threadgate(self, root: _Post) -> dict[str, Any] | None:
        hidden = [p.uri for p in _descendants(root) if p.hidden and not p.deleted]
        if not hidden:
            return None
        record = {
            "$type": "app.bsky.feed.threadgate",
            "createdAt": iso_millis(root.created),
            "hiddenReplies": hidden,
            "post": root.uri,
        }
        return {
            "uri": f"at://{root.did}/app.bsky.feed.threadgate/{root.rkey}",
            "cid": _record_cid(record),
            "record": record,
            "lists": [],
        }

    def _visible(self, post: _Post) -> bool:
        return not post.deleted

    # -- the world ------------------------------------------------------------------------------

    def _world(self) -> _World:
        account = self.scenario.account
        world = _World()
        agency = _Actor(_did(account.id), _handle(account.handle), account.name, "2023-09-12T14:03:51.102Z")
        world.actors[agency.did] = agency
        for post in account.posts:
            root = _Post(
                did=agency.did,
                rkey=_tid(post.created, int(post.id)),
                author=agency,
                created=post.created,
                texts=_texts(post.created, post.history, post.text),
                media=list(post.media),
                like_count=post.share_count * 3,
                share_count=post.share_count,
                deleted=post.deleted,
            )
            self._finish(world, root)
            world.roots.append(root)
            for comment in post.comments:
                self._reply(world, comment, parent=root, root=root)
        return world

    def _reply(self, world: _World, comment: SimComment, *, parent: _Post, root: _Post) -> None:
        actor = world.actors.get(_did(comment.author_id))
        if actor is None:
            actor = _Actor(
                _did(comment.author_id),
                f"user{comment.author_id}.bsky.social",
                comment.author_name,
                "2024-02-06T18:22:10.000Z",
            )
            world.actors[actor.did] = actor
        post = _Post(
            did=actor.did,
            rkey=_tid(comment.created, int(comment.id)),
            author=actor,
            created=comment.created,
            texts=_texts(comment.created, comment.history, comment.text),
            media=[comment.media] if comment.media is not None else [],
            parent=parent,
            root=root,
            like_count=comment.like_count,
            hidden=comment.hidden,
            deleted=comment.deleted,
        )
        self._finish(world, post)
        parent.children.append(post)
        for reply in comment.replies:
            self._reply(world, reply, parent=post, root=root)

    @staticmethod
    def _finish(world: _World, post: _Post) -> None:
        """Build each version's record and CID (a reply's refs name the versions it answered)."""
        for media in post.media:
            world.blobs[_blob_cid(media)] = media
        for _when, text in post.texts:
            record: dict[str, Any] = {"$type": "app.bsky.feed.post", "createdAt": iso_millis(post.created)}
            if post.media:
                record["embed"] = {
                    "$type": "app.bsky.embed.images",
                    "images": [
                        {
                            "alt": media.alt,
                            "aspectRatio": {"height": media.height, "width": media.width},
                            "image": {
                                "$type": "blob",
                                "ref": {"$link": _blob_cid(media)},
                                "mimeType": media.content_type,
                                "size": len(media.data),
                            },
                        }
                        for media in post.media
                    ],
                }
            record["langs"] = ["en"]
            if post.parent is not None and post.root is not None:
                record["reply"] = {
                    "parent": {"cid": post.parent.cid_at(post.created), "uri": post.parent.uri},
                    "root": {"cid": post.root.cid_at(post.created), "uri": post.root.uri},
                }
            record["text"] = text
            post.records.append((record, _record_cid(record)))
        world.posts[post.uri] = post

    # -- the CDN --------------------------------------------------------------------------------

    def _cdn(self, host: str, preset: str, did: str, media: SimMedia) -> str:
        extension = "png" if media.content_type == "image/png" else "jpeg"
        return f"http://{host}{IMG_PREFIX}{preset}/plain/{did}/{_blob_cid(media)}@{extension}"

    def _image(self, request: SimRequest) -> SimResponse:
        # /img/{preset}/plain/{did}/{cid}@{format}
        parts = request.path[len(IMG_PREFIX) :].split("/")
        if len(parts) != 4 or parts[1] != "plain" or parts[0] not in ("feed_thumbnail", "feed_fullsize"):
            return SimResponse(404, b"Not Found", [("Content-Type", "text/plain; charset=utf-8")])
        cid = parts[3].split("@", 1)[0]
        media = self._world().blobs.get(cid)
        if media is None:
            return SimResponse(404, b"Not Found", [("Content-Type", "text/plain; charset=utf-8")])
        return SimResponse(
            200,
            media.data,
            [
                ("Content-Type", media.content_type),
                ("Cache-Control", "public, max-age=604800"),
                ("Access-Control-Allow-Origin", "*"),
            ],
        )

    # -- responses ------------------------------------------------------------------------------

    def _headers(self, *, remaining: int | None = None, reset: int | None = None) -> list[tuple[str, str]]:
        now = int(self.scenario.now().timestamp())
        window_reset = reset if reset is not None else now - now % RATE_WINDOW + RATE_WINDOW
        return [
            ("Content-Type", "application/json; charset=utf-8"),
            ("Access-Control-Allow-Origin", "*"),
            ("Cache-Control", "private"),
            ("Vary", "Authorization, Accept-Encoding"),
            ("RateLimit-Limit", str(RATE_LIMIT)),
            ("RateLimit-Remaining", str(RATE_LIMIT - 1 if remaining is None else remaining)),
            ("RateLimit-Reset", str(window_reset)),
            ("RateLimit-Policy", f"{RATE_LIMIT};w={RATE_WINDOW}"),
        ]

    def _error(self, error: XrpcError) -> SimResponse:
        return SimResponse.json(
            error.status, {"error": error.error, "message": error.message}, self._headers()
        )


# -- helpers ------------------------------------------------------------------------------------


def _avatar(host: str, did: str) -> str:
    return f"http://{host}{IMG_PREFIX}avatar/plain/{did}/{_cid('avatar', did, 'bafkrei')}@jpeg"


def _descendants(post: _Post) -> list[_Post]:
    out: list[_Post] = []
    stack = list(reversed(post.children))
    while stack:
        child = stack.pop()
        if child.deleted:
            continue  # its subtree went with it
        out.append(child)
        stack.extend(reversed(child.children))
    return sorted(out, key=lambda p: (p.created, p.rkey))


def _texts(created: datetime, history: list[tuple[datetime, str]], text: str) -> list[tuple[datetime, str]]:
    """(when written, text) for each version: the original, then each rewrite."""
    times = [created] + [when for when, _ in history]
    texts = [old for _, old in history] + [text]
    return list(zip(times, texts, strict=True))


def _did(seed: str) -> str:
    digest = hashlib.sha256(f"did:{seed}".encode()).digest()
    return "did:plc:" + base64.b32encode(digest).decode().lower()[:24]


def _handle(handle: str) -> str:
    handle = handle.lower()
    return handle if "." in handle else f"{handle}.bsky.social"


def _tid(moment: datetime, clock_id: int) -> str:
    """A record key: 53 bits of microseconds and 10 bits of clock id, base32-sortable [spec]."""
    micros = int(moment.timestamp() * 1_000_000)
    value = (micros << 10) | (clock_id & 0x3FF)
    out = ""
    for _ in range(13):
        out = _TID_ALPHABET[value & 31] + out
        value >>= 5
    return out


def _cid(kind: str, value: str, prefix: str) -> str:
    digest = hashlib.sha256(f"{kind}:{value}".encode()).digest()
    return prefix + base64.b32encode(digest).decode().lower().rstrip("=")[:52]


def _record_cid(record: Mapping[str, Any]) -> str:
    """A dag-cbor CIDv1-looking id of a record: changes exactly when the record does."""
    canonical = json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return _cid("record", canonical, "bafyrei")


def _blob_cid(media: SimMedia) -> str:
    """A raw-codec CIDv1-looking id of the image bytes (blobs are content-addressed)."""
    digest = hashlib.sha256(media.data).digest()
    return "bafkrei" + base64.b32encode(digest).decode().lower().rstrip("=")[:52]


def _required(query: Mapping[str, str], name: str) -> str:
    value = query.get(name)
    if not value:
        raise _invalid(f'Error: Params must have the property "{name}"')
    return value


def _int_param(query: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    value = query.get(name)
    if value is None:
        return default
    if not re.fullmatch(r"-?\d+", value):
        raise _invalid(f"Error: {name} must be an integer")
    number = int(value)
    if number < low:
        raise _invalid(f"Error: {name} can not be less than {low}")
    if number > high:
        raise _invalid(f"Error: {name} can not be greater than {high}")
    return number


def _decode_cursor(cursor: str) -> tuple[int, str]:
    primary, sep, secondary = cursor.partition("__")
    if not sep or not primary.isdigit():
        raise _invalid("Malformed cursor")
    return int(primary), secondary


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)
