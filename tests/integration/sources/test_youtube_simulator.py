"""The YouTube Data API simulator over real HTTP on loopback, read with the recording client."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from hp_archive.settings import Account
from hp_archive.sources.base import ArchivedResponse
from hp_archive.sources.http import Exchange, RecordingHTTPClient
from hp_archive.sources.simulators.base import Fault, SimulatorServer
from hp_archive.sources.simulators.scenario import Scenario, SimPost
from hp_archive.sources.simulators.youtube import (
    YouTubeDataSimulator,
    channel_id_of,
    comment_id_of,
    description_of,
    reply_id_of,
    thumbnail_of,
    title_of,
    uploads_id_of,
    video_id_of,
)
from hp_archive.sources.youtube import YouTubeSource

TOKEN = "ya29.testOAUTHtoken0for0the0simulator01"
API_KEY = "AIzaSyTESTkey0for0the0simulator0000"
RECORDED_AT = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


@dataclass
class Reply:
    exchange: Exchange

    @property
    def status(self) -> int:
        return self.exchange.response.status

    def header(self, name: str) -> str | None:
        return self.exchange.response.header(name)

    @property
    def body(self) -> bytes:
        return self.exchange.response.body()

    def json(self) -> Any:
        return json.loads(self.body)

    def archived(self) -> ArchivedResponse:
        return ArchivedResponse(self.exchange.url, self.exchange.date, self.exchange.response)


class Api:
    def __init__(self, server: SimulatorServer, client: RecordingHTTPClient) -> None:
        self.server = server
        self.client = client

    def get(
        self, resource: str, *, token: str | None = TOKEN, key: str | None = None, **params: Any
    ) -> Reply:
        headers = {}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if key is not None:
            headers["X-Goog-Api-Key"] = key
        url = resource if resource.startswith("http") else f"{self.server.url}/youtube/v3/{resource}"
        return Reply(self.client.get(url, params=params or None, headers=headers))

    def walk(self, resource: str, **params: Any) -> list[Reply]:
        pages = [self.get(resource, **params)]
        while "nextPageToken" in pages[-1].json():
            pages.append(self.get(resource, **params, pageToken=pages[-1].json()["nextPageToken"]))
            assert len(pages) < 100
        return pages


@pytest.fixture(scope="module")
def running() -> Iterator[SimulatorServer]:
    app = YouTubeDataSimulator(Scenario.department(), valid_tokens={TOKEN}, api_keys={API_KEY})
    with SimulatorServer(app) as started:
        yield started


@pytest.fixture
def scenario() -> Scenario:
    return Scenario.department()


@pytest.fixture
def server(running: SimulatorServer, scenario: Scenario) -> Iterator[SimulatorServer]:
    app = running.app
    assert isinstance(app, YouTubeDataSimulator)
    app.scenario = scenario
    app.daily_quota, app.quota_used = None, 0
    running.clear_faults()
    yield running
    running.clear_faults()


@pytest.fixture
def api(server: SimulatorServer) -> Iterator[Api]:
    with RecordingHTTPClient(clock=lambda: RECORDED_AT) as client:
        yield Api(server, client)


def busiest(scenario: Scenario) -> SimPost:
    return max(scenario.account.live_posts(), key=lambda p: (len(p.live_comments()), p.id))


def test_channels_by_mine_handle_and_id(api: Api, scenario: Scenario) -> None:
    channel_id = channel_id_of(scenario.account)
    mine = api.get("channels", part="snippet,contentDetails", mine="true").json()
    by_handle = api.get("channels", part="id", forHandle="@HanoverParkPD").json()
    by_id = api.get("channels", part="contentDetails", id=channel_id).json()
    nobody = api.get("channels", part="id", id="UCnobody").json()

    assert mine["kind"] == "youtube#channelListResponse"
    (channel,) = mine["items"]
    assert (channel["id"], channel["snippet"]["customUrl"]) == (channel_id, "@hanoverparkpd")
    assert channel["contentDetails"]["relatedPlaylists"]["uploads"] == uploads_id_of(scenario.account)
    assert [c["id"] for c in by_handle["items"]] == [channel_id] == [c["id"] for c in by_id["items"]]
    assert "snippet" not in by_handle["items"][0]  # only the parts asked for
    assert nobody["items"] == [] and nobody["pageInfo"]["totalResults"] == 0


def test_uploads_are_newest_first_and_paged(api: Api, scenario: Scenario) -> None:
    pages = api.walk(
        "playlistItems", part="contentDetails", playlistId=uploads_id_of(scenario.account), maxResults=50
    )
    small = api.walk(
        "playlistItems", part="contentDetails", playlistId=uploads_id_of(scenario.account), maxResults=10
    )

    ids = [i["contentDetails"]["videoId"] for p in pages for i in p.json()["items"]]
    assert ids == [video_id_of(scenario, p) for p in scenario.account.live_posts()]
    assert [len(p.json()["items"]) for p in small] == [10, 10, 10, 6]
    assert [i["contentDetails"]["videoId"] for p in small for i in p.json()["items"]] == ids
    bad = api.get("playlistItems", part="id", playlistId="UUnothing").json()["error"]
    assert (bad["code"], bad["errors"][0]["reason"]) == (404, "playlistNotFound")


def test_videos_carry_metadata_and_thumbnails(api: Api, scenario: Scenario) -> None:
    posts = scenario.account.live_posts()[:3]
    ids = ",".join(video_id_of(scenario, p) for p in posts)
    items = api.get("videos", part="snippet,statistics,status", id=ids + ",nosuchvideo").json()["items"]

    assert [i["id"] for i in items] == [video_id_of(scenario, p) for p in posts]
    for item, post in zip(items, posts, strict=True):
        assert item["snippet"]["title"] == title_of(post) and len(item["snippet"]["title"]) <= 100
        assert "<" not in item["snippet"]["title"]
        assert item["snippet"]["description"] == description_of(post)
        assert "<" not in item["snippet"]["description"]
        assert item["status"]["privacyStatus"] == "public"
        thumb = api.get(item["snippet"]["thumbnails"]["high"]["url"], token=None)
        assert (thumb.status, thumb.body) == (200, thumbnail_of(scenario, post).data)
    too_many = api.get("videos", part="id", id=",".join(["x"] * 51)).json()["error"]
    assert too_many["errors"][0]["reason"] == "tooManyIds"


def test_threads_hide_held_comments_from_the_published_listing(api: Api, scenario: Scenario) -> None:
    post = busiest(scenario)
    held, other = post.live_comments()[0], post.live_comments()[1]
    held.hidden = True
    other.replies.append(scenario._new_comment(random.Random(1), other.created))
    other.replies[-1].hidden = True
    video = video_id_of(scenario, post)
    published = api.get(
        "commentThreads", part="snippet,replies", videoId=video, maxResults=100, textFormat="plainText"
    ).json()
    review = api.get(
        "commentThreads", part="snippet,replies", videoId=video, moderationStatus="heldForReview"
    ).json()

    published_ids = [t["id"] for t in published["items"]]
    assert comment_id_of(held) not in published_ids and comment_id_of(other) in published_ids
    assert {t["id"] for t in review["items"]} == {comment_id_of(held), comment_id_of(other)}
    thread = next(t for t in review["items"] if t["id"] == comment_id_of(other))
    statuses = {r["id"]: r["snippet"]["moderationStatus"] for r in thread["replies"]["comments"]}
    assert statuses[reply_id_of(other, other.replies[-1])] == "heldForReview"
    public_thread = next(t for t in published["items"] if t["id"] == comment_id_of(other))
    assert reply_id_of(other, other.replies[-1]) not in {
        r["id"] for r in public_thread.get("replies", {}).get("comments", [])
    }
    assert (
        api.get("commentThreads", part="id", videoId=video, moderationStatus="likelySpam").json()["items"]
        == []
    )


def test_text_formats_and_edits(api: Api, scenario: Scenario) -> None:
    post = busiest(scenario)
    comment = post.live_comments()[0]
    comment.text = "Line one <b>bold</b>\nline two"
    comment.edited_at = scenario.now()
    video = video_id_of(scenario, post)

    def top(text_format: str) -> dict[str, Any]:
        items = api.get(
            "commentThreads", part="snippet", videoId=video, maxResults=100, textFormat=text_format
        ).json()
        thread = next(t for t in items["items"] if t["id"] == comment_id_of(comment))
        snippet: dict[str, Any] = thread["snippet"]["topLevelComment"]["snippet"]
        return snippet

    assert top("plainText")["textDisplay"] == comment.text
    assert top("html")["textDisplay"] == "Line one &lt;b&gt;bold&lt;/b&gt;<br>line two"
    assert top("html")["textOriginal"] == comment.text
    assert top("plainText")["updatedAt"] > top("plainText")["publishedAt"]


def test_long_threads_inline_five_and_comments_list_has_all(api: Api, scenario: Scenario) -> None:
    post = busiest(scenario)
    comment = post.live_comments()[0]
    rng = random.Random(3)
    comment.replies.extend(scenario._new_comment(rng, comment.created) for _ in range(7))
    video = video_id_of(scenario, post)
    thread = next(
        t
        for t in api.get("commentThreads", part="snippet,replies", videoId=video, maxResults=100).json()[
            "items"
        ]
        if t["id"] == comment_id_of(comment)
    )
    replies = api.walk("comments", part="snippet", parentId=comment_id_of(comment), maxResults=3)

    assert thread["snippet"]["totalReplyCount"] == len(comment.live_replies()) > 5
    assert len(thread["replies"]["comments"]) == 5
    listed = [r for p in replies for r in p.json()["items"]]
    assert {r["id"] for r in listed} == {reply_id_of(comment, r) for r in comment.live_replies()}
    assert all(
        r["snippet"]["parentId"] == comment_id_of(comment) and "videoId" not in r["snippet"] for r in listed
    )


def test_disabled_comments_and_missing_videos(api: Api, scenario: Scenario) -> None:
    post = busiest(scenario)
    post.comments_disabled = True
    disabled = api.get("commentThreads", part="snippet", videoId=video_id_of(scenario, post))
    missing = api.get("commentThreads", part="snippet", videoId="nosuchvideo")

    assert disabled.status == 403 and disabled.json()["error"]["errors"][0]["reason"] == "commentsDisabled"
    assert missing.status == 404 and missing.json()["error"]["errors"][0]["reason"] == "videoNotFound"


def test_api_keys_read_public_data_only(api: Api, scenario: Scenario) -> None:
    video = video_id_of(scenario, busiest(scenario))
    public = api.get("commentThreads", token=None, key=API_KEY, part="snippet", videoId=video)
    held = api.get(
        "commentThreads",
        token=None,
        key=API_KEY,
        part="snippet",
        videoId=video,
        moderationStatus="heldForReview",
    )
    mine = api.get("channels", token=None, key=API_KEY, part="id", mine="true")
    bad_key = api.get("channels", token=None, key="AIzaWRONG", part="id", mine="true")

    assert public.status == 200
    assert all(
        "moderationStatus" not in t["snippet"]["topLevelComment"]["snippet"] for t in public.json()["items"]
    )
    assert held.status == 403 and held.json()["error"]["errors"][0]["reason"] == "forbidden"
    assert mine.status == 401 and mine.json()["error"]["errors"][0]["reason"] == "required"
    assert bad_key.status == 400


def test_quota_is_spent_until_the_next_night(api: Api, scenario: Scenario, server: SimulatorServer) -> None:
    app = server.app
    assert isinstance(app, YouTubeDataSimulator)
    app.daily_quota = 2
    assert api.get("channels", part="id", mine="true").status == 200
    assert api.get("channels", part="id", mine="true").status == 200
    spent = api.get("channels", part="id", mine="true")
    scenario.night += 1
    fresh = api.get("channels", part="id", mine="true")

    assert spent.status == 403
    assert spent.json()["error"]["errors"][0] == {
        "message": 'The request cannot be completed because you have exceeded your <a href="/youtube/v3/getting-started#quota">quota</a>.',
        "domain": "youtube.quota",
        "reason": "quotaExceeded",
    }
    assert fresh.status == 200


def test_injected_faults_have_google_shapes(api: Api, scenario: Scenario, server: SimulatorServer) -> None:
    server.inject(Fault("429", path=r"/channels", retry_after=30))
    server.inject(Fault("expired-token", path=r"/videos"))
    server.inject(Fault("503", path=r"/playlistItems"))
    limited = api.get("channels", part="id", mine="true")
    expired = api.get("videos", part="id", id="x")
    unavailable = api.get("playlistItems", part="id", playlistId=uploads_id_of(scenario.account))
    source = YouTubeSource(Account(id="hppd-youtube", platform="youtube", handle="mine"))

    assert (limited.status, limited.header("Retry-After")) == (429, "30")
    assert source.classify(limited.archived()).retry_after == 30.0
    assert expired.status == 401 and expired.json()["error"]["status"] == "UNAUTHENTICATED"
    assert source.classify(expired.archived()).action == "auth"
    assert unavailable.status == 503 and source.classify(unavailable.archived()).action == "retry"


def test_page_tokens_belong_to_their_query(api: Api, scenario: Scenario) -> None:
    first = api.get(
        "playlistItems", part="id", playlistId=uploads_id_of(scenario.account), maxResults=5
    ).json()
    reused = api.get("playlistItems", part="snippet", playlistId=uploads_id_of(scenario.account), maxResults=5,
                     pageToken=first["nextPageToken"])  # fmt: skip
    assert reused.json()["error"]["errors"][0]["reason"] == "invalidPageToken"


def test_the_same_state_gives_the_same_bytes(api: Api, scenario: Scenario) -> None:
    video = video_id_of(scenario, busiest(scenario))
    params = {"part": "snippet,replies", "videoId": video, "maxResults": 100, "textFormat": "plainText"}
    assert api.get("commentThreads", **params).body == api.get("commentThreads", **params).body
