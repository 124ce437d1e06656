"""A loopback Instagram Graph API for one professional account, rendered from a :class:`Scenario`.

It follows docs/research/instagram.md: ``/vNN.0`` paths (unversioned too), the IG User node,
``/{ig-user-id}/media`` (time bounds ``since``/``until``, cursor paging), ``/{ig-media-id}``,
``/{ig-media-id}/children``, ``/{ig-media-id}/comments`` (top-level only, newest first, at most 50
a page, ``replies{...}`` by field expansion), ``/{ig-comment-id}/replies``, Graph error objects with
HTTP 400, and the ``X-Business-Use-Case-Usage`` header with ``type: instagram``.

How the platform-neutral scenario maps onto Instagram:

* a :class:`SimPost` is an IG media: with two or more photos a ``CAROUSEL_ALBUM`` whose children
  are the photos, with one photo an ``IMAGE``; Instagram has no text-only posts, so a post without
  photos becomes a ``VIDEO`` (a reel with a cover image) when its id is even and an ``IMAGE`` of a
  generated picture when odd, both derived from the seed so they never change;
* :class:`SimComment` and its replies are IG comments; ``hidden`` comments stay visible to the
  account's own token with ``hidden: true``. Instagram has no comment editing, so a scenario edit
  simply shows the new text (the source records any change of text as a new version);
* files are served by a CDN-like path on the same server whose signed ``oh``/``oe`` query changes
  every night and expires three days later, as cdninstagram URLs do; the stable identity of a
  file is its media id and role.

Everything is a function of the scenario state and the request: the same state gives
byte-identical JSON.
"""

from __future__ import annotations

import base64
import hashlib
import random
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from hp_archive.sources.simulators.base import SimRequest, SimResponse
from hp_archive.sources.simulators.meta_graph import (
    TEXT_PLAIN,
    Entries,
    FieldSpec,
    GraphCall,
    GraphEdge,
    GraphError,
    GraphNode,
    GraphSimulator,
    cdn_expiry,
    cdn_refusal,
    cdn_signature,
    check_node_path,
    cursor_page,
    edge_params,
    etag,
    graph_time,
    missing_object,
    no_field,
    parse_fields,
    parse_limit,
    request_token,
    split_version,
    time_param,
    trace_id,
)
from hp_archive.sources.simulators.scenario import Scenario, SimComment, SimMedia, SimPost, png_bytes

MEDIA_MAX_LIMIT = 100  # NOT FOUND in the docs; larger values are capped, not refused
COMMENTS_MAX_LIMIT = 50  # "Returns a maximum of 50 comments per query" [doc]
CDN_PREFIX = "/ig-cdn/v/t51.29350-15/"
_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "video/mp4": "mp4"}
_TYPE_NAMES = {"user": "IGUser", "media": "IGMedia", "comment": "IGComment"}
_KNOWN_FIELDS: dict[str, frozenset[str]] = {
    "user": frozenset(
        {"id", "username", "name", "biography", "website", "media_count", "followers_count",
         "follows_count", "profile_picture_url", "ig_id", "media", "stories", "tags"}
    ),
    "media": frozenset(
        {"id", "caption", "media_type", "media_product_type", "media_url", "thumbnail_url",
         "permalink", "shortcode", "timestamp", "username", "comments_count", "like_count",
         "is_comment_enabled", "owner", "children", "comments", "alt_text", "ig_id",
         "is_shared_to_feed", "legacy_instagram_media_id"}
    ),
    "comment": frozenset(
        {"id", "text", "timestamp", "username", "from", "hidden", "like_count", "media",
         "parent_id", "user", "replies", "legacy_instagram_comment_id"}
    ),
}  # fmt: skip
_DEFAULT_FIELDS: dict[str, tuple[str, ...]] = {
    "user": ("id",),
    "media": ("id",),
    "comment": ("timestamp", "text", "id"),  # the documented sample response [doc]
}
_MP4_HEAD = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41"


def media_id_of(post: SimPost) -> str:
    """The IG media id the simulator gives a scenario post."""
    return str(17_850_000_000_000_000 + int(post.id))


def child_id_of(media: SimMedia) -> str:
    """The IG media id of a carousel child (one scenario photo)."""
    return str(17_860_000_000_000_000 + int(media.id))


def comment_id_of(comment: SimComment) -> str:
    """The IG comment id of a scenario comment or reply."""
    return str(17_900_000_000_000_000 + int(comment.id))


def username_of(name: str, author_id: str) -> str:
    """An Instagram-style username for a scenario author (ASCII letters, digits, ``.`` and ``_``)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    slug = re.sub(r"[^a-z0-9]+", ".", ascii_name).strip(".")
    return slug or f"user{author_id}"


@dataclass(frozen=True)
class MediaFile:
    """One downloadable file of an IG media: its media id, role and bytes."""

    media_id: str
    role: str  # image | video | thumbnail
    data: bytes
    content_type: str

    @property
    def key(self) -> str:
        return f"{self.media_id}:{self.role}"


@dataclass(frozen=True)
class MediaShape:
    """How a scenario post appears on Instagram."""

    media_type: str
    files: tuple[MediaFile, ...]  # the post's own files (not a carousel's)
    children: tuple[tuple[str, MediaFile], ...]  # (child id, its image) for a carousel


def media_shape(scenario: Scenario, post: SimPost) -> MediaShape:
    """The IG media type and files of a post (see the module docstring for the rules)."""
    own = media_id_of(post)
    if len(post.media) >= 2:
        children = tuple(
            (child_id_of(m), MediaFile(child_id_of(m), "image", m.data, m.content_type)) for m in post.media
        )
        return MediaShape("CAROUSEL_ALBUM", (), children)
    if len(post.media) == 1:
        photo = post.media[0]
        return MediaShape("IMAGE", (MediaFile(own, "image", photo.data, photo.content_type),), ())
    seed = scenario.seed * 1_000_003 + int(post.id)
    picture = png_bytes(seed, 60, 60)
    if int(post.id) % 2 == 0:
        rng = random.Random(seed)
        video = _MP4_HEAD + rng.randbytes(2048)
        files = (
            MediaFile(own, "video", video, "video/mp4"),
            MediaFile(own, "thumbnail", picture, "image/png"),
        )
        return MediaShape("VIDEO", files, ())
    return MediaShape("IMAGE", (MediaFile(own, "image", picture, "image/png"),), ())


def media_keys(scenario: Scenario, post: SimPost) -> set[str]:
    """The stable keys (``{media-id}:{role}``) of every file a post shows."""
    shape = media_shape(scenario, post)
    return {f.key for f in shape.files} | {f.key for _, f in shape.children}


class InstagramGraphSimulator(GraphSimulator):
    """The Instagram Graph API of the scenario's account.

    ``valid_tokens`` are the account's own user tokens: they see everything, hidden comments
    included. Any other token is answered as expired (190/463).
    """

    throttle_code = 80002
    throttle_account = "Instagram"
    usage_type = "instagram"

    # -- the SimulatorApp hooks -----------------------------------------------------------------

    def handle(self, request: SimRequest) -> SimResponse:
        if request.path.startswith(CDN_PREFIX):
            return self._cdn(request)
        version, prefix, segments = split_version(request.path, self.default_version)
        token = request_token(request)
        if token is None:
            return self._error(
                request, version, GraphError(104, "An access token is required to request this resource.")
            )
        if token not in self.valid_tokens:
            return self.auth_error(request)
        call = GraphCall(request, version, prefix, token, token_in_query=request.bearer_token is None)
        try:
            payload = self._route(call, segments)
        except GraphError as error:
            return self._error(request, version, error)
        return self._ok(call, payload)

    # -- routing --------------------------------------------------------------------------------

    def _route(self, call: GraphCall, segments: list[str]) -> dict[str, Any]:
        check_node_path(segments)
        node_id, edge = segments[0], (segments[1] if len(segments) == 2 else None)
        fields = parse_fields(call.request.query.get("fields", ""))
        account = self.scenario.account
        if node_id in (account.id, "me"):
            if edge is None:
                return self._project(self._user_node(), fields)
            if edge == "media":
                return self._media_listing(call, fields)
            raise _no_field(edge, "user")
        post = self._live_post(node_id)
        if post is not None:
            if edge is None:
                return self._project(self._media_node(call, post), fields)
            if edge == "children":
                return {"data": [self._project(n, fields) for n in self._children_nodes(call, post)]}
            if edge == "comments":
                return self._comments_listing(call, post, call.request.query, fields, path=call.request.path)
            raise _no_field(edge, "media")
        child = self._live_child(node_id)
        if child is not None:
            if edge is None:
                return self._project(self._child_node(call, *child), fields)
            raise _no_field(edge, "media")
        found = self._live_comment(node_id)
        if found is None:
            raise missing_object(node_id)
        post, comment, parent = found
        if edge is None:
            return self._project(self._comment_node(call, post, comment, parent), fields)
        if edge == "replies":
            if parent is not None:
                return {"data": []}  # replies are one level deep [doc]
            return self._replies_listing(
                call, post, comment, call.request.query, fields, path=call.request.path
            )
        raise _no_field(edge, "comment")

    def _live_post(self, node_id: str) -> SimPost | None:
        return next((p for p in self.scenario.account.live_posts() if media_id_of(p) == node_id), None)

    def _live_child(self, node_id: str) -> tuple[SimPost, str, MediaFile] | None:
        for post in self.scenario.account.live_posts():
            for child_id, image in media_shape(self.scenario, post).children:
                if child_id == node_id:
                    return post, child_id, image
        return None

    def _live_comment(self, node_id: str) -> tuple[SimPost, SimComment, SimComment | None] | None:
        for post in self.scenario.account.live_posts():
            for comment in post.live_comments():
                if comment_id_of(comment) == node_id:
                    return post, comment, None
                for reply in comment.live_replies():
                    if comment_id_of(reply) == node_id:
                        return post, reply, comment
        return None

    # -- nodes ----------------------------------------------------------------------------------

    def _user_node(self) -> GraphNode:
        account = self.scenario.account
        return GraphNode(
            "user",
            {
                "id": account.id,
                "username": account.handle.lower(),
                "name": account.name,
                "biography": f"Official account of the {account.name}. Not monitored 24/7: call 911 "
                "in an emergency.",
                "website": "https://www.hanoverparkillinois.org/police",
                "media_count": len(account.live_posts()),
                "followers_count": 4200,
            },
        )

    def _media_node(self, call: GraphCall, post: SimPost) -> GraphNode:
        account = self.scenario.account
        shape = media_shape(self.scenario, post)
        own = media_id_of(post)
        values: dict[str, Any] = {"id": own}
        if post.text:
            values["caption"] = post.text
        values["media_type"] = shape.media_type
        values["media_product_type"] = "REELS" if shape.media_type == "VIDEO" else "FEED"
        first = shape.children[0][1] if shape.children else shape.files[0]
        values["media_url"] = self._cdn_url(call, first)  # an album's is its first child's [rec]
        if shape.media_type == "VIDEO":
            values["thumbnail_url"] = self._cdn_url(call, shape.files[1])
        code = _shortcode(own)
        values["permalink"] = (
            f"https://www.instagram.com/{'reel' if shape.media_type == 'VIDEO' else 'p'}/{code}/"
        )
        values["shortcode"] = code
        values["timestamp"] = graph_time(post.created)
        values["username"] = account.handle.lower()
        values["comments_count"] = sum(1 + len(c.live_replies()) for c in post.live_comments())
        values["like_count"] = post.share_count
        values["is_comment_enabled"] = not post.comments_disabled
        values["owner"] = {"id": account.id}
        if shape.children:
            values["children"] = GraphEdge(
                lambda spec: {
                    "data": [self._project(n, spec.children) for n in self._children_nodes(call, post)]
                }
            )
        return GraphNode("media", values)

    def _children_nodes(self, call: GraphCall, post: SimPost) -> list[GraphNode]:
        return [
            self._child_node(call, post, child_id, image)
            for child_id, image in media_shape(self.scenario, post).children
        ]

    def _child_node(self, call: GraphCall, post: SimPost, child_id: str, image: MediaFile) -> GraphNode:
        return GraphNode(
            "media",
            {
                "id": child_id,
                "media_type": "IMAGE",
                "media_url": self._cdn_url(call, image),
                "shortcode": _shortcode(child_id),
                "timestamp": graph_time(post.created),
                "username": self.scenario.account.handle.lower(),
                "owner": {"id": self.scenario.account.id},
            },
        )

    def _comment_node(
        self, call: GraphCall, post: SimPost, comment: SimComment, parent: SimComment | None
    ) -> GraphNode:
        account = self.scenario.account
        by_account = comment.author_id == account.id
        username = (
            account.handle.lower() if by_account else username_of(comment.author_name, comment.author_id)
        )
        from_id = account.id if by_account else str(17_841_400_000_000_000 + int(comment.author_id))
        values: dict[str, Any] = {"id": comment_id_of(comment)}
        if comment.text:
            values["text"] = comment.text
        values["timestamp"] = graph_time(comment.created)
        values["username"] = username
        values["from"] = {"id": from_id, "username": username}
        values["hidden"] = comment.hidden
        values["like_count"] = comment.like_count
        values["media"] = {
            "id": media_id_of(post),
            "media_product_type": "REELS"
            if media_shape(self.scenario, post).media_type == "VIDEO"
            else "FEED",
        }
        if parent is not None:
            values["parent_id"] = comment_id_of(parent)
        if by_account:
            values["user"] = {"id": account.id}  # only for the app user's own comments [doc]
        values["legacy_instagram_comment_id"] = comment_id_of(comment)
        if parent is None:
            values["replies"] = GraphEdge(lambda spec: self._nested_replies(call, post, comment, spec))
        else:
            values["replies"] = GraphEdge(lambda spec: {"data": []})
        return GraphNode("comment", values)

    # -- projection -----------------------------------------------------------------------------

    def _project(self, node: GraphNode, fields: tuple[FieldSpec, ...] | None) -> dict[str, Any]:
        known = _KNOWN_FIELDS[node.kind]
        if fields is None:
            fields = tuple(FieldSpec(name) for name in _DEFAULT_FIELDS[node.kind])
        out: dict[str, Any] = {}
        for spec in fields:
            if spec.name not in known:
                raise _no_field(spec.name, node.kind)
            if spec.name in node.values:
                out[spec.modifier("as") or spec.name] = self._value(node.values[spec.name], spec)
        if "id" in node.values and "id" not in out:
            out["id"] = node.values["id"]  # Graph always returns a node's id
        return out

    def _value(self, value: Any, spec: FieldSpec) -> Any:
        if isinstance(value, GraphEdge):
            return value.render(spec)
        if isinstance(value, dict) and spec.children is not None:
            return {c.name: value[c.name] for c in spec.children if c.name in value}
        return value

    # -- listings -------------------------------------------------------------------------------

    def _media_listing(self, call: GraphCall, fields: tuple[FieldSpec, ...] | None) -> dict[str, Any]:
        query = call.request.query
        since, until = time_param(query, "since"), time_param(query, "until")
        entries = []
        for post in self.scenario.account.live_posts():
            created = post.created.timestamp()
            # since/until bound created time, both inclusive (time-based paging [doc])
            if (since is not None and created < since) or (until is not None and created > until):
                continue
            entries.append(((-int(created), media_id_of(post)), self._media_node(call, post)))
        entries.sort(key=lambda entry: entry[0])
        return self._paged(call, entries, query, fields, path=call.request.path, max_limit=MEDIA_MAX_LIMIT)

    def _comments_listing(
        self,
        call: GraphCall,
        post: SimPost,
        params: Mapping[str, str],
        fields: tuple[FieldSpec, ...] | None,
        *,
        path: str,
    ) -> dict[str, Any]:
        # top-level only, reverse chronological (v3.2+) [doc]; hidden ones included for the owner
        entries = [
            ((-int(c.created.timestamp()), comment_id_of(c)), self._comment_node(call, post, c, None))
            for c in post.live_comments()
        ]
        entries.sort(key=lambda entry: entry[0])
        return self._paged(call, entries, params, fields, path=path, max_limit=COMMENTS_MAX_LIMIT)

    def _replies_listing(
        self,
        call: GraphCall,
        post: SimPost,
        comment: SimComment,
        params: Mapping[str, str],
        fields: tuple[FieldSpec, ...] | None,
        *,
        path: str,
    ) -> dict[str, Any]:
        # The order of replies is NOT FOUND in the docs; oldest first here.
        entries = [
            ((int(r.created.timestamp()), comment_id_of(r)), self._comment_node(call, post, r, comment))
            for r in comment.live_replies()
        ]
        entries.sort(key=lambda entry: entry[0])
        return self._paged(call, entries, params, fields, path=path, max_limit=COMMENTS_MAX_LIMIT)

    def _nested_replies(
        self, call: GraphCall, post: SimPost, comment: SimComment, spec: FieldSpec
    ) -> dict[str, Any]:
        params = edge_params(spec)
        path = f"{call.prefix}/{comment_id_of(comment)}/replies"
        return self._replies_listing(call, post, comment, params, spec.children, path=path)

    def _paged(
        self,
        call: GraphCall,
        entries: Entries,
        params: Mapping[str, str],
        fields: tuple[FieldSpec, ...] | None,
        *,
        path: str,
        max_limit: int,
    ) -> dict[str, Any]:
        """One cursor page of ``entries`` (sorted by key); a ``limit`` over the maximum is capped."""
        return cursor_page(
            entries,
            params,
            min(parse_limit(params.get("limit"), None), max_limit),
            render=lambda node: self._project(node, fields),
            link=lambda direction, cursor: self._paging_url(call, path, params, direction, cursor),
        )

    def _paging_url(
        self, call: GraphCall, path: str, params: Mapping[str, str], direction: str, cursor: str
    ) -> str:
        # The token is echoed only when it came as a query parameter [rec].
        pairs = [("access_token", call.token)] if call.token_in_query else []
        pairs.append(("pretty", "0"))
        skip = {"access_token", "pretty", "after", "before"}
        pairs.extend((key, value) for key, value in params.items() if key not in skip)
        pairs.append((direction, cursor))
        return f"http://{call.host}{path}?{urlencode(pairs)}"

    # -- the CDN --------------------------------------------------------------------------------

    def _files(self) -> dict[str, MediaFile]:
        found: dict[str, MediaFile] = {}
        for post in self.scenario.account.live_posts():
            shape = media_shape(self.scenario, post)
            found.update((f.key, f) for f in shape.files)
            found.update((f.key, f) for _, f in shape.children)
        return found

    def _cdn_url(self, call: GraphCall, file: MediaFile) -> str:
        night = self.scenario.night
        pairs = [
            ("_nc_cat", "104"),
            ("ccb", "1-7"),
            ("_nc_sid", "8ae9d6"),
            ("_nc_ht", "scontent.cdninstagram.sim"),
            ("edm", "AM6HXa8EAAAA"),
            ("oh", self._cdn_signature(file.key, night)),
            ("oe", cdn_expiry(self.scenario, night)),
        ]
        extension = _EXTENSIONS.get(file.content_type, "bin")
        return f"http://{call.host}{CDN_PREFIX}{file.media_id}_{file.role}_n.{extension}?{urlencode(pairs)}"

    def _cdn_signature(self, key: str, night: int) -> str:
        return cdn_signature(self.scenario.seed, key, night)

    def _cdn(self, request: SimRequest) -> SimResponse:
        match = re.fullmatch(r"(\d+)_(image|video|thumbnail)_n\.\w+", request.path[len(CDN_PREFIX) :])
        file = self._files().get(f"{match.group(1)}:{match.group(2)}") if match else None
        if file is None:
            return SimResponse(404, b"Not Found", list(TEXT_PLAIN))
        refusal = cdn_refusal(
            request.query, self.scenario, lambda night: self._cdn_signature(file.key, night)
        )
        if refusal is not None:
            return refusal
        return SimResponse(
            200,
            file.data,
            [("Content-Type", file.content_type), ("Cache-Control", "max-age=1209600, no-transform"),
             ("Access-Control-Allow-Origin", "*")],
        )  # fmt: skip

    # -- responses ------------------------------------------------------------------------------

    def _ok(self, call: GraphCall, payload: dict[str, Any]) -> SimResponse:
        headers = [
            *self._common_headers(call.request, call.version),
            ("X-Business-Use-Case-Usage", self._buc_usage(1, 0)),
        ]
        response = SimResponse.json(200, payload, headers)
        response.headers.append(("ETag", etag(response.body)))
        return response

    def _error(
        self,
        request: SimRequest,
        version: str,
        error: GraphError,
        *,
        status: int = 400,
        usage: tuple[str, str] | None = None,
    ) -> SimResponse:
        headers = [*self._common_headers(request, version), error.www_authenticate()]
        if usage is not None:
            headers.append(usage)
        return SimResponse.json(status, error.body(request), headers)

    def _common_headers(self, request: SimRequest, version: str) -> list[tuple[str, str]]:
        return [
            ("facebook-api-version", version),
            ("x-fb-trace-id", trace_id(request)),
            ("Access-Control-Allow-Origin", "*"),
            ("Cache-Control", "private, no-cache, no-store, must-revalidate"),
            ("Pragma", "no-cache"),
            ("Expires", "Sat, 01 Jan 2000 00:00:00 GMT"),
        ]


# -- helpers ------------------------------------------------------------------------------------


def _shortcode(media_id: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(media_id.encode()).digest()).decode()[:11]


def _no_field(name: str, kind: str) -> GraphError:
    return no_field(name, _TYPE_NAMES[kind])
