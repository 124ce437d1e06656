"""A loopback Mastodon instance serving one account's REST API, rendered from a :class:`Scenario`.

It follows docs/research/mastodon.md: ``/api/v1/accounts/lookup``, ``/api/v1/accounts/:id``,
``/api/v1/accounts/:id/statuses`` (``limit`` default 20, at most 40; ``max_id`` / ``since_id`` /
``min_id``; ``exclude_replies``; ``only_media``; ``pinned``) with a ``Link`` header whose
``rel="next"`` carries ``max_id`` and ``rel="prev"`` ``min_id``, ``/api/v1/statuses/:id``,
``/api/v1/statuses/:id/context`` and ``/api/v1/statuses/:id/history``; errors as
``{"error": "..."}`` (401 "The access token is invalid" with Doorkeeper's ``WWW-Authenticate``,
404 "Record not found"); ``X-RateLimit-*`` headers and a 429 whose ``X-RateLimit-Reset`` is an
ISO 8601 time (Mastodon sends no ``Retry-After``). Media files sit under
``/system/media_attachments/files/...`` on the same origin and never change.

Scenario mapping: a post is a status of the account; a comment is a reply to it by another
account; a reply is a reply to that comment (the department's replies are statuses of its own
account, so they are also in its statuses listing). Status ids are snowflakes built from the
creation time, as Mastodon's are, so id order is time order. A hidden comment stays visible:
Mastodon has no hiding. A deleted status answers 404 and drops out of ``context`` with the
replies under it. Everything is a function of the scenario state and the request.
"""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from hp_archive.sources.simulators.base import SimRequest, SimResponse, SimulatorApp
from hp_archive.sources.simulators.scenario import Scenario, SimComment, SimMedia, SimPost
from hp_archive.sources.simulators.support import iso_millis

DEFAULT_LIMIT = 20
MAX_LIMIT = 40
RATE_LIMIT = 300
MEDIA_PREFIX = "/system/media_attachments/files/"
_HASHTAG = re.compile(r"#(\w+)")
_MEDIA_PATH = re.compile(r"/system/media_attachments/files/((?:\d{3}/){5}\d{3})/(?:original|small)/\w+\.\w+")


def snowflake(created: datetime, sim_id: str) -> str:
    """A Mastodon-style id: milliseconds since the epoch in the high bits, a sequence below."""
    return str((int(created.timestamp() * 1000) << 16) | (int(sim_id) % 65536))


@dataclass(frozen=True)
class _Node:
    """A status of the scenario: a post, or a comment/reply with its thread."""

    sim: SimPost | SimComment
    post: SimPost
    parent: SimPost | SimComment | None
    comment: SimComment | None  # the top-level comment above a reply

    @property
    def created(self) -> datetime:
        return self.sim.created

    @property
    def id(self) -> str:
        return snowflake(self.sim.created, self.sim.id)


class MastodonSimulator(SimulatorApp):
    """The REST API of the scenario's account on a small instance.

    ``valid_tokens`` are user tokens; a request without a token is answered as the public API
    answers (public statuses only, which is all the scenario has). Any other token is refused
    with 401 "The access token is invalid".
    """

    def __init__(self, scenario: Scenario, *, valid_tokens: Iterable[str]) -> None:
        super().__init__()
        self.scenario = scenario
        self.valid_tokens = set(valid_tokens)

    # -- the SimulatorApp hooks -----------------------------------------------------------------

    def handle(self, request: SimRequest) -> SimResponse:
        if request.path.startswith(MEDIA_PREFIX):
            return self._media_file(request.path)
        token = request.bearer_token
        if token is not None and token not in self.valid_tokens:
            return self.auth_error(request)
        segments = [s for s in request.path.split("/") if s]
        if segments[:2] != ["api", "v1"]:
            return _error(404, "Record not found", self._headers())
        found = self._route(request, segments[2:])
        if isinstance(found, SimResponse):
            return found
        payload, extra = found
        response = SimResponse.json(200, payload, [*self._headers(), *extra])
        response.headers.append(("ETag", 'W/"' + hashlib.sha256(response.body).hexdigest()[:32] + '"'))
        return response

    def auth_error(self, request: SimRequest) -> SimResponse:
        response = _error(401, "The access token is invalid", self._headers())
        response.headers.append(
            (
                "WWW-Authenticate",
                'Bearer realm="Doorkeeper", error="invalid_token", '
                'error_description="The access token is invalid"',
            )
        )
        return response

    def rate_limit_error(self, request: SimRequest, retry_after: int) -> SimResponse:
        reset = self.scenario.now() + timedelta(seconds=retry_after)
        headers = [
            ("X-RateLimit-Limit", str(RATE_LIMIT)),
            ("X-RateLimit-Remaining", "0"),
            ("X-RateLimit-Reset", _iso6(reset)),
        ]
        return _error(429, "Too many requests", headers)

    def server_error(self, request: SimRequest, status: int) -> SimResponse:
        if status == 503:
            message = "There was a temporary problem serving your request, please try again"
            return _error(503, message, self._headers())
        body = b"<!DOCTYPE html><html><body><h1>We're sorry, but something went wrong.</h1></body></html>"
        return SimResponse(status, body, [("Content-Type", "text/html; charset=utf-8")])

    # -- routing --------------------------------------------------------------------------------

    def _route(self, request: SimRequest, path: list[str]) -> tuple[Any, list[tuple[str, str]]] | SimResponse:
        account = self.scenario.account
        host = request.host
        if path == ["accounts", "lookup"]:
            acct = request.query.get("acct", "")
            if not acct:
                return _error(400, "param is missing or the value is empty: acct", self._headers())
            username, _, domain = acct.lstrip("@").partition("@")
            if username.lower() != account.handle.lower() or domain not in ("", host.split(":")[0], host):
                return _error(404, "Record not found", self._headers())
            return self._account(host), []
        if len(path) >= 2 and path[0] == "accounts":
            if path[1] != account.id:
                return _error(404, "Record not found", self._headers())
            if len(path) == 2:
                return self._account(host), []
            if path[2:] == ["statuses"]:
                return self._statuses(request, host)
            return _error(404, "Record not found", self._headers())
        if len(path) >= 2 and path[0] == "statuses":
            node = self._nodes().get(path[1])
            if node is None:
                return _error(404, "Record not found", self._headers())
            if len(path) == 2:
                return self._status(node, host), []
            if path[2:] == ["context"]:
                return self._context(node, host), []
            if path[2:] == ["history"]:
                return self._history(node, host), []
        return _error(404, "Record not found", self._headers())

    # -- the scenario as statuses ---------------------------------------------------------------

    def _nodes(self) -> dict[str, _Node]:
        """Every live status by id (a deleted comment's replies are unreachable, as in context)."""
        nodes: dict[str, _Node] = {}
        for post in self.scenario.account.live_posts():
            nodes[snowflake(post.created, post.id)] = _Node(post, post, None, None)
            for comment in post.live_comments():
                nodes[snowflake(comment.created, comment.id)] = _Node(comment, post, post, None)
                for reply in comment.live_replies():
                    nodes[snowflake(reply.created, reply.id)] = _Node(reply, post, comment, comment)
        return nodes

    def _own_statuses(self) -> list[_Node]:
        """The account's statuses, newest first: its posts and its own replies.

        The department's reply stays a status of its account when the comment or post it answered
        is deleted (Mastodon keeps replies whose parent is gone); only its own deletion removes it.
        """
        account = self.scenario.account
        found = [_Node(post, post, None, None) for post in account.live_posts()]
        for post in account.posts:  # its replies outlive a deleted post or comment they answered
            for comment in post.comments:
                for reply in comment.replies:
                    if reply.author_id == account.id and not reply.deleted:
                        found.append(_Node(reply, post, comment, comment))
        found.sort(key=lambda n: int(n.id), reverse=True)
        return found

    def _statuses(self, request: SimRequest, host: str) -> tuple[Any, list[tuple[str, str]]]:
        query = request.query
        limit = _limit(query.get("limit"))
        nodes = self._own_statuses()
        account_id = self.scenario.account.id
        if _flag(query.get("exclude_replies")):
            nodes = [n for n in nodes if n.parent is None or self._author(n.parent)[0] == account_id]
        if _flag(query.get("only_media")):
            nodes = [n for n in nodes if _media_of(n.sim)]
        if _flag(query.get("pinned")):
            nodes = []
        max_id, since_id, min_id = (_int(query.get(k)) for k in ("max_id", "since_id", "min_id"))
        if max_id is not None:
            nodes = [n for n in nodes if int(n.id) < max_id]
        if since_id is not None:
            nodes = [n for n in nodes if int(n.id) > since_id]
        if min_id is not None:
            newer = sorted((n for n in nodes if int(n.id) > min_id), key=lambda n: int(n.id))
            window = list(reversed(newer[:limit]))
        else:
            window = nodes[:limit]
        links = []
        carried = ("limit", "only_media", "exclude_replies", "exclude_reblogs")
        keep: dict[str, str] = {k: query[k] for k in carried if k in query}
        base = f"http://{host}/api/v1/accounts/{account_id}/statuses"
        if window and len(window) == limit:
            links.append(f'<{base}?{urlencode({**keep, "max_id": window[-1].id})}>; rel="next"')
        if window:
            links.append(f'<{base}?{urlencode({**keep, "min_id": window[0].id})}>; rel="prev"')
        headers = [("Link", ", ".join(links))] if links else []
        return [self._status(n, host) for n in window], headers

    def _context(self, node: _Node, host: str) -> dict[str, Any]:
        nodes = self._nodes()
        ancestors: list[_Node] = []
        if node.parent is not None:
            ancestors.append(nodes[snowflake(node.post.created, node.post.id)])
        if node.comment is not None:
            ancestors.append(nodes[snowflake(node.comment.created, node.comment.id)])
        descendants: list[_Node] = []
        if isinstance(node.sim, SimPost):
            for comment in node.post.live_comments():
                descendants.append(_Node(comment, node.post, node.post, None))
                descendants.extend(_Node(r, node.post, comment, comment) for r in comment.live_replies())
        elif node.comment is None:  # a comment: its replies
            comment = node.sim
            assert isinstance(comment, SimComment)
            descendants.extend(_Node(r, node.post, comment, comment) for r in comment.live_replies())
        return {
            "ancestors": [self._status(n, host) for n in ancestors],
            "descendants": [self._status(n, host) for n in descendants],
        }

    def _history(self, node: _Node, host: str) -> list[dict[str, Any]]:
        sim = node.sim
        account = self._account_entity(*self._author(sim), host)
        revisions: list[tuple[datetime, str]] = []
        start = sim.created
        for when, old_text in sim.history:
            revisions.append((start, old_text))
            start = when
        revisions.append((sim.edited_at or sim.created if sim.history else sim.created, sim.text))
        return [
            {
                "content": self._html(node, text, host),
                "spoiler_text": "",
                "sensitive": False,
                "created_at": iso_millis(when),
                "account": account,
                "media_attachments": [self._attachment(m, node, host) for m in _media_of(sim)],
                "emojis": [],
            }
            for when, text in revisions
        ]

    # -- entities -------------------------------------------------------------------------------

    def _author(self, sim: SimPost | SimComment) -> tuple[str, str]:
        account = self.scenario.account
        if isinstance(sim, SimPost):
            return account.id, account.name
        return sim.author_id, sim.author_name

    def _account(self, host: str) -> dict[str, Any]:
        account = self.scenario.account
        entity = self._account_entity(account.id, account.name, host)
        posts = account.live_posts()
        entity.update(
            {
                "note": (
                    "<p>Official account of the Hanover Park Police Department. Not monitored "
                    "24/7: in an emergency call 911.</p>"
                ),
                "fields": [
                    {
                        "name": "Website",
                        "value": (
                            '<a href="https://www.hanoverparkillinois.org/police" rel="me nofollow '
                            'noopener noreferrer" target="_blank"><span class="invisible">https://www.'
                            '</span><span class="">hanoverparkillinois.org/police</span>'
                            '<span class="invisible"></span></a>'
                        ),
                        "verified_at": None,
                    }
                ],
                "statuses_count": len(posts),
                "last_status_at": posts[0].created.date().isoformat() if posts else None,
            }
        )
        return entity

    def _account_entity(self, account_id: str, name: str, host: str) -> dict[str, Any]:
        username = self._username(account_id, name)
        agency = account_id == self.scenario.account.id
        created = self.scenario.epoch - timedelta(days=900 if agency else 400)
        digest = hashlib.sha256(account_id.encode()).hexdigest()[:16]
        return {
            "id": account_id,
            "username": username,
            "acct": username,
            "display_name": name,
            "locked": False,
            "bot": False,
            "discoverable": True,
            "group": False,
            "created_at": iso_millis(created.replace(hour=0, minute=0, second=0, microsecond=0)),
            "note": "",
            "url": f"http://{host}/@{username}",
            "uri": f"http://{host}/users/{username}",
            "avatar": f"http://{host}/avatars/original/{digest}.png",
            "avatar_static": f"http://{host}/avatars/original/{digest}.png",
            "header": f"http://{host}/headers/original/missing.png",
            "header_static": f"http://{host}/headers/original/missing.png",
            "followers_count": 1200 if agency else 40,
            "following_count": 20,
            "statuses_count": 0,
            "last_status_at": None,
            "emojis": [],
            "fields": [],
        }

    def _username(self, account_id: str, name: str) -> str:
        if account_id == self.scenario.account.id:
            return self.scenario.account.handle
        ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
        slug = "".join(c if c.isalnum() else "_" for c in ascii_name.lower()).strip("_")
        return slug or f"user{account_id}"

    def _status(self, node: _Node, host: str) -> dict[str, Any]:
        sim = node.sim
        author_id, author_name = self._author(sim)
        agency = author_id == self.scenario.account.id
        username = self._username(author_id, author_name)
        parent = node.parent
        parent_author = self._author(parent)[0] if parent is not None else None
        if isinstance(sim, SimPost):
            replies = len(sim.live_comments())
            reblogs, favourites = sim.share_count, sim.share_count * 2
        else:
            replies = len(sim.live_replies())
            reblogs, favourites = 0, sim.like_count
        status: dict[str, Any] = {
            "id": node.id,
            "created_at": iso_millis(sim.created),
            "in_reply_to_id": snowflake(parent.created, parent.id) if parent is not None else None,
            "in_reply_to_account_id": self._replied_account(node, author_id, parent_author),
            "sensitive": False,
            "spoiler_text": "",
            "visibility": "public",
            "language": "en",
            "uri": f"http://{host}/users/{username}/statuses/{node.id}",
            "url": f"http://{host}/@{username}/{node.id}",
            "replies_count": replies,
            "reblogs_count": reblogs,
            "favourites_count": favourites,
            "quotes_count": 0,
            "edited_at": iso_millis(sim.edited_at) if sim.edited_at is not None else None,
            "favourited": False,
            "reblogged": False,
            "muted": False,
            "bookmarked": False,
            "content": self._html(node, sim.text, host),
            "filtered": [],
            "reblog": None,
        }
        if agency:
            status["application"] = {"name": "Web", "website": None}
            status["pinned"] = False
        status.update(
            {
                "account": self._account_entity(author_id, author_name, host),
                "media_attachments": [self._attachment(m, node, host) for m in _media_of(sim)],
                "mentions": self._mentions(node, host),
                "tags": [
                    {"name": tag.lower(), "url": f"http://{host}/tags/{tag.lower()}"}
                    for tag in _HASHTAG.findall(sim.text)
                ],
                "emojis": [],
                "quote": None,
                "card": None,
                "poll": None,
            }
        )
        return status

    def _replied_account(self, node: _Node, author_id: str, parent_author: str | None) -> str | None:
        """The parent's author, except that a self-reply keeps naming the account its author
        answered first (the documented "skips over self-replies")."""
        if parent_author is None:
            return None
        if node.comment is not None and parent_author == author_id:
            return self.scenario.account.id
        return parent_author

    def _mentions(self, node: _Node, host: str) -> list[dict[str, Any]]:
        if node.parent is None:
            return []
        author_id, author_name = self._author(node.parent)
        username = self._username(author_id, author_name)
        url = f"http://{host}/@{username}"
        return [{"id": author_id, "username": username, "url": url, "acct": username}]

    def _html(self, node: _Node, text: str, host: str) -> str:
        """Mastodon's rendering of plain text: escaped, paragraphs, hashtag links, mention first."""
        paragraphs = []
        for block in text.split("\n\n"):
            escaped = "<br />".join(html.escape(line, quote=False) for line in block.split("\n"))
            escaped = _HASHTAG.sub(
                lambda m: (
                    f'<a href="http://{host}/tags/{m.group(1).lower()}" class="mention hashtag" '
                    f'rel="tag">#<span>{m.group(1)}</span></a>'
                ),
                escaped,
            )
            paragraphs.append(escaped)
        if node.parent is not None:
            author_id, author_name = self._author(node.parent)
            username = self._username(author_id, author_name)
            mention = (
                f'<span class="h-card" translate="no"><a href="http://{host}/@{username}" '
                f'class="u-url mention">@<span>{username}</span></a></span> '
            )
            paragraphs[0] = mention + paragraphs[0]
        return "".join(f"<p>{p}</p>" for p in paragraphs)

    def _attachment(self, media: SimMedia, node: _Node, host: str) -> dict[str, Any]:
        media_id = snowflake(node.created, media.id)
        name = hashlib.sha256(f"{self.scenario.seed}:{media.id}".encode()).hexdigest()[:16]
        partition = "/".join(media_id.zfill(18)[i : i + 3] for i in range(0, 18, 3))
        extension = "png" if media.content_type == "image/png" else "jpg"
        url = f"http://{host}{MEDIA_PREFIX}{partition}/original/{name}.{extension}"
        aspect = media.width / media.height
        return {
            "id": media_id,
            "type": "image",
            "url": url,
            "preview_url": url.replace("/original/", "/small/"),
            "remote_url": None,
            "preview_remote_url": None,
            "text_url": None,
            "meta": {
                "original": {
                    "width": media.width,
                    "height": media.height,
                    "size": f"{media.width}x{media.height}",
                    "aspect": aspect,
                },
                "small": {
                    "width": media.width,
                    "height": media.height,
                    "size": f"{media.width}x{media.height}",
                    "aspect": aspect,
                },
            },
            "description": media.alt or None,
            "blurhash": "U" + hashlib.sha256(media.data).hexdigest()[:27],
        }

    def _media_file(self, path: str) -> SimResponse:
        match = _MEDIA_PATH.fullmatch(path)
        if match is not None:
            media_id = match.group(1).replace("/", "").lstrip("0")
            for node in self._nodes().values():
                for media in _media_of(node.sim):
                    if snowflake(node.created, media.id) == media_id:
                        headers = [
                            ("Content-Type", media.content_type),
                            ("Cache-Control", "public, max-age=315576000, immutable"),
                        ]
                        return SimResponse(200, media.data, headers)
        return SimResponse(404, b"Not Found", [("Content-Type", "text/plain")])

    def _headers(self) -> list[tuple[str, str]]:
        reset = self.scenario.now().replace(minute=0, second=0, microsecond=0) + timedelta(minutes=5)
        return [
            ("Cache-Control", "no-cache, no-store, max-age=0, must-revalidate"),
            ("Vary", "Authorization, Origin"),
            ("X-RateLimit-Limit", str(RATE_LIMIT)),
            ("X-RateLimit-Remaining", str(RATE_LIMIT - 1)),
            ("X-RateLimit-Reset", _iso6(reset)),
        ]


def _media_of(sim: SimPost | SimComment) -> list[SimMedia]:
    if isinstance(sim, SimPost):
        return list(sim.media)
    return [sim.media] if sim.media is not None else []


def _error(status: int, message: str, headers: list[tuple[str, str]]) -> SimResponse:
    return SimResponse.json(status, {"error": message}, headers)


def _iso6(moment: datetime) -> str:
    """Ruby's ``iso8601(6)`` as used for ``X-RateLimit-Reset``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _limit(value: str | None) -> int:
    # Api::BaseController#limit_param: [params[:limit].to_i.abs, default * 2].min
    if value is None:
        return DEFAULT_LIMIT
    return min(abs(_int(value) or 0), DEFAULT_LIMIT * 2)


def _int(value: str | None) -> int | None:
    if value is None or value == "":
        return None
    digits = re.match(r"-?\d+", value.strip())
    return int(digits.group()) if digits else 0


def _flag(value: str | None) -> bool:
    return value is not None and value.lower() in ("1", "true", "t", "yes", "on")


__all__ = ["MastodonSimulator", "snowflake"]
