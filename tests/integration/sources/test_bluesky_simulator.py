"""The Bluesky AppView simulator over real HTTP on loopback, read with the recording client."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hp_archive.settings import Account
from hp_archive.sources.base import ArchivedResponse
from hp_archive.sources.bluesky import BlueskySource
from hp_archive.sources.http import Exchange, RecordingHTTPClient
from hp_archive.sources.simulators.base import Fault, SimulatorServer
from hp_archive.sources.simulators.bluesky import BlueskyAppViewSimulator
from hp_archive.sources.simulators.scenario import Scenario, SimPost

AT = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
SESSION = "eyJhbGciOiJFUzI1NksifQ.simulator-session.c2ln"
HANDLE = "hanoverparkpd.bsky.social"
NS = "app.bsky.feed.defs#"


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


class AppView:
    def __init__(self, server: SimulatorServer, client: RecordingHTTPClient) -> None:
        self.server = server
        self.client = client

    def get(self, method_or_url: str, *, token: str | None = None, **params: Any) -> Reply:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        url = method_or_url if method_or_url.startswith("http") else f"{self.server.url}/xrpc/{method_or_url}"
        return Reply(self.client.get(url, params=params or None, headers=headers))


@pytest.fixture(scope="module")
def running() -> Iterator[SimulatorServer]:
    with SimulatorServer(BlueskyAppViewSimulator(Scenario.department(), valid_tokens={SESSION})) as started:
        yield started


@pytest.fixture
def scenario() -> Scenario:
    return Scenario.department()


@pytest.fixture
def app(running: SimulatorServer, scenario: Scenario) -> Iterator[BlueskyAppViewSimulator]:
    assert isinstance(running.app, BlueskyAppViewSimulator)
    running.app.scenario = scenario
    running.clear_faults()
    yield running.app
    running.clear_faults()


@pytest.fixture
def appview(running: SimulatorServer, app: BlueskyAppViewSimulator) -> Iterator[AppView]:
    with RecordingHTTPClient(clock=lambda: AT) as client:
        yield AppView(running, client)


def source() -> BlueskySource:
    return BlueskySource(Account(id="hppd-bluesky", platform="bluesky", handle=HANDLE))


def busiest(scenario: Scenario) -> SimPost:
    return max(scenario.account.live_posts(), key=lambda p: sum(1 + len(c.replies) for c in p.comments))


def test_profile_by_handle_or_did(appview: AppView, app: BlueskyAppViewSimulator) -> None:
    by_handle = appview.get("app.bsky.actor.getProfile", actor=HANDLE)
    by_did = appview.get("app.bsky.actor.getProfile", actor=app.did)

    profile = by_handle.json()
    assert by_did.body == by_handle.body
    assert re.fullmatch(r"did:plc:[a-z2-7]{24}", profile["did"])
    assert (profile["handle"], profile["displayName"]) == (HANDLE, "Hanover Park Police Department")
    assert by_handle.header("RateLimit-Policy") == "3000;w=300"
    assert appview.get("app.bsky.actor.getProfile", actor="nobody.bsky.social").json() == {
        "error": "InvalidRequest",
        "message": "Profile not found",
    }


def test_the_author_feed_pages_by_cursor_newest_first(
    appview: AppView, scenario: Scenario, app: BlueskyAppViewSimulator
) -> None:
    pages = [appview.get("app.bsky.feed.getAuthorFeed", actor=app.did, limit=10)]
    while "cursor" in pages[-1].json():
        pages.append(
            appview.get(
                "app.bsky.feed.getAuthorFeed", actor=app.did, limit=10, cursor=pages[-1].json()["cursor"]
            )
        )

    entries = [e for p in pages for e in p.json()["feed"]]
    created = [e["post"]["record"]["createdAt"] for e in entries]
    assert created == sorted(created, reverse=True)
    agency_replies = sum(1 for _, c in scenario.iter_comments() if c.author_id == scenario.account.id)
    assert len(entries) == len(scenario.account.live_posts()) + agency_replies
    replies = [e for e in entries if "reply" in e]
    assert replies and all(e["reply"]["root"]["$type"] == NS + "postView" for e in replies)
    assert all(e["post"]["author"]["did"] == app.did for e in entries)


def test_feed_filters_and_limits(appview: AppView, scenario: Scenario, app: BlueskyAppViewSimulator) -> None:
    no_replies = appview.get(
        "app.bsky.feed.getAuthorFeed", actor=app.did, limit=100, filter="posts_no_replies"
    )
    media = appview.get("app.bsky.feed.getAuthorFeed", actor=app.did, limit=100, filter="posts_with_media")

    assert len(no_replies.json()["feed"]) == len(scenario.account.live_posts())
    assert len(media.json()["feed"]) == sum(1 for p in scenario.account.live_posts() if p.media)
    assert len(appview.get("app.bsky.feed.getAuthorFeed", actor=app.did).json()["feed"]) == 50  # the default
    too_many = appview.get("app.bsky.feed.getAuthorFeed", actor=app.did, limit=101)
    assert (too_many.status, too_many.json()["error"]) == (400, "InvalidRequest")
    missing = appview.get("app.bsky.feed.getAuthorFeed")
    assert missing.json()["message"] == 'Error: Params must have the property "actor"'


def test_the_thread_nests_every_reply_and_names_hidden_ones(
    appview: AppView, scenario: Scenario, app: BlueskyAppViewSimulator
) -> None:
    post = busiest(scenario)
    hidden = post.comments[0]
    hidden.hidden = True
    reply = appview.get("app.bsky.feed.getPostThread", uri=app.uri_of(post.id), depth=1000, parentHeight=0)

    body = reply.json()
    thread = body["thread"]
    assert thread["$type"] == NS + "threadViewPost" and "parent" not in thread
    assert thread["post"]["threadgate"] == body["threadgate"]
    assert body["threadgate"]["record"]["hiddenReplies"] == [app.uri_of(hidden.id)]
    shown = {r["post"]["uri"]: r for r in thread["replies"]}
    assert set(shown) == {app.uri_of(c.id) for c in post.comments}  # hidden ones are still served
    for comment in post.comments:
        nested = shown[app.uri_of(comment.id)]
        assert {r["post"]["uri"] for r in nested["replies"]} == {app.uri_of(r.id) for r in comment.replies}
        record = nested["post"]["record"]
        assert record["reply"]["root"]["uri"] == record["reply"]["parent"]["uri"] == app.uri_of(post.id)
    assert thread["post"]["replyCount"] == len(post.comments)


def test_depth_limits_the_replies(appview: AppView, scenario: Scenario, app: BlueskyAppViewSimulator) -> None:
    post = busiest(scenario)
    reply = appview.get("app.bsky.feed.getPostThread", uri=app.uri_of(post.id), depth=1)

    assert all("replies" not in r for r in reply.json()["thread"]["replies"])
    assert appview.get("app.bsky.feed.getPostThread", uri=app.uri_of(post.id), depth=1001).status == 400


def test_a_reply_anchor_shows_its_parents(
    appview: AppView, scenario: Scenario, app: BlueskyAppViewSimulator
) -> None:
    post = busiest(scenario)
    comment = next(c for c in post.comments if c.replies)
    reply = appview.get("app.bsky.feed.getPostThread", uri=app.uri_of(comment.replies[0].id))

    thread = reply.json()["thread"]
    assert thread["parent"]["post"]["uri"] == app.uri_of(comment.id)
    assert thread["parent"]["parent"]["post"]["uri"] == app.uri_of(post.id)


def test_deleted_replies_vanish_with_their_subtree_and_a_deleted_root_is_not_found(
    appview: AppView, scenario: Scenario, app: BlueskyAppViewSimulator
) -> None:
    post = busiest(scenario)
    comment = next(c for c in post.comments if c.replies)
    comment.deleted = True
    thread = appview.get("app.bsky.feed.getPostThread", uri=app.uri_of(post.id), depth=1000).json()["thread"]

    uris = json.dumps(thread)
    assert app.uri_of(comment.id) not in uris
    assert all(app.uri_of(r.id) not in uris for r in comment.replies)

    post.deleted = True
    gone = appview.get("app.bsky.feed.getPostThread", uri=app.uri_of(post.id))
    assert (gone.status, gone.json()) == (
        400,
        {"error": "NotFound", "message": f"Post not found: {app.uri_of(post.id)}"},
    )
    assert source().classify(gone.archived()).action == "error"


def test_an_edit_is_a_new_cid_for_the_same_uri(
    appview: AppView, scenario: Scenario, app: BlueskyAppViewSimulator
) -> None:
    post = busiest(scenario)
    comment = post.comments[0]

    def view() -> dict[str, Any]:
        thread = appview.get("app.bsky.feed.getPostThread", uri=app.uri_of(post.id), depth=1000).json()[
            "thread"
        ]
        return next(r["post"] for r in thread["replies"] if r["post"]["uri"] == app.uri_of(comment.id))

    before = view()
    comment.history.append((scenario.now() - timedelta(hours=1), comment.text))
    comment.text += " [edited]"
    after = view()

    assert before["uri"] == after["uri"] and before["cid"] != after["cid"]
    assert after["record"]["createdAt"] == before["record"]["createdAt"]
    assert after["record"]["text"].endswith(" [edited]")


def test_images_are_served_by_blob_cid(
    appview: AppView, scenario: Scenario, app: BlueskyAppViewSimulator
) -> None:
    post = next(p for p in scenario.account.live_posts() if p.media)
    feed = appview.get("app.bsky.feed.getAuthorFeed", actor=app.did, limit=100).json()["feed"]
    view = next(e["post"] for e in feed if e["post"]["uri"] == app.uri_of(post.id))

    image = view["embed"]["images"][0]
    blob = view["record"]["embed"]["images"][0]["image"]["ref"]["$link"]
    assert image["fullsize"].endswith(f"/{blob}@png") and "/feed_fullsize/plain/" in image["fullsize"]
    served = appview.get(image["fullsize"])
    assert (served.status, served.header("Content-Type"), served.body) == (
        200,
        "image/png",
        post.media[0].data,
    )
    assert appview.get(image["thumb"]).body == post.media[0].data


def test_same_state_gives_byte_identical_json(
    appview: AppView, scenario: Scenario, app: BlueskyAppViewSimulator
) -> None:
    post = busiest(scenario)
    first = appview.get("app.bsky.feed.getPostThread", uri=app.uri_of(post.id), depth=1000)
    scenario.night += 1
    again = appview.get("app.bsky.feed.getPostThread", uri=app.uri_of(post.id), depth=1000)

    assert again.body == first.body


def test_a_token_is_optional_but_a_bad_one_is_refused(appview: AppView, app: BlueskyAppViewSimulator) -> None:
    assert appview.get("app.bsky.actor.getProfile", actor=HANDLE, token=SESSION).status == 200
    refused = appview.get("app.bsky.actor.getProfile", actor=HANDLE, token="eyJexpired")

    assert (refused.status, refused.json()) == (
        400,
        {"error": "ExpiredToken", "message": "Token has expired"},
    )
    assert source().classify(refused.archived()).action == "auth"


def test_unknown_methods_are_not_implemented(appview: AppView) -> None:
    reply = appview.get("app.bsky.feed.getLikes", uri="at://x")
    assert (reply.status, reply.json()["error"]) == (501, "MethodNotImplemented")


def test_rate_limit_fault_has_the_xrpc_shape(appview: AppView, scenario: Scenario) -> None:
    appview.server.inject(Fault("429", path="getProfile", retry_after=45))
    reply = appview.get("app.bsky.actor.getProfile", actor=HANDLE)

    assert (reply.status, reply.json()) == (
        429,
        {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
    )
    assert reply.header("RateLimit-Remaining") == "0"
    assert reply.header("RateLimit-Reset") == str(int(scenario.now().timestamp()) + 45)
    assert reply.header("Retry-After") == "45"
    verdict = source().classify(reply.archived())
    assert (verdict.action, verdict.retry_after) == ("rate-limited", 45.0)


@pytest.mark.parametrize(("status", "name"), [(500, "InternalServerError"), (503, "NotEnoughResources")])
def test_server_error_faults(appview: AppView, status: int, name: str) -> None:
    appview.server.inject(Fault(str(status)))
    reply = appview.get("app.bsky.actor.getProfile", actor=HANDLE)

    assert (reply.status, reply.json()["error"]) == (status, name)
    assert source().classify(reply.archived()).action == "retry"


def test_expired_token_and_malformed_faults(appview: AppView) -> None:
    appview.server.inject(Fault("expired-token"))
    appview.server.inject(Fault("malformed"))
    expired = appview.get("app.bsky.actor.getProfile", actor=HANDLE)
    malformed = appview.get("app.bsky.actor.getProfile", actor=HANDLE)

    assert source().classify(expired.archived()).action == "auth"
    assert source().classify(malformed.archived()).action == "retry"
    assert BlueskySource.parse(malformed.archived()).unparsed[0].startswith("malformed JSON")
