"""FacebookPagesSource.capture against the Graph API simulator, through the real run context.

These pin the request sequence of a first and a later night, the resume state, media downloaded
once, and how faults end (or do not end) a listing. Time is a FakeClock: retries never sleep.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from hp_archive.errors import AuthenticationError
from hp_archive.settings import Account, Secret
from hp_archive.sources.context import RetryPolicy, RunContext
from hp_archive.sources.facebook import COMMENT_FIELDS, POST_FIELDS, FacebookPagesSource
from hp_archive.sources.http import RecordingHTTPClient
from hp_archive.sources.simulators.base import Fault, SimRequest, SimResponse, SimulatorServer
from hp_archive.sources.simulators.facebook import FacebookGraphSimulator
from hp_archive.sources.simulators.scenario import Scenario
from hp_archive.warc.spool import SpoolWriter
from tests.support.clock import FakeClock

TOKEN = "EAAGcaptureTESTtoken0123456789abcdef"
PAGE_ID = "104857600000001"


class ScriptedGraph(FacebookGraphSimulator):
    """The simulator plus per-test meddling with its answers (wrong paging, mid-walk deletion)."""

    def __init__(self, scenario: Scenario) -> None:
        super().__init__(scenario, valid_tokens={TOKEN})
        self.rewrite_next: Any = None  # (request, next URL) -> replacement next URL
        self.after_posts: Any = None  # called once the posts listing has been answered

    def handle(self, request: SimRequest) -> SimResponse:
        response = super().handle(request)
        if request.path.endswith("/posts") and response.status == 200:
            if self.rewrite_next is not None:
                body = json.loads(response.body)
                if "next" in body.get("paging", {}):
                    body["paging"]["next"] = self.rewrite_next(request, body["paging"]["next"])
                response = SimResponse.json(200, body)
            if self.after_posts is not None:
                self.after_posts()
        return response


@pytest.fixture(scope="module")
def running() -> Iterator[SimulatorServer]:
    with SimulatorServer(ScriptedGraph(Scenario.department())) as started:
        yield started


@dataclass
class Night:
    ctx: RunContext
    requests: list[SimRequest]
    graph: list[SimRequest]
    cdn: list[SimRequest]
    spooled: bytes
    clock: FakeClock

    def posts_requests(self) -> list[SimRequest]:
        return [r for r in self.graph if r.path.endswith("/posts")]

    def comment_posts(self) -> list[str]:
        """The post ids whose comments were listed, in order (first page of each)."""
        return [
            r.path.split("/")[-2]
            for r in self.graph
            if r.path.endswith("/comments") and "after" not in r.query
        ]

    def listings(self) -> dict[str, dict[str, Any]]:
        return {state.scope: state.as_dict() for state in self.ctx.listings}


@dataclass
class World:
    server: SimulatorServer
    scenario: Scenario
    tmp_path: Path
    known_media: set[str] = field(default_factory=set)

    @property
    def app(self) -> ScriptedGraph:
        assert isinstance(self.server.app, ScriptedGraph)
        return self.server.app

    def account(self) -> Account:
        return Account(
            id="hppd-facebook",
            platform="facebook",
            handle=self.scenario.account.id,
            base_url=f"{self.server.url}/v25.0",
            token_env="HPPD_FB_TOKEN",
            lookback_days=30,
        )

    def capture(
        self, *, as_of: datetime, state: dict[str, Any] | None = None, max_pages: int | None = None
    ) -> Night:
        source = FacebookPagesSource(self.account())
        if max_pages is not None:
            source.max_pages = max_pages  # type: ignore[misc]
        clock = FakeClock(as_of)
        spool = SpoolWriter(
            self.tmp_path / f"spool-{len(list(self.tmp_path.iterdir()))}",
            run_id="run",
            account_id="hppd-facebook",
            warcinfo={},
            host="testhost",
            revisit_lookup=lambda _series, _digest: None,
            secrets=[TOKEN],
        )
        start = len(self.app.requests)
        with RecordingHTTPClient(clock=clock) as http:
            ctx = RunContext(
                source=source,
                account=source.account,
                as_of=as_of,
                state=state or {},
                token=Secret(TOKEN),
                http=http,
                spool=spool,
                sleep=clock.sleep,
                media_known=lambda key: key in self.known_media,
                retry=RetryPolicy(max_attempts=3, base_delay=1.0, budget=600.0),
            )
            try:
                source.capture(ctx)
            finally:
                files = spool.close(lambda _series: {}, clock())
        requests = self.app.requests[start:]
        return Night(
            ctx=ctx,
            requests=requests,
            graph=[r for r in requests if r.path.startswith("/v25.0/")],
            cdn=[r for r in requests if r.path.startswith("/cdn/")],
            spooled=b"".join(f.path.read_bytes() for f in files),
            clock=clock,
        )


@pytest.fixture
def world(running: SimulatorServer, tmp_path: Path) -> Iterator[World]:
    app = running.app
    assert isinstance(app, ScriptedGraph)
    app.scenario = Scenario.department()
    app.rewrite_next = app.after_posts = None
    running.clear_faults()
    yield World(running, app.scenario, tmp_path)
    running.clear_faults()


def live_media(scenario: Scenario, since: datetime | None = None) -> set[str]:
    keys = set()
    for post in scenario.account.live_posts():
        if since is not None and post.created < since:
            continue
        keys |= {m.id for m in post.media}
        for comment in post.live_comments():
            keys |= {c.media.id for c in (comment, *comment.live_replies()) if c.media is not None}
    return keys


def test_first_night_lists_everything_once(world: World) -> None:
    as_of = world.scenario.now()
    night = world.capture(as_of=as_of)

    page, posts = night.graph[0], night.posts_requests()
    assert page.path == f"/v25.0/{PAGE_ID}" and page.query == {"fields": "id,name,username,link"}
    assert len(posts) == 1
    assert posts[0].query == {
        "fields": POST_FIELDS,
        "limit": "100",
        "until": str(int(as_of.timestamp())),
    }
    live = [f"{PAGE_ID}_{p.id}" for p in world.scenario.account.live_posts()]
    assert night.comment_posts() == live
    comment_query = next(r.query for r in night.graph if r.path.endswith("/comments"))
    assert comment_query == {
        "fields": COMMENT_FIELDS,
        "filter": "stream",
        "order": "chronological",
        "summary": "true",
        "limit": "100",
    }

    for request in night.graph:
        assert request.headers["authorization"] == f"OAuth {TOKEN}"
        assert "access_token" not in request.query
    assert TOKEN.encode() not in night.spooled  # neither in requests (redacted) nor responses

    expected_media = live_media(world.scenario)
    assert {urlsplit(r.path).path.rsplit("/", 1)[1].split("_")[0] for r in night.cdn} == expected_media
    assert night.ctx.media["downloaded"] == len(expected_media) == len(night.cdn)
    assert night.ctx.new_state == {"posts_listed_until": as_of.isoformat()}
    assert night.ctx.failures == []
    assert all(listing["complete"] for listing in night.listings().values())
    assert len(night.listings()) == 1 + len(live)
    assert night.listings()[f"facebook:{PAGE_ID}/posts"]["since"] is None


def test_a_later_night_looks_back_from_where_it_stopped(world: World) -> None:
    first_as_of = world.scenario.now()
    first = world.capture(as_of=first_as_of)
    world.known_media |= live_media(world.scenario)
    world.scenario.advance()
    as_of = world.scenario.now()

    night = world.capture(as_of=as_of, state=dict(first.ctx.new_state))

    since = first_as_of - timedelta(days=30)
    (posts,) = night.posts_requests()
    assert posts.query["since"] == str(int(since.timestamp()))
    assert posts.query["until"] == str(int(as_of.timestamp()))
    recent = [f"{PAGE_ID}_{p.id}" for p in world.scenario.account.live_posts() if p.created >= since]
    assert night.comment_posts() == recent
    assert len(recent) < len(world.scenario.account.live_posts())
    new_media = live_media(world.scenario, since) - world.known_media
    assert night.ctx.media["downloaded"] == len(new_media) == len(night.cdn)
    assert night.ctx.media["already_archived"] == len(live_media(world.scenario, since) & world.known_media)
    assert night.ctx.new_state == {"posts_listed_until": as_of.isoformat()}
    assert night.listings()[f"facebook:{PAGE_ID}/posts"]["since"] == since.isoformat()


def test_posts_are_paged_until_next_is_absent(world: World) -> None:
    world.app.scenario = world.scenario = Scenario.department(posts=230, comments_per_post=0, days=200)

    night = world.capture(as_of=world.scenario.now())

    assert [len(r.query) for r in night.posts_requests()] == [
        3,
        5,
        5,
    ]  # then next carries pretty, after
    assert len(night.comment_posts()) == 230
    assert night.listings()[f"facebook:{PAGE_ID}/posts"]["complete"] is True


def test_a_page_cap_leaves_the_listing_incomplete_and_the_state_alone(world: World) -> None:
    world.app.scenario = world.scenario = Scenario.department(posts=230, comments_per_post=0, days=200)

    night = world.capture(as_of=world.scenario.now(), max_pages=2)

    posts = night.listings()[f"facebook:{PAGE_ID}/posts"]
    assert (posts["complete"], posts["error"]) == (False, "stopped after 2 pages (page cap)")
    assert len(night.posts_requests()) == 2
    assert night.ctx.new_state == {}


@pytest.mark.parametrize(
    ("rewrite", "reason"),
    [
        (lambda request, url: url.replace("127.0.0.1", "localhost"), "points at http://localhost"),
        (lambda request, url: url if "after" not in request.query else f"http://{request.headers['host']}{request.path}?after={request.query['after']}&pretty=0", None),
    ],
    ids=["other-host", "repeat"],
)  # fmt: skip
def test_a_suspicious_next_is_not_followed(world: World, rewrite: Any, reason: str | None) -> None:
    world.app.scenario = world.scenario = Scenario.department(posts=330, comments_per_post=0, days=300)
    world.app.rewrite_next = rewrite

    night = world.capture(as_of=world.scenario.now())

    posts = night.listings()[f"facebook:{PAGE_ID}/posts"]
    assert posts["complete"] is False
    assert (reason or "repeats an earlier page") in posts["error"]
    assert all(r.headers.get("host", "").startswith("127.0.0.1") for r in night.requests)
    assert night.ctx.new_state == {}


def test_throttling_waits_as_told_then_goes_on(world: World) -> None:
    world.server.inject(Fault("429", path=r"/posts\?", retry_after=60))

    night = world.capture(as_of=world.scenario.now())

    assert night.clock.slept == [60.0]  # one minute from estimated_time_to_regain_access
    assert len(night.posts_requests()) == 2
    assert night.listings()[f"facebook:{PAGE_ID}/posts"]["complete"] is True
    assert night.ctx.new_state == {"posts_listed_until": world.scenario.now().isoformat()}


def test_a_malformed_page_is_fetched_again(world: World) -> None:
    world.server.inject(Fault("malformed", path=r"/posts\?"))

    night = world.capture(as_of=world.scenario.now())

    assert len(night.posts_requests()) == 2
    assert night.listings()[f"facebook:{PAGE_ID}/posts"]["complete"] is True


def test_an_expired_token_stops_the_account_without_moving_the_state(world: World) -> None:
    world.server.inject(Fault("expired-token", path=r"/posts\?"))

    with pytest.raises(AuthenticationError, match="Session has expired"):
        world.capture(as_of=world.scenario.now())


def test_a_post_deleted_mid_run_fails_only_its_comment_listing(world: World) -> None:
    victim = world.scenario.account.live_posts()[3]

    def delete_victim() -> None:
        victim.deleted = True

    world.app.after_posts = delete_victim
    night = world.capture(as_of=world.scenario.now())

    listings = night.listings()
    broken = listings[f"facebook:{PAGE_ID}_{victim.id}/comments"]
    assert broken["complete"] is False
    assert "object does not exist or is not visible" in broken["error"]
    assert sum(1 for listing in listings.values() if not listing["complete"]) == 1
    assert night.ctx.new_state == {"posts_listed_until": world.scenario.now().isoformat()}
    assert len(night.ctx.failures) == 1
