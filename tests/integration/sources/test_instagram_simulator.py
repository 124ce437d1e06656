"""The Instagram Graph API simulator over real HTTP on loopback, read with the recording client."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from hp_archive.settings import Account
from hp_archive.sources.base import ArchivedResponse
from hp_archive.sources.http import Exchange, RecordingHTTPClient
from hp_archive.sources.instagram import InstagramSource
from hp_archive.sources.simulators.base import Fault, SimulatorServer
from hp_archive.sources.simulators.instagram import (
    InstagramGraphSimulator,
    comment_id_of,
    media_id_of,
    media_keys,
    media_shape,
)
from hp_archive.sources.simulators.scenario import Scenario, SimPost

TOKEN = "IGQVJtestTOKENfor0simulator0123456789"
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


class Graph:
    def __init__(self, server: SimulatorServer, client: RecordingHTTPClient) -> None:
        self.server = server
        self.client = client

    def get(self, path: str, *, token: str | None = TOKEN, via: str = "header", **params: Any) -> Reply:
        headers = {}
        if token is not None and via == "header":
            headers["Authorization"] = f"OAuth {token}"
        elif token is not None:
            params["access_token"] = token
        url = path if path.startswith("http") else f"{self.server.url}/v25.0{path}"
        return Reply(self.client.get(url, params=params or None, headers=headers))

    def walk(self, path: str, **params: Any) -> list[Reply]:
        pages = [self.get(path, **params)]
        while "next" in pages[-1].json().get("paging", {}):
            pages.append(self.get(pages[-1].json()["paging"]["next"]))
            assert len(pages) < 100
        return pages


@pytest.fixture(scope="module")
def running() -> Iterator[SimulatorServer]:
    with SimulatorServer(InstagramGraphSimulator(Scenario.department(), valid_tokens={TOKEN})) as started:
        yield started


@pytest.fixture
def scenario() -> Scenario:
    return Scenario.department()


@pytest.fixture
def server(running: SimulatorServer, scenario: Scenario) -> Iterator[SimulatorServer]:
    assert isinstance(running.app, InstagramGraphSimulator)
    running.app.scenario = scenario
    running.clear_faults()
    yield running
    running.clear_faults()


@pytest.fixture
def graph(server: SimulatorServer) -> Iterator[Graph]:
    with RecordingHTTPClient(clock=lambda: RECORDED_AT) as client:
        yield Graph(server, client)


def busiest(scenario: Scenario) -> SimPost:
    return max(scenario.account.live_posts(), key=lambda p: (len(p.live_comments()), p.id))


def test_the_user_node_and_default_fields(graph: Graph, scenario: Scenario) -> None:
    user = graph.get(f"/{scenario.account.id}", fields="id,username,name,media_count").json()
    bare = graph.get(f"/{scenario.account.id}").json()

    assert user == {
        "id": scenario.account.id,
        "username": "hanoverparkpd",
        "name": "Hanover Park Police Department",
        "media_count": 36,
    }
    assert bare == {"id": scenario.account.id}
    assert graph.get("/me", fields="username").json()["username"] == "hanoverparkpd"


def test_media_listing_is_newest_first_paged_and_time_bounded(graph: Graph, scenario: Scenario) -> None:
    pages = graph.walk(f"/{scenario.account.id}/media", fields="id,timestamp", limit=10)
    listed = [m["id"] for page in pages for m in page.json()["data"]]

    assert listed == [media_id_of(p) for p in scenario.account.live_posts()]
    assert [len(p.json()["data"]) for p in pages] == [10, 10, 10, 6]
    next_url = pages[0].json()["paging"]["next"]
    assert dict(parse_qsl(urlsplit(next_url).query))["fields"] == "id,timestamp"
    assert "access_token" not in next_url  # the header token is not echoed

    since = scenario.now() - timedelta(days=30)
    recent = graph.get(
        f"/{scenario.account.id}/media", fields="id", since=int(since.timestamp()), limit=100
    ).json()
    assert [m["id"] for m in recent["data"]] == [
        media_id_of(p) for p in scenario.account.live_posts() if p.created >= since
    ]


def test_media_shapes_follow_the_posts(graph: Graph, scenario: Scenario) -> None:
    fields = (
        "id,media_type,media_product_type,media_url,thumbnail_url,permalink,children{id,media_type,media_url}"
    )
    data = {
        m["id"]: m
        for m in graph.get(f"/{scenario.account.id}/media", fields=fields, limit=100).json()["data"]
    }

    for post in scenario.account.live_posts():
        media = data[media_id_of(post)]
        shape = media_shape(scenario, post)
        assert media["media_type"] == shape.media_type
        if shape.media_type == "CAROUSEL_ALBUM":
            assert [c["id"] for c in media["children"]["data"]] == [cid for cid, _ in shape.children]
        elif shape.media_type == "VIDEO":
            assert media["media_product_type"] == "REELS"
            assert media["permalink"].startswith("https://www.instagram.com/reel/")
            assert "thumbnail_url" in media
        else:
            assert "children" not in media and "thumbnail_url" not in media
    assert {m["media_type"] for m in data.values()} == {"IMAGE", "VIDEO", "CAROUSEL_ALBUM"}


def test_cdn_urls_are_re_signed_each_night_and_expire(
    graph: Graph, scenario: Scenario, server: SimulatorServer
) -> None:
    post = next(p for p in scenario.account.live_posts() if len(p.media) == 1)
    first = graph.get(f"/{media_id_of(post)}", fields="media_url").json()["media_url"]
    image = graph.get(first, token=None)
    assert (image.status, image.header("Content-Type"), image.body) == (200, "image/png", post.media[0].data)

    scenario.night += 1
    second = graph.get(f"/{media_id_of(post)}", fields="media_url").json()["media_url"]
    assert urlsplit(first).path == urlsplit(second).path and first != second
    assert graph.get(first, token=None).status == 200  # still within its lifetime

    scenario.night += 3
    assert (graph.get(first, token=None).status, graph.get(first, token=None).body) == (
        403,
        b"URL signature expired",
    )
    assert graph.get(first.replace("oh=00_", "oh=01_"), token=None).status == 403


def test_comments_are_top_level_newest_first_hidden_included(graph: Graph, scenario: Scenario) -> None:
    post = busiest(scenario)
    post.live_comments()[0].hidden = True
    fields = "id,text,hidden,timestamp,replies{id,parent_id}"
    pages = graph.walk(f"/{media_id_of(post)}/comments", fields=fields, limit=3)
    comments = [c for page in pages for c in page.json()["data"]]

    expected = sorted(post.live_comments(), key=lambda c: c.created, reverse=True)
    assert [c["id"] for c in comments] == [comment_id_of(c) for c in expected]
    assert [c["hidden"] for c in comments] == [c.hidden for c in expected]
    for raw, comment in zip(comments, expected, strict=True):
        replies = raw.get("replies", {}).get("data", [])
        assert [r["id"] for r in replies] == [
            comment_id_of(r) for r in sorted(comment.live_replies(), key=lambda r: r.created)
        ]
        assert all(r["parent_id"] == raw["id"] for r in replies)


def test_at_most_fifty_comments_a_page(graph: Graph, scenario: Scenario) -> None:
    post = busiest(scenario)
    while len(post.comments) < 60:
        post.comments.append(scenario._new_comment(random.Random(len(post.comments)), post.created))
    first = graph.get(f"/{media_id_of(post)}/comments", fields="id", limit=100).json()
    assert len(first["data"]) == 50 and "next" in first["paging"]


def test_nested_replies_page_on_through_the_replies_edge(graph: Graph, scenario: Scenario) -> None:
    post = busiest(scenario)
    comment = post.live_comments()[0]
    rng = random.Random(5)
    comment.replies.extend(scenario._new_comment(rng, comment.created) for _ in range(4))
    page = graph.get(f"/{media_id_of(post)}/comments", fields="id,replies.limit(2){id,text,parent_id}")
    raw = next(c for c in page.json()["data"] if c["id"] == comment_id_of(comment))

    assert len(raw["replies"]["data"]) == 2
    following = raw["replies"]["paging"]["next"]
    assert urlsplit(following).path == f"/v25.0/{comment_id_of(comment)}/replies"
    rest = graph.walk(following)
    ids = [r["id"] for r in raw["replies"]["data"]] + [r["id"] for p in rest for r in p.json()["data"]]
    assert ids == [comment_id_of(r) for r in sorted(comment.live_replies(), key=lambda r: r.created)]


def test_agency_comments_carry_user(graph: Graph, scenario: Scenario) -> None:
    fields = "id,user,from{id,username},replies{id,user,from{id,username}}"
    seen = {}
    for post in scenario.account.live_posts():
        for c in graph.get(f"/{media_id_of(post)}/comments", fields=fields, limit=50).json()["data"]:
            seen[c["id"]] = c
            for r in c.get("replies", {}).get("data", []):
                seen[r["id"]] = r
    agency = {comment_id_of(c) for _, c in scenario.iter_comments() if c.author_id == scenario.account.id}
    assert agency and {i for i, c in seen.items() if "user" in c} == agency
    assert all(seen[i]["from"]["username"] == "hanoverparkpd" for i in agency)


def test_deleted_objects_and_unknown_fields_are_graph_errors(graph: Graph, scenario: Scenario) -> None:
    post = busiest(scenario)
    post.deleted = True
    gone = graph.get(f"/{media_id_of(post)}/comments")
    unknown = graph.get(f"/{scenario.account.id}/media", fields="id,message")

    assert gone.status == 400
    assert gone.json()["error"]["code"] == 100 and gone.json()["error"]["error_subcode"] == 33
    assert gone.json()["error"]["type"] == "GraphMethodException"
    assert (
        unknown.json()["error"]["message"]
        == "(#100) Tried accessing nonexisting field (message) on node type (IGMedia)"
    )


def test_injected_faults_have_instagram_shapes(
    graph: Graph, scenario: Scenario, server: SimulatorServer
) -> None:
    server.inject(Fault("429", path=r"/media", retry_after=90))
    server.inject(Fault("expired-token", path=r"/comments"))
    server.inject(Fault("500", path=r"/me"))
    throttled = graph.get(f"/{scenario.account.id}/media")
    expired = graph.get(f"/{media_id_of(busiest(scenario))}/comments")
    broken = graph.get("/me")
    source = InstagramSource(Account(id="hppd-instagram", platform="instagram", handle=scenario.account.id))

    assert throttled.json()["error"]["code"] == 80002
    usage = json.loads(throttled.header("X-Business-Use-Case-Usage") or "{}")
    assert usage[scenario.account.id][0]["type"] == "instagram"
    assert usage[scenario.account.id][0]["estimated_time_to_regain_access"] == 2
    assert source.classify(throttled.archived()).retry_after == 120.0
    assert (expired.json()["error"]["code"], expired.json()["error"]["error_subcode"]) == (190, 463)
    assert source.classify(expired.archived()).action == "auth"
    assert (broken.status, broken.json()["error"]["is_transient"]) == (500, True)


def test_a_wrong_token_is_expired_and_a_query_token_is_echoed(graph: Graph, scenario: Scenario) -> None:
    wrong = graph.get(f"/{scenario.account.id}", token="IGQVJsomeoneELSE")
    echoed = graph.get(f"/{scenario.account.id}/media", via="query", limit=5).json()

    assert wrong.json()["error"]["code"] == 190
    assert f"access_token={TOKEN}" in echoed["paging"]["next"]


def test_the_same_state_gives_the_same_bytes(graph: Graph, scenario: Scenario) -> None:
    post = busiest(scenario)
    first = graph.get(f"/{media_id_of(post)}/comments", fields="id,text,replies{id,text}").body
    again = graph.get(f"/{media_id_of(post)}/comments", fields="id,text,replies{id,text}").body
    assert first == again
    assert media_keys(scenario, post)  # every post shows at least one file
