"""A loopback YouTube Data API v3 for one channel, rendered from a :class:`Scenario`.

It follows docs/research/youtube.md: ``/youtube/v3/channels`` (``mine``, ``id``, ``forHandle``),
``playlistItems`` (the uploads playlist, newest first, ``pageToken``), ``videos`` (``id`` lists of
up to 50), ``commentThreads`` (``videoId``, ``moderationStatus``, ``textFormat``, ``order``, up to 100
a page, at most five replies inlined per thread) and ``comments`` (``parentId``); Google's error
objects (``{"error": {"code", "message", "errors": [{"domain", "reason"}], "status"}}``); an optional
daily quota that, once spent, answers ``403 quotaExceeded`` until the next night; and thumbnails
under ``/vi/{video id}/{size}.jpg`` on the same server.

How the platform-neutral scenario maps onto YouTube:

* a :class:`SimPost` is a video: its title is the post text cut to 100 characters and its
  description the post text, both without ``<``/``>`` (YouTube refuses them in titles and
  descriptions [3p]); its thumbnail is the post's first photo, or a picture generated from the
  seed for a post without one;
* :class:`SimComment` is a comment thread's top-level comment and its replies are the thread's
  replies; a ``hidden`` comment is ``heldForReview`` (the one hidden state the API can list), so
  it appears only to the owner and only in ``moderationStatus=heldForReview`` listings, and a
  thread is listed there if its top-level comment or any reply is held [doc];
* an edit shows the new text with ``updatedAt`` after ``publishedAt``;
* ``comments_disabled`` posts answer ``403 commentsDisabled``.

Everything is a function of the scenario state and the request: the same state gives
byte-identical JSON.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from hp_archive.sources.simulators.base import SimRequest, SimResponse, SimulatorApp
from hp_archive.sources.simulators.scenario import Scenario, SimAccount, SimComment, SimPost, png_bytes
from hp_archive.sources.simulators.support import iso_seconds

API_PREFIX = "/youtube/v3"
THUMBNAIL_PREFIX = "/vi/"
INLINE_REPLIES = 5  # "a limited number of replies" [doc]; five is what clients observe [3p]
# size -> (file name, width, height), as i.ytimg.com names them [rec]
_THUMBNAILS = {
    "default": ("default", 120, 90),
    "medium": ("mqdefault", 320, 180),
    "high": ("hqdefault", 480, 360),
    "standard": ("sddefault", 640, 480),
    "maxres": ("maxresdefault", 1280, 720),
}
_JSON_HEADERS = (
    ("Vary", "Origin"),
    ("Vary", "X-Origin"),
    ("Vary", "Referer"),
    ("Cache-Control", "private"),
    ("X-Content-Type-Options", "nosniff"),
)


def _b64(data: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data.encode()).digest()).decode().rstrip("=")


def channel_id_of(account: SimAccount) -> str:
    """The ``UC…`` channel id the simulator gives the scenario's account."""
    return "UC" + _b64(f"channel:{account.id}")[:22]


def uploads_id_of(account: SimAccount) -> str:
    """The channel's uploads playlist id (``UU`` + the channel id's tail)."""
    return "UU" + channel_id_of(account)[2:]


def video_id_of(scenario: Scenario, post: SimPost) -> str:
    """The 11-character video id of a scenario post."""
    return _b64(f"video:{scenario.seed}:{post.id}")[:11]


def comment_id_of(comment: SimComment) -> str:
    """The id of a top-level comment (and of its thread)."""
    return "Ug" + _b64(f"comment:{comment.id}")[:17] + "4AaABAg"


def reply_id_of(parent: SimComment, reply: SimComment) -> str:
    """A reply's id: ``{parent id}.{reply}``, as YouTube forms them."""
    return f"{comment_id_of(parent)}.{_b64(f'reply:{reply.id}')[:22]}"


def author_channel_of(author_id: str) -> str:
    return "UC" + _b64(f"author:{author_id}")[:22]


def title_of(post: SimPost) -> str:
    """A video title: the post text without ``<``/``>``, at most 100 characters."""
    return post.text.replace("<", "").replace(">", "")[:100].rstrip()


def description_of(post: SimPost) -> str:
    """A video description: the post text without ``<``/``>``, at most 5,000 characters."""
    return post.text.replace("<", "").replace(">", "")[:5000]


@dataclass(frozen=True)
class Thumbnail:
    data: bytes
    content_type: str
    width: int
    height: int


def thumbnail_of(scenario: Scenario, post: SimPost) -> Thumbnail:
    """A video's thumbnail: the post's first photo, else a picture generated from the seed."""
    if post.media:
        photo = post.media[0]
        return Thumbnail(photo.data, photo.content_type, photo.width, photo.height)
    return Thumbnail(png_bytes(scenario.seed * 1_000_033 + int(post.id), 64, 36), "image/png", 64, 36)


class ApiError(Exception):
    """A Google API error object, raised while answering a request."""

    def __init__(
        self,
        code: int,
        message: str,
        reason: str,
        *,
        domain: str = "global",
        status: str | None = None,
        location: str | None = None,
        location_type: str = "parameter",
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason
        self.domain = domain
        self.status = status
        self.location = location
        self.location_type = location_type

    def body(self) -> dict[str, Any]:
        detail: dict[str, Any] = {"message": self.message, "domain": self.domain, "reason": self.reason}
        if self.location is not None:
            detail["location"] = self.location
            detail["locationType"] = self.location_type
        error: dict[str, Any] = {"code": self.code, "message": self.message, "errors": [detail]}
        if self.status is not None:
            error["status"] = self.status
        return {"error": error}


@dataclass(frozen=True)
class _Call:
    request: SimRequest
    owner: bool  # an OAuth token of the channel's owner (else an API key: public data only)

    @property
    def host(self) -> str:
        return self.request.host

    def param(self, name: str, default: str | None = None) -> str | None:
        return self.request.query.get(name, default)


class YouTubeDataSimulator(SimulatorApp):
    """The YouTube Data API of the scenario's channel.

    ``valid_tokens`` are the owner's OAuth access tokens (sent as ``Authorization: Bearer``);
    ``api_keys`` read public data only (``X-Goog-Api-Key`` header or ``key=``). ``daily_quota``
    units (one per request) are allowed per scenario night; ``None`` is unlimited.
    """

    def __init__(
        self,
        scenario: Scenario,
        *,
        valid_tokens: Iterable[str],
        api_keys: Iterable[str] = (),
        daily_quota: int | None = None,
    ) -> None:
        super().__init__()
        self.scenario = scenario
        self.valid_tokens = set(valid_tokens)
        self.api_keys = set(api_keys)
        self.daily_quota = daily_quota
        self.quota_used = 0
        self._quota_night = scenario.night

    # -- the SimulatorApp hooks -----------------------------------------------------------------

    def handle(self, request: SimRequest) -> SimResponse:
        if request.path.startswith(THUMBNAIL_PREFIX):
            return self._thumbnail(request)
        try:
            call = self._authorize(request)
            self._charge()
            payload = self._route(call)
        except ApiError as error:
            return self._error(error)
        return SimResponse.json(
            200, payload, [("Content-Type", "application/json; charset=UTF-8"), *_JSON_HEADERS]
        )

    def auth_error(self, request: SimRequest) -> SimResponse:
        return self._error(
            ApiError(
                401,
                "Request had invalid authentication credentials. Expected OAuth 2 access token, login "
                "cookie or other valid authentication credential. See "
                "https://developers.google.com/identity/sign-in/web/devconsole-project.",
                "authError",
                status="UNAUTHENTICATED",
                location="Authorization",
                location_type="header",
            )
        )

    def rate_limit_error(self, request: SimRequest, retry_after: int) -> SimResponse:
        response = self._error(
            ApiError(
                429,
                "Rate Limit Exceeded",
                "rateLimitExceeded",
                domain="usageLimits",
                status="RESOURCE_EXHAUSTED",
            )
        )
        response.headers.append(("Retry-After", str(retry_after)))
        return response

    def server_error(self, request: SimRequest, status: int) -> SimResponse:
        if status == 503:
            error = ApiError(
                503, "The service is currently unavailable.", "backendError", status="UNAVAILABLE"
            )
        else:
            error = ApiError(status, "Internal error encountered.", "backendError", status="INTERNAL")
        return self._error(error)

    # -- authorization and quota ----------------------------------------------------------------

    def _authorize(self, request: SimRequest) -> _Call:
        if request.headers.get("authorization"):
            if request.bearer_token in self.valid_tokens:
                return _Call(request, owner=True)
            raise _auth_error()
        key = request.headers.get("x-goog-api-key") or request.query.get("key")
        if key:
            if key in self.api_keys:
                return _Call(request, owner=False)
            raise ApiError(
                400,
                "API key not valid. Please pass a valid API key.",
                "badRequest",
                status="INVALID_ARGUMENT",
            )
        raise ApiError(
            403,
            "Method doesn't allow unregistered callers (callers without established identity). Please "
            "use API Key or other form of API consumer identity to call this API.",
            "forbidden",
            status="PERMISSION_DENIED",
        )

    def _charge(self) -> None:
        if self.scenario.night != self._quota_night:  # midnight Pacific came between nights
            self._quota_night = self.scenario.night
            self.quota_used = 0
        if self.daily_quota is not None and self.quota_used >= self.daily_quota:
            raise ApiError(
                403,
                "The request cannot be completed because you have exceeded your "
                '<a href="/youtube/v3/getting-started#quota">quota</a>.',
                "quotaExceeded",
                domain="youtube.quota",
            )
        self.quota_used += 1

    # -- routing --------------------------------------------------------------------------------

    def _route(self, call: _Call) -> dict[str, Any]:
        path = call.request.path.rstrip("/")
        if not path.startswith(API_PREFIX + "/"):
            raise ApiError(404, "Not Found", "notFound")
        resource = path[len(API_PREFIX) + 1 :]
        parts = _parts(call)
        if resource == "channels":
            return self._channels(call, parts)
        if resource == "playlistItems":
            return self._playlist_items(call, parts)
        if resource == "videos":
            return self._videos(call, parts)
        if resource == "commentThreads":
            return self._comment_threads(call, parts)
        if resource == "comments":
            return self._comments(call, parts)
        raise ApiError(404, "Not Found", "notFound")

    def _channels(self, call: _Call, parts: set[str]) -> dict[str, Any]:
        account = self.scenario.account
        ours = False
        if call.param("mine") == "true":
            if not call.owner:
                raise ApiError(
                    401, "Login Required.", "required", status="UNAUTHENTICATED",
                    location="Authorization", location_type="header",
                )  # fmt: skip
            ours = True
        elif call.param("forHandle") is not None:
            handle = (call.param("forHandle") or "").lstrip("@").lower()
            ours = handle == account.handle.lower()
        elif call.param("id") is not None:
            ours = channel_id_of(account) in (call.param("id") or "").split(",")
        else:
            raise _missing_filter("channels")
        items = [self._channel(parts)] if ours else []
        return _list_response("youtube#channelListResponse", items, per_page=5)

    def _channel(self, parts: set[str]) -> dict[str, Any]:
        account = self.scenario.account
        channel_id = channel_id_of(account)
        resource: dict[str, Any] = {"kind": "youtube#channel", "etag": "", "id": channel_id}
        if "snippet" in parts:
            description = (
                f"Official channel of the {account.name}. Not monitored 24/7: call 911 in an emergency."
            )
            resource["snippet"] = {
                "title": account.name,
                "description": description,
                "customUrl": f"@{account.handle.lower()}",
                "publishedAt": iso_seconds(self.scenario.epoch.replace(year=self.scenario.epoch.year - 6)),
                "thumbnails": self._avatar(channel_id),
                "localized": {"title": account.name, "description": description},
                "country": "US",
            }
        if "contentDetails" in parts:
            resource["contentDetails"] = {
                "relatedPlaylists": {"likes": "", "uploads": uploads_id_of(account)}
            }
        if "statistics" in parts:
            resource["statistics"] = {
                "viewCount": str(sum(100 + 25 * p.share_count for p in account.live_posts())),
                "subscriberCount": "4200",
                "hiddenSubscriberCount": False,
                "videoCount": str(len(account.live_posts())),
            }
        return _with_etag(resource)

    def _playlist_items(self, call: _Call, parts: set[str]) -> dict[str, Any]:
        account = self.scenario.account
        playlist = call.param("playlistId")
        if playlist is None:
            raise _missing_filter("playlistItems")
        if playlist != uploads_id_of(account):
            raise ApiError(
                404,
                "The playlist identified with the request's <code>playlistId</code> parameter cannot be "
                "found.",
                "playlistNotFound",
                domain="youtube.playlistItem",
                location="playlistId",
            )
        posts = account.live_posts()  # newest first, like the uploads playlist [rec]
        items = [self._playlist_item(call, parts, index, post) for index, post in enumerate(posts)]
        return self._page(call, "youtube#playlistItemListResponse", items, default=5, maximum=50, minimum=0)

    def _playlist_item(self, call: _Call, parts: set[str], position: int, post: SimPost) -> dict[str, Any]:
        account = self.scenario.account
        video_id = video_id_of(self.scenario, post)
        uploads = uploads_id_of(account)
        item: dict[str, Any] = {
            "kind": "youtube#playlistItem",
            "etag": "",
            "id": _b64(f"{uploads}.{video_id}")[:48],
        }
        if "snippet" in parts:
            item["snippet"] = {
                "publishedAt": iso_seconds(post.created),
                "channelId": channel_id_of(account),
                "title": title_of(post),
                "description": description_of(post),
                "thumbnails": self._thumbnails(call, post),
                "channelTitle": account.name,
                "playlistId": uploads,
                "position": position,
                "resourceId": {"kind": "youtube#video", "videoId": video_id},
                "videoOwnerChannelTitle": account.name,
                "videoOwnerChannelId": channel_id_of(account),
            }
        if "contentDetails" in parts:
            item["contentDetails"] = {"videoId": video_id, "videoPublishedAt": iso_seconds(post.created)}
        if "status" in parts:
            item["status"] = {"privacyStatus": "public"}
        return _with_etag(item)

    def _videos(self, call: _Call, parts: set[str]) -> dict[str, Any]:
        ids = [i for i in (call.param("id") or "").split(",") if i]
        if not ids:
            raise _missing_filter("videos")
        if len(ids) > 50:
            raise ApiError(
                400,
                "The request specifies too many video IDs.",
                "tooManyIds",
                domain="youtube.video",
                location="id",
            )
        by_id = {video_id_of(self.scenario, p): p for p in self.scenario.account.live_posts()}
        items = [self._video(call, parts, by_id[i]) for i in ids if i in by_id]
        return _list_response("youtube#videoListResponse", items, per_page=len(items))

    def _video(self, call: _Call, parts: set[str], post: SimPost) -> dict[str, Any]:
        account = self.scenario.account
        resource: dict[str, Any] = {
            "kind": "youtube#video",
            "etag": "",
            "id": video_id_of(self.scenario, post),
        }
        if "snippet" in parts:
            title, description = title_of(post), description_of(post)
            resource["snippet"] = {
                "publishedAt": iso_seconds(post.created),
                "channelId": channel_id_of(account),
                "title": title,
                "description": description,
                "thumbnails": self._thumbnails(call, post),
                "channelTitle": account.name,
                "tags": ["police", account.handle],
                "categoryId": "25",
                "liveBroadcastContent": "none",
                "defaultLanguage": "en",
                "localized": {"title": title, "description": description},
                "defaultAudioLanguage": "en",
            }
        if "statistics" in parts:
            published = [c for c in post.live_comments() if not c.hidden]
            resource["statistics"] = {
                "viewCount": str(100 + 25 * post.share_count),
                "likeCount": str(post.share_count),
                "favoriteCount": "0",
                "commentCount": str(
                    sum(1 + len([r for r in c.live_replies() if not r.hidden]) for c in published)
                ),
            }
        if "status" in parts:
            resource["status"] = {
                "uploadStatus": "processed",
                "privacyStatus": "public",
                "license": "youtube",
                "embeddable": True,
                "publicStatsViewable": True,
                "madeForKids": False,
            }
        return _with_etag(resource)

    def _comment_threads(self, call: _Call, parts: set[str]) -> dict[str, Any]:
        video_id = call.param("videoId")
        if video_id is None:
            raise _missing_filter("commentThreads")
        post = next(
            (p for p in self.scenario.account.live_posts() if video_id_of(self.scenario, p) == video_id), None
        )
        if post is None:
            raise ApiError(
                404,
                'The video identified by the <code><a href="/youtube/v3/docs/commentThreads/list#videoId">'
                "videoId</a></code> parameter could not be found.",
                "videoNotFound",
                domain="youtube.commentThread",
                location="videoId",
            )
        status = call.param("moderationStatus", "published")
        if status not in ("published", "heldForReview", "likelySpam"):
            raise ApiError(
                400,
                f"Invalid value '{status}'. Values must match the following regular expression: "
                "'(heldForReview|likelySpam|published)'",
                "invalidParameter",
                location="moderationStatus",
            )
        if status != "published" and not call.owner:
            raise ApiError(
                403, "The request is not properly authorized.", "forbidden", domain="youtube.commentThread"
            )
        if post.comments_disabled:
            raise ApiError(
                403,
                'The video identified by the <code><a href="/youtube/v3/docs/commentThreads/list#videoId">'
                "videoId</a></code> parameter has disabled comments.",
                "commentsDisabled",
                domain="youtube.commentThread",
                location="videoId",
            )
        threads = []
        for comment in sorted(post.live_comments(), key=lambda c: (c.created, c.id), reverse=True):
            if status == "published":
                if comment.hidden:
                    continue
                replies = [r for r in comment.live_replies() if not r.hidden]
            elif status == "heldForReview":
                if not (comment.hidden or any(r.hidden for r in comment.live_replies())):
                    continue
                replies = comment.live_replies()
            else:
                continue  # nothing is classified as spam in a scenario
            threads.append(self._thread(call, parts, post, comment, replies))
        return self._page(call, "youtube#commentThreadListResponse", threads, default=20, maximum=100)

    def _thread(
        self, call: _Call, parts: set[str], post: SimPost, comment: SimComment, replies: list[SimComment]
    ) -> dict[str, Any]:
        video_id = video_id_of(self.scenario, post)
        thread: dict[str, Any] = {"kind": "youtube#commentThread", "etag": "", "id": comment_id_of(comment)}
        if "snippet" in parts:
            thread["snippet"] = {
                "channelId": channel_id_of(self.scenario.account),
                "videoId": video_id,
                "topLevelComment": self._comment(call, comment, None),
                "canReply": True,
                "totalReplyCount": len(replies),
                "isPublic": True,
            }
        newest = sorted(replies, key=lambda r: (r.created, r.id), reverse=True)[:INLINE_REPLIES]
        if "replies" in parts and newest:
            thread["replies"] = {"comments": [self._comment(call, r, comment) for r in newest]}
        return _with_etag(thread)

    def _comments(self, call: _Call, parts: set[str]) -> dict[str, Any]:
        parent_id = call.param("parentId")
        if parent_id is None:
            raise _missing_filter("comments")
        replies: list[dict[str, Any]] = []
        for post in self.scenario.account.live_posts():
            for comment in post.live_comments():
                if comment_id_of(comment) != parent_id:
                    continue
                # How held replies show in comments.list is NOT FOUND in the docs: the owner sees
                # them here with their moderationStatus, as in the held-for-review threads.
                live = [r for r in comment.live_replies() if call.owner or not r.hidden]
                for reply in sorted(live, key=lambda r: (r.created, r.id), reverse=True):
                    replies.append(self._comment(call, reply, comment))
        return self._page(call, "youtube#commentListResponse", replies, default=20, maximum=100)

    def _comment(self, call: _Call, comment: SimComment, parent: SimComment | None) -> dict[str, Any]:
        account = self.scenario.account
        by_account = comment.author_id == account.id
        author_channel = channel_id_of(account) if by_account else author_channel_of(comment.author_id)
        plain = call.param("textFormat", "html") == "plainText"
        text_display = comment.text if plain else html.escape(comment.text, quote=False).replace("\n", "<br>")
        snippet: dict[str, Any] = {
            "authorDisplayName": account.name if by_account else comment.author_name,
            "authorProfileImageUrl": f"{_avatar_base(author_channel)}=s48-c-k-c0x00ffffff-no-rj",
            "authorChannelUrl": f"http://www.youtube.com/channel/{author_channel}",
            "authorChannelId": {"value": author_channel},
            "channelId": channel_id_of(account),
            "textDisplay": text_display,
            "textOriginal": comment.text,
        }
        if parent is not None:
            snippet["parentId"] = comment_id_of(parent)
        snippet["canRate"] = True
        snippet["viewerRating"] = "none"
        snippet["likeCount"] = comment.like_count
        if call.owner:  # only for the owner of the channel [doc]
            snippet["moderationStatus"] = "heldForReview" if comment.hidden else "published"
        snippet["publishedAt"] = iso_seconds(comment.created)
        snippet["updatedAt"] = iso_seconds(comment.edited_at or comment.created)
        comment_id = comment_id_of(comment) if parent is None else reply_id_of(parent, comment)
        return _with_etag({"kind": "youtube#comment", "etag": "", "id": comment_id, "snippet": snippet})

    # -- paging ---------------------------------------------------------------------------------

    def _page(
        self,
        call: _Call,
        kind: str,
        items: list[dict[str, Any]],
        *,
        default: int,
        maximum: int,
        minimum: int = 1,
    ) -> dict[str, Any]:
        raw = call.param("maxResults")
        size = default
        if raw is not None:
            if not raw.isdigit() or not minimum <= int(raw) <= maximum:
                raise ApiError(
                    400,
                    f"Invalid value '{raw}'. Values must be within the range: [{minimum}, {maximum}]",
                    "invalidParameter",
                    location="maxResults",
                )
            size = int(raw)
        fingerprint = _fingerprint(call.request.query)
        token = call.param("pageToken")
        start = 0
        if token:
            start = _decode_token(token, fingerprint)
        window = items[start : start + size]
        out: dict[str, Any] = {"kind": kind, "etag": ""}
        if start + size < len(items):
            out["nextPageToken"] = _encode_token(start + size, fingerprint)
        if start > 0:
            out["prevPageToken"] = _encode_token(max(0, start - size), fingerprint)
        out["pageInfo"] = {"totalResults": len(items), "resultsPerPage": size}
        out["items"] = window
        out["etag"] = _b64(json.dumps(window, sort_keys=True))[:27]
        return out

    # -- thumbnails -----------------------------------------------------------------------------

    def _thumbnails(self, call: _Call, post: SimPost) -> dict[str, Any]:
        picture = thumbnail_of(self.scenario, post)
        video_id = video_id_of(self.scenario, post)
        out = {}
        for size, (name, width, height) in _THUMBNAILS.items():
            # sizes larger than the source exist only for large uploads [rec]
            if size in ("standard", "maxres") and picture.width < width:
                continue
            url = f"http://{call.host}{THUMBNAIL_PREFIX}{video_id}/{name}.jpg"
            out[size] = {"url": url, "width": width, "height": height}
        return out

    def _thumbnail(self, request: SimRequest) -> SimResponse:
        parts = request.path[len(THUMBNAIL_PREFIX) :].split("/")
        if len(parts) == 2 and parts[1].removesuffix(".jpg") in {n for n, _, _ in _THUMBNAILS.values()}:
            for post in self.scenario.account.live_posts():
                if video_id_of(self.scenario, post) == parts[0]:
                    picture = thumbnail_of(self.scenario, post)
                    return SimResponse(
                        200,
                        picture.data,
                        [("Content-Type", picture.content_type), ("Cache-Control", "public, max-age=7200")],
                    )
        return SimResponse(404, b"Not Found", [("Content-Type", "text/html; charset=UTF-8")])

    def _avatar(self, channel_id: str) -> dict[str, Any]:
        base = _avatar_base(channel_id)
        return {
            "default": {"url": f"{base}=s88-c-k-c0x00ffffff-no-rj", "width": 88, "height": 88},
            "medium": {"url": f"{base}=s240-c-k-c0x00ffffff-no-rj", "width": 240, "height": 240},
            "high": {"url": f"{base}=s800-c-k-c0x00ffffff-no-rj", "width": 800, "height": 800},
        }

    # -- responses ------------------------------------------------------------------------------

    def _error(self, error: ApiError) -> SimResponse:
        headers = [("Content-Type", "application/json; charset=UTF-8"), *_JSON_HEADERS]
        if error.code == 401:
            headers.append(
                ("WWW-Authenticate", 'Bearer realm="https://accounts.google.com/", error="invalid_token"')
            )
        return SimResponse.json(error.code, error.body(), headers)


# -- helpers ------------------------------------------------------------------------------------


def _auth_error() -> ApiError:
    return ApiError(
        401,
        "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie "
        "or other valid authentication credential. See "
        "https://developers.google.com/identity/sign-in/web/devconsole-project.",
        "authError",
        status="UNAUTHENTICATED",
        location="Authorization",
        location_type="header",
    )


def _avatar_base(channel_id: str) -> str:
    return f"https://yt3.ggpht.com/ytc/{_b64('avatar:' + channel_id)[:24]}"


def _parts(call: _Call) -> set[str]:
    raw = call.param("part")
    if not raw:
        raise ApiError(400, "No filter selected. Expected one of: part", "required", location="part")
    return {p.strip() for p in raw.split(",") if p.strip()}


def _missing_filter(resource: str) -> ApiError:
    return ApiError(
        400,
        f"No filter selected. Expected one of the filters documented for {resource}.list.",
        "missingRequiredParameter",
        domain="youtube.parameter",
    )


def _list_response(kind: str, items: list[dict[str, Any]], *, per_page: int) -> dict[str, Any]:
    return {
        "kind": kind,
        "etag": _b64(json.dumps(items, sort_keys=True))[:27],
        "pageInfo": {"totalResults": len(items), "resultsPerPage": per_page},
        "items": items,
    }


def _with_etag(resource: dict[str, Any]) -> dict[str, Any]:
    resource["etag"] = _b64(json.dumps(resource, sort_keys=True))[:27]
    return resource


def _fingerprint(query: Mapping[str, str]) -> str:
    stable = sorted((k, v) for k, v in query.items() if k not in ("pageToken", "key"))
    return _b64(json.dumps(stable))[:8]


def _encode_token(offset: int, fingerprint: str) -> str:
    return base64.urlsafe_b64encode(f"{fingerprint}:{offset}".encode()).decode().rstrip("=")


def _decode_token(token: str, fingerprint: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        owner, _, offset = raw.partition(":")
        if owner != fingerprint or not offset.isdigit():
            raise ValueError(token)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(
            400, "The request specifies an invalid page token.", "invalidPageToken", location="pageToken"
        ) from None
    return int(offset)
