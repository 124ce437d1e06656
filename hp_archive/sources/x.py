"""X (formerly Twitter) through the X API v2: an account's posts, the replies to them, media.

Built to docs/research/x.md. A night's capture is:

1. ``GET /2/users/by/username/{handle}`` — the account's profile (kind ``page``) and its user id;
2. ``GET /2/users/{id}/tweets`` with explicit ``tweet.fields``, ``expansions`` (media, authors,
   referenced posts), ``max_results=100`` and ``end_time=as_of``; after the first night also
   ``start_time`` (the previous night's end minus the look-back window), following
   ``meta.next_token`` as ``pagination_token`` until it is absent;
3. for each of the account's own posts that is young enough or has replies,
   ``GET /2/tweets/search/recent?query=conversation_id:{id}`` (or ``/search/all`` when the
   account's ``full_archive_search`` option is set), following ``meta.next_token``. Recent
   search reaches back only seven days, so older replies are archived when they are new and
   are not re-listed after that;
4. each photo (or video preview image) once, keyed by its ``media_key``.

A post's identity is the **first** id of ``edit_history_tweet_ids``: every edit makes a new
post id and the timeline shows only the newest, so the newest id is a version, not an item.
:meth:`XSource.parse` reads any of those responses back into items from the stored bytes alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import parse_qsl, quote, unquote, urlsplit

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
    text_of,
)
from hp_archive.sources.http import strip_query
from hp_archive.sources.support import (
    ItemsBuilder,
    as_dict,
    as_list,
    as_text,
    as_time,
    body_looks_json,
    is_media,
    json_body,
    pick,
    read_json_object,
    redact_tokens,
    reply_loop,
    retry_after_seconds,
    success_verdict,
    type_name,
    wait_until_reset,
)
from hp_archive.sources.walking import ListingItems, download_files, judge_page

TWEET_FIELDS = (
    "created_at,author_id,conversation_id,in_reply_to_user_id,referenced_tweets,public_metrics,"
    "edit_history_tweet_ids,edit_controls,attachments,entities,note_tweet,lang,reply_settings"
)
EXPANSIONS = "attachments.media_keys,author_id,referenced_tweets.id"
MEDIA_FIELDS = "media_key,type,url,preview_image_url,alt_text,width,height"
USER_FIELDS = "username,name"
PROFILE_FIELDS = (
    "created_at,description,location,name,pinned_tweet_id,profile_image_url,protected,url,username,verified"
)
MEDIA_TYPES = frozenset({"photo", "video", "animated_gif"})
API_HOSTS = frozenset({"api.x.com", "api.twitter.com"})

#: X ids are snowflakes: milliseconds since this epoch, shifted left by 22 bits [notes §2]
SNOWFLAKE_EPOCH_MS = 1288834974657
#: recent search refuses a start_time more than seven days before the request [notes §4]
RECENT_SEARCH_REACH = timedelta(days=7)
#: the timeline's earliest allowed start_time [doc]
EARLIEST_START = datetime(2010, 11, 6, tzinfo=UTC)
#: a usage cap is not lifted by waiting minutes; this wait is meant to exceed any retry budget
USAGE_CAP_WAIT = 86_400.0

_AUTH_PROBLEMS = frozenset({"client-forbidden", "unsupported-authentication"})
_TOKEN_LIKE = re.compile(r"\bAAAAAAAAAAAAAAAAAAAAA[A-Za-z0-9%]{10,}")


class XSource(Source):
    """An X account read with an app-only Bearer token (or a user-context OAuth 2.0 token)."""

    platform: ClassVar[str] = "x"
    title: ClassVar[str] = "X account"
    api: ClassVar[str] = "X API v2: user Posts timeline, recent search by conversation_id"
    default_base_url: ClassVar[str] = "https://api.x.com"

    #: a walk that reaches this many pages stops and marks its listing incomplete
    max_pages: ClassVar[int] = 10_000
    #: how far inside recent search's seven days a start_time is placed, so the request is still
    #: valid after the waits of a rate-limited run
    search_margin: ClassVar[timedelta] = timedelta(hours=1)

    # -- capture --------------------------------------------------------------------------------

    def capture(self, ctx: CaptureContext) -> None:
        base = self.base_url.rstrip("/")
        headers = self.auth_headers(ctx.token)
        walker = _Walker(self, ctx, headers)
        user_id = self._user_id(ctx, walker, base)
        if user_id is None:
            return
        posts, media = self._list_timeline(ctx, walker, base, user_id)
        download_files(ctx, media, "x media")
        for post in posts:
            if self._search_due(ctx, post):
                download_files(ctx, self._list_conversation(ctx, walker, base, post), "x media")

    def _user_id(self, ctx: CaptureContext, walker: _Walker, base: str) -> str | None:
        handle = self.account.handle.lstrip("@")
        where = f"x:@{handle}"
        saved = ctx.state.get("user_id")
        try:
            fetched = walker.fetch(
                f"{base}/2/users/by/username/{quote(handle, safe='')}",
                params={"user.fields": PROFILE_FIELDS},
                kind=KIND_PAGE,
            )
        except (PlatformError, TransportError) as exc:
            if isinstance(saved, str) and saved:
                ctx.note_failure(where, f"profile not captured ({exc}); using the saved user id")
                return saved
            ctx.note_failure(where, f"profile not captured and no saved user id: {exc}")
            return None
        user = next((i for i in fetched.parsed.items if i.kind == KIND_PAGE), None)
        if user is None:
            if isinstance(saved, str) and saved:
                ctx.note_failure(where, "the profile response names no user; using the saved user id")
                return saved
            ctx.note_failure(
                where,
                f"X does not know the username @{handle} (renamed, suspended or deleted): "
                "check the account's handle in the accounts file",
            )
            return None
        ctx.set_state("user_id", user.native_id)
        return user.native_id

    def _list_timeline(
        self, ctx: CaptureContext, walker: _Walker, base: str, user_id: str
    ) -> tuple[list[ParsedItem], dict[str, str]]:
        params: dict[str, Any] = {
            "max_results": 100,
            "tweet.fields": TWEET_FIELDS,
            "expansions": EXPANSIONS,
            "media.fields": MEDIA_FIELDS,
            "user.fields": USER_FIELDS,
            "end_time": _x_time(ctx.as_of),
        }
        since: datetime | None = None
        listed_until = ctx.state.get("posts_listed_until")
        newest_id = ctx.state.get("newest_id")
        if listed_until is not None:
            previous = as_time(listed_until)
            if previous is None:
                ctx.note_failure(
                    f"x:{user_id}/tweets",
                    f"saved posts_listed_until {listed_until!r} is not an ISO time; listing every post",
                )
            elif ctx.lookback <= timedelta(0) and isinstance(newest_id, str) and newest_id.isdigit():
                # nothing to re-list: only what is newer than the newest post already seen
                params["since_id"] = newest_id
                since = min(previous, ctx.as_of)
            else:
                since = max(min(previous, ctx.as_of) - ctx.lookback, EARLIEST_START)
                params["start_time"] = _x_time(since)
        collected = _Collected()
        scope = f"x:{user_id}/tweets"
        with ctx.listing(scope, kind=KIND_POST, since=since, until=ctx.as_of) as listing:
            first = walker.walk(
                listing,
                f"{base}/2/users/{quote(user_id, safe='')}/tweets",
                params=params,
                cursor_param="pagination_token",
                kind=KIND_POST,
                on_page=collected.add,
            )
        if first is not None:
            ctx.set_state("posts_listed_until", ctx.as_of.isoformat())
            newest = _newest_id(first, newest_id)
            if newest is not None:
                ctx.set_state("newest_id", newest)
        return collected.own_posts(user_id), collected.media

    def _search_due(self, ctx: CaptureContext, post: ParsedItem) -> bool:
        """Search a post's conversation when it is inside the look-back window or has replies."""
        if post.created_at is not None and post.created_at >= ctx.as_of - ctx.lookback:
            return True
        metrics = post.extra.get("public_metrics")
        replies = metrics.get("reply_count") if isinstance(metrics, dict) else None
        return not isinstance(replies, int) or replies > 0

    def _list_conversation(
        self, ctx: CaptureContext, walker: _Walker, base: str, post: ParsedItem
    ) -> dict[str, str]:
        full_archive = bool(self.account.options.get("full_archive_search"))
        floor = post.created_at or EARLIEST_START
        if full_archive:
            start = floor
        else:
            start = max(floor, walker.now(ctx) - RECENT_SEARCH_REACH + self.search_margin)
        start = start.replace(microsecond=0)
        params: dict[str, Any] = {
            "query": f"conversation_id:{post.native_id}",
            "max_results": 100,
            "start_time": _x_time(start),
            "tweet.fields": TWEET_FIELDS,
            "expansions": EXPANSIONS,
            "media.fields": MEDIA_FIELDS,
            "user.fields": USER_FIELDS,
        }
        endpoint = "all" if full_archive else "recent"
        collected = _Collected()
        scope = f"x:{post.native_id}/conversation"
        with ctx.listing(scope, kind=KIND_COMMENT, since=start) as listing:
            walker.walk(
                listing,
                f"{base}/2/tweets/search/{endpoint}",
                params=params,
                cursor_param="next_token",
                kind=KIND_COMMENT,
                on_page=collected.add,
            )
        return collected.media

    # -- classify -------------------------------------------------------------------------------

    def classify(self, response: ArchivedResponse) -> Verdict:
        status = response.status
        where = strip_query(response.url)
        answered = success_verdict(response, _looks_json, "the X API")
        if answered is not None:
            return answered
        problem = _problem(response)
        kind = _problem_kind(problem)
        detail = _scrub(str(problem.get("detail") or problem.get("title") or f"HTTP {status}"))
        if status == 429:
            if kind == "usage-capped":
                return Verdict(
                    "rate-limited",
                    f"X API usage cap reached ({detail}): the project's monthly post cap is spent; "
                    "raise the plan or wait for the cap period to reset",
                    USAGE_CAP_WAIT,
                )
            return Verdict(
                "rate-limited",
                f"rate limited by X (HTTP 429, {_limit_text(response)})",
                wait_until_reset(response, "x-rate-limit-reset"),
            )
        if status == 401:
            return Verdict(
                "auth",
                f"X API 401 {detail}: the token is invalid, expired or revoked — generate a new "
                "Bearer Token for the app in the X Developer Console and store it in the "
                "account's token variable",
            )
        if status == 403 and kind in _AUTH_PROBLEMS:
            return Verdict(
                "auth",
                f"X API 403 {detail}: the app's access level does not include this endpoint — "
                "attach the app to a Project with read access to the user timeline and search",
            )
        if status >= 500:
            return Verdict(
                "retry",
                f"X API HTTP {status} at {where}",
                retry_after_seconds(response),
            )
        return Verdict("error", f"X API HTTP {status} at {where}: {detail}")

    # -- parse ----------------------------------------------------------------------------------

    @classmethod
    def recognizes(cls, url: str) -> bool:
        """X API v2 responses (``api.x.com``/``api.twitter.com``), e.g. in a warcprox WARC."""
        parts = urlsplit(url)
        return (parts.hostname or "") in API_HOSTS and parts.path.startswith("/2/")

    @classmethod
    def parse(cls, response: ArchivedResponse) -> ParseResult:
        if is_media(response):
            return ParseResult()  # a media file: its item comes from the post that shows it
        if not 200 <= response.status < 300:
            return ParseResult()  # an error answer (problem JSON): classify reported it
        payload, failed = read_json_object(response)
        if failed is not None:
            return failed
        parts = urlsplit(response.url)
        segments = [unquote(s) for s in parts.path.split("/") if s]
        if "2" in segments:
            segments = segments[segments.index("2") + 1 :]
        query = dict(parse_qsl(parts.query))
        builder = _Builder.of(payload)
        if segments[:3] == ["users", "by", "username"] and len(segments) == 4:
            builder.profile(payload)
        elif len(segments) == 3 and segments[0] == "users" and segments[2] == "tweets":
            builder.tweets(payload, agency_id=segments[1])
        elif segments[:2] == ["tweets", "search"] and len(segments) == 3:
            builder.tweets(payload, agency_id=None, conversation=_conversation_of(query.get("query")))
        elif segments == ["tweets"] or (len(segments) == 2 and segments[0] == "tweets"):
            builder.tweets(payload, agency_id=None)
        else:
            return ParseResult.failed(f"unknown X API path {parts.path}")
        return builder.result()


# -- capture helpers ----------------------------------------------------------------------------


class _Walker:
    """Fetches through the context, follows ``meta.next_token``, and remembers the latest time."""

    def __init__(self, source: XSource, ctx: CaptureContext, headers: Mapping[str, str]) -> None:
        self.source = source
        self.ctx = ctx
        self.headers = dict(headers)
        self.latest: datetime | None = None

    def now(self, ctx: CaptureContext) -> datetime:
        """The latest response time seen (the capture's "now"), else the window end."""
        return self.latest or ctx.as_of

    def fetch(
        self,
        url: str,
        *,
        params: Mapping[str, Any] | None,
        kind: str,
        listing: Listing | None = None,
    ) -> Fetched:
        fetched = self.ctx.fetch(url, params=params, headers=self.headers, kind=kind, listing=listing)
        date = fetched.response.date
        if self.latest is None or date > self.latest:
            self.latest = date
        return fetched

    def walk(
        self,
        listing: Listing,
        url: str,
        *,
        params: Mapping[str, Any],
        cursor_param: str,
        kind: str,
        on_page: Any,
    ) -> Fetched | None:
        """Fetch every page; returns the first page if the walk completed, else None.

        A page with items that could not be parsed makes the listing incomplete (its absences
        prove nothing) but the walk goes on, so the rest is still archived.
        """
        seen_tokens: set[str] = set()
        first: Fetched | None = None
        page_params = dict(params)
        pages = 0
        while True:
            if pages >= self.source.max_pages:
                listing.incomplete(f"stopped after {self.source.max_pages} pages (page cap)")
                return None
            fetched = self.fetch(url, params=page_params, kind=kind, listing=listing)
            pages += 1
            first = first or fetched
            on_page(fetched)
            judge_page(listing, fetched, pages)
            try:
                body = fetched.json()
            except (ValueError, HPArchiveError):
                listing.incomplete(f"page {pages} is not readable JSON, so it has no next_token")
                return None
            meta = body.get("meta") if isinstance(body, dict) else None
            following = meta.get("next_token") if isinstance(meta, dict) else None
            if following is None:
                return first
            if not isinstance(following, str) or not following:
                listing.incomplete(f"page {pages} has a next_token that is not a string")
                return None
            if following in seen_tokens:
                listing.incomplete(f"page {pages}: next_token repeats an earlier page")
                return None
            seen_tokens.add(following)
            page_params = {**params, cursor_param: following}


class _Collected(ListingItems):
    """Posts and media (key → URL) seen on the pages of one listing, in order."""

    def own_posts(self, user_id: str) -> list[ParsedItem]:
        """The account's own conversation roots (not reposts of others' posts)."""
        return [
            post
            for post in self.posts.values()
            if post.author_id == user_id and not post.extra.get("repost_of")
        ]


def _newest_id(first: Fetched, previous: Any) -> str | None:
    """The newest post id known after a complete listing (for ``since_id`` next time)."""
    candidates = [previous] if isinstance(previous, str) and previous.isdigit() else []
    try:
        meta = first.json().get("meta")
    except (ValueError, HPArchiveError, AttributeError):
        meta = None
    if isinstance(meta, dict) and isinstance(meta.get("newest_id"), str) and meta["newest_id"].isdigit():
        candidates.append(meta["newest_id"])
    return max(candidates, key=int) if candidates else None


# -- parsing ------------------------------------------------------------------------------------


@dataclass(kw_only=True)
class _Builder(ItemsBuilder):
    """Items and the reasons anything was skipped, for one response."""

    users: dict[str, dict[str, Any]]
    media: dict[str, dict[str, Any]]
    referenced: dict[str, dict[str, Any]]

    @classmethod
    def of(cls, payload: dict[str, Any]) -> _Builder:
        includes = as_dict(payload.get("includes"))
        users = {
            str(u["id"]): u
            for u in as_list(includes.get("users"))
            if isinstance(u, dict) and as_text(u.get("id"))
        }
        media = {
            str(m["media_key"]): m
            for m in as_list(includes.get("media"))
            if isinstance(m, dict) and as_text(m.get("media_key"))
        }
        # includes.tweets in the v2 API; the newer "Post" naming of the spec calls it posts
        referenced = {
            str(t["id"]): t
            for t in as_list(includes.get("tweets")) + as_list(includes.get("posts"))
            if isinstance(t, dict) and as_text(t.get("id"))
        }
        return cls(users=users, media=media, referenced=referenced)

    def profile(self, payload: dict[str, Any]) -> None:
        user = payload.get("data")
        if user is None:
            return  # an unknown username: only partial errors; nothing to parse
        if not isinstance(user, dict) or not as_text(user.get("id")):
            self.unparsed.append(f"profile data is {type_name(user)} without an id, not a user object")
            return
        user_id = str(user["id"])
        name = as_text(user.get("name"))
        username = as_text(user.get("username"))
        self.items.append(
            ParsedItem(
                native_id=user_id,
                kind=KIND_PAGE,
                text=text_of([name, as_text(user.get("description"))]),
                content={
                    "name": name,
                    "username": username,
                    "description": as_text(user.get("description")),
                    "location": as_text(user.get("location")),
                    "url": as_text(user.get("url")),
                    "protected": user.get("protected") if isinstance(user.get("protected"), bool) else None,
                },
                author_id=user_id,
                author_name=name,
                author_is_agency=True,
                created_at=as_time(user.get("created_at")),
                url=f"https://x.com/{username}" if username else None,
                extra=pick(user, ("verified", "pinned_tweet_id", "profile_image_url")),
            )
        )

    def tweets(
        self, payload: dict[str, Any], *, agency_id: str | None, conversation: str | None = None
    ) -> None:
        data = payload.get("data")
        if data is None:
            meta = as_dict(payload.get("meta"))
            if meta.get("result_count") == 0 or "errors" in payload:
                return  # an empty page (X omits data), or only partial errors
            self.unparsed.append("response has neither data nor meta.result_count")
            return
        rows = data if isinstance(data, list) else [data]
        tweets: list[tuple[str, dict[str, Any]]] = []
        for index, raw in enumerate(rows):
            where = f"data[{index}]"
            if not isinstance(raw, dict):
                self.unparsed.append(f"{where}: unknown item type ({type_name(raw)}), not a post object")
                continue
            tweet_id = as_text(raw.get("id"))
            if not tweet_id:
                self.unparsed.append(f"{where}: post without an id; left out")
                continue
            if not isinstance(raw.get("text"), str):
                self.unparsed.append(f"post {tweet_id}: text is {type_name(raw.get('text'))}; left out")
                continue
            tweets.append((tweet_id, raw))
        stable = _stable_ids([raw for _, raw in tweets] + list(self.referenced.values()))
        parents = {stable.get(tid, tid): _parent_of(raw, stable) for tid, raw in tweets}
        for ref in self.referenced.values():
            ref_id = as_text(ref.get("id"))
            if ref_id:
                parents.setdefault(stable.get(ref_id, ref_id), _parent_of(ref, stable))
        if agency_id is None and conversation is not None:
            agency_id = self._root_author(conversation, stable, [raw for _, raw in tweets])
        for tweet_id, raw in tweets:
            native_id = stable.get(tweet_id, tweet_id)
            loop = reply_loop(native_id, parents)
            if loop:
                self.unparsed.append(
                    f"post {native_id}: reply links form a cycle ({' → '.join(loop)}); left out"
                )
                continue
            self.tweet(raw, native_id=native_id, parent=parents.get(native_id), agency_id=agency_id)

    def _root_author(
        self, conversation: str, stable: dict[str, str], rows: list[dict[str, Any]]
    ) -> str | None:
        for raw in [*rows, *self.referenced.values()]:
            tweet_id = as_text(raw.get("id"))
            if tweet_id and stable.get(tweet_id, tweet_id) == conversation:
                return as_text(raw.get("author_id"))
        for raw in rows:  # a direct reply names the root's author
            if _parent_of(raw, stable) == conversation:
                return as_text(raw.get("in_reply_to_user_id"))
        return None

    def tweet(
        self, raw: dict[str, Any], *, native_id: str, parent: str | None, agency_id: str | None
    ) -> None:
        tweet_id = str(raw["id"])
        label = f"post {native_id}"
        history = _edit_history(raw)
        conversation = as_text(raw.get("conversation_id"))
        refs = [
            {"type": as_text(r.get("type")), "id": as_text(r.get("id"))}
            for r in as_list(_first(raw, "referenced_tweets", "referenced_posts"))
            if isinstance(r, dict)
        ]
        repost_of = next((r["id"] for r in refs if r["type"] == "retweeted"), None)
        if parent is None:
            kind, root = KIND_POST, None
        else:
            root = conversation or parent
            kind = KIND_COMMENT if parent == root else KIND_REPLY
        author_id = as_text(raw.get("author_id"))
        user = self.users.get(author_id or "", {})
        username = as_text(user.get("username"))
        version_time = self._time(raw, "created_at", label)
        edited = len(history) > 1
        created = _snowflake_time(native_id) if edited else version_time
        note = as_dict(raw.get("note_tweet"))
        full_text = as_text(note.get("text")) or str(raw["text"])
        entities = as_dict(note.get("entities")) if note.get("entities") else as_dict(raw.get("entities"))
        keys = [str(k) for k in as_list(as_dict(raw.get("attachments")).get("media_keys")) if as_text(k)]
        self.items.append(
            ParsedItem(
                native_id=native_id,
                kind=kind,
                text=full_text,
                content={
                    "id": tweet_id,
                    "edit_history_tweet_ids": history or [tweet_id],
                    "text": str(raw["text"]),
                    "note_tweet": as_text(note.get("text")),
                    "urls": _urls(entities),
                    "mentions": [
                        as_text(m.get("username"))
                        for m in as_list(entities.get("mentions"))
                        if isinstance(m, dict)
                    ],
                    "hashtags": [
                        as_text(h.get("tag"))
                        for h in as_list(entities.get("hashtags"))
                        if isinstance(h, dict)
                    ],
                    "media_keys": keys,
                    "referenced_tweets": refs,
                    "in_reply_to_user_id": as_text(raw.get("in_reply_to_user_id")),
                    "conversation_id": conversation,
                },
                parent_native_id=parent,
                root_native_id=root,
                author_id=author_id,
                author_name=as_text(user.get("name")),
                author_is_agency=author_id is not None and author_id == agency_id,
                created_at=created,
                edited_at=version_time if edited else None,
                url=f"https://x.com/{username or 'i/web'}/status/{tweet_id}",
                extra=pick(raw, ("public_metrics", "edit_controls", "reply_settings", "lang"))
                | ({"username": username} if username else {})
                | ({"repost_of": repost_of} if repost_of else {}),
            )
        )
        for key in keys:
            self.media_item(
                key,
                parent=native_id,
                root=root or native_id,
                author_id=author_id,
                author_name=as_text(user.get("name")),
                agency=author_id is not None and author_id == agency_id,
                created=created,
            )

    def media_item(
        self,
        key: str,
        *,
        parent: str,
        root: str,
        author_id: str | None,
        author_name: str | None,
        agency: bool,
        created: datetime | None,
    ) -> None:
        raw = self.media.get(key)
        if raw is None:
            return  # not expanded (deleted media, or the expansion was not asked for)
        media_type = as_text(raw.get("type"))
        if media_type not in MEDIA_TYPES:
            self.unparsed.append(f"media {key}: unknown media type {media_type!r}; left out")
            return
        url = as_text(raw.get("url")) or as_text(raw.get("preview_image_url"))
        self.items.append(
            ParsedItem(
                native_id=key,
                kind=KIND_MEDIA,
                text=as_text(raw.get("alt_text")) or "",
                content={
                    "media_key": key,
                    "type": media_type,
                    "url": as_text(raw.get("url")),
                    "preview_image_url": as_text(raw.get("preview_image_url")),
                    "alt_text": as_text(raw.get("alt_text")),
                },
                parent_native_id=parent,
                root_native_id=root,
                author_id=author_id,
                author_name=author_name,
                author_is_agency=agency,
                created_at=created,
                url=url,
                media_url=url,
                extra=pick(raw, ("width", "height", "duration_ms")),
            )
        )


def _stable_ids(tweets: Iterable[dict[str, Any]]) -> dict[str, str]:
    """Every version id → the first id of its edit history (the post's identity)."""
    stable: dict[str, str] = {}
    for raw in tweets:
        history = _edit_history(raw)
        tweet_id = as_text(raw.get("id"))
        if history:
            for version in history:
                stable.setdefault(version, history[0])
        if tweet_id:
            stable.setdefault(tweet_id, history[0] if history else tweet_id)
    return stable


def _edit_history(raw: Mapping[str, Any]) -> list[str]:
    """A post's version ids, oldest first (``edit_history_post_ids`` in the newer naming)."""
    history = as_list(_first(raw, "edit_history_tweet_ids", "edit_history_post_ids"))
    return [str(h) for h in history if as_text(h)]


def _parent_of(raw: dict[str, Any], stable: Mapping[str, str]) -> str | None:
    for ref in as_list(_first(raw, "referenced_tweets", "referenced_posts")):
        if isinstance(ref, dict) and ref.get("type") == "replied_to" and as_text(ref.get("id")):
            parent = str(ref["id"])
            return stable.get(parent, parent)
    return None


def _conversation_of(query: str | None) -> str | None:
    match = re.search(r"conversation_id:(\d+)", query or "")
    return match.group(1) if match else None


def _urls(entities: dict[str, Any]) -> list[str]:
    """Linked URLs (expanded, without t.co wrapping); media links are the media items."""
    out = []
    for url in as_list(entities.get("urls")):
        if isinstance(url, dict) and not url.get("media_key"):
            expanded = as_text(url.get("expanded_url")) or as_text(url.get("url"))
            if expanded:
                out.append(expanded)
    return out


def _snowflake_time(post_id: str) -> datetime | None:
    if not post_id.isdigit():
        return None
    millis = (int(post_id) >> 22) + SNOWFLAKE_EPOCH_MS
    return datetime.fromtimestamp(millis / 1000, UTC)


# -- classify helpers ---------------------------------------------------------------------------


def _problem(response: ArchivedResponse) -> dict[str, Any]:
    """The RFC 7807 problem object of an error answer (or v1.1-style errors), else {}."""
    payload = json_body(response) if _looks_json(response) else None
    if not isinstance(payload, dict):
        return {}
    if "title" in payload or "type" in payload:
        return payload
    errors = payload.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        first = errors[0]
        return {"title": first.get("message"), "detail": first.get("message"), "type": first.get("type")}
    return {}


def _problem_kind(problem: Mapping[str, Any]) -> str:
    """The last path part of a problem ``type`` URI (``usage-capped``), or ``about:blank``."""
    kind = problem.get("type")
    if not isinstance(kind, str):
        return ""
    return kind.rstrip("/").rsplit("/", 1)[-1]


def _limit_text(response: ArchivedResponse) -> str:
    limit = response.header("x-rate-limit-limit")
    reset = response.header("x-rate-limit-reset")
    parts = []
    if limit:
        parts.append(f"limit {limit.strip()} per window")
    if reset and reset.strip().isdigit():
        parts.append(f"resets at {datetime.fromtimestamp(int(reset.strip()), UTC).isoformat()}")
    return ", ".join(parts) or "no x-rate-limit headers"


def _looks_json(response: ArchivedResponse) -> bool:
    content_type = response.message.content_type
    return content_type in ("application/json", "application/problem+json") or body_looks_json(response)


def _scrub(text: str) -> str:
    """Remove anything bearer-token-like before a message reaches logs or reports."""
    return redact_tokens(text, _TOKEN_LIKE)[:300]


# -- small helpers ------------------------------------------------------------------------------


def _x_time(value: datetime) -> str:
    """The API's time format for parameters: ``2026-11-01T08:00:00Z`` (seconds, UTC)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _first(raw: Mapping[str, Any], *keys: str) -> Any:
    return next((raw[k] for k in keys if k in raw), None)
