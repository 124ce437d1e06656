"""The X API v2 simulator over real HTTP on loopback, read with the recording client."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hp_archive.settings import Account
from hp_archive.sources.base import ArchivedResponse
from hp_archive.sources.http import Exchange, RecordingHTTPClient
from hp_archive.sources.simulators.base import Fault, SimulatorServer
from hp_archive.sources.simulators.scenario import Scenario, SimComment
from hp_archive.sources.simulators.x import XApiSimulator
from hp_archive.sources.x import EXPANSIONS, MEDIA_FIELDS, TWEET_FIELDS, USER_FIELDS, XSource

TOKEN = "AAAAAAAAAAAAAAAAAAAAAsimulatorTESTtoken0123456789"
AT = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
FULL = {
    "tweet.fields": TWEET_FIELDS,
    "expansions": EXPANSIONS,
    "media.fields": MEDIA_FIELDS,
    "user.fields": USER_FIELDS,
}


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

    def get(self, path: str, *, token: str | None = TOKEN, **params: Any) -> Reply:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        url = path if path.startswith("http") else f"{self.server.url}{path}"
        return Reply(self.client.get(url, params=params or None, headers=headers))

    def walk(self, path: str, cursor: str, **params: Any) -> list[Reply]:
        pages = [self.get(path, **params)]
        while "next_token" in pages[-1].json()["meta"]:
            pages.append(self.get(path, **{**params, cursor: pages[-1].json()["meta"]["next_token"]}))
            assert len(pages) < 100
        return pages


@pytest.fixture(scope="module")
def running() -> Iterator[SimulatorServer]:
    with SimulatorServer(XApiSimulator(Scenario.department(), valid_tokens={TOKEN})) as started:
        yield started


@pytest.fixture
def scenario() -> Scenario:
    return Scenario.department()


@pytest.fixture
def app(running: SimulatorServer, scenario: Scenario) -> Iterator[XApiSimulator]:
    assert isinstance(running.app, XApiSimulator)
    running.app.scenario = scenario
    running.clear_faults()
    yield running.app
    running.clear_faults()


@pytest.fixture
def api(running: SimulatorServer, app: XApiSimulator) -> Iterator[Api]:
    with RecordingHTTPClient(clock=lambda: AT) as client:
        yield Api(running, client)


def x_source() -> XSource:
    return XSource(Account(id="hppd-x", platform="x", handle="HanoverParkPD"))


# -- users ----------------------------------------------------------------------------------------


def test_user_by_username(api: Api, scenario: Scenario) -> None:
    reply = api.get(
        "/2/users/by/username/HanoverParkPD", **{"user.fields": "created_at,description,verified"}
    )

    assert reply.status == 200
    assert reply.header("Content-Type") == "application/json; charset=utf-8"
    assert reply.json()["data"] == {
        "created_at": "2011-03-02T15:04:05.000Z",
        "description": reply.json()["data"]["description"],
        "verified": True,
        "id": scenario.account.id,
        "name": "Hanover Park Police Department",
        "username": "HanoverParkPD",
    }
    assert reply.header("x-rate-limit-limit") == "300"
    assert int(reply.header("x-rate-limit-reset") or 0) > AT.timestamp()


def test_an_unknown_username_is_a_partial_error_and_a_bad_one_is_invalid(api: Api) -> None:
    missing = api.get("/2/users/by/username/nobody_here")
    invalid = api.get("/2/users/by/username/no-dashes-allowed")

    assert missing.status == 200
    assert missing.json()["errors"][0]["detail"] == "Could not find user with username: [nobody_here]."
    assert invalid.status == 400
    assert invalid.json()["type"] == "https://api.twitter.com/2/problems/invalid-request"


# -- the timeline ---------------------------------------------------------------------------------


def test_the_timeline_pages_newest_first_to_exhaustion(api: Api, scenario: Scenario) -> None:
    pages = api.walk(f"/2/users/{scenario.account.id}/tweets", "pagination_token", max_results=25)

    metas = [p.json()["meta"] for p in pages]
    ids = [t["id"] for p in pages for t in p.json()["data"]]
    assert ids == sorted(ids, key=int, reverse=True) and len(ids) == len(set(ids))
    assert sum(m["result_count"] for m in metas) == len(ids)
    agency_replies = sum(1 for _, c in scenario.iter_comments() if c.author_id == scenario.account.id)
    assert len(ids) == len(scenario.account.live_posts()) + agency_replies
    assert "previous_token" not in metas[0] and "previous_token" in metas[1]
    assert all(m["newest_id"] == p.json()["data"][0]["id"] for m, p in zip(metas, pages, strict=True))
    back = api.get(
        f"/2/users/{scenario.account.id}/tweets", max_results=25, pagination_token=metas[1]["previous_token"]
    )
    assert back.body == pages[0].body


def test_max_results_and_unknown_parameters_are_validated(api: Api, scenario: Scenario) -> None:
    path = f"/2/users/{scenario.account.id}/tweets"

    assert len(api.get(path).json()["data"]) == 10  # the default
    for bad in ({"max_results": 4}, {"max_results": 101}, {"foo": "bar"}, {"tweet.fields": "text,colour"}):
        reply = api.get(path, **bad)
        assert reply.status == 400, bad
        assert reply.header("Content-Type") == "application/problem+json"
        assert reply.json()["title"] == "Invalid Request"
        assert reply.json()["errors"][0]["parameters"]


def test_time_and_id_bounds_with_since_id_taking_precedence(
    api: Api, scenario: Scenario, app: XApiSimulator
) -> None:
    path = f"/2/users/{scenario.account.id}/tweets"
    everything = [t for p in api.walk(path, "pagination_token", max_results=100) for t in p.json()["data"]]
    middle = everything[len(everything) // 2]
    start = middle["id"]

    by_time = api.get(
        path, max_results=100, start_time="2026-10-20T00:00:00Z", end_time="2026-10-25T00:00:00Z",
        **{"tweet.fields": "created_at"},
    )  # fmt: skip
    by_id = api.get(path, max_results=100, since_id=start, start_time="2026-10-31T00:00:00Z")

    created = [t["created_at"] for t in by_time.json()["data"]]
    assert created and all("2026-10-20" <= c[:10] < "2026-10-25" for c in created)
    assert [t["id"] for t in by_id.json()["data"]] == [
        t["id"] for t in everything if int(t["id"]) > int(start)
    ]


def test_exclude_replies_leaves_the_posts(api: Api, scenario: Scenario) -> None:
    reply = api.get(
        f"/2/users/{scenario.account.id}/tweets",
        max_results=100,
        exclude="replies",
        **{"tweet.fields": "referenced_tweets"},
    )

    data = reply.json()["data"]
    assert len(data) == len(scenario.account.live_posts())
    assert all("referenced_tweets" not in t for t in data)


def test_fields_are_projected_and_defaults_always_come(api: Api, scenario: Scenario) -> None:
    bare = api.get(f"/2/users/{scenario.account.id}/tweets", max_results=5).json()["data"][0]
    full = api.get(f"/2/users/{scenario.account.id}/tweets", max_results=100, **FULL).json()

    assert list(bare) == ["edit_history_tweet_ids", "id", "text"]
    photo = next(t for t in full["data"] if "attachments" in t)
    assert photo["public_metrics"].keys() == {
        "retweet_count", "reply_count", "like_count", "quote_count", "bookmark_count", "impression_count",
    }  # fmt: skip
    media = {m["media_key"]: m for m in full["includes"]["media"]}
    key = photo["attachments"]["media_keys"][0]
    assert media[key]["type"] == "photo" and media[key]["url"].startswith("http://127.0.0.1:")
    assert photo["entities"]["urls"][0]["media_key"] == key
    assert {u["username"] for u in full["includes"]["users"]} >= {"HanoverParkPD"}


def test_the_timeline_reaches_only_the_3200_most_recent_posts(api: Api, app: XApiSimulator) -> None:
    app.scenario = Scenario.department(posts=3300, comments_per_post=0, days=400)
    pages = api.walk(f"/2/users/{app.scenario.account.id}/tweets", "pagination_token", max_results=100)

    assert sum(p.json()["meta"]["result_count"] for p in pages) == 3200


# -- conversations --------------------------------------------------------------------------------


def busiest(scenario: Scenario) -> Any:
    recent = [p for p in scenario.account.live_posts() if p.created > scenario.now() - timedelta(days=6)]
    return max(recent, key=lambda p: sum(1 + len(c.replies) for c in p.comments))


def test_recent_search_returns_the_conversation_with_nested_replies(
    api: Api, scenario: Scenario, app: XApiSimulator
) -> None:
    post = busiest(scenario)
    post.comments[0].hidden = True  # hidden replies are still served; X does not flag them
    conversation = app.stable_id(post.id)
    reply = api.get(
        "/2/tweets/search/recent", query=f"conversation_id:{conversation}", max_results=100, **FULL
    )

    data = reply.json()["data"]
    expected = 1 + sum(1 + len(c.replies) for c in post.comments)
    assert len(data) == expected
    assert {t["conversation_id"] for t in data} == {conversation}
    parents = {t["id"]: t["referenced_tweets"][0]["id"] for t in data if "referenced_tweets" in t}
    for comment in post.comments:
        assert parents[app.stable_id(comment.id)] == conversation
        for nested in comment.replies:
            assert parents[app.stable_id(nested.id)] == app.stable_id(comment.id)
    assert app.stable_id(post.comments[0].id) in parents
    assert {t["id"] for t in reply.json()["includes"]["tweets"]} <= {t["id"] for t in data}


def test_recent_search_refuses_a_start_older_than_seven_days(
    api: Api, scenario: Scenario, app: XApiSimulator
) -> None:
    conversation = app.stable_id(busiest(scenario).id)
    reply = api.get(
        "/2/tweets/search/recent", query=f"conversation_id:{conversation}", start_time="2026-10-20T00:00:00Z"
    )
    archive = api.get(
        "/2/tweets/search/all", query=f"conversation_id:{conversation}", start_time="2026-10-20T00:00:00Z"
    )

    assert reply.status == 400
    assert reply.json()["errors"][0]["message"] == (
        "Invalid 'start_time':'2026-10-20T00:00:00Z'. 'start_time' must be on or after 2026-10-25T08:00Z"
    )
    assert archive.status == 200


def test_a_deleted_reply_vanishes_and_its_answers_say_so(
    api: Api, scenario: Scenario, app: XApiSimulator
) -> None:
    post = busiest(scenario)
    parent = next(c for c in post.comments if c.replies)
    parent.deleted = True
    reply = api.get(
        "/2/tweets/search/recent", query=f"conversation_id:{app.stable_id(post.id)}", max_results=100, **FULL
    )

    ids = {t["id"] for t in reply.json()["data"]}
    assert app.stable_id(parent.id) not in ids
    assert {app.stable_id(r.id) for r in parent.replies} <= ids
    (error,) = reply.json()["errors"]
    assert error["detail"] == f"Could not find tweet with referenced_tweets.id: [{app.stable_id(parent.id)}]."
    assert error["type"] == "https://api.twitter.com/2/problems/resource-not-found"


def test_an_edit_makes_a_new_id_and_answers_keep_pointing_at_the_version_they_saw(
    api: Api, scenario: Scenario, app: XApiSimulator
) -> None:
    post = busiest(scenario)
    comment: SimComment = next(c for c in post.comments if c.replies)
    old_text = comment.text
    comment.history.append((scenario.now() - timedelta(hours=1), old_text))
    comment.text = old_text + " [edited]"
    reply = api.get(
        "/2/tweets/search/recent", query=f"conversation_id:{app.stable_id(post.id)}", max_results=100, **FULL
    )

    data = {t["edit_history_tweet_ids"][0]: t for t in reply.json()["data"]}
    edited = data[app.stable_id(comment.id)]
    assert len(edited["edit_history_tweet_ids"]) == 2 and edited["id"] == edited["edit_history_tweet_ids"][1]
    assert edited["text"].endswith(" [edited]")
    answer = data[app.stable_id(comment.replies[0].id)]
    assert answer["referenced_tweets"] == [{"type": "replied_to", "id": app.stable_id(comment.id)}]
    old = next(t for t in reply.json()["includes"]["tweets"] if t["id"] == app.stable_id(comment.id))
    assert (
        old["text"].endswith(old_text) and old["edit_history_tweet_ids"] == edited["edit_history_tweet_ids"]
    )


# -- determinism, media, authentication, faults ---------------------------------------------------


def test_same_state_gives_byte_identical_json(api: Api, scenario: Scenario, app: XApiSimulator) -> None:
    path = f"/2/users/{scenario.account.id}/tweets"
    first = api.get(path, max_results=100, **FULL)
    scenario.night += 1  # a night passes with nothing changed
    again = api.get(path, max_results=100, **FULL)

    assert again.body == first.body
    assert again.header("x-rate-limit-reset") != first.header("x-rate-limit-reset")


def test_photos_are_served_without_a_token(api: Api, scenario: Scenario) -> None:
    page = api.get(f"/2/users/{scenario.account.id}/tweets", max_results=100, **FULL).json()
    url = page["includes"]["media"][0]["url"]
    media = {m.id: m for p in scenario.account.posts for m in p.media}

    photo = api.get(url, token=None)

    assert photo.status == 200 and photo.header("Content-Type") == "image/png"
    assert photo.body in {m.data for m in media.values()}
    assert api.get(url.replace("/media/", "/media/x"), token=None).status == 404


@pytest.mark.parametrize("token", [None, "AAAAAAAAAAAAAAAAAAAAAexpired"])
def test_a_missing_or_unknown_token_is_401(api: Api, scenario: Scenario, token: str | None) -> None:
    reply = api.get(f"/2/users/{scenario.account.id}/tweets", token=token)

    assert reply.status == 401
    assert reply.json() == {
        "title": "Unauthorized",
        "type": "about:blank",
        "status": 401,
        "detail": "Unauthorized",
    }
    assert x_source().classify(reply.archived()).action == "auth"


def test_rate_limit_fault_has_xs_shape(api: Api, scenario: Scenario) -> None:
    api.server.inject(Fault("429", path=r"/tweets", retry_after=90))
    reply = api.get(f"/2/users/{scenario.account.id}/tweets")

    assert reply.status == 429
    assert reply.json() == {
        "title": "Too Many Requests",
        "detail": "Too Many Requests",
        "type": "about:blank",
        "status": 429,
    }
    assert reply.header("x-rate-limit-remaining") == "0"
    assert reply.header("x-rate-limit-reset") == str(int(scenario.now().timestamp()) + 90)
    assert reply.header("Retry-After") is None  # X documents none
    verdict = x_source().classify(reply.archived())
    assert (verdict.action, verdict.retry_after) == ("rate-limited", 90.0)
    assert api.get(f"/2/users/{scenario.account.id}/tweets").status == 200


@pytest.mark.parametrize(("status", "title"), [(500, "Internal Server Error"), (503, "Service Unavailable")])
def test_server_error_faults(api: Api, scenario: Scenario, status: int, title: str) -> None:
    api.server.inject(Fault(str(status)))
    reply = api.get(f"/2/users/{scenario.account.id}/tweets")

    assert reply.status == status
    assert reply.json() == {"title": title, "detail": title, "type": "about:blank", "status": status}
    assert x_source().classify(reply.archived()).action == "retry"


def test_expired_token_fault(api: Api, scenario: Scenario) -> None:
    api.server.inject(Fault("expired-token"))
    reply = api.get(f"/2/users/{scenario.account.id}/tweets")

    assert reply.status == 401
    assert x_source().classify(reply.archived()).action == "auth"


def test_malformed_fault_is_retried_and_unparsed(api: Api, scenario: Scenario) -> None:
    api.server.inject(Fault("malformed"))
    reply = api.get(f"/2/users/{scenario.account.id}/tweets")

    assert reply.status == 200
    assert x_source().classify(reply.archived()).action == "retry"
    assert XSource.parse(reply.archived()).unparsed[0].startswith("malformed JSON")
