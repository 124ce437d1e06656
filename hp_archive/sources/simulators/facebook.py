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

import base64
import binascii
import hashlib
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn
from urllib.parse import unquote, urlencode

from hp_archive.sources.simulators.base import SimRequest, SimResponse, SimulatorApp
from hp_archive.sources.simulators.scenario import Scenario, SimComment, SimMedia, SimPost

DEFAULT_VERSION = "v25.0"
DEFAULT_LIMIT = 25
FEED_MAX_LIMIT = 100
POST_EDGES = ("posts", "feed", "published_posts")
CDN_PREFIX = "/cdn/v/t39.30808-6/"
# fbcdn URL lifetime is NOT FOUND in Meta's docs; recorded `oe` values sit a few days after the
# fetch, so signed URLs here expire three days after the night they were issued.
CDN_URL_LIFETIME = timedelta(days=3)
_VERSION = re.compile(r"^v\d+\.\d+$")
_FIELD_NAME = re.compile(r"[A-Za-z0-9_]+")
_TEXT = (("Content-Type", "text/plain"),)
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


class GraphError(Exception):
    """A Graph API error object, raised while answering a request."""

    def __init__(
        self,
        code: int,
        message: str,
        *,
        subcode: int | None = None,
        type_: str = "OAuthException",
        transient: bool | None = None,
        oauth_error: str = "invalid_request",
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.subcode = subcode
        self.type = type_
        self.transient = transient
        self.oauth_error = oauth_error


@dataclass(frozen=True)
class FieldSpec:
    """One entry of a ``fields`` parameter: ``name.modifier(arg){children}``."""

    name: str
    modifiers: tuple[tuple[str, str], ...] = ()
    children: tuple[FieldSpec, ...] | None = None

    def modifier(self, name: str) -> str | None:
        return next((value for key, value in self.modifiers if key == name), None)


def parse_fields(text: str) -> tuple[FieldSpec, ...] | None:
    """Parse a ``fields`` value; None for an empty one (the node's default fields)."""
    if not text.strip():
        return None
    return _FieldParser(text).parse()


def format_fields(specs: Iterable[FieldSpec]) -> str:
    """The inverse of :func:`parse_fields` (used to carry nested fields into paging URLs)."""
    parts = []
    for spec in specs:
        text = spec.name + "".join(f".{k}({v})" for k, v in spec.modifiers)
        if spec.children is not None:
            text += "{" + format_fields(spec.children) + "}"
        parts.append(text)
    return ",".join(parts)


class _FieldParser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def parse(self) -> tuple[FieldSpec, ...]:
        specs = self._list()
        if self._peek() != "":
            self._fail("end of string")
        return specs

    def _list(self) -> tuple[FieldSpec, ...]:
        specs = [self._field()]
        while self._peek() == ",":
            self.pos += 1
            specs.append(self._field())
        return tuple(specs)

    def _field(self) -> FieldSpec:
        name = self._name()
        modifiers = []
        while self._peek() == ".":
            self.pos += 1
            modifier = self._name()
            if self._peek() != "(":
                self._fail('"("')
            end = self.text.find(")", self.pos)
            if end < 0:
                self._fail('")"')
            modifiers.append((modifier, self.text[self.pos + 1 : end].strip()))
            self.pos = end + 1
        children = None
        if self._peek() == "{":
            self.pos += 1
            children = self._list()
            if self._peek() != "}":
                self._fail('"}"')
            self.pos += 1
        return FieldSpec(name, tuple(modifiers), children)

    def _name(self) -> str:
        self._peek()
        match = _FIELD_NAME.match(self.text, self.pos)
        if match is None:
            self._fail("a field name")
        self.pos = match.end()
        return match.group()

    def _peek(self) -> str:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def _fail(self, expected: str) -> NoReturn:
        found = self.text[self.pos] if self.pos < len(self.text) else "end of string"
        raise GraphError(
            2500,
            f'Syntax error "Expected {expected} instead of "{found}"." at character {self.pos}: {self.text}',
        )


@dataclass(frozen=True)
class _Node:
    """A Graph node: its field values, projected by the requested (or default) fields."""

    kind: str
    values: Mapping[str, Any]


@dataclass(frozen=True)
class _Connection:
    """A ``{"data": [...]}`` list of nodes with no paging (attachments, subattachments)."""

    nodes: tuple[_Node, ...]


@dataclass(frozen=True)
class _Edge:
    """A nested edge rendered on demand from its field spec (``comments.summary(true)``)."""

    render: Callable[[FieldSpec], Any]


@dataclass(frozen=True)
class _Call:
    """What one request established: version, token kind, and how the token travelled."""

    request: SimRequest
    version: str
    prefix: str  # "/v25.0" or "" for an unversioned request
    token: str
    page_token: bool
    token_in_query: bool

    @property
    def host(self) -> str:
        return self.request.headers.get("host", "127.0.0.1")


class FacebookGraphSimulator(SimulatorApp):
    """The Graph API of the scenario's Page.

    ``valid_tokens`` are Page access tokens: they see everything, including hidden comments and
    commenters' ``from``. ``app_tokens`` read like an app using Page Public Content Access: no
    user information, no comment ids, no hidden comments (per the notes' visibility rules).
    Any other token is answered as expired (190/463).
    """

    def __init__(
        self,
        scenario: Scenario,
        *,
        valid_tokens: Iterable[str],
        app_tokens: Iterable[str] = (),
        default_version: str = DEFAULT_VERSION,
    ) -> None:
        super().__init__()
        self.scenario = scenario
        self.valid_tokens = set(valid_tokens)
        self.app_tokens = set(app_tokens)
        self.default_version = default_version

    # -- the SimulatorApp hooks -----------------------------------------------------------------

    def handle(self, request: SimRequest) -> SimResponse:
        if request.path.startswith(CDN_PREFIX):
            return self._cdn(request)
        segments = [unquote(s) for s in request.path.split("/") if s]
        version, prefix = self.default_version, ""
        if segments and _VERSION.match(segments[0]):
            version = segments.pop(0)
            prefix = "/" + version
        header_token = request.bearer_token
        token = header_token or request.query.get("access_token") or None
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
            token_in_query=header_token is None,
        )
        try:
            payload = self._route(call, segments)
        except GraphError as error:
            return self._error(request, version, error, page_token=call.page_token)
        return self._ok(call, payload)

    def auth_error(self, request: SimRequest) -> SimResponse:
        now = self.scenario.now()
        # Meta words this in Pacific time; the simulator says UTC to stay free of tz data.
        message = (
            "Error validating access token: Session has expired on "
            f"{_session_time(now - timedelta(hours=1))}. The current time is "
            f"{_session_time(now)}."
        )
        error = GraphError(190, message, subcode=463, oauth_error="invalid_token")
        return self._error(request, self._version_of(request), error)

    def rate_limit_error(self, request: SimRequest, retry_after: int) -> SimResponse:
        """Throttling as recorded: HTTP 400, code 80001 for Page tokens, 4 otherwise.

        Meta sends no Retry-After (NOT FOUND in the docs); the wait is the usage header's
        ``estimated_time_to_regain_access``, in whole minutes.
        """
        minutes = max(1, math.ceil(retry_after / 60))
        if self._request_token(request) in self.app_tokens:
            error = GraphError(4, "(#4) Application request limit reached", transient=True)
            usage = (
                "X-App-Usage",
                _compact({"call_count": 100, "total_cputime": 40, "total_time": 61}),
            )
            return self._error(request, self._version_of(request), error, usage=usage)
        error = GraphError(
            80001,
            "(#80001) There have been too many calls to this Page account. Wait a bit and try "
            "again. For more info, please refer to "
            "https://developers.facebook.com/docs/graph-api/overview/rate-limiting.",
        )
        usage = ("X-Business-Use-Case-Usage", self._buc_usage(100, minutes))
        return self._error(request, self._version_of(request), error, usage=usage)

    def server_error(self, request: SimRequest, status: int) -> SimResponse:
        error = GraphError(
            2,
            "An unexpected error has occurred. Please retry your request later.",
            transient=True,
        )
        return self._error(request, self._version_of(request), error, status=status)

    # -- routing --------------------------------------------------------------------------------

    def _route(self, call: _Call, segments: list[str]) -> dict[str, Any]:
        if not segments or len(segments) > 2:
            extra = "/".join(segments[1:])
            message = f"Unknown path components: /{extra}" if extra else "Unsupported get request."
            raise GraphError(2500, message)
        node_id = segments[0]
        fields = parse_fields(call.request.query.get("fields", ""))
        account = self.scenario.account
        if node_id in (account.id, "me") or node_id.lower() == account.handle.lower():
            if node_id == "me" and not call.page_token:
                raise _missing(node_id)
            if len(segments) == 1:
                return self._project(self._page_node(), fields)
            if segments[1] in POST_EDGES:
                return self._posts_listing(call, fields)
            raise _no_field(segments[1], "page")
        found = self._resolve(call, node_id)
        if found is None:
            raise _missing(node_id)
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

    def _page_node(self) -> _Node:
        account = self.scenario.account
        return _Node(
            "page",
            {
                "id": account.id,
                "name": account.name,
                "username": account.handle,
                "link": f"https://www.facebook.com/{account.handle}",
                "category": "Police Station",
            },
        )

    def _profile(self, author_id: str, author_name: str) -> _Node:
        return _Node("profile", {"name": author_name, "id": author_id})

    def _post_node(self, call: _Call, post: SimPost) -> _Node:
        account = self.scenario.account
        values: dict[str, Any] = {
            "id": f"{account.id}_{post.id}",
            "created_time": _graph_time(post.created),
            "updated_time": _graph_time(self._updated_time(post)),
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
        values["comments"] = _Edge(lambda spec: self._nested_comments(call, post, spec))
        return _Node("post", values)

    def _updated_time(self, post: SimPost) -> datetime:
        # updated_time moves when the post is edited *or commented on* [doc]
        times = [post.updated]
        for comment in post.live_comments():
            times.append(comment.created)
            times.extend(reply.created for reply in comment.live_replies())
        return max(times)

    def _post_attachment(self, call: _Call, post: SimPost) -> _Node:
        account = self.scenario.account
        if len(post.media) == 1:
            return self._photo_attachment(call, post.media[0])
        permalink = f"https://www.facebook.com/{account.id}/posts/{post.id}/"
        # An album's own image is its first photo, signed separately (so a different URL).
        return _Node(
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

    def _photo_attachment(self, call: _Call, media: SimMedia) -> _Node:
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
        return _Node("attachment", values)

    def _image(self, call: _Call, media: SimMedia, variant: str = "") -> dict[str, Any]:
        return {
            "height": media.height,
            "src": self._cdn_url(call, media, variant),
            "width": media.width,
        }

    def _comment_for(self, call: _Call, post: SimPost, comment: SimComment) -> _Node:
        parent = next((c for c in post.live_comments() if any(r is comment for r in c.replies)), None)
        return self._comment_node(call, post, comment, parent)

    def _comment_node(
        self, call: _Call, post: SimPost, comment: SimComment, parent: SimComment | None
    ) -> _Node:
        account = self.scenario.account
        by_page = comment.author_id == account.id
        values: dict[str, Any] = {}
        # Apps reading through Page Public Content Access get no comment ids [doc], and user
        # information needs a Page token [doc].
        if call.page_token:
            values["id"] = f"{post.id}_{comment.id}"
        values["created_time"] = _graph_time(comment.created)
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
        return _Node("comment", values)

    def _comment_attachment(self, call: _Call, media: SimMedia) -> _Node:
        url = f"https://www.facebook.com/photo.php?fbid={media.id}&set=p.{media.id}&type=3"
        return _Node(
            "attachment",
            {
                "media": {"image": self._image(call, media)},
                "target": {"id": media.id, "url": url},
                "type": "photo",
                "url": url,
            },
        )

    # -- projection -----------------------------------------------------------------------------

    def _project(self, node: _Node, fields: tuple[FieldSpec, ...] | None) -> dict[str, Any]:
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
        if isinstance(value, _Node):
            return self._project(value, spec.children)
        if isinstance(value, _Connection):
            return {"data": [self._project(node, spec.children) for node in value.nodes]}
        if isinstance(value, _Edge):
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
        since = _time_param(query, "since")
        until = _time_param(query, "until")
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
        params = {key: value for key, value in spec.modifiers if key != "as"}
        if spec.children is not None:
            params["fields"] = format_fields(spec.children)
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
        since = _time_param(params, "since")
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
        entries: list[tuple[tuple[int, str], _Node]],
        params: Mapping[str, str],
        fields: tuple[FieldSpec, ...] | None,
        *,
        path: str,
        max_limit: int | None,
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """One cursor page of ``entries`` (sorted by key) with Graph's ``paging`` object.

        A cursor encodes the sort key of its item, not the item, so paging survives a deletion
        mid-walk; the notes warn that real cursors may not, and the source never stores them.
        """
        limit = _limit(params.get("limit"), max_limit)
        keys = [key for key, _ in entries]
        after, before = params.get("after"), params.get("before")
        if after:
            cursor = _decode_cursor(after)
            start = next((i for i, key in enumerate(keys) if key > cursor), len(keys))
            stop = start + limit
        elif before:
            cursor = _decode_cursor(before)
            stop = next((i for i, key in enumerate(keys) if key >= cursor), len(keys))
            start = max(0, stop - limit)
        else:
            start, stop = 0, limit
        window = entries[start:stop]
        out: dict[str, Any] = {"data": [self._project(node, fields) for _, node in window]}
        if window:
            first, last = _encode_cursor(window[0][0]), _encode_cursor(window[-1][0])
            paging: dict[str, Any] = {"cursors": {"before": first, "after": last}}
            if start > 0:
                paging["previous"] = self._paging_url(call, path, params, "before", first)
            if start + len(window) < len(entries):
                paging["next"] = self._paging_url(call, path, params, "after", last)
            out["paging"] = paging
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
            ("oe", self._cdn_expiry(night)),
        ]
        extension = _EXTENSIONS.get(media.content_type, "bin")
        return f"http://{call.host}{CDN_PREFIX}{media.id}_n.{extension}?{urlencode(pairs)}"

    def _cdn_signature(self, media_id: str, night: int, variant: str) -> str:
        digest = hashlib.sha256(f"{self.scenario.seed}:{media_id}:{night}:{variant}".encode())
        return "00_" + digest.hexdigest()[:40]

    def _cdn_expiry(self, night: int) -> str:
        issued = self.scenario.epoch + timedelta(days=night)
        return format(int((issued + CDN_URL_LIFETIME).timestamp()), "X")

    def _cdn(self, request: SimRequest) -> SimResponse:
        match = re.fullmatch(r"(\d+)_n\.\w+", request.path[len(CDN_PREFIX) :])
        media = self._media().get(match.group(1)) if match else None
        if media is None:
            return SimResponse(404, b"Not Found", list(_TEXT))
        query = request.query
        variant = query.get("stp", "")
        now_ts = int(self.scenario.now().timestamp())
        for night in range(self.scenario.night, -1, -1):
            expiry = self._cdn_expiry(night)
            signature = self._cdn_signature(media.id, night, variant)
            if query.get("oh") == signature and query.get("oe") == expiry:
                if int(expiry, 16) <= now_ts:
                    return SimResponse(403, b"URL signature expired", list(_TEXT))
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
        return SimResponse(403, b"Bad URL hash", list(_TEXT))

    # -- responses ------------------------------------------------------------------------------

    def _ok(self, call: _Call, payload: dict[str, Any]) -> SimResponse:
        response = SimResponse.json(200, payload, self._common_headers(call.request, call.version))
        response.headers.append(("ETag", '"' + hashlib.sha1(response.body).hexdigest() + '"'))  # noqa: S324 - an ETag, not security
        if call.page_token:
            response.headers.append(("X-Business-Use-Case-Usage", self._buc_usage(1, 0)))
        else:
            response.headers.append(
                ("X-App-Usage", _compact({"call_count": 1, "total_cputime": 1, "total_time": 1}))
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
        message = error.message
        body: dict[str, Any] = {"message": message, "type": error.type}
        if error.transient is not None:
            body["is_transient"] = error.transient
        body["code"] = error.code
        if error.subcode is not None:
            body["error_subcode"] = error.subcode
        body["fbtrace_id"] = _trace_id(request)
        headers = [
            *self._common_headers(request, version),
            ("WWW-Authenticate", f'OAuth "Facebook Platform" "{error.oauth_error}" "{message}"'),
        ]
        if usage is not None:
            headers.append(usage)
        elif page_token:
            headers.append(("X-Business-Use-Case-Usage", self._buc_usage(1, 0)))
        return SimResponse.json(status, {"error": body}, headers)

    def _common_headers(self, request: SimRequest, version: str) -> list[tuple[str, str]]:
        return [
            ("facebook-api-version", version),
            ("x-fb-trace-id", _trace_id(request)),
            ("x-fb-rev", "1000000001"),
            ("Access-Control-Allow-Origin", "*"),
            ("Cache-Control", "private, no-cache, no-store, must-revalidate"),
            ("Pragma", "no-cache"),
            ("Expires", "Sat, 01 Jan 2000 00:00:00 GMT"),
            ("Strict-Transport-Security", "max-age=15552000; preload"),
        ]

    def _buc_usage(self, percent: int, regain_minutes: int) -> str:
        # Constant figures keep headers deterministic; only throttling reports 100 %.
        entry = {
            "type": "pages",
            "call_count": percent,
            "total_cputime": max(1, percent // 4),
            "total_time": max(1, percent // 3),
            "estimated_time_to_regain_access": regain_minutes,
        }
        return _compact({self.scenario.account.id: [entry]})

    def _version_of(self, request: SimRequest) -> str:
        first = next((s for s in request.path.split("/") if s), "")
        return first if _VERSION.match(first) else self.default_version

    @staticmethod
    def _request_token(request: SimRequest) -> str | None:
        return request.bearer_token or request.query.get("access_token")


# -- helpers ------------------------------------------------------------------------------------


def _graph_time(value: datetime) -> str:
    """Graph's time format: ``2026-11-01T08:00:00+0000`` (UTC, offset without a colon)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def _session_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%A, %d-%b-%y %H:%M:%S UTC")


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _trace_id(request: SimRequest) -> str:
    seed = request.path + "?" + urlencode(sorted(request.query.items()))
    return base64.b64encode(hashlib.sha256(seed.encode()).digest()[:8]).decode().rstrip("=")


def _missing(node_id: str) -> GraphError:
    return GraphError(
        100,
        f"Unsupported get request. Object with ID '{node_id}' does not exist, cannot be loaded "
        "due to missing permissions, or does not support this operation. Please read the Graph "
        "API documentation at https://developers.facebook.com/docs/graph-api",
        subcode=33,
        type_="GraphMethodException",
    )


def _no_field(name: str, kind: str) -> GraphError:
    return GraphError(
        100, f"(#100) Tried accessing nonexisting field ({name}) on node type ({_TYPE_NAMES[kind]})"
    )


def _limit(value: str | None, maximum: int | None) -> int:
    if value is None or value == "":
        return DEFAULT_LIMIT
    if not value.isdigit():
        raise GraphError(100, f"(#100) Param limit must be a non-negative integer, got '{value}'")
    limit = int(value)
    if maximum is not None and limit > maximum:
        # The notes say only that a larger value "returns an error"; the wording is ours.
        raise GraphError(100, f"(#100) The limit parameter cannot exceed {maximum}")
    return limit


def _time_param(params: Mapping[str, str], name: str) -> float | None:
    """A ``since``/``until`` value: Unix seconds or an ISO-8601 (strtotime-like) string."""
    value = params.get(name, "").strip()
    if not value:
        return None
    if re.fullmatch(r"-?\d+(\.\d+)?", value):
        return float(value)
    try:
        parsed = datetime.fromisoformat(value.replace(" ", "T", 1))
    except ValueError:
        raise GraphError(
            100, f"(#100) The parameter {name} must be a unix timestamp or a strtotime string"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def _encode_cursor(key: tuple[int, str]) -> str:
    return base64.urlsafe_b64encode(_compact(list(key)).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[int, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        sort_time, item_id = json.loads(raw)
        if not isinstance(sort_time, int) or not isinstance(item_id, str):
            raise ValueError(cursor)
    except (ValueError, TypeError, binascii.Error):
        raise GraphError(100, "(#100) The cursor specified is not valid") from None
    return sort_time, item_id
