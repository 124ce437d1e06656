"""BlueskySource through the real pipeline: AppView simulator → spool → object store → index.

The same small hand-made account as the X tests keeps every count exact:

* post A (image M1) with comment C1 (Jane) answered by the department (R1), and comment C2
  (John, image M2);
* post B with comment C3 (Zoë).

That is 9 items on the first night: the profile, 2 posts, 3 comments, 1 reply, 2 images. R1 is
listed by the author feed and by A's thread, M1 by the feed and the thread: one item each.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hp_archive.archive import Archive
from hp_archive.capture import RunResult, capture_account
from hp_archive.index import models as m
from hp_archive.settings import Account, Secret
from hp_archive.sources.bluesky import BlueskySource
from hp_archive.sources.context import RetryPolicy, RunContext
from hp_archive.sources.http import RecordingHTTPClient
from hp_archive.sources.simulators.base import Fault, SimRequest, SimResponse, SimulatorServer
from hp_archive.sources.simulators.bluesky import BlueskyAppViewSimulator
from hp_archive.sources.simulators.scenario import (
    Scenario,
    SimAccount,
    SimComment,
    SimMedia,
    SimPost,
    png_bytes,
)
from hp_archive.storage import LocalObjectStore
from hp_archive.warc.spool import SpoolWriter
from tests.support.clock import FakeClock
from tests.support.pipeline import counts, make_archive

EPOCH = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
SESSION_TOKEN = "eyJhbGciOiJFUzI1NksifQ.bluesky-session-for-tests.c2lnbmF0dXJl"
Rewrite = Callable[[SimRequest, dict[str, Any]], Any]


def small_scenario() -> Scenario:
    account = SimAccount(id="104857600000001", name="Hanover Park Police Department", handle="HanoverParkPD")
    scenario = Scenario(account=account, epoch=EPOCH)
    photo = SimMedia(id="2901", data=png_bytes(2901), alt="Lake Street closure map", width=64, height=48)
    selfie = SimMedia(id="2902", data=png_bytes(2902), width=32, height=32)
    r1 = SimComment(
        "2102", account.id, account.name,
        "Thanks for reaching out — please call our non-emergency line at 630-823-5500.",
        EPOCH - timedelta(days=1, hours=18),
    )  # fmt: skip
    c1 = SimComment(
        "2101", "10001", "Jane Doe", "Is Lake Street open to residents with driveways on that block?",
        EPOCH - timedelta(days=1, hours=20), replies=[r1], like_count=4,
    )  # fmt: skip
    c2 = SimComment(
        "2103", "10002", "John Q. Public", "+1 to more patrols near the school",
        EPOCH - timedelta(days=1, hours=10), media=selfie, like_count=2,
    )  # fmt: skip
    c3 = SimComment(
        "2104",
        "10003",
        "Zoë Ångström",
        "¿Habrá traductor en español en la reunión?",
        EPOCH - timedelta(hours=20),
    )
    post_a = SimPost(
        "2001",
        "Traffic advisory: Lake Street between Barrington and Church will be closed Saturday 7am-3pm.",
        EPOCH - timedelta(days=2), EPOCH - timedelta(days=2), media=[photo], comments=[c1, c2], share_count=9,
    )  # fmt: skip
    post_b = SimPost(
        "2002",
        "Join us for Coffee with a Cop ☕ this Thursday at 9:00 at the Village Hall. #HanoverParkPD",
        EPOCH - timedelta(days=1), EPOCH - timedelta(days=1), comments=[c3], share_count=3,
    )  # fmt: skip
    account.posts = [post_a, post_b]
    return scenario


class ScriptedAppView(BlueskyAppViewSimulator):
    """The simulator plus a per-test rewrite of its JSON answers (bad payloads)."""

    def __init__(self, scenario: Scenario) -> None:
        super().__init__(scenario, valid_tokens={SESSION_TOKEN})
        self.rewrite: Rewrite | None = None

    def handle(self, request: SimRequest) -> SimResponse:
        response = super().handle(request)
        if self.rewrite is None or response.status != 200 or not request.path.startswith("/xrpc/"):
            return response
        changed = self.rewrite(request, json.loads(response.body))
        if changed is None:
            return response
        body = changed if isinstance(changed, bytes) else json.dumps(changed, ensure_ascii=False).encode()
        return SimResponse(200, body, response.headers)


@dataclass
class World:
    scenario: Scenario
    server: SimulatorServer
    app: ScriptedAppView
    account: Account

    def uid(self, sim_id: str) -> str:
        return f"bluesky:{self.app.uri_of(sim_id)}"

    def thread(self, sim_id: str) -> str:
        rkey = self.app.uri_of(sim_id).rsplit("/", 1)[1]
        return rf"getPostThread\?uri=[^&]*{rkey}&"


@pytest.fixture(scope="module")
def running() -> Iterator[SimulatorServer]:
    with SimulatorServer(ScriptedAppView(small_scenario())) as server:
        yield server


@pytest.fixture
def world(running: SimulatorServer) -> Iterator[World]:
    app = running.app
    assert isinstance(app, ScriptedAppView)
    app.scenario = small_scenario()
    app.rewrite = None
    running.clear_faults()
    account = Account(
        id="hppd-bluesky", platform="bluesky", handle="hanoverparkpd.bsky.social", base_url=running.url,
        series="social-media",
    )  # fmt: skip
    yield World(app.scenario, running, app, account)
    running.clear_faults()
    app.rewrite = None


@pytest.fixture
def archive(tmp_path: Path, database_url: str, clock: FakeClock) -> Iterator[Archive]:
    arch = make_archive(LocalObjectStore(tmp_path / "store"), database_url, tmp_path / "spool", clock)
    yield arch
    arch.close()


def night(archive: Archive, world: World, clock: FakeClock) -> RunResult:
    clock.set(world.scenario.now())
    return capture_account(archive, world.account, window_end=world.scenario.now())


def totals(archive: Archive) -> tuple[int, int, int]:
    found = counts(archive)
    return found["items"], found["item_versions"], found["change_events"]


def items(archive: Archive) -> dict[str, m.Item]:
    with archive.sessions() as session:
        return {item.uid: item for item in session.scalars(select(m.Item))}


def parse_errors(archive: Archive) -> list[str]:
    with archive.sessions() as session:
        return list(
            session.scalars(select(m.WarcRecord.parse_error).where(m.WarcRecord.parse_error.is_not(None)))
        )


def current_text(archive: Archive, uid: str) -> str:
    with archive.sessions() as session:
        item = session.scalars(select(m.Item).where(m.Item.uid == uid)).one()
        version = session.get(m.ItemVersion, item.current_version_id)
        assert version is not None
        return version.text


def xrpc(world: World, start: int = 0) -> list[SimRequest]:
    return [r for r in world.app.requests[start:] if r.path.startswith("/xrpc/")]


# -- nights ---------------------------------------------------------------------------------------


def test_a_first_night_archives_every_post_reply_and_image(
    archive: Archive, world: World, clock: FakeClock
) -> None:
    start = len(world.app.requests)
    result = night(archive, world, clock)

    assert result.outcome == "complete", result.error
    assert totals(archive) == (9, 9, 9)
    assert result.events == {"created": 9}
    assert result.archived == {"page": 1, "post": 2, "comment": 3, "reply": 1, "media": 2}
    found = items(archive)
    r1 = found[world.uid("2102")]
    assert (r1.kind, r1.parent_uid, r1.root_uid, r1.author_is_agency) == (
        "reply", world.uid("2101"), world.uid("2001"), True,
    )  # fmt: skip
    calls = xrpc(world, start)
    assert [r.path.rsplit("/", 1)[1] for r in calls] == [
        "app.bsky.actor.getProfile",
        "app.bsky.feed.getAuthorFeed",
        "app.bsky.feed.getPostThread",
        "app.bsky.feed.getPostThread",
    ]
    assert calls[1].query == {"actor": world.app.did, "limit": "100", "filter": "posts_with_replies"}
    assert [r.query["uri"] for r in calls[2:]] == [world.app.uri_of("2002"), world.app.uri_of("2001")]
    assert calls[2].query["depth"] == "1000" and calls[2].query["parentHeight"] == "0"
    assert not any("authorization" in r.headers for r in calls)  # the public AppView needs none
    assert result.report["media"] == {"downloaded": 2, "listed": 3, "already_archived": 1}
    assert result.report["source_state"] == {"did": world.app.did, "posts_listed_until": EPOCH.isoformat()}


def test_an_incremental_night_finds_what_is_new(archive: Archive, world: World, clock: FakeClock) -> None:
    night(archive, world, clock)
    world.scenario.night += 1
    now = world.scenario.now()
    reply = SimComment("2106", "10004", "محمد علي", "Great initiative 👏👏", now - timedelta(hours=1))
    world.scenario.account.posts.append(
        SimPost("2003", "Scam alert: callers pretending to be from ComEd.", now - timedelta(hours=5),
                now - timedelta(hours=5), comments=[reply])
    )  # fmt: skip
    start = len(world.app.requests)

    result = night(archive, world, clock)

    assert result.outcome == "complete", result.error
    assert result.events == {"created": 2}
    assert totals(archive) == (11, 11, 11)
    threads = [r.query["uri"] for r in xrpc(world, start) if r.path.endswith("getPostThread")]
    assert threads == [world.app.uri_of(s) for s in ("2003", "2002", "2001")]
    assert result.report["source_state"]["posts_listed_until"] == now.isoformat()


def test_later_nights_stop_paging_past_the_look_back_window(
    archive: Archive, world: World, clock: FakeClock
) -> None:
    world.app.scenario = world.scenario = Scenario.department(posts=260, comments_per_post=0, days=300)
    first = len(world.app.requests)
    night(archive, world, clock)
    feeds_first = [r for r in xrpc(world, first) if r.path.endswith("getAuthorFeed")]
    world.scenario.night += 1
    second = len(world.app.requests)

    result = night(archive, world, clock)

    feeds_second = [r for r in xrpc(world, second) if r.path.endswith("getAuthorFeed")]
    assert (len(feeds_first), len(feeds_second)) == (3, 1)
    assert result.outcome == "complete" and "deleted-observed" not in result.events


def test_an_unchanged_night_is_all_revisits_and_no_downloads(
    archive: Archive, world: World, clock: FakeClock
) -> None:
    night(archive, world, clock)
    world.scenario.night += 1
    start = len(world.app.requests)

    result = night(archive, world, clock)

    assert result.outcome == "complete"
    assert result.events == {}
    assert totals(archive) == (9, 9, 9)
    assert result.report["counts"]["revisits"] == 4 and "responses" not in result.report["counts"]
    assert result.report["media"] == {"already_archived": 3, "listed": 3}
    assert not [r for r in world.app.requests[start:] if r.path.startswith("/img/")]


def test_an_edited_comment_is_a_new_version_of_the_same_item(
    archive: Archive, world: World, clock: FakeClock
) -> None:
    night(archive, world, clock)
    world.scenario.night += 1
    c1 = world.scenario.account.posts[0].comments[0]
    c1.history.append((world.scenario.now() - timedelta(hours=3), c1.text))
    c1.text += " [edited: never mind, found the answer]"

    result = night(archive, world, clock)

    assert result.outcome == "complete"
    assert result.events == {"edited": 1}
    assert totals(archive) == (9, 10, 10)
    assert current_text(archive, world.uid("2101")).endswith("found the answer]")


def test_a_hidden_comment_is_marked_hidden_from_the_threadgate(
    archive: Archive, world: World, clock: FakeClock
) -> None:
    night(archive, world, clock)
    world.scenario.night += 1
    world.scenario.account.posts[0].comments[1].hidden = True

    result = night(archive, world, clock)

    assert result.outcome == "complete"
    assert result.events == {"hidden": 1}
    assert totals(archive) == (9, 9, 10)  # the root's threadgate is not an edit of the root
    assert [uid for uid, item in items(archive).items() if item.is_hidden] == [world.uid("2103")]


def test_a_deleted_comment_is_observed_deleted(archive: Archive, world: World, clock: FakeClock) -> None:
    night(archive, world, clock)
    world.scenario.night += 1
    world.scenario.account.posts[1].comments[0].deleted = True

    result = night(archive, world, clock)

    assert result.outcome == "complete"
    assert result.events == {"deleted-observed": 1}
    assert totals(archive) == (9, 9, 10)
    assert [uid for uid, item in items(archive).items() if item.is_deleted] == [world.uid("2104")]


def test_a_deleted_comment_takes_its_thread_replies_with_it(
    archive: Archive, world: World, clock: FakeClock
) -> None:
    night(archive, world, clock)
    world.scenario.night += 1
    world.scenario.account.posts[0].comments[0].deleted = True  # C1, with the department's R1 under it

    result = night(archive, world, clock)

    # R1 vanishes from the thread but is still in the department's own feed, which is where it
    # was first listed: only C1 is judged deleted
    assert result.events == {"deleted-observed": 1}
    assert [uid for uid, item in items(archive).items() if item.is_deleted] == [world.uid("2101")]


def test_a_deleted_post_is_observed_deleted(archive: Archive, world: World, clock: FakeClock) -> None:
    night(archive, world, clock)
    world.scenario.night += 1
    world.scenario.account.posts[1].deleted = True

    result = night(archive, world, clock)

    assert result.events == {"deleted-observed": 1}
    assert totals(archive) == (9, 9, 10)
    assert [uid for uid, item in items(archive).items() if item.is_deleted] == [world.uid("2002")]


# -- injected faults ------------------------------------------------------------------------------


def test_429_waits_until_ratelimit_reset(archive: Archive, world: World, clock: FakeClock) -> None:
    world.server.inject(Fault("429", path=r"getAuthorFeed\?", retry_after=60))

    result = night(archive, world, clock)

    assert result.outcome == "complete", result.error
    assert clock.slept == [60.0]
    assert totals(archive) == (9, 9, 9)
    assert result.report["counts"]["retries"] == 1


def test_500_is_retried_with_backoff(archive: Archive, world: World, clock: FakeClock) -> None:
    world.server.inject(Fault("500", path=world.thread("2001"), times=2))

    result = night(archive, world, clock)

    assert result.outcome == "complete", result.error
    assert clock.slept == [1.0, 2.0]
    assert totals(archive) == (9, 9, 9)


def test_a_slow_answer_times_out_and_is_retried(
    tmp_path: Path, database_url: str, world: World, clock: FakeClock
) -> None:
    archive = make_archive(
        LocalObjectStore(tmp_path / "store"), database_url, tmp_path / "spool", clock, http_timeout=0.3
    )
    world.server.inject(Fault("slow", path=r"getAuthorFeed\?", delay=1.0))

    result = night(archive, world, clock)
    archive.close()

    assert result.outcome == "complete", result.error
    assert result.report["counts"]["transport_errors"] == 1
    assert totals(archive) == (9, 9, 9)


def test_a_dropped_connection_is_retried(archive: Archive, world: World, clock: FakeClock) -> None:
    world.server.inject(Fault("drop", path=world.thread("2002")))

    result = night(archive, world, clock)

    assert result.outcome == "complete", result.error
    assert result.report["counts"]["transport_errors"] == 1
    assert totals(archive) == (9, 9, 9)


def test_an_expired_token_fails_the_account_with_one_actionable_line(
    archive: Archive, world: World, clock: FakeClock
) -> None:
    world.server.inject(Fault("expired-token", path=r"getAuthorFeed\?"))

    result = night(archive, world, clock)

    assert result.outcome == "failed"
    error = result.error or ""
    assert "'hppd-bluesky' (bluesky)" in error and "ExpiredToken: Token has expired" in error
    assert "remove token_env to read the public AppView without one" in error and "\n" not in error
    assert totals(archive) == (1, 1, 1)
    assert result.status == "indexed"


def test_a_malformed_body_is_archived_unparsed_and_fetched_again(
    archive: Archive, world: World, clock: FakeClock
) -> None:
    world.server.inject(Fault("malformed", path=r"getAuthorFeed\?"))

    result = night(archive, world, clock)

    assert result.outcome == "complete", result.error
    assert totals(archive) == (9, 9, 9)
    (error,) = parse_errors(archive)
    assert error.startswith("malformed JSON at line 1")


def test_an_optional_session_token_goes_only_in_the_header(world: World, tmp_path: Path) -> None:
    source = BlueskySource(world.account)
    clock = FakeClock(world.scenario.now())
    spool = SpoolWriter(
        tmp_path / "spool", run_id="run", account_id="hppd-bluesky", warcinfo={}, host="testhost",
        revisit_lookup=lambda _series, _digest: None, secrets=[SESSION_TOKEN],
    )  # fmt: skip
    start = len(world.app.requests)
    with RecordingHTTPClient(clock=clock) as http:
        ctx = RunContext(
            source=source, account=world.account, as_of=world.scenario.now(), state={},
            token=Secret(SESSION_TOKEN), http=http, spool=spool, sleep=clock.sleep,
            media_known=lambda _key: False, retry=RetryPolicy(max_attempts=3, base_delay=1.0, budget=600.0),
        )  # fmt: skip
        source.capture(ctx)
        files = spool.close(lambda _series: {}, clock())

    assert ctx.complete() and len(ctx.listings) == 3
    assert all(r.headers["authorization"] == f"Bearer {SESSION_TOKEN}" for r in xrpc(world, start))
    spooled = b"".join(f.path.read_bytes() for f in files)
    assert SESSION_TOKEN.encode() not in spooled


# -- bad payloads ---------------------------------------------------------------------------------


def test_malformed_json_every_time_fails_only_that_thread(
    archive: Archive, world: World, clock: FakeClock
) -> None:
    world.server.inject(Fault("malformed", path=world.thread("2001"), times=10))

    result = night(archive, world, clock)

    assert result.outcome == "partial"
    assert totals(archive) == (6, 6, 6)  # C1, C2 and image M2 were only in that thread
    assert len(parse_errors(archive)) == 4


def test_invalid_utf8_every_time_fails_only_that_thread(
    archive: Archive, world: World, clock: FakeClock
) -> None:
    world.server.inject(Fault("invalid-utf8", path=world.thread("2002"), times=10))

    result = night(archive, world, clock)

    assert result.outcome == "partial"
    assert totals(archive) == (8, 8, 8)
    assert parse_errors(archive) == ["body is not valid UTF-8 (byte 2)"] * 4


def rewrite_thread(world: World, sim_id: str, change: Callable[[dict[str, Any]], Any]) -> Rewrite:
    def rewrite(request: SimRequest, payload: dict[str, Any]) -> Any:
        if request.query.get("uri") != world.app.uri_of(sim_id):
            return None
        return change(payload)

    return rewrite


def node(payload: dict[str, Any], world: World, sim_id: str) -> dict[str, Any]:
    uri = world.app.uri_of(sim_id)
    stack = [payload["thread"]]
    while stack:
        current = stack.pop()
        if isinstance(current, dict) and current.get("post", {}).get("uri") == uri:
            return current
        stack.extend(current.get("replies", []) if isinstance(current, dict) else [])
    raise KeyError(sim_id)


def test_a_missing_field_leaves_that_reply_out(archive: Archive, world: World, clock: FakeClock) -> None:
    def drop_text(payload: dict[str, Any]) -> dict[str, Any]:
        del node(payload, world, "2101")["post"]["record"]["text"]
        return payload

    world.app.rewrite = rewrite_thread(world, "2001", drop_text)

    result = night(archive, world, clock)

    assert result.outcome == "partial"
    assert totals(archive) == (8, 8, 8)
    assert world.uid("2101") not in items(archive)
    assert parse_errors(archive) == [
        f"thread.replies[0] {world.app.uri_of('2101')}: record text is null; left out"
    ]


def test_an_unknown_item_type_leaves_that_node_out(archive: Archive, world: World, clock: FakeClock) -> None:
    def retype(payload: dict[str, Any]) -> dict[str, Any]:
        node(payload, world, "2103")["$type"] = "app.bsky.feed.defs#threadViewPostV2"
        return payload

    world.app.rewrite = rewrite_thread(world, "2001", retype)

    result = night(archive, world, clock)

    assert result.outcome == "partial"
    assert totals(archive) == (7, 7, 7)  # C2 and its image M2
    (error,) = parse_errors(archive)
    assert error.endswith("unknown item type 'app.bsky.feed.defs#threadViewPostV2'; left out")


def test_reply_links_in_a_cycle_are_left_out_and_the_run_goes_on(
    archive: Archive, world: World, clock: FakeClock
) -> None:
    def loop(payload: dict[str, Any]) -> dict[str, Any]:
        c1 = node(payload, world, "2101")
        r1 = node(payload, world, "2102")
        c1["post"]["record"]["reply"]["parent"] = {"uri": r1["post"]["uri"], "cid": r1["post"]["cid"]}
        return payload

    world.app.rewrite = rewrite_thread(world, "2001", loop)

    result = night(archive, world, clock)

    assert result.outcome == "partial"
    assert totals(archive) == (8, 8, 8)  # C1 left out; R1 comes from the author feed too
    (error,) = parse_errors(archive)
    assert error.count("reply links form a cycle") == 2


def test_a_very_large_response_is_archived_and_indexed(
    archive: Archive, world: World, clock: FakeClock
) -> None:
    big = "Ça, c'est une bonne nouvelle — merci! " * 80_000  # about 3 MB

    def enlarge(payload: dict[str, Any]) -> dict[str, Any]:
        node(payload, world, "2103")["post"]["record"]["text"] = big
        return payload

    world.app.rewrite = rewrite_thread(world, "2001", enlarge)

    result = night(archive, world, clock)

    assert result.outcome == "complete", result.error
    assert totals(archive) == (9, 9, 9)
    assert len(current_text(archive, world.uid("2103"))) == len(big)


def test_a_bad_page_on_a_later_night_never_reports_a_deletion(
    archive: Archive, world: World, clock: FakeClock
) -> None:
    night(archive, world, clock)
    world.scenario.night += 1

    def retype(payload: dict[str, Any]) -> dict[str, Any]:
        node(payload, world, "2103")["$type"] = 17
        return payload

    world.app.rewrite = rewrite_thread(world, "2001", retype)

    result = night(archive, world, clock)

    assert result.outcome == "partial"
    assert result.events == {}
    assert not any(item.is_deleted for item in items(archive).values())
