"""A loopback X API v2 for one account, rendered from a :class:`Scenario`.

It follows docs/research/x.md: ``/2/users/by/username/{username}``, ``/2/users/{id}/tweets``
(``start_time``/``end_time``, ``since_id``/``until_id``, ``exclude``, the 3,200-post reach),
``/2/tweets/search/recent`` (seven days back) and ``/2/tweets/search/all`` with the
``conversation_id:`` operator, ``tweet.fields``/``expansions``/``media.fields``/``user.fields``
projection, ``meta`` with ``next_token``, partial ``errors`` for referenced posts that are gone,
RFC 7807 problem bodies for failures, and ``x-rate-limit-*`` headers. Photos are served from a
``/media/`` path on the same server, as pbs.twimg.com serves them: stable, unsigned URLs.

How the scenario maps: the account is the X user; each :class:`SimPost` is one of its posts;
each :class:`SimComment` is a reply in the post's conversation (replies to replies nest through
``referenced_tweets``); each :class:`SimMedia` is a photo. Ids are snowflakes computed from the
creation time, so they sort by time as X's do. An edit makes a new post id appended to
``edit_history_tweet_ids`` and the timeline shows the newest version. X allows edits only to
one's own posts within 30 minutes; the scenario edits comments days later, and the simulator
renders those edits the same way so the source's version handling is exercised. Hidden replies
are served like any other: X's read endpoints do not say a reply is hidden. A deleted reply
vanishes; replies to it stay, with a partial error for the missing referenced post.

Everything is a function of the scenario state and the request: the same state gives
byte-identical JSON, so unchanged listings become WARC revisits.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote

from hp_archive.sources.simulators.base import SimRequest, SimResponse, SimulatorApp, json_bytes
from hp_archive.sources.simulators.scenario import Scenario, SimComment, SimMedia
from hp_archive.sources.simulators.support import iso_millis

SNOWFLAKE_EPOCH_MS = 1288834974657
TIMELINE_REACH = 3200
RECENT_REACH = timedelta(days=7)
ARCHIVE_DEFAULT = timedelta(days=30)
EDIT_WINDOW = timedelta(minutes=30)
MEDIA_PREFIX = "/media/"
API_VERSION = "2.159"
PROBLEMS = "https://api.twitter.com/2/problems/"
_NEXT = "7140dibdnow9"  # next_token prefix: posts older than the encoded id
_PREVIOUS = "77qp89slxjd0"  # previous_token prefix: posts newer than the encoded id
_USERNAME = re.compile(r"^[A-Za-z0-9_]{1,15}$")
_HASHTAG = re.compile(r"#(\w+)")

TWEET_FIELDS = (
    "article", "attachments", "author_id", "card_uri", "community_id", "context_annotations",
    "conversation_id", "created_at", "display_text_range", "edit_controls",
    "edit_history_tweet_ids", "entities", "geo", "id", "in_reply_to_user_id", "lang",
    "media_metadata", "non_public_metrics", "note_tweet", "organic_metrics",
    "possibly_sensitive", "promoted_metrics", "public_metrics", "referenced_tweets",
    "reply_settings", "scopes", "source", "suggested_source_links",
    "suggested_source_links_with_counts", "text", "withheld",
)  # fmt: skip
EXPANSIONS = (
    "article.cover_media", "article.media_entities", "attachments.media_keys",
    "attachments.media_source_tweet", "attachments.poll_ids", "author_id",
    "edit_history_tweet_ids", "entities.mentions.username", "geo.place_id",
    "in_reply_to_user_id", "entities.note.mentions.username", "referenced_tweets.id",
    "referenced_tweets.id.attachments.media_keys", "referenced_tweets.id.author_id",
)  # fmt: skip
MEDIA_FIELDS = (
    "alt_text", "duration_ms", "height", "media_key", "non_public_metrics", "organic_metrics",
    "preview_image_url", "promoted_metrics", "public_metrics", "type", "url", "variants", "width",
)  # fmt: skip
USER_FIELDS = (
    "affiliation", "confirmed_email", "connection_status", "created_at", "description",
    "entities", "id", "is_identity_verified", "location", "most_recent_tweet_id", "name",
    "parody", "pinned_tweet_id", "profile_banner_url", "profile_image_url", "protected",
    "public_metrics", "receives_your_dm", "subscription", "subscription_type", "url",
    "username", "verified", "verified_followers_count", "verified_type", "withheld",
)  # fmt: skip
_FIELD_PARAMS = {
    "tweet.fields": TWEET_FIELDS,
    "expansions": EXPANSIONS,
    "media.fields": MEDIA_FIELDS,
    "user.fields": USER_FIELDS,
    "place.fields": (
        "contained_within",
        "country",
        "country_code",
        "full_name",
        "geo",
        "id",
        "name",
        "place_type",
    ),
    "poll.fields": ("duration_minutes", "end_datetime", "id", "options", "voting_status"),
}
_TIMELINE_PARAMS = frozenset(
    {
        "max_results",
        "pagination_token",
        "start_time",
        "end_time",
        "since_id",
        "until_id",
        "exclude",
        *_FIELD_PARAMS,
    }
)
_SEARCH_PARAMS = frozenset(
    {"query", "max_results", "next_token", "pagination_token", "start_time", "end_time", "since_id",
     "until_id", "sort_order", *_FIELD_PARAMS}
)  # fmt: skip
_PROFILE_PARAMS = frozenset({"user.fields", "expansions", "tweet.fields"})
# per-app limits per 15-minute window [doc: rate limits table]
_LIMITS = {"timeline": 10000, "search": 450, "archive": 300, "user": 300}


class XProblem(Exception):
    """An RFC 7807 problem answer, raised while handling a request."""

    def __init__(self, status: int, title: str, detail: str, kind: str = "about:blank", **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.body: dict[str, Any] = {}
        if extra:
            self.body.update(extra)
        self.body.update({"title": title, "detail": detail, "type": kind})
        if kind == "about:blank":
            self.body["status"] = status


def _invalid(parameter: str, value: str, message: str) -> XProblem:
    return XProblem(
        400,
        "Invalid Request",
        "One or more parameters to your request was invalid.",
        PROBLEMS + "invalid-request",
        errors=[{"parameters": {parameter: [value]}, "message": message}],
    )


@dataclass(frozen=True)
class _Version:
    id: str
    created: datetime
    text: str


@dataclass
class _Tweet:
    """One post or reply with all its versions, as the API sees it."""

    versions: list[_Version]
    author_id: str
    author_name: str
    conversation_id: str
    replied_to: str | None = None
    in_reply_to_user_id: str | None = None
    mention: tuple[str, str] | None = None  # (username, user id) of the replied-to author
    media: list[SimMedia] = field(default_factory=list)
    like_count: int = 0
    share_count: int = 0
    reply_count: int = 0
    own_post: bool = False

    @property
    def stable_id(self) -> str:
        return self.versions[0].id

    @property
    def current(self) -> _Version:
        return self.versions[-1]


@dataclass
class _World:
    """Every visible post and reply (by current id) plus every version (by any id)."""

    tweets: dict[str, _Tweet] = field(default_factory=dict)
    versions: dict[str, tuple[_Tweet, _Version]] = field(default_factory=dict)
    users: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (name, username)


class XApiSimulator(SimulatorApp):
    """The X API v2 of the scenario's account. ``valid_tokens`` are accepted Bearer tokens."""

    def __init__(self, scenario: Scenario, *, valid_tokens: Iterable[str]) -> None:
        super().__init__()
        self.scenario = scenario
        self.valid_tokens = set(valid_tokens)

    def stable_id(self, sim_id: str) -> str:
        """The X id a scenario post or comment gets: the first id of its edit history."""
        created = _created_of(self.scenario, sim_id)
        return _snowflake(created, int(sim_id) * 8)

    def media_key_of(self, media: SimMedia) -> str:
        """The ``media_key`` the simulator gives a scenario photo."""
        return self._media_key(media)

    # -- the SimulatorApp hooks -----------------------------------------------------------------

    def handle(self, request: SimRequest) -> SimResponse:
        if request.path.startswith(MEDIA_PREFIX):
            return self._media_file(request)
        segments = [unquote(s) for s in request.path.split("/") if s]
        token = request.bearer_token
        if token is None:
            return self._problem(request, XProblem(401, "Unauthorized", "Unauthorized"), "user")
        if token not in self.valid_tokens:
            return self.auth_error(request)
        bucket = _bucket(segments)
        try:
            payload = self._route(request, segments)
        except XProblem as problem:
            return self._problem(request, problem, bucket)
        return SimResponse.json(200, payload, self._headers(bucket))

    def auth_error(self, request: SimRequest) -> SimResponse:
        return self._problem(request, XProblem(401, "Unauthorized", "Unauthorized"), "user")

    def rate_limit_error(self, request: SimRequest, retry_after: int) -> SimResponse:
        """HTTP 429 as X sends it: a generic problem, and the window's reset in epoch seconds."""
        bucket = _bucket([s for s in request.path.split("/") if s])
        reset = int(self.scenario.now().timestamp()) + retry_after
        body = {
            "title": "Too Many Requests",
            "detail": "Too Many Requests",
            "type": "about:blank",
            "status": 429,
        }
        headers = self._headers(bucket, remaining=0, reset=reset, content_type="application/problem+json")
        return SimResponse(429, json_bytes(body), headers)

    def server_error(self, request: SimRequest, status: int) -> SimResponse:
        title = "Service Unavailable" if status == 503 else "Internal Server Error"
        problem = XProblem(status, title, title)
        return self._problem(request, problem, _bucket([s for s in request.path.split("/") if s]))

    # -- routing --------------------------------------------------------------------------------

    def _route(self, request: SimRequest, segments: list[str]) -> dict[str, Any]:
        if segments[:1] != ["2"]:
            raise XProblem(404, "Not Found Error", f"The requested resource {request.path} was not found")
        rest = segments[1:]
        if len(rest) == 4 and rest[:3] == ["users", "by", "username"]:
            _check_params(request.query, _PROFILE_PARAMS)
            return self._profile(request, rest[3])
        if len(rest) == 3 and rest[0] == "users" and rest[2] == "tweets":
            _check_params(request.query, _TIMELINE_PARAMS)
            return self._timeline(request, rest[1])
        if len(rest) == 3 and rest[:2] == ["tweets", "search"] and rest[2] in ("recent", "all"):
            _check_params(request.query, _SEARCH_PARAMS)
            return self._search(request, full_archive=rest[2] == "all")
        raise XProblem(404, "Not Found Error", f"The requested resource {request.path} was not found")

    def _profile(self, request: SimRequest, username: str) -> dict[str, Any]:
        if not _USERNAME.match(username):
            raise _invalid(
                "username",
                username,
                f"The `username` query parameter value [{username}] does not match ^[A-Za-z0-9_]{{1,15}}$",
            )
        account = self.scenario.account
        if username.lower() != account.handle.lower():
            return {"errors": [_not_found("user", "username", username)]}
        fields = _fields(request.query, "user.fields")
        return {"data": self._account_user(fields)}

    def _account_user(self, fields: set[str]) -> dict[str, Any]:
        account = self.scenario.account
        values: dict[str, Any] = {
            "created_at": "2011-03-02T15:04:05.000Z",
            "description": (
                f"Official account of the {account.name}. Not monitored 24/7 — in an emergency "
                "call 911. Non-emergency: 630-823-5500."
            ),
            "location": "Hanover Park, IL",
            "profile_image_url": f"https://pbs.twimg.com/profile_images/1187711000000000000/{account.id}_normal.jpg",
            "protected": False,
            "url": "https://t.co/hppd0000aa",
            "verified": True,
        }
        user = {key: values[key] for key in sorted(fields) if key in values}
        user.update({"id": account.id, "name": account.name, "username": account.handle})
        return user

    def _timeline(self, request: SimRequest, user_id: str) -> dict[str, Any]:
        account = self.scenario.account
        query = request.query
        limit = _max_results(query, 5, 100, 10)
        start = _time_param(query, "start_time", minimum=datetime(2010, 11, 6, tzinfo=UTC))
        end = _time_param(query, "end_time", minimum=datetime(2010, 11, 6, 0, 0, 1, tzinfo=UTC))
        since_id, until_id = _id_param(query, "since_id"), _id_param(query, "until_id")
        if start and end and start >= end:
            raise _invalid(
                "start_time", query["start_time"], "The `start_time` must be earlier than `end_time`"
            )
        exclude = _exclude(query)
        if user_id != account.id:
            if not user_id.isdigit():
                raise _invalid("id", user_id, f"The `id` query parameter value [{user_id}] is not valid")
            return {"errors": [_not_found("user", "id", user_id)]}
        world = self._world()
        own = sorted(
            (t for t in world.tweets.values() if t.author_id == account.id),
            key=lambda t: int(t.current.id),
            reverse=True,
        )[:TIMELINE_REACH]
        rows = []
        for tweet in own:
            current = tweet.current
            if "replies" in exclude and tweet.replied_to is not None:
                continue
            if since_id is not None and int(current.id) <= since_id:
                continue
            if until_id is not None and int(current.id) >= until_id:
                continue
            # since_id/until_id take precedence over start_time/end_time [doc]
            if since_id is None and start is not None and current.created < start:
                continue
            if until_id is None and end is not None and current.created > end:
                continue
            rows.append(tweet)
        return self._page(request, world, rows, limit, cursor_name="pagination_token")

    def _search(self, request: SimRequest, *, full_archive: bool) -> dict[str, Any]:
        query = request.query
        if "next_token" in query and "pagination_token" in query:
            raise _invalid(
                "next_token",
                query["next_token"],
                "At most one of next_token, pagination_token may be provided",
            )
        for first, second in (("start_time", "since_id"), ("end_time", "until_id")):
            if first in query and second in query:
                raise _invalid(first, query[first], f"At most one of {first}, {second} may be provided")
        text = query.get("query", "")
        if not text.strip():
            raise _invalid("query", text, "The `query` parameter can not be empty")
        match = re.fullmatch(r"\s*conversation_id:(\d+)((?:\s+-?is:(?:reply|retweet))*)\s*", text)
        if match is None:
            raise _invalid(
                "query", text, f"There were errors processing your request: unsupported query [{text}]"
            )
        conversation, operators = match.group(1), match.group(2).split()
        limit = _max_results(query, 10, 500 if full_archive else 100, 10)
        now = self.scenario.now()
        floor = now - (ARCHIVE_DEFAULT if full_archive else RECENT_REACH)
        start = _time_param(query, "start_time", minimum=None)
        if not full_archive and start is not None and start < _minute(now - RECENT_REACH):
            raise _invalid(
                "start_time",
                query["start_time"],
                f"Invalid 'start_time':'{query['start_time']}'. 'start_time' must be on or after "
                f"{_minute(now - RECENT_REACH).strftime('%Y-%m-%dT%H:%MZ')}",
            )
        start = start if start is not None else floor
        end = _time_param(query, "end_time", minimum=None) or now
        since_id, until_id = _id_param(query, "since_id"), _id_param(query, "until_id")
        world = self._world()
        rows = []
        for tweet in sorted(world.tweets.values(), key=lambda t: int(t.current.id), reverse=True):
            current = tweet.current
            if tweet.conversation_id != conversation:
                continue
            if "is:reply" in operators and tweet.replied_to is None:
                continue
            if "-is:reply" in operators and tweet.replied_to is not None:
                continue
            if since_id is not None and int(current.id) <= since_id:
                continue
            if until_id is not None and int(current.id) >= until_id:
                continue
            if since_id is None and current.created < start:
                continue
            if until_id is None and current.created > end:
                continue
            rows.append(tweet)
        cursor_name = "pagination_token" if "pagination_token" in query else "next_token"
        return self._page(request, world, rows, limit, cursor_name=cursor_name)

    # -- rendering ------------------------------------------------------------------------------

    def _page(
        self, request: SimRequest, world: _World, rows: list[_Tweet], limit: int, *, cursor_name: str
    ) -> dict[str, Any]:
        token = request.query.get(cursor_name)
        ids = [int(t.current.id) for t in rows]
        start, stop = 0, limit
        if token:
            direction, pivot = _decode_token(cursor_name, token)
            if direction == "next":
                start = next((i for i, value in enumerate(ids) if value < pivot), len(ids))
                stop = start + limit
            else:
                stop = next((i for i, value in enumerate(ids) if value <= pivot), len(ids))
                start = max(0, stop - limit)
        window = rows[start:stop]
        if not window:
            return {"meta": {"result_count": 0}}
        out: dict[str, Any] = {"data": [self._render(world, t, t.current, request.query) for t in window]}
        host = request.host
        includes, errors = self._includes(world, window, request.query, host)
        if includes:
            out["includes"] = includes
        if errors:
            out["errors"] = errors
        meta: dict[str, Any] = {
            "result_count": len(window),
            "newest_id": window[0].current.id,
            "oldest_id": window[-1].current.id,
        }
        if stop < len(rows):
            meta["next_token"] = _encode_token(_NEXT, int(window[-1].current.id))
        if start > 0:
            meta["previous_token"] = _encode_token(_PREVIOUS, int(window[0].current.id))
        out["meta"] = meta
        return out

    def _render(
        self, world: _World, tweet: _Tweet, version: _Version, query: Mapping[str, str]
    ) -> dict[str, Any]:
        fields = _fields(query, "tweet.fields")
        text, entities = self._text(tweet, version)
        values: dict[str, Any] = {}
        if tweet.media:
            values["attachments"] = {"media_keys": [self._media_key(m) for m in tweet.media]}
        values["author_id"] = tweet.author_id
        values["conversation_id"] = tweet.conversation_id
        values["created_at"] = iso_millis(version.created)
        if tweet.mention is not None:
            values["display_text_range"] = [len(tweet.mention[0]) + 2, len(text)]
        values["edit_controls"] = {
            "edits_remaining": max(0, 5 - (len(tweet.versions) - 1)),
            "is_edit_eligible": tweet.own_post,
            "editable_until": iso_millis(tweet.versions[0].created + EDIT_WINDOW),
        }
        if entities:
            values["entities"] = entities
        if tweet.in_reply_to_user_id is not None:
            values["in_reply_to_user_id"] = tweet.in_reply_to_user_id
        values["lang"] = "en"
        values["possibly_sensitive"] = False
        values["public_metrics"] = {
            "retweet_count": tweet.share_count,
            "reply_count": tweet.reply_count,
            "like_count": tweet.like_count,
            "quote_count": tweet.share_count // 5,
            "bookmark_count": tweet.like_count // 7,
            "impression_count": 40 + 31 * tweet.like_count + 97 * tweet.share_count,
        }
        if tweet.replied_to is not None:
            values["referenced_tweets"] = [{"type": "replied_to", "id": tweet.replied_to}]
        values["reply_settings"] = "everyone"
        out = {key: values[key] for key in TWEET_FIELDS if key in fields and key in values}
        out["edit_history_tweet_ids"] = [v.id for v in tweet.versions]
        out["id"] = version.id
        out["text"] = text
        return out

    def _text(self, tweet: _Tweet, version: _Version) -> tuple[str, dict[str, Any]]:
        entities: dict[str, Any] = {}
        prefix = ""
        if tweet.mention is not None:
            username, user_id = tweet.mention
            prefix = f"@{username} "
            entities["mentions"] = [
                {"start": 0, "end": len(username) + 1, "username": username, "id": user_id}
            ]
        text = prefix + version.text
        tags = [{"start": m.start(), "end": m.end(), "tag": m.group(1)} for m in _HASHTAG.finditer(text)]
        if tags:
            entities["hashtags"] = tags
        urls = []
        for media in tweet.media[:1]:  # one t.co link stands for all the photos of a post
            short = f"https://t.co/{_code(self.scenario.seed, media.id, 10)}"
            start = len(text) + 1
            text = f"{text} {short}"
            urls.append(
                {
                    "start": start,
                    "end": start + len(short),
                    "url": short,
                    "expanded_url": f"https://x.com/{self.scenario.account.handle}/status/{tweet.stable_id}/photo/1",
                    "display_url": f"pic.x.com/{short.rsplit('/', 1)[1]}",
                    "media_key": self._media_key(media),
                }
            )
        if urls:
            entities["urls"] = urls
        return text, {key: entities[key] for key in sorted(entities)}

    def _includes(
        self, world: _World, window: list[_Tweet], query: Mapping[str, str], host: str
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        expansions = _fields(query, "expansions")
        includes: dict[str, Any] = {}
        errors: list[dict[str, Any]] = []
        if "attachments.media_keys" in expansions:
            media_fields = _fields(query, "media.fields")
            media = [self._render_media(m, media_fields, host) for t in window for m in t.media]
            if media:
                includes["media"] = _unique(media, "media_key")
        user_ids: list[str] = []
        if "author_id" in expansions:
            user_ids += [t.author_id for t in window]
        if "in_reply_to_user_id" in expansions:
            user_ids += [t.in_reply_to_user_id for t in window if t.in_reply_to_user_id]
        referenced: list[dict[str, Any]] = []
        if "referenced_tweets.id" in expansions:
            for tweet in window:
                if tweet.replied_to is None:
                    continue
                found = world.versions.get(tweet.replied_to)
                if found is None:
                    errors.append(_not_found("tweet", "referenced_tweets.id", tweet.replied_to))
                    continue
                parent, version = found
                referenced.append(self._render(world, parent, version, query))
                if "referenced_tweets.id.author_id" in expansions:
                    user_ids.append(parent.author_id)
        if "edit_history_tweet_ids" in expansions:
            for tweet in window:
                referenced += [self._render(world, tweet, v, query) for v in tweet.versions[:-1]]
        if user_ids:
            user_fields = _fields(query, "user.fields")
            users = [self._render_user(world, uid, user_fields) for uid in dict.fromkeys(user_ids)]
            includes["users"] = users
        if referenced:
            includes["tweets"] = _unique(referenced, "id")
        return {key: includes[key] for key in sorted(includes)}, _unique(errors, "value")

    def _render_user(self, world: _World, user_id: str, fields: set[str]) -> dict[str, Any]:
        if user_id == self.scenario.account.id:
            return self._account_user(fields)
        name, username = world.users[user_id]
        values = {"created_at": "2015-06-01T12:00:00.000Z", "protected": False, "verified": False}
        user = {key: values[key] for key in sorted(fields) if key in values}
        user.update({"id": user_id, "name": name, "username": username})
        return user

    def _render_media(self, media: SimMedia, fields: set[str], host: str) -> dict[str, Any]:
        values: dict[str, Any] = {
            "alt_text": media.alt or None,
            "height": media.height,
            "url": self._media_url(media, host),
            "width": media.width,
        }
        out = {key: values[key] for key in sorted(fields) if values.get(key) is not None}
        out["media_key"] = self._media_key(media)
        out["type"] = "photo"
        return out

    # -- the world ------------------------------------------------------------------------------

    def _world(self) -> _World:
        account = self.scenario.account
        world = _World()
        world.users[account.id] = (account.name, account.handle)
        for post in account.posts:
            tweet = _Tweet(
                versions=_versions(post.id, post.created, post.history, post.text),
                author_id=account.id,
                author_name=account.name,
                conversation_id="",
                media=list(post.media),
                like_count=post.share_count * 3,
                share_count=post.share_count,
                own_post=True,
            )
            tweet.conversation_id = tweet.stable_id
            self._add(world, tweet, visible=not post.deleted)
            tweet.reply_count = sum(1 for c in post.comments if not c.deleted)
            for comment in post.comments:
                self._reply(world, comment, parent=tweet)
        return world

    def _reply(self, world: _World, comment: SimComment, *, parent: _Tweet) -> None:
        account = self.scenario.account
        username = account.handle if comment.author_id == account.id else f"user{comment.author_id}"
        world.users.setdefault(comment.author_id, (comment.author_name, username))
        parent_username = world.users[parent.author_id][1]
        tweet = _Tweet(
            versions=_versions(comment.id, comment.created, comment.history, comment.text),
            author_id=comment.author_id,
            author_name=comment.author_name,
            conversation_id=parent.conversation_id,
            replied_to=_version_at(parent, comment.created).id,
            in_reply_to_user_id=parent.author_id,
            mention=(parent_username, parent.author_id),
            media=[comment.media] if comment.media is not None else [],
            like_count=comment.like_count,
            own_post=comment.author_id == account.id and parent.author_id == account.id,
        )
        self._add(world, tweet, visible=not comment.deleted)
        tweet.reply_count = sum(1 for r in comment.replies if not r.deleted)
        for reply in comment.replies:
            self._reply(world, reply, parent=tweet)

    @staticmethod
    def _add(world: _World, tweet: _Tweet, *, visible: bool) -> None:
        if not visible:
            return  # deleting any version deletes the whole edit chain [doc]
        world.tweets[tweet.current.id] = tweet
        for version in tweet.versions:
            world.versions[version.id] = (tweet, version)

    # -- media ----------------------------------------------------------------------------------

    def _media_key(self, media: SimMedia) -> str:
        return f"3_{_snowflake(self.scenario.epoch - timedelta(days=400), int(media.id))}"

    def _media_name(self, media: SimMedia) -> str:
        return _code(self.scenario.seed, media.id, 15)

    def _media_url(self, media: SimMedia, host: str) -> str:
        # pbs.twimg.com/media/{name}.{ext} in production: stable and unsigned
        extension = "png" if media.content_type == "image/png" else "jpg"
        return f"http://{host}{MEDIA_PREFIX}{self._media_name(media)}.{extension}"

    def _all_media(self) -> dict[str, SimMedia]:
        found: dict[str, SimMedia] = {}
        for post in self.scenario.account.posts:
            for media in post.media:
                found[self._media_name(media)] = media
            stack = list(post.comments)
            while stack:
                comment = stack.pop()
                if comment.media is not None:
                    found[self._media_name(comment.media)] = comment.media
                stack.extend(comment.replies)
        return found

    def _media_file(self, request: SimRequest) -> SimResponse:
        name = request.path[len(MEDIA_PREFIX) :].rsplit(".", 1)[0]
        media = self._all_media().get(name)
        if media is None:
            return SimResponse(404, b"", [("Content-Type", "text/html;charset=utf-8")])
        return SimResponse(
            200,
            media.data,
            [
                ("Content-Type", media.content_type),
                ("Cache-Control", "max-age=604800, must-revalidate"),
                ("Access-Control-Allow-Origin", "*"),
                ("Last-Modified", "Sat, 01 Nov 2025 00:00:00 GMT"),
            ],
        )

    # -- responses ------------------------------------------------------------------------------

    def _headers(
        self,
        bucket: str,
        *,
        remaining: int | None = None,
        reset: int | None = None,
        content_type: str = "application/json; charset=utf-8",
    ) -> list[tuple[str, str]]:
        limit = _LIMITS[bucket]
        now = int(self.scenario.now().timestamp())
        window_reset = reset if reset is not None else now - now % 900 + 900
        return [
            ("Content-Type", content_type),
            ("api-version", API_VERSION),
            ("cache-control", "no-cache, no-store, max-age=0"),
            ("content-disposition", "attachment; filename=json.json"),
            ("strict-transport-security", "max-age=631138519"),
            ("x-access-level", "read"),
            ("x-content-type-options", "nosniff"),
            ("x-frame-options", "SAMEORIGIN"),
            ("x-rate-limit-limit", str(limit)),
            ("x-rate-limit-remaining", str(limit - 1 if remaining is None else remaining)),
            ("x-rate-limit-reset", str(window_reset)),
            ("x-response-time", "87"),
        ]

    def _problem(self, request: SimRequest, problem: XProblem, bucket: str) -> SimResponse:
        del request
        headers = self._headers(bucket, content_type="application/problem+json")
        return SimResponse(problem.status, json_bytes(problem.body), headers)


# -- helpers ------------------------------------------------------------------------------------


def _snowflake(moment: datetime, sequence: int) -> str:
    millis = int(moment.timestamp() * 1000) - SNOWFLAKE_EPOCH_MS
    return str((millis << 22) | (sequence & 0x3FFFFF))


def _versions(
    sim_id: str, created: datetime, history: list[tuple[datetime, str]], text: str
) -> list[_Version]:
    """Version 0 is the original; each history entry (when, old text) ended one version."""
    texts = [old for _, old in history] + [text]
    times = [created] + [when for when, _ in history]
    return [
        _Version(_snowflake(when, int(sim_id) * 8 + index), when, body)
        for index, (when, body) in enumerate(zip(times, texts, strict=True))
    ]


def _created_of(scenario: Scenario, sim_id: str) -> datetime:
    for post in scenario.account.posts:
        if post.id == sim_id:
            return post.created
        stack = list(post.comments)
        while stack:
            comment = stack.pop()
            if comment.id == sim_id:
                return comment.created
            stack.extend(comment.replies)
    raise KeyError(f"no post or comment {sim_id!r} in the scenario")


def _version_at(tweet: _Tweet, moment: datetime) -> _Version:
    """The version that was current at ``moment`` (a reply points at what it answered)."""
    current = tweet.versions[0]
    for version in tweet.versions:
        if version.created <= moment:
            current = version
    return current


def _bucket(segments: list[str]) -> str:
    if "search" in segments:
        return "archive" if segments[-1:] == ["all"] else "search"
    if segments[-1:] == ["tweets"]:
        return "timeline"
    return "user"


def _not_found(resource: str, parameter: str, value: str) -> dict[str, Any]:
    label = {"user": "user with " + parameter, "tweet": f"tweet with {parameter}"}[resource]
    return {
        "value": value,
        "detail": f"Could not find {label}: [{value}].",
        "title": "Not Found Error",
        "resource_type": resource,
        "parameter": parameter,
        "resource_id": value,
        "type": PROBLEMS + "resource-not-found",
    }


def _check_params(query: Mapping[str, str], allowed: frozenset[str]) -> None:
    for name, value in query.items():
        if name not in allowed:
            raise _invalid(
                name, value, f"The query parameter [{name}] is not one of [{','.join(sorted(allowed))}]"
            )
    for name, known in _FIELD_PARAMS.items():
        if name in query:
            for value in query[name].split(","):
                if value not in known:
                    raise _invalid(
                        name,
                        value,
                        f"The `{name}` query parameter value [{value}] is not one of [{','.join(known)}]",
                    )


def _fields(query: Mapping[str, str], name: str) -> set[str]:
    return {value for value in query.get(name, "").split(",") if value}


def _max_results(query: Mapping[str, str], low: int, high: int, default: int) -> int:
    value = query.get("max_results")
    if value is None:
        return default
    if not value.isdigit() or not low <= int(value) <= high:
        raise _invalid(
            "max_results",
            value,
            f"The `max_results` query parameter value [{value}] is not between {low} and {high}",
        )
    return int(value)


def _time_param(query: Mapping[str, str], name: str, *, minimum: datetime | None) -> datetime | None:
    value = query.get(name)
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise _invalid(
            name,
            value,
            f"Invalid '{name}':'{value}'. '{name}' must be a timestamp of the form YYYY-MM-DDTHH:mm:ssZ",
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    if minimum is not None and parsed < minimum:
        raise _invalid(
            name, value, f"Invalid '{name}':'{value}'. '{name}' must be on or after {iso_millis(minimum)}"
        )
    return parsed


def _id_param(query: Mapping[str, str], name: str) -> int | None:
    value = query.get(name)
    if value is None:
        return None
    if not re.fullmatch(r"[0-9]{1,19}", value):
        raise _invalid(
            name, value, f"The `{name}` query parameter value [{value}] does not match ^[0-9]{{1,19}}$"
        )
    return int(value)


def _exclude(query: Mapping[str, str]) -> set[str]:
    values = {v for v in query.get("exclude", "").split(",") if v}
    for value in values:
        if value not in ("replies", "retweets"):
            raise _invalid(
                "exclude",
                value,
                f"The `exclude` query parameter value [{value}] is not one of [replies,retweets]",
            )
    return values


def _encode_token(prefix: str, pivot: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuv"  # base32hex, as X describes its tokens
    out = ""
    while pivot:
        pivot, rest = divmod(pivot, 32)
        out = digits[rest] + out
    return prefix + (out or "0")


def _decode_token(name: str, token: str) -> tuple[str, int]:
    for prefix, direction in ((_NEXT, "next"), (_PREVIOUS, "previous")):
        if token.startswith(prefix):
            try:
                return direction, int(token[len(prefix) :], 32)
            except ValueError:
                break
    raise _invalid(name, token, f"The `{name}` query parameter value [{token}] is not valid")


def _code(seed: int, media_id: str, length: int) -> str:
    digest = hashlib.sha256(f"{seed}:{media_id}".encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().replace("-", "x").replace("_", "y")[:length]


def _unique(rows: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    seen: dict[Any, dict[str, Any]] = {}
    for row in rows:
        seen.setdefault(row.get(key), row)
    return list(seen.values())


def _minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)
