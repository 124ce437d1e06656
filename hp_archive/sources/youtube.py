"""A YouTube channel through the YouTube Data API v3: uploads, video metadata, comments.

Built to docs/research/youtube.md. A night's capture is:

1. ``channels.list`` (``part=snippet,contentDetails``; ``mine=true``, ``forHandle`` or ``id``
   from the account's handle), the channel as kind ``page`` and its uploads playlist id;
2. ``playlistItems.list`` on the uploads playlist, every page (``maxResults=50``, ``pageToken``):
   the playlist's order is not documented, so it is walked to its end every night (one quota
   unit per 50 videos) rather than stopped at the first old video;
3. ``videos.list`` (``part=snippet,statistics,status``, up to 50 ids a call) for the videos
   published inside the look-back window (all of them on the first run), as part of the same
   listing, so a video gone from the playlist is a video gone;
4. per video in the window, ``commentThreads.list`` (``part=snippet,replies``, ``maxResults=100``,
   ``textFormat=plainText``, ``order=time``) once per moderation status (published, then
   ``heldForReview`` and ``likelySpam``, which need the owner's OAuth token), and
   ``comments.list?parentId=`` for a thread with more replies than were inlined;
5. each video's largest thumbnail once (the video file itself is not captured).

Quota exhaustion (``403 quotaExceeded``) does not lift until midnight Pacific time, so it is
reported as a rate limit whose wait exceeds any retry budget: the account stops at once with a
partial capture instead of spinning. :meth:`YouTubeSource.parse` reads any of those responses
back into items from the stored bytes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hp_archive.errors import HPArchiveError, PlatformError, TransportError
from hp_archive.settings import Secret
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
    Source,
    Verdict,
    text_of,
)
from hp_archive.sources.http import strip_query
from hp_archive.sources.support import (
    ItemsBuilder,
    as_dict,
    as_list,
    as_str,
    body_looks_json,
    drop_reply_cycles,
    is_media,
    json_body,
    overload_verdict,
    parse_time,
    pick,
    read_json_object,
    retry_after_seconds,
    success_verdict,
    type_name,
)
from hp_archive.sources.walking import ListingItems, PageWalk, download_files, listing_start

CHANNEL_PARTS = "snippet,contentDetails"
PLAYLIST_PARTS = "contentDetails,status"
VIDEO_PARTS = "snippet,statistics,status"
THREAD_PARTS = "snippet,replies"
MODERATION_STATUSES = ("published", "heldForReview", "likelySpam")
PLAYLIST_PAGE = 50
VIDEOS_PER_CALL = 50
COMMENTS_PAGE = 100
# the largest first: a video has the sizes its source allows [notes §2]
THUMBNAIL_SIZES = ("maxres", "standard", "high", "medium", "default")

QUOTA_REASONS = frozenset({"quotaExceeded", "dailyLimitExceeded"})
RATE_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded", "RATE_LIMIT_EXCEEDED"})
AUTH_REASONS = frozenset(
    {"authError", "invalidCredentials", "required", "insufficientPermissions", "loginRequired"}
)
TRANSIENT_REASONS = frozenset({"backendError", "internalError", "serviceUnavailable"})
COMMENTS_DISABLED = "commentsDisabled"
QUOTA_TIMEZONE = "America/Los_Angeles"  # "Daily quotas reset at midnight Pacific Time" [notes §5]


class YouTubeSource(Source):
    """The department's own YouTube channel, read with the owner's OAuth access token.

    ``options: {auth: api_key}`` sends the credential as ``X-Goog-Api-Key`` instead (public data
    only: held and likely-spam comments are then not listed). A ``key=`` query parameter is never
    used: redaction removes it from request records, but the API may echo a request URL into a
    response body, which is evidence and is stored unmodified.
    """

    platform: ClassVar[str] = "youtube"
    title: ClassVar[str] = "YouTube channel"
    api: ClassVar[str] = "YouTube Data API v3: channel uploads, videos, commentThreads, comments"
    default_base_url: ClassVar[str] = "https://www.googleapis.com/youtube/v3"

    #: a walk that reaches this many pages stops and marks its listing incomplete
    max_pages: ClassVar[int] = 10_000

    @property
    def uses_api_key(self) -> bool:
        return str(self.account.options.get("auth", "oauth")).lower() == "api_key"

    def auth_headers(self, token: Secret | None) -> dict[str, str]:
        if token is None:
            return {}
        if self.uses_api_key:
            return {"X-Goog-Api-Key": token.reveal()}
        return {"Authorization": f"Bearer {token.reveal()}"}

    # -- capture --------------------------------------------------------------------------------

    def capture(self, ctx: CaptureContext) -> None:
        base = self.base_url.rstrip("/")
        headers = self.auth_headers(ctx.token)
        channel = self._channel(ctx, base, headers)
        if channel is None:
            return
        channel_id, uploads = channel
        videos, thumbnails = self._list_uploads(ctx, base, channel_id, uploads, headers)
        download_files(ctx, thumbnails, "youtube thumbnail")
        for video_id in videos:
            self._list_comments(ctx, base, video_id, headers)

    def _channel(self, ctx: CaptureContext, base: str, headers: Mapping[str, str]) -> tuple[str, str] | None:
        handle = self.account.handle.strip()
        params: dict[str, Any] = {"part": CHANNEL_PARTS}
        if handle.lower() == "mine":
            params["mine"] = "true"
        elif handle.startswith("@"):
            params["forHandle"] = handle
        else:
            params["id"] = handle
        where = f"youtube:{handle}"
        try:
            fetched = ctx.fetch(f"{base}/channels", params=params, headers=headers, kind=KIND_PAGE)
        except (PlatformError, TransportError) as exc:
            ctx.note_failure(where, f"channel not read, so its uploads cannot be listed: {exc}")
            return None
        try:
            items = as_list(as_dict(fetched.json()).get("items"))
        except (ValueError, HPArchiveError):
            items = []
        channel = as_dict(items[0]) if items else {}
        channel_id = as_str(channel.get("id"))
        uploads = as_str(
            as_dict(as_dict(channel.get("contentDetails")).get("relatedPlaylists")).get("uploads")
        )
        if not channel_id or not uploads:
            ctx.note_failure(
                where,
                "channels.list named no channel with an uploads playlist; check the account's handle "
                "('mine' for the token's own channel, '@handle', or a UC… channel id)",
            )
            return None
        return channel_id, uploads

    def _list_uploads(
        self, ctx: CaptureContext, base: str, channel_id: str, uploads: str, headers: Mapping[str, str]
    ) -> tuple[list[str], dict[str, str]]:
        since = listing_start(
            ctx, "uploads_listed_until", where=f"youtube:{channel_id}/uploads", fallback="listing every video"
        )
        collected = _Collected()
        scope = f"youtube:{channel_id}/uploads"
        with ctx.listing(scope, kind=KIND_POST, since=since, until=ctx.as_of) as listing:
            walk = _Walk(ctx, listing, headers, KIND_POST, collected.add, max_pages=self.max_pages)
            params = {"part": PLAYLIST_PARTS, "playlistId": uploads, "maxResults": PLAYLIST_PAGE}
            walked = walk.run(f"{base}/playlistItems", params)
            wanted = [
                video_id
                for video_id, published in collected.playlist.items()
                if since is None or published is None or published >= since
            ]
            for start in range(0, len(wanted), VIDEOS_PER_CALL):
                batch = wanted[start : start + VIDEOS_PER_CALL]
                # maxResults is not supported together with id [notes §2]
                params = {"part": VIDEO_PARTS, "id": ",".join(batch)}
                walked = walk.run(f"{base}/videos", params) and walked
            if walked and not walk.marked_incomplete:
                ctx.set_state("uploads_listed_until", ctx.as_of.isoformat())
        return list(collected.posts), collected.media

    def _list_comments(
        self, ctx: CaptureContext, base: str, video_id: str, headers: Mapping[str, str]
    ) -> None:
        statuses = ("published",) if self.uses_api_key else MODERATION_STATUSES
        collected = _Collected()
        scope = f"youtube:{video_id}/comments"
        with ctx.listing(scope, kind=KIND_COMMENT, until=ctx.as_of) as listing:
            walk = _Walk(ctx, listing, headers, KIND_COMMENT, collected.add, max_pages=self.max_pages)
            for status in statuses:
                params: dict[str, Any] = {
                    "part": THREAD_PARTS,
                    "videoId": video_id,
                    "maxResults": COMMENTS_PAGE,
                    "order": "time",
                    "textFormat": "plainText",
                }
                if status != "published":
                    params["moderationStatus"] = status
                walk.run(f"{base}/commentThreads", params)
                if collected.comments_disabled:
                    # The owner turned comments off: YouTube says nothing about the comments
                    # that were there, so nothing may be judged deleted (and nothing failed).
                    listing.skipped("comments are turned off on this video")
                    return
            for parent in collected.partial_threads:
                params = {
                    "part": "snippet",
                    "parentId": parent,
                    "maxResults": COMMENTS_PAGE,
                    "textFormat": "plainText",
                }
                walk.run(f"{base}/comments", params)

    # -- classify -------------------------------------------------------------------------------

    def classify(self, response: ArchivedResponse) -> Verdict:
        status = response.status
        error = _api_error(response)
        if error is None:
            return self._classify_plain(response)
        reasons = [as_str(e.get("reason")) or "" for e in as_list(error.get("errors")) if isinstance(e, dict)]
        status_word = as_str(error.get("status")) or ""
        message = _plain(as_str(error.get("message")) or "no message")
        label = (
            f"YouTube API error {status} ({', '.join(r for r in reasons if r) or status_word or 'no reason'})"
        )
        if QUOTA_REASONS & set(reasons):
            reset = _next_quota_reset(response.date)
            wait = max(60.0, (reset - response.date).total_seconds())
            return Verdict(
                "rate-limited",
                f"{label}: the project's daily quota is spent; it resets at midnight Pacific time "
                f"({reset.isoformat()}), so the capture stops now — ask for more quota in the Google "
                "Cloud console if this recurs",
                wait,
            )
        if RATE_REASONS & set(reasons) or status == 429:
            retry_after = retry_after_seconds(response)
            return Verdict("rate-limited", f"rate limited by YouTube, {label}: {message}", retry_after)
        if COMMENTS_DISABLED in reasons:
            return Verdict.ok()  # an answer about the video, read by the capture; nothing failed
        if status == 401 or AUTH_REASONS & set(reasons):
            return Verdict(
                "auth",
                f"{label}: {message} — refresh the channel owner's OAuth access token (scope "
                "https://www.googleapis.com/auth/youtube.force-ssl) and store it in the account's "
                "token variable",
            )
        if status >= 500 or TRANSIENT_REASONS & set(reasons):
            return Verdict("retry", f"transient {label}: {message}", retry_after_seconds(response))
        return Verdict("error", f"{label} at {strip_query(response.url)}: {message}")

    def _classify_plain(self, response: ArchivedResponse) -> Verdict:
        """A response without an API error object (a success, or the thumbnail host)."""
        status = response.status
        answered = success_verdict(response, _looks_json, "the YouTube API")
        if answered is not None:
            return answered
        overloaded = overload_verdict(response)
        if overloaded is not None:
            return overloaded
        if status == 401:
            return Verdict(
                "auth", f"HTTP 401 for {strip_query(response.url)}: refresh the OAuth access token"
            )
        return Verdict("error", f"HTTP {status} for {strip_query(response.url)}")

    # -- parse ----------------------------------------------------------------------------------

    @classmethod
    def parse(cls, response: ArchivedResponse) -> ParseResult:
        if is_media(response):
            return ParseResult()  # a thumbnail: its item comes from the video that shows it
        if not 200 <= response.status < 300 and not _looks_json(response):
            return ParseResult()
        payload, failed = read_json_object(response)
        if failed is not None:
            return failed
        if isinstance(payload.get("error"), dict):
            return ParseResult()  # an API error object: classify reported it; no items
        resource = urlsplit(response.url).path.rstrip("/").rsplit("/", 1)[-1]
        query = dict(parse_qsl(urlsplit(response.url).query))
        builder = _Builder()
        parent = query.get("parentId")

        def reply(raw: Any, where: str) -> None:
            builder.comment(raw, where, parent=parent, root=None)

        readers: dict[str, Callable[[Any, str], None]] = {
            "channels": builder.channel,
            "playlistItems": builder.playlist_item,
            "videos": builder.video,
            "commentThreads": builder.thread,
            "comments": reply,
        }
        add = readers.get(resource)
        if add is None:
            return ParseResult.failed(f"unknown YouTube API path {urlsplit(response.url).path}")
        items = payload.get("items")
        if not isinstance(items, list):
            return ParseResult.failed(f"{resource} response has no 'items' list")
        for index, raw in enumerate(items):
            add(raw, f"items[{index}]")
        return builder.result()


# -- capture helpers ----------------------------------------------------------------------------


class _Walk(PageWalk):
    """Follows ``nextPageToken`` from a first request, attributing every page to one listing."""

    def run(self, url: str, params: Mapping[str, Any]) -> bool:
        """Fetch ``url`` and every page after it; False if the walk stopped early."""
        tokens: set[str] = set()
        token: str | None = None
        while True:
            fetched = self.fetch_page(url, {**params, "pageToken": token} if token else dict(params))
            if fetched is None:
                return False
            try:
                body = fetched.json()
            except (ValueError, HPArchiveError):
                self.incomplete(f"page {self.pages} is not readable JSON, so it has no nextPageToken")
                return False
            following = body.get("nextPageToken") if isinstance(body, dict) else None
            if following is None or (isinstance(body, dict) and isinstance(body.get("error"), dict)):
                return True
            if not isinstance(following, str) or not following:
                self.incomplete(f"page {self.pages} has a nextPageToken that is not a token")
                return False
            if following in tokens:
                self.incomplete(f"page {self.pages}: nextPageToken repeats an earlier page")
                return False
            tokens.add(following)
            token = following


@dataclass
class _Collected(ListingItems):
    """What the pages of one listing named: videos (posts), downloads, playlist entries, long threads."""

    playlist: dict[str, datetime | None] = field(default_factory=dict)  # video id -> published
    partial_threads: dict[str, None] = field(default_factory=dict)
    comments_disabled: bool = False

    def add(self, fetched: Fetched) -> None:
        super().add(fetched)
        try:
            body = as_dict(fetched.json())
        except (ValueError, HPArchiveError):
            return
        error = as_dict(body.get("error"))
        if any(as_dict(e).get("reason") == COMMENTS_DISABLED for e in as_list(error.get("errors"))):
            self.comments_disabled = True
        for entry in as_list(body.get("items")):
            raw = as_dict(entry)
            if raw.get("kind") == "youtube#playlistItem":
                details = as_dict(raw.get("contentDetails"))
                video_id = as_str(details.get("videoId")) or as_str(
                    as_dict(as_dict(raw.get("snippet")).get("resourceId")).get("videoId")
                )
                if video_id:
                    self.playlist.setdefault(video_id, parse_time(details.get("videoPublishedAt")))
            elif raw.get("kind") == "youtube#commentThread":
                snippet = as_dict(raw.get("snippet"))
                inline = as_list(as_dict(raw.get("replies")).get("comments"))
                total = snippet.get("totalReplyCount")
                thread_id = as_str(raw.get("id"))
                if thread_id and isinstance(total, int) and total > len(inline):
                    self.partial_threads.setdefault(thread_id, None)


# -- parsing helpers ----------------------------------------------------------------------------


class _Builder(ItemsBuilder):
    """Accumulates items and the reasons anything was left out, for one response."""

    def result(self) -> ParseResult:
        items = drop_reply_cycles(self.items, self.unparsed)
        return ParseResult(items=tuple(items), unparsed=tuple(self.unparsed))

    def _resource(self, raw: Any, where: str, kind: str, *, needs_id: bool = True) -> dict[str, Any] | None:
        if not isinstance(raw, dict):
            self.unparsed.append(f"{where}: unknown item type ({type_name(raw)}), not a resource")
            return None
        if raw.get("kind") not in (kind, None):
            self.unparsed.append(f"{where}: unknown item type {raw.get('kind')!r}, expected {kind}")
            return None
        if not as_str(raw.get("id")):
            self.unparsed.append(f"{where}: {kind} without an id")
            if needs_id:
                return None
        return raw

    def channel(self, raw: Any, where: str) -> None:
        resource = self._resource(raw, where, "youtube#channel")
        if resource is None:
            return
        channel_id = str(resource["id"])
        snippet = as_dict(resource.get("snippet"))
        title = as_str(snippet.get("title"))
        custom = as_str(snippet.get("customUrl"))
        self.items.append(
            ParsedItem(
                native_id=channel_id,
                kind=KIND_PAGE,
                text=text_of([title, as_str(snippet.get("description"))]),
                content={
                    "title": title,
                    "description": as_str(snippet.get("description")),
                    "custom_url": custom,
                },
                author_id=channel_id,
                author_name=title,
                author_is_agency=True,
                created_at=self._time(snippet, "publishedAt", f"channel {channel_id}"),
                url=f"https://www.youtube.com/{custom}"
                if custom
                else f"https://www.youtube.com/channel/{channel_id}",
                extra=pick(as_dict(resource.get("contentDetails")), ("relatedPlaylists",)),
            )
        )

    def playlist_item(self, raw: Any, where: str) -> None:
        """Playlist entries only point at videos; the items come from ``videos.list``."""
        if not isinstance(raw, dict) or raw.get("kind") not in ("youtube#playlistItem", None):
            found = raw.get("kind") if isinstance(raw, dict) else type_name(raw)
            self.unparsed.append(f"{where}: unknown item type {found!r}, not a playlist item")
            return
        details = as_dict(raw.get("contentDetails"))
        resource = as_dict(as_dict(raw.get("snippet")).get("resourceId"))
        if resource and resource.get("kind") not in ("youtube#video", None):
            self.unparsed.append(f"{where}: playlist entry of unknown type {resource.get('kind')!r}")
        elif not (as_str(details.get("videoId")) or as_str(resource.get("videoId"))):
            self.unparsed.append(f"{where}: playlist entry without a videoId")

    def video(self, raw: Any, where: str) -> None:
        resource = self._resource(raw, where, "youtube#video")
        if resource is None:
            return
        video_id = str(resource["id"])
        label = f"video {video_id}"
        snippet = as_dict(resource.get("snippet"))
        status = as_dict(resource.get("status"))
        title = self._text(snippet, "title", label)
        description = self._text(snippet, "description", label)
        channel_id = as_str(snippet.get("channelId"))
        channel_title = as_str(snippet.get("channelTitle"))
        created = self._time(snippet, "publishedAt", label)
        privacy = as_str(status.get("privacyStatus"))
        tags = [t for t in as_list(snippet.get("tags")) if isinstance(t, str)]
        self.items.append(
            ParsedItem(
                native_id=video_id,
                kind=KIND_POST,
                text=text_of([title, description]),
                content={"title": title, "description": description, "tags": tags},
                author_id=channel_id,
                author_name=channel_title,
                author_is_agency=True,  # the uploads playlist holds only the channel's own videos
                created_at=created,
                # "hidden" = not visible to the public; unlisted videos are, to anyone with the link
                hidden=None if privacy is None else privacy == "private",
                url=f"https://www.youtube.com/watch?v={video_id}",
                extra={
                    "statistics": as_dict(resource.get("statistics")),
                    "status": status,
                    **pick(snippet, ("categoryId", "liveBroadcastContent", "defaultLanguage")),
                },
            )
        )
        thumbnails = as_dict(snippet.get("thumbnails"))
        size = next((s for s in THUMBNAIL_SIZES if as_str(as_dict(thumbnails.get(s)).get("url"))), None)
        if size is None:
            return
        chosen = as_dict(thumbnails[size])
        self.items.append(
            ParsedItem(
                native_id=thumbnail_key(video_id),
                kind=KIND_MEDIA,
                text=title or "",
                content={"video_id": video_id, "role": "thumbnail"},
                parent_native_id=video_id,
                root_native_id=video_id,
                author_id=channel_id,
                author_name=channel_title,
                author_is_agency=True,
                created_at=created,
                url=f"https://www.youtube.com/watch?v={video_id}",
                media_url=as_str(chosen.get("url")),
                extra={"size": size, **pick(chosen, ("width", "height"))},
            )
        )

    def thread(self, raw: Any, where: str) -> None:
        # the comments in a thread carry their own ids: a thread without one still yields them
        resource = self._resource(raw, where, "youtube#commentThread", needs_id=False)
        if resource is None:
            return
        snippet = as_dict(resource.get("snippet"))
        video_id = as_str(snippet.get("videoId"))
        channel_id = as_str(snippet.get("channelId"))
        top = snippet.get("topLevelComment")
        extra = pick(snippet, ("totalReplyCount", "canReply", "isPublic"))
        self.comment(
            top, f"{where} topLevelComment", parent=video_id, root=video_id, channel=channel_id, extra=extra
        )
        top_id = as_str(as_dict(top).get("id"))
        for index, reply in enumerate(as_list(as_dict(resource.get("replies")).get("comments"))):
            self.comment(reply, f"{where} replies[{index}]", parent=top_id, root=video_id, channel=channel_id)

    def comment(
        self,
        raw: Any,
        where: str,
        *,
        parent: str | None,
        root: str | None,
        channel: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        resource = self._resource(raw, where, "youtube#comment")
        if resource is None:
            return
        comment_id = str(resource["id"])
        label = f"comment {comment_id}"
        snippet = as_dict(resource.get("snippet"))
        declared = as_str(snippet.get("parentId"))
        parent = declared or parent
        if parent is None and "." in comment_id:
            parent = comment_id.split(".", 1)[0]  # reply ids are "{parent id}.{reply}" [rec]
        channel = as_str(snippet.get("channelId")) or channel
        author_channel = as_str(as_dict(snippet.get("authorChannelId")).get("value"))
        # textDisplay is what viewers see (plain text when asked for); textOriginal is returned
        # only where the API guarantees it (the author's own comments) [notes §3]
        text = self._text(snippet, "textDisplay", label)
        if text is None:
            text = self._text(snippet, "textOriginal", label)
        published = self._time(snippet, "publishedAt", label)
        updated = self._time(snippet, "updatedAt", label)
        moderation = as_str(snippet.get("moderationStatus"))
        self.items.append(
            ParsedItem(
                native_id=comment_id,
                kind=KIND_REPLY if declared or parent != root else KIND_COMMENT,
                text=text or "",
                content={"text": text},
                parent_native_id=parent,
                root_native_id=root,
                author_id=author_channel,
                author_name=as_str(snippet.get("authorDisplayName")),
                author_is_agency=author_channel is not None and author_channel == channel,
                created_at=published,
                edited_at=updated
                if updated is not None and published is not None and updated > published
                else None,
                hidden=None if moderation is None else moderation != "published",
                url=f"https://www.youtube.com/watch?v={root}&lc={comment_id}" if root else None,
                extra={
                    **pick(
                        snippet, ("likeCount", "moderationStatus", "viewerRating", "canRate", "updatedAt")
                    ),
                    **(extra or {}),
                },
            )
        )


def thumbnail_key(video_id: str) -> str:
    """The stable key of a video's thumbnail: ``{video id}:thumbnail``.

    Thumbnail URLs do not change when the owner uploads a new thumbnail, so a replaced one is not
    fetched again (NOT FOUND: any signal in the API that it changed) [notes §2].
    """
    return f"{video_id}:thumbnail"


def _next_quota_reset(moment: datetime) -> datetime:
    """The next midnight in Pacific time after ``moment``, in UTC.

    Without time-zone data the reset is taken as 08:00 UTC (midnight PST), which is at or after
    the real reset all year, so a wait computed from it is never too short.
    """
    try:
        zone = ZoneInfo(QUOTA_TIMEZONE)
    except ZoneInfoNotFoundError:
        shifted = moment.astimezone(UTC) - timedelta(hours=8)
        midnight = datetime(shifted.year, shifted.month, shifted.day, tzinfo=UTC)
        return midnight + timedelta(days=1, hours=8)
    local = moment.astimezone(zone)
    tomorrow = (local + timedelta(days=1)).date()
    return datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=zone).astimezone(UTC)


# -- classify helpers ---------------------------------------------------------------------------


def _api_error(response: ArchivedResponse) -> dict[str, Any] | None:
    payload = json_body(response) if _looks_json(response) else None
    error = payload.get("error") if isinstance(payload, dict) else None
    return error if isinstance(error, dict) else None


def _looks_json(response: ArchivedResponse) -> bool:
    return response.message.content_type == "application/json" or body_looks_json(response)


def _plain(message: str) -> str:
    """An API message without its HTML (``<code><a href=…>videoId</a></code>``)."""
    return " ".join(re.sub(r"<[^>]+>", "", message).split())[:300]
