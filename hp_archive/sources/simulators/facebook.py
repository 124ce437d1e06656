"""A loopback Facebook Graph API for one Page, rendered from a :class:`Scenario`.

It follows docs/research/facebook-graph-api.md: ``/vNN.0`` paths (unversioned too), the Page
node, ``/{page}/posts`` (also ``/feed`` and ``/published_posts``), ``/{object}/comments`` on
posts and comments, field expansion (``from{id,name}``, ``attachments{media{image{src}}}``,
``comments.summary(true).limit(0)``), cursor paging, Graph error objects with HTTP 400 and a
``WWW-Authenticate`` header, and the usage headers. Attachment images are served by a CDN-like
path on the same server whose signed ``oh``/``oe`` query changes every night and expires, as
fbcdn URLs do; the photo's stable identity is ``target.id``.

Everything is a function of the scenario state and the request: the same state gives
byte-identical JSON, so unchanged listings can be stored as WARC revisits. Where the notes say
a behaviour is undocumented, the choice made here is stated in a comment where it is made.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from hp_archive.sources.simulators.base import SimRequest, SimResponse
from hp_archive.sources.simulators.meta_graph import (
    DEFAULT_VERSION,
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
    compact_json,
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
from hp_archive.sources.simulators.scenario import Scenario, SimComment, SimMedia, SimPost

FEED_MAX_LIMIT = 100
POST_EDGES = ("posts", "feed", "published_posts")
CDN_PREFIX = "/cdn/v/t39.30808-6/"
_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp"}

_TYPE_NAMES = {
    "page": "Page",
    "post": "PagePost",
    "comment": "Comment",
    "attachment": "StoryAttachment",
}
_KNOWN_FIELDS: dict[str, frozenset[str]] = {
    "page": frozenset(
        {"id", "name", "username", "link", "category", "about", "website", "fan_count"}
    ),
    "post": frozenset(
        {
            "id", "created_time", "updated_time", "message", "story", "message_tags",
            "permalink_url", "from", "status_type", "full_picture", "shares", "attachments",
            "is_hidden", "is_published", "is_expired", "comments", "place", "parent_id",
        }
    ),
    "comment": frozenset(
        {
            "id", "created_time", "from", "message", "message_tags", "attachment",
            "can_comment", "can_remove", "can_hide", "can_like", "can_reply_privately",
            "comment_count", "is_hidden", "is_private", "like_count", "parent",
            "permalink_url", "user_likes", "object", "comments",
        }
    ),
    "attachment": frozenset(
        {
            "description", "description_tags", "media", "media_type", "target", "title",
            "type", "unshimmed_url", "url", "subattachments",
        }
    ),
}  # fmt: skip
_DEFAULT_FIELDS: dict[str, tuple[str, ...] | None] = {
    "page": ("name", "id"),
    "post": ("created_time", "message", "story", "id"),
    "comment": ("created_time", "from", "message", "id"),
    "profile": ("name", "id"),
    "attachment": None,  # every field the attachment has
}
_ID_NODES = frozenset({"page", "post", "comment", "profile"})
# Deprecated since v3.3 on the feed edges [doc]; asking for them is an error, not an empty field.
_DEPRECATED_POST_FIELDS = frozenset({"caption", "description", "link", "name", "object_id", "source", "type"})


@dataclass(frozen=True)
class _Connection:
    """A ``{"data": [...]}`` list of nodes with no paging (attachments, subattachments)."""

    nodes: tuple[GraphNode, ...]


@dataclass(frozen=True)
class _Call(GraphCall):
    """A request, and whether its token is a Page token (else an app's)."""

    page_token: bool


class FacebookGraphSimulator(GraphSimulator):
    """The Graph API of the scenario's Page.

    ``valid_tokens`` are Page access tokens: they see everything, including hidden comments and
    commenters' ``from``. ``app_tokens`` read like an app using Page Public Content Access: no
    user information, no comment ids, no hidden comments (per the notes' visibility rules).
    Any other token is answered as expired (190/463).
    """

    throttle_code = 80001
    throttle_account = "Page"
    usage_type = "pages"

    def __init__(
        self,
        scenario: Scenario,
        *,
        valid_tokens: Iterable[str],
        app_tokens: Iterable[str] = (),
        default_version: str = DEFAULT_VERSION,
    ) -> None:
        super().__init__(scenario, valid_tokens=valid_tokens, default_version=default_version)
        self.app_tokens = set(app_tokens)

    # -- the SimulatorApp hooks -----------------------------------------------------------------

    def handle(self, request: SimRequest) -> SimResponse:
        if request.path.startswith(CDN_PREFIX):
            return self._cdn(request)
        version, prefix, segments = split_version(request.path, self.default_version)
        token = request_token(request)
        if token is None:
            error = GraphError(104, "An access token is required to request this resource.")
            return self._error(request, version, error)
        if token not in self.valid_tokens and token not in self.app_tokens:
            return self.auth_error(request)
        call = _Call(
            request=request,
            version=version,
            prefix=prefix,
            token=token,
            page_token=token in self.valid_tokens,
            token_in_query=request.bearer_token is None,
        )
        try:
            payload = self._route(call, segments)
        except GraphError as error:
            return self._error(request, version, error, page_token=call.page_token)
        return self._ok(call, payload)

    def rate_limit_error(self, request: SimRequest, retry_after: int) -> SimResponse:
        """Throttling as recorded: code 80001 for Page tokens (see the base class), 4 otherwise."""
        if request_token(request) in self.app_tokens:
            error = GraphError(4, "(#4) Application request limit reached", transient=True)
            usage = (
                "X-App-Usage",
                compact_json({"call_count": 100, "total_cputime": 40, "total_time": 61}),
            )
            return self._error(request, self._version_of(request), error, usage=usage)
        return super().rate_limit_error(request, retry_after)

    # -- routing --------------------------------------------------------------------------------

    def _route(self, call: _Call, segments: list[str]) -> dict[str, Any]:
        check_node_path(segments)
        node_id = segments[0]
        fields = parse_fields(call.request.query.get("fields", ""))
        account = self.scenario.account
        if node_id in (account.id, "me") or node_id.lower() == account.handle.lower():
            if node_id == "me" and not call.page_token:
                raise missing_object(node_id)
            if len(segments) == 1:
                return self._project(self._page_node(), fields)
            if segments[1] in POST_EDGES:
                return self._posts_listing(call, fields)
            raise _no_field(segments[1], "page")
        found = self._resolve(call, node_id)
        if found is None:
            raise missing_object(node_id)
        post, comment = found
        if len(segments) == 1:
            node = self._post_node(call, post) if comment is None else self._comment_for(call, post, comment)
            return self._project(node, fields)
        if segments[1] == "comments":
            return self._comments_listing(
                call, post, comment, call.request.query, fields, path=call.request.path
            )
        raise _no_field(segments[1], "post" if comment is None else "comment")

    def _resolve(self, call: _Call, node_id: str) -> tuple[SimPost, SimComment | None] | None:
        """A visible post (``{page}_{post}``) or comment/reply (``{post}_{comment}``), or None."""
        first, _, second = node_id.partition("_")
        account = self.scenario.account
        if first == account.id:
            post = account.find_post(second)
            return (post, None) if post is not None and not post.deleted else None
        post = account.find_post(first)
        if post is None or post.deleted:
            return None
        for comment in self._visible_comments(call, post):
            if comment.id == second:
                return post, comment
            for reply in self._visible_replies(call, comment):
                if reply.id == second:
                    return post, reply
        return None

    # -- nodes ----------------------------------------------------------------------------------

    def _page_node(self) -> GraphNode:
        account = self.scenario.account
        return GraphNode(
            "page",
            {
                "id": account.id,
                "name": account.name,
                "username": account.handle,
                "link": f"https://www.facebook.com/{account.handle}",
                "category": "Police Station",
            },
        )

    def _profile(self, author_id: str, author_name: str) -> GraphNode:
        return GraphNode("profile", {"name": author_name, "id": author_id})

    def _post_node(self, call: _Call, post: SimPost) -> GraphNode:
        account = self.scenario.account
        values: dict[str, Any] = {
            "id": f"{account.id}_{post.id}",
            "created_time": graph_time(post.created),
            "updated_time": graph_time(self._updated_time(post)),
        }
        if post.text:  # optional keys are dropped rather than sent as null
            values["message"] = post.text
        values["permalink_url"] = f"https://www.facebook.com/{account.id}/posts/{post.id}/"
        values["from"] = self._profile(account.id, account.name)
        values["status_type"] = "added_photos" if post.media else "mobile_status_update"
        if post.media:
            values["full_picture"] = self._cdn_url(call, post.media[0], "dst-png_p720x720")
            values["attachments"] = _Connection((self._post_attachment(call, post),))
        if post.share_count:
            values["shares"] = {"count": post.share_count}
        values["is_hidden"] = False
        values["is_published"] = True
        values["is_expired"] = False
        values["comments"] = GraphEdge(lambda spec: self._nested_comments(call, post, spec))
        return GraphNode("post", values)

    def _updated_time(self, post: SimPost) -> datetime:
        # updated_time moves when the post is edited *or commented on* [doc]
        times = [post.updated]
        for comment in post.live_comments():
            times.append(comment.created)
            times.extend(reply.created for reply in comment.live_replies())
        return max(times)

    def _post_attachment(self, call: _Call, post: SimPost) -> GraphNode:
        account = self.scenario.account
        if len(post.media) == 1:
            return self._photo_attachment(call, post.media[0])
        permalink = f"https://www.facebook.com/{account.id}/posts/{post.id}/"
        # An album's own image is its first photo, signed separately (so a different URL).
        return GraphNode(
            "attachment",
            {
                "media": {"image": self._image(call, post.media[0], "dst-png_s720x720")},
                "media_type": "album",
                "target": {"id": post.id, "url": permalink},
                "title": f"Photos from {account.name}'s post",
                "type": "album",
                "url": permalink,
                "subattachments": _Connection(
                    tuple(self._photo_attachment(call, media) for media in post.media)
                ),
            },
        )

    def _photo_attachment(self, call: _Call, media: SimMedia) -> GraphNode:
        account = self.scenario.account
        url = f"https://www.facebook.com/{account.handle}/photos/a.{account.id}/{media.id}/?type=3"
        values: dict[str, Any] = {}
        if media.alt:
            values["description"] = media.alt
        values.update(
            {
                "media": {"image": self._image(call, media)},
                "media_type": "photo",
                "target": {"id": media.id, "url": url},
                "type": "photo",
                "unshimmed_url": url,
                "url": url,
            }
        )
        return GraphNode("attachment", values)

    def _image(self, call: _Call, media: SimMedia, variant: str = "") -> dict[str, Any]:
        return {
            "height": media.height,
            "src": self._cdn_url(call, media, variant),
            "width": media.width,
        }

    def _comment_for(self, call: _Call, post: SimPost, comment: SimComment) -> GraphNode:
        parent = next((c for c in post.live_comments() if any(r is comment for r in c.replies)), None)
        return self._comment_node(call, post, comment, parent)

    def _comment_node(
        self, call: _Call, post: SimPost, comment: SimComment, parent: SimComment | None
    ) -> GraphNode:
        account = self.scenario.account
        by_page = comment.author_id == account.id
        values: dict[str, Any] = {}
        # Apps reading through Page Public Content Access get no comment ids [doc], and user
        # information needs a Page token [doc].
        if call.page_token:
            values["id"] = f"{post.id}_{comment.id}"
        values["created_time"] = graph_time(comment.created)
        if call.page_token:
            values["from"] = self._profile(comment.author_id, comment.author_name)
        if comment.text:
            values["message"] = comment.text
        if comment.media is not None:
            values["attachment"] = self._comment_attachment(call, comment.media)
        # Threads are two levels deep: replies to a reply attach to the top-level comment.
        values["can_comment"] = parent is None
        if call.page_token:
            values["can_remove"] = True
            values["can_hide"] = not by_page  # a Page cannot hide its own comments [doc]
            values["can_reply_privately"] = not by_page
        values["can_like"] = True
        values["comment_count"] = len(self._visible_replies(call, comment)) if parent is None else 0
        values["is_hidden"] = comment.hidden
        values["is_private"] = False
        values["like_count"] = comment.like_count
        if parent is not None:
            values["parent"] = self._comment_node(call, post, parent, None)
        link = f"https://www.facebook.com/{account.id}/posts/{post.id}/?comment_id="
        values["permalink_url"] = (
            f"{link}{comment.id}" if parent is None else f"{link}{parent.id}&reply_comment_id={comment.id}"
        )
        values["user_likes"] = False
        return GraphNode("comment", values)

    def _comment_attachment(self, call: _Call, media: SimMedia) -> GraphNode:
        url = f"https://www.facebook.com/photo.php?fbid={media.id}&set=p.{media.id}&type=3"
        return GraphNode(
            "attachment",
            {
                "media": {"image": self._image(call, media)},
                "target": {"id": media.id, "url": url},
                "type": "photo",
                "url": url,
            },
        )

    # -- projection -----------------------------------------------------------------------------

    def _project(self, node: GraphNode, fields: tuple[FieldSpec, ...] | None) -> dict[str, Any]:
        known = _KNOWN_FIELDS.get(node.kind)
        if fields is None:
            defaults = _DEFAULT_FIELDS.get(node.kind)
            names = tuple(node.values) if defaults is None else defaults
            fields = tuple(FieldSpec(name) for name in names)
        out: dict[str, Any] = {}
        for spec in fields:
            if known is not None and spec.name not in known:
                if node.kind == "post" and spec.name in _DEPRECATED_POST_FIELDS:
                    raise GraphError(
                        12,
                        "(#12) deprecate_post_aggregated_fields_for_attachement is deprecated "
                        "for versions v3.3 and higher",
                    )
                raise _no_field(spec.name, node.kind)
            if spec.name in node.values:
                out[spec.modifier("as") or spec.name] = self._value(node.values[spec.name], spec)
        # Graph always returns a node's id, after the requested fields.
        if node.kind in _ID_NODES and "id" in node.values and "id" not in out:
            out["id"] = node.values["id"]
        return out

    def _value(self, value: Any, spec: FieldSpec) -> Any:
        if isinstance(value, GraphNode):
            return self._project(value, spec.children)
        if isinstance(value, _Connection):
            return {"data": [self._project(node, spec.children) for node in value.nodes]}
        if isinstance(value, GraphEdge):
            return value.render(spec)
        if isinstance(value, dict) and spec.children is not None:
            return {
                child.name: self._value(value[child.name], child)
                for child in spec.children
                if child.name in value
            }
        return value

    # -- listings -------------------------------------------------------------------------------

    def _posts_listing(self, call: _Call, fields: tuple[FieldSpec, ...] | None) -> dict[str, Any]:
        query = call.request.query
        since = time_param(query, "since")
        until = time_param(query, "until")
        entries = []
        for post in self.scenario.account.live_posts():
            created = post.created.timestamp()
            # since/until are documented only for time-based paging; both are taken as
            # inclusive bounds on created_time here.
            if (since is not None and created < since) or (until is not None and created > until):
                continue
            entries.append(((-int(created), post.id), self._post_node(call, post)))
        entries.sort(key=lambda entry: entry[0])
        return self._paged(call, entries, query, fields, path=call.request.path, max_limit=FEED_MAX_LIMIT)

    def _nested_comments(self, call: _Call, post: SimPost, spec: FieldSpec) -> dict[str, Any]:
        params = edge_params(spec)
        path = f"{call.prefix}/{self.scenario.account.id}_{post.id}/comments"
        return self._comments_listing(call, post, None, params, spec.children, path=path)

    def _comments_listing(
        self,
        call: _Call,
        post: SimPost,
        parent: SimComment | None,
        params: Mapping[str, str],
        fields: tuple[FieldSpec, ...] | None,
        *,
        path: str,
    ) -> dict[str, Any]:
        mode = params.get("filter", "toplevel")
        if mode not in ("toplevel", "stream"):
            raise GraphError(100, "(#100) filter must be one of the following values: toplevel, stream")
        order = params.get("order", "chronological")
        if order not in ("chronological", "reverse_chronological"):
            raise GraphError(
                100,
                "(#100) order must be one of the following values: chronological, reverse_chronological",
            )
        since = time_param(params, "since")
        if parent is None:
            rows: list[tuple[SimComment, SimComment | None]] = []
            for comment in self._visible_comments(call, post):
                rows.append((comment, None))
                if mode == "stream":
                    rows.extend((reply, comment) for reply in self._visible_replies(call, comment))
        else:
            # a comment's thread is one level: stream and toplevel list the same replies
            rows = [(reply, parent) for reply in self._visible_replies(call, parent)]
        sign = 1 if order == "chronological" else -1
        entries = [
            ((sign * int(c.created.timestamp()), c.id), self._comment_node(call, post, c, p))
            for c, p in rows
            if since is None or c.created.timestamp() >= since
        ]
        entries.sort(key=lambda entry: entry[0])
        extra = None
        if params.get("summary", "").lower() in ("true", "1", "total_count"):
            extra = {"summary": {"order": order, "total_count": len(entries), "can_comment": True}}
        # No maximum `limit` is documented for comments; none is enforced.
        return self._paged(call, entries, params, fields, path=path, max_limit=None, extra=extra)

    def _visible_comments(self, call: _Call, post: SimPost) -> list[SimComment]:
        # Hidden comments stay visible to the Page (admins) and are marked is_hidden; how they
        # appear to a Page token is NOT FOUND in the notes, this is the documented-adjacent
        # reading of "the page admin can still see the comment".
        return [c for c in post.live_comments() if call.page_token or not c.hidden]

    def _visible_replies(self, call: _Call, comment: SimComment) -> list[SimComment]:
        if comment.deleted or (comment.hidden and not call.page_token):
            return []
        return [r for r in comment.live_replies() if call.page_token or not r.hidden]

    def _paged(
        self,
        call: _Call,
        entries: Entries,
        params: Mapping[str, str],
        fields: tuple[FieldSpec, ...] | None,
        *,
        path: str,
        max_limit: int | None,
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """One cursor page of ``entries`` (sorted by key), with ``extra`` keys after it."""
        out = cursor_page(
            entries,
            params,
            parse_limit(params.get("limit"), max_limit),
            render=lambda node: self._project(node, fields),
            link=lambda direction, cursor: self._paging_url(call, path, params, direction, cursor),
        )
        if extra:
            out.update(extra)
        return out

    def _paging_url(
        self, call: _Call, path: str, params: Mapping[str, str], direction: str, cursor: str
    ) -> str:
        # The token is echoed into paging URLs only when it came as a query parameter: with
        # header authentication the request URL never held it.
        pairs = [("access_token", call.token)] if call.token_in_query else []
        pairs.append(("pretty", "0"))
        skip = {"access_token", "pretty", "after", "before", "__paging_token"}
        pairs.extend((key, value) for key, value in params.items() if key not in skip)
        pairs.append((direction, cursor))
        return f"http://{call.host}{path}?{urlencode(pairs)}"

    # -- the CDN --------------------------------------------------------------------------------

    def _media(self) -> dict[str, SimMedia]:
        found: dict[str, SimMedia] = {}
        for post in self.scenario.account.posts:
            found.update((m.id, m) for m in post.media)
            for comment in post.comments:
                for c in (comment, *comment.replies):
                    if c.media is not None:
                        found[c.media.id] = c.media
        return found

    def _cdn_url(self, call: _Call, media: SimMedia, variant: str = "") -> str:
        night = self.scenario.night
        pairs = [("stp", variant)] if variant else []
        pairs += [
            ("_nc_cat", "1"),
            ("ccb", "1-7"),
            ("_nc_sid", "8024bb"),
            ("_nc_ht", "scontent.sim"),
            ("oh", self._cdn_signature(media.id, night, variant)),
            ("oe", cdn_expiry(self.scenario, night)),
        ]
        extension = _EXTENSIONS.get(media.content_type, "bin")
        return f"http://{call.host}{CDN_PREFIX}{media.id}_n.{extension}?{urlencode(pairs)}"

    def _cdn_signature(self, media_id: str, night: int, variant: str) -> str:
        return cdn_signature(self.scenario.seed, media_id, night, variant)

    def _cdn(self, request: SimRequest) -> SimResponse:
        match = re.fullmatch(r"(\d+)_n\.\w+", request.path[len(CDN_PREFIX) :])
        media = self._media().get(match.group(1)) if match else None
        if media is None:
            return SimResponse(404, b"Not Found", list(TEXT_PLAIN))
        variant = request.query.get("stp", "")
        refusal = cdn_refusal(
            request.query, self.scenario, lambda night: self._cdn_signature(media.id, night, variant)
        )
        if refusal is not None:
            return refusal
        return SimResponse(
            200,
            media.data,
            [
                ("Content-Type", media.content_type),
                ("Cache-Control", "max-age=1209600, no-transform"),
                ("Access-Control-Allow-Origin", "*"),
                ("Timing-Allow-Origin", "*"),
            ],
        )

    # -- responses ------------------------------------------------------------------------------

    def _ok(self, call: _Call, payload: dict[str, Any]) -> SimResponse:
        response = SimResponse.json(200, payload, self._common_headers(call.request, call.version))
        response.headers.append(("ETag", etag(response.body)))
        if call.page_token:
            response.headers.append(("X-Business-Use-Case-Usage", self._buc_usage(1, 0)))
        else:
            response.headers.append(
                ("X-App-Usage", compact_json({"call_count": 1, "total_cputime": 1, "total_time": 1}))
            )
        return response

    def _error(
        self,
        request: SimRequest,
        version: str,
        error: GraphError,
        *,
        status: int = 400,
        page_token: bool = False,
        usage: tuple[str, str] | None = None,
    ) -> SimResponse:
        headers = [*self._common_headers(request, version), error.www_authenticate()]
        if usage is not None:
            headers.append(usage)
        elif page_token:
            headers.append(("X-Business-Use-Case-Usage", self._buc_usage(1, 0)))
        return SimResponse.json(status, error.body(request), headers)

    def _common_headers(self, request: SimRequest, version: str) -> list[tuple[str, str]]:
        return [
            ("facebook-api-version", version),
            ("x-fb-trace-id", trace_id(request)),
            ("x-fb-rev", "1000000001"),
            ("Access-Control-Allow-Origin", "*"),
            ("Cache-Control", "private, no-cache, no-store, must-revalidate"),
            ("Pragma", "no-cache"),
            ("Expires", "Sat, 01 Jan 2000 00:00:00 GMT"),
            ("Strict-Transport-Security", "max-age=15552000; preload"),
        ]


# -- helpers ------------------------------------------------------------------------------------


def _no_field(name: str, kind: str) -> GraphError:
    return no_field(name, _TYPE_NAMES[kind])
