"""YouTubeSource through the real pipeline: simulator → spool → object store → index.

Every test starts from the same scenario and asserts the counts of items, versions and events
exactly, against an oracle computed from the scenario: what the simulator shows the channel's
owner tonight, and what the index must therefore hold given which listings ran.
"""

from __future__ import annotations

import json
import math
import random
import re
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy import text as sql

from hp_archive.archive import Archive
from hp_archive.capture import RunResult, capture_account
from hp_archive.index import models as m
from hp_archive.index.reindex import reindex
from hp_archive.index.search import show_item
from hp_archive.settings import Account
from hp_archive.sources.simulators.base import Fault, SimRequest, SimResponse, SimulatorServer
from hp_archive.sources.simulators.scenario import Scenario, SimComment, SimPost
from hp_archive.sources.simulators.youtube import (
    YouTubeDataSimulator,
    channel_id_of,
    comment_id_of,
    reply_id_of,
    uploads_id_of,
    video_id_of,
)
from hp_archive.sources.youtube import CHANNEL_PARTS, PLAYLIST_PARTS, VIDEO_PARTS
from hp_archive.storage import LocalObjectStore
from tests.support.clock import FakeClock
from tests.support.pipeline import (
    TOKEN,
    TOKEN_ENV,
    counts,
    decompressed,
    make_archive,
    snapshot,
    stored_warc_bytes,
)
from tests.support.tools import cdxj_index, warcio_check

LOOKBACK = timedelta(days=30)
Rewrite = Callable[[SimRequest, dict[str, Any]], dict[str, Any] | None]


class ScriptedYouTube(YouTubeDataSimulator):
    """The simulator plus per-test meddling with its JSON answers (bad payloads)."""

    def __init__(self, scenario: Scenario) -> None:
        super().__init__(scenario, valid_tokens={TOKEN}, api_keys={TOKEN})
        self.rewrites: list[tuple[str, Rewrite]] = []  # (path+query regex, rewrite); each used once

    def handle(self, request: SimRequest) -> SimResponse:
        response = super().handle(request)
        target = request.path + "?" + "&".join(f"{k}={v}" for k, v in request.query.items())
        for index, (pattern, rewrite) in enumerate(self.rewrites):
            if response.status == 200 and re.search(pattern, target):
                changed = rewrite(request, json.loads(response.body))
                if changed is not None:
                    del self.rewrites[index]
                    kept = [(k, v) for k, v in response.headers if k != "Content-Type"]
                    return SimResponse.json(200, changed, kept)
        return response


@dataclass
class World:
    scenario: Scenario
    server: SimulatorServer
    app: ScriptedYouTube
    account: Account
    state: dict[str, tuple[str, str, bool, bool]] = field(default_factory=dict)  # the oracle's index
    versions: int = 0
    events: int = 0
    last_as_of: datetime | None = None

    def requests(self, since: int = 0) -> list[SimRequest]:
        return self.app.requests[since:]


@pytest.fixture(scope="module")
def running() -> Iterator[SimulatorServer]:
    with SimulatorServer(
        ScriptedYouTube(Scenario.department(posts=8, comments_per_post=4, days=20))
    ) as server:
        yield server


def new_world(server: SimulatorServer, scenario: Scenario, **options: Any) -> World:
    app = server.app
    assert isinstance(app, ScriptedYouTube)
    app.scenario = scenario
    app.rewrites.clear()
    app.requests.clear()
    app.daily_quota, app.quota_used = None, 0
    server.clear_faults()
    account = Account(
        id="hppd-youtube",
        platform="youtube",
        handle=options.pop("handle", "mine"),
        base_url=f"{server.url}/youtube/v3",
        token_env=TOKEN_ENV,
        series="social-media",
        options=options,
    )
    return World(scenario, server, app, account)


@pytest.fixture
def world(running: SimulatorServer) -> Iterator[World]:
    yield new_world(running, Scenario.department(posts=8, comments_per_post=4, days=20))
    running.clear_faults()


@pytest.fixture
def archive(tmp_path: Path, clock: FakeClock) -> Iterator[Archive]:
    arch = make_archive(
        LocalObjectStore(tmp_path / "store"),
        f"sqlite:///{tmp_path / 'index.sqlite'}",
        tmp_path / "spool",
        clock,
    )
    yield arch
    arch.close()


# -- the oracle ---------------------------------------------------------------------------------


def shown(scenario: Scenario, *, owner: bool = True) -> dict[str, tuple[str, str, bool]]:
    """uid -> (kind, text, hidden) of everything the simulator shows; held comments to the owner."""
    out = {f"youtube:{channel_id_of(scenario.account)}": ("page", "", False)}
    for post in scenario.account.live_posts():
        video = video_id_of(scenario, post)
        out[f"youtube:{video}"] = ("post", post.text, False)
        out[f"youtube:{video}:thumbnail"] = ("media", "", False)
        if post.comments_disabled:
            continue
        for comment in post.live_comments():
            if owner or not comment.hidden:
                out[f"youtube:{comment_id_of(comment)}"] = ("comment", comment.text, comment.hidden)
            for reply in comment.live_replies():
                if owner or not (reply.hidden or comment.hidden):
                    out[f"youtube:{reply_id_of(comment, reply)}"] = ("reply", reply.text, reply.hidden)
    return out


def expect_night(world: World, as_of: datetime, *, owner: bool = True) -> Counter[str]:
    """Advance the oracle's index by one complete night; returns the events it must record."""
    since = None if world.last_as_of is None else min(world.last_as_of, as_of) - LOOKBACK
    listed = {
        video_id_of(world.scenario, p)
        for p in world.scenario.account.live_posts()
        if (since is None or p.created >= since) and not p.comments_disabled
    }
    owner_of: dict[str, str] = {}
    window: set[str] = set()
    for post in world.scenario.account.posts:
        video = video_id_of(world.scenario, post)
        if since is None or post.created >= since:
            window.update({f"youtube:{video}", f"youtube:{video}:thumbnail"})
        for comment in post.comments:
            owner_of[f"youtube:{comment_id_of(comment)}"] = video
            owner_of.update((f"youtube:{reply_id_of(comment, r)}", video) for r in comment.replies)
    now = shown(world.scenario, owner=owner)
    events: Counter[str] = Counter()
    state = dict(world.state)
    for uid, (kind, text, hidden) in now.items():
        before = state.get(uid)
        if before is None:
            events["created"] += 1
            events["hidden"] += hidden
            world.versions += 1
        else:
            if before[1] != text:
                events["edited"] += 1
                world.versions += 1
            events["hidden"] += hidden and not before[2]
            events["unhidden"] += before[2] and not hidden
            events["restored"] += before[3]
        state[uid] = (kind, text, hidden, False)
    for uid, (kind, text, hidden, deleted) in world.state.items():
        if uid in now or deleted:
            continue
        judged = uid in window if kind in ("post", "media") else owner_of.get(uid) in listed
        if judged:
            events["deleted-observed"] += 1
            state[uid] = (kind, text, hidden, True)
    world.state = state
    world.events += sum(events.values())
    world.last_as_of = as_of
    return +events


def night(archive: Archive, world: World, clock: FakeClock) -> RunResult:
    clock.set(world.scenario.now())
    return capture_account(archive, world.account, window_end=world.scenario.now())


def assert_night(archive: Archive, world: World, result: RunResult, *, owner: bool = True) -> None:
    expected = expect_night(world, world.scenario.now(), owner=owner)
    assert (result.outcome, result.error) == ("complete", None)
    assert result.events == expected
    totals = counts(archive)
    assert (totals["items"], totals["item_versions"], totals["change_events"]) == (
        len(world.state),
        world.versions,
        world.events,
    )
    with archive.sessions() as session:
        rows = {i.uid: (i.is_hidden, i.is_deleted) for i in session.scalars(select(m.Item))}
    assert rows == {uid: (hidden, deleted) for uid, (_, _, hidden, deleted) in world.state.items()}


def first_night_requests(scenario: Scenario, *, statuses: int = 3) -> int:
    """Channel + playlist pages + videos calls + threads per status + long threads + thumbnails."""
    live = scenario.account.live_posts()
    long_threads = sum(1 for p in live for c in p.live_comments() if len(c.live_replies()) > 5)
    pages = math.ceil(len(live) / 50)
    return 1 + pages + pages + statuses * len(live) + long_threads + len(live)


def records(archive: Archive) -> int:
    return counts(archive)["warc_records"]


def parse_errors(archive: Archive) -> list[str]:
    with archive.sessions() as session:
        return [e for e in session.scalars(select(m.WarcRecord.parse_error)) if e]


def with_replies(scenario: Scenario) -> tuple[SimPost, SimComment]:
    return next((p, c) for p in scenario.account.live_posts() for c in p.live_comments() if c.live_replies())


# -- nights -------------------------------------------------------------------------------------


def test_first_night_captures_everything_once(
    tmp_path: Path, clock: FakeClock, database_url: str, running: SimulatorServer
) -> None:
    world = new_world(running, Scenario.department(posts=8, comments_per_post=4, days=20))
    archive = make_archive(LocalObjectStore(tmp_path / "store"), database_url, tmp_path / "spool", clock)
    as_of = world.scenario.now()

    result = night(archive, world, clock)

    assert_night(archive, world, result)
    scenario = world.scenario
    live = scenario.account.live_posts()
    videos = [video_id_of(scenario, p) for p in live]
    api = [r for r in world.requests() if r.path.startswith("/youtube/v3/")]
    assert [(r.path, r.query) for r in api[:3]] == [
        ("/youtube/v3/channels", {"part": CHANNEL_PARTS, "mine": "true"}),
        ("/youtube/v3/playlistItems", {"part": PLAYLIST_PARTS, "playlistId": uploads_id_of(scenario.account), "maxResults": "50"}),
        ("/youtube/v3/videos", {"part": VIDEO_PARTS, "id": ",".join(videos)}),
    ]  # fmt: skip
    threads = [r for r in api if r.path.endswith("/commentThreads")]
    assert [(r.query["videoId"], r.query.get("moderationStatus", "published")) for r in threads] == [
        (v, s) for v in videos for s in ("published", "heldForReview", "likelySpam")
    ]
    assert all(
        {k: v for k, v in r.query.items() if k not in ("videoId", "moderationStatus")}
        == {"part": "snippet,replies", "maxResults": "100", "order": "time", "textFormat": "plainText"}
        for r in threads
    )
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" and "key" not in r.query for r in api)
    thumbs = [r.path for r in world.requests() if r.path.startswith("/vi/")]
    assert thumbs == [f"/vi/{v}/hqdefault.jpg" for v in videos]
    assert result.report["media"] == {"downloaded": len(live), "listed": len(live)}
    requests = first_night_requests(scenario)
    assert result.report["counts"]["requests"] == requests == len(world.requests())
    assert records(archive) == 2 + 2 * requests
    assert result.report["source_state"] == {"uploads_listed_until": as_of.isoformat()}
    assert result.report["listings_complete"] == result.report["listings_total"] == 1 + len(live)
    for _, data in stored_warc_bytes(archive.store):
        assert TOKEN.encode() not in decompressed(data)
    archive.close()


def test_a_later_night_relists_only_the_look_back_window(
    archive: Archive, world: World, clock: FakeClock
) -> None:
    world.scenario = world.app.scenario = Scenario.department(posts=12, comments_per_post=3, days=120)
    first_as_of = world.scenario.now()
    assert_night(archive, world, night(archive, world, clock))
    known = {video_id_of(world.scenario, p) for p in world.scenario.account.live_posts()}
    world.scenario.advance()
    start = len(world.app.requests)

    result = night(archive, world, clock)

    assert_night(archive, world, result)
    since = first_as_of - LOOKBACK
    recent = [
        video_id_of(world.scenario, p) for p in world.scenario.account.live_posts() if p.created >= since
    ]
    assert 0 < len(recent) < len(world.scenario.account.live_posts())
    api = [r for r in world.requests(start) if r.path.startswith("/youtube/v3/")]
    (videos,) = [r for r in api if r.path.endswith("/videos")]
    assert videos.query["id"] == ",".join(recent)  # the whole playlist is walked, only the window read
    assert sorted({r.query["videoId"] for r in api if r.path.endswith("/commentThreads")}) == sorted(recent)
    assert result.report["media"] == {
        "already_archived": len(set(recent) & known),
        "downloaded": len(set(recent) - known),
        "listed": len(recent),
    }


def test_three_nights_of_the_scripted_story(archive: Archive, world: World, clock: FakeClock) -> None:
    totals: Counter[str] = Counter()
    for _ in range(3):
        result = night(archive, world, clock)
        assert_night(archive, world, result)
        totals.update(result.events)
        world.scenario.advance()
    assert set(totals) == {"created", "edited", "hidden", "deleted-observed"}


def test_an_edited_comment_is_a_second_version(archive: Archive, world: World, clock: FakeClock) -> None:
    assert_night(archive, world, night(archive, world, clock))
    _, comment = with_replies(world.scenario)
    old = comment.text
    comment.text += " [edited: never mind, found the answer]"
    comment.edited_at = world.scenario.now()
    world.scenario.night += 1

    result = night(archive, world, clock)

    assert_night(archive, world, result)
    assert result.events == {"edited": 1}
    with archive.sessions() as session:
        item = show_item(session, f"youtube:{comment_id_of(comment)}")
    assert [v["text"] for v in item["versions"]] == [old, comment.text]
    assert item["versions"][1]["edited_at"] == comment.edited_at.isoformat()


def test_a_comment_held_for_review_is_hidden(archive: Archive, world: World, clock: FakeClock) -> None:
    assert_night(archive, world, night(archive, world, clock))
    _, comment = with_replies(world.scenario)
    comment.hidden = True
    world.scenario.night += 1

    result = night(archive, world, clock)

    assert_night(archive, world, result)
    assert result.events == {"hidden": 1}


def test_a_deleted_comment_and_its_replies_are_observed_deleted(
    archive: Archive, world: World, clock: FakeClock
) -> None:
    assert_night(archive, world, night(archive, world, clock))
    _, comment = with_replies(world.scenario)
    replies = len(comment.live_replies())
    comment.deleted = True
    world.scenario.night += 1

    result = night(archive, world, clock)

    assert_night(archive, world, result)
    assert result.events == {"deleted-observed": 1 + replies}


def test_a_deleted_video_and_its_thumbnail_are_observed_deleted(
    archive: Archive, world: World, clock: FakeClock
) -> None:
    assert_night(archive, world, night(archive, world, clock))
    post = next(p for p in world.scenario.account.live_posts() if p.live_comments())
    post.deleted = True
    world.scenario.night += 1

    result = night(archive, world, clock)

    assert_night(archive, world, result)
    assert result.events == {"deleted-observed": 2}


def test_thumbnails_are_downloaded_once_across_nights(
    archive: Archive, world: World, clock: FakeClock
) -> None:
    first = night(archive, world, clock)
    assert_night(archive, world, first)
    before = records(archive)
    world.scenario.night += 1

    second = night(archive, world, clock)

    assert_night(archive, world, second)
    live = len(world.scenario.account.live_posts())
    assert second.events == {}
    assert second.report["media"] == {"already_archived": live, "listed": live}
    api_requests = first_night_requests(world.scenario) - live
    # the same state gives the same bytes: every answer is a revisit
    assert second.report["counts"] == {"requests": api_requests, "revisits": api_requests}
    assert records(archive) == before + 2 + 2 * api_requests


def test_disabled_comments_mark_nothing_deleted_and_fail_nothing(
    archive: Archive, world: World, clock: FakeClock
) -> None:
    assert_night(archive, world, night(archive, world, clock))
    post, _ = with_replies(world.scenario)
    post.comments_disabled = True
    world.scenario.night += 1
    start = len(world.app.requests)

    result = night(archive, world, clock)

    # the oracle keeps the comments as they were: neither listed nor judged
    kept = {uid: v for uid, v in world.state.items()}
    assert (result.outcome, result.events) == ("complete", Counter())
    assert counts(archive)["items"] == len(kept)
    disabled = [
        r for r in world.requests(start) if r.query.get("videoId") == video_id_of(world.scenario, post)
    ]
    assert len(disabled) == 1  # held and spam listings are not asked for once comments are off
    assert result.report["listings_complete"] == result.report["listings_total"] - 1


def test_a_long_thread_is_read_with_comments_list(archive: Archive, world: World, clock: FakeClock) -> None:
    _, comment = with_replies(world.scenario)
    rng = random.Random(11)
    comment.replies.extend(world.scenario._new_comment(rng, comment.created) for _ in range(7))

    result = night(archive, world, clock)

    assert_night(archive, world, result)
    lists = [r for r in world.requests() if r.path.endswith("/comments")]
    assert [r.query for r in lists] == [
        {
            "part": "snippet",
            "parentId": comment_id_of(comment),
            "maxResults": "100",
            "textFormat": "plainText",
        }
    ]
    assert result.report["counts"]["requests"] == first_night_requests(world.scenario)


def test_an_api_key_reads_public_comments_only(
    tmp_path: Path, clock: FakeClock, running: SimulatorServer
) -> None:
    world = new_world(
        running,
        Scenario.department(posts=8, comments_per_post=4, days=20),
        handle="@HanoverParkPD",
        auth="api_key",
    )
    archive = make_archive(
        LocalObjectStore(tmp_path / "store"), f"sqlite:///{tmp_path / 'i.sqlite'}", tmp_path / "spool", clock
    )
    _, comment = with_replies(world.scenario)
    comment.hidden = True

    result = night(archive, world, clock)

    expected = expect_night(world, world.scenario.now(), owner=False)
    assert (result.outcome, result.events) == ("complete", expected)
    assert counts(archive)["items"] == len(world.state)
    api = [r for r in world.requests() if r.path.startswith("/youtube/v3/")]
    assert all(r.headers["x-goog-api-key"] == TOKEN and "authorization" not in r.headers for r in api)
    assert all("key" not in r.query and "moderationStatus" not in r.query for r in api)
    with archive.sessions() as session:  # without the owner's token hidden is unknown, not false
        assert not any(session.scalars(select(m.Item.is_hidden)))
    archive.close()


def test_reindex_from_the_warcs_rebuilds_the_same_index(
    archive: Archive, world: World, clock: FakeClock
) -> None:
    for _ in range(3):
        assert_night(archive, world, night(archive, world, clock))
        world.scenario.advance()
    before = snapshot(archive)
    with archive.engine.begin() as conn:  # lose the derived index entirely
        for table in ("change_events", "item_versions", "items"):
            conn.execute(sql(f"DELETE FROM {table}"))

    stats = reindex(archive)

    assert stats.files == 3
    assert snapshot(archive) == before  # parse reads the evidence alone, the same every time


def test_every_warc_passes_warcio_check_and_cdxj_indexer(
    archive: Archive, world: World, clock: FakeClock, tmp_path: Path
) -> None:
    night(archive, world, clock)
    world.scenario.advance()
    night(archive, world, clock)
    paths = []
    for key, data in stored_warc_bytes(archive.store):
        path = tmp_path / key.rsplit("/", 1)[-1]
        path.write_bytes(data)
        paths.append(str(path))

    check, index = warcio_check(paths), cdxj_index(paths)

    assert check.returncode == 0 and "digest failed" not in check.stdout, check.stdout
    assert index.returncode == 0, index.stderr
    assert index.stdout.count("\n") > 40


# -- quota, faults ------------------------------------------------------------------------------


def test_spent_quota_stops_the_account_at_once_with_a_partial_capture(
    archive: Archive, world: World, clock: FakeClock
) -> None:
    live = world.scenario.account.live_posts()
    world.app.daily_quota = 3 + 3 * 2  # channel, playlist, videos and two videos' comments

    result = night(archive, world, clock)

    assert result.outcome == "partial"
    assert clock.slept == []  # nothing spins until Pacific midnight
    assert result.error is not None and "would exceed the 600s retry budget" in result.error
    assert result.report["counts"]["requests"] == 3 + 3 * 2 + len(live) + 1  # + thumbnails + the refusal
    done = {video_id_of(world.scenario, p) for p in live[:2]}
    expected = {
        uid: v for uid, v in shown(world.scenario).items()
        if v[0] in ("page", "post", "media") or any(f"youtube:{c}" == uid for c in comment_uids(world.scenario, done))
    }  # fmt: skip
    assert result.events == {"created": len(expected)}
    assert counts(archive)["items"] == len(expected)


def comment_uids(scenario: Scenario, videos: set[str]) -> set[str]:
    out = set()
    for post in scenario.account.live_posts():
        if video_id_of(scenario, post) in videos:
            for c in post.live_comments():
                out.add(comment_id_of(c))
                out.update(reply_id_of(c, r) for r in c.live_replies())
    return out


@pytest.mark.parametrize(
    ("fault", "slept", "archived_extra"),
    [
        (Fault("429", path=r"/playlistItems", retry_after=30), [30.0], 1),  # Retry-After
        (Fault("500", path=r"/commentThreads"), [1.0], 1),
        (Fault("503", path=r"/videos"), [1.0], 1),
        (Fault("slow", path=r"/commentThreads", delay=2.0), [1.0], 0),  # the client times out
        (Fault("drop", path=r"/commentThreads"), [1.0], 0),
        (Fault("malformed", path=r"/commentThreads"), [1.0], 1),
    ],
    ids=["429", "500", "503", "slow", "drop", "malformed"],
)
def test_faults_are_waited_out_and_lose_nothing(
    archive: Archive, world: World, clock: FakeClock, fault: Fault, slept: list[float], archived_extra: int
) -> None:
    with ExitStack() as stack:
        if fault.kind == "slow":
            # the server thread that sleeps answers late into its own app, not a later test's
            private = stack.enter_context(SimulatorServer(ScriptedYouTube(world.scenario)))
            world = new_world(private, world.scenario)
            archive.http_timeout = 0.5  # the slow answer takes 2 s: the client gives up, tries again
        world.server.inject(fault)

        result = night(archive, world, clock)

    assert_night(archive, world, result)
    assert clock.slept == slept
    requests = first_night_requests(world.scenario) + 1
    assert result.report["counts"]["requests"] == requests
    assert records(archive) == 2 + 2 * (requests - 1 + archived_extra)
    assert len(parse_errors(archive)) == (1 if fault.kind == "malformed" else 0)


def test_an_expired_token_fails_the_account_with_one_actionable_line(
    archive: Archive, world: World, clock: FakeClock
) -> None:
    world.server.inject(Fault("expired-token", path=r"/playlistItems"))

    result = night(archive, world, clock)

    assert result.outcome == "failed"
    assert result.error is not None and "\n" not in result.error
    assert result.error.startswith("account 'hppd-youtube' (youtube): the platform refused the token")
    assert "refresh the channel owner's OAuth access token" in result.error
    assert f"renew the access token in {TOKEN_ENV}" in result.error
    assert result.events == {"created": 1}  # the channel, read before the refusal
    assert records(archive) == 2 + 2 * 2


# -- bad payloads -------------------------------------------------------------------------------


def test_invalid_utf8_is_archived_unparsed_and_fetched_again(
    archive: Archive, world: World, clock: FakeClock
) -> None:
    world.server.inject(Fault("invalid-utf8", path=r"/commentThreads"))

    result = night(archive, world, clock)

    assert_night(archive, world, result)
    assert parse_errors(archive) == ["body is not valid UTF-8 (byte 2)"]
    assert records(archive) == 2 + 2 * (first_night_requests(world.scenario) + 1)


def rewrite_thread(world: World, comment: SimComment, change: Callable[[dict[str, Any]], None]) -> None:
    def rewrite(request: SimRequest, body: dict[str, Any]) -> dict[str, Any] | None:
        for thread in body.get("items", []):
            if thread.get("id") == comment_id_of(comment):
                change(thread)
                return body
        return None

    world.app.rewrites.append((r"/commentThreads\?", rewrite))


def assert_partial(archive: Archive, world: World, result: RunResult, *, missing: set[str]) -> None:
    expected = {uid for uid in shown(world.scenario) if uid not in missing}
    assert result.outcome == "partial"
    assert result.events == {"created": len(expected)}
    totals = counts(archive)
    assert (totals["items"], totals["item_versions"], totals["change_events"]) == (len(expected),) * 3
    with archive.sessions() as session:
        assert set(session.scalars(select(m.Item.uid))) == expected
    assert result.report["listings_complete"] == result.report["listings_total"] - 1


def test_a_comment_without_an_id_is_unparsed_and_the_run_goes_on(
    archive: Archive, world: World, clock: FakeClock
) -> None:
    post, comment = with_replies(world.scenario)
    rewrite_thread(world, comment, lambda thread: thread["snippet"]["topLevelComment"].pop("id"))

    result = night(archive, world, clock)

    index = sorted(
        [c for c in post.live_comments() if not c.hidden], key=lambda c: (c.created, c.id), reverse=True
    ).index(comment)
    assert parse_errors(archive) == [f"items[{index}] topLevelComment: youtube#comment without an id"]
    # its replies name their parent themselves and stay
    assert_partial(archive, world, result, missing={f"youtube:{comment_id_of(comment)}"})


def test_an_unknown_item_type_is_unparsed_and_the_run_goes_on(
    archive: Archive, world: World, clock: FakeClock
) -> None:
    _, comment = with_replies(world.scenario)
    rewrite_thread(world, comment, lambda thread: thread.update(kind="youtube#liveChatMessage"))

    result = night(archive, world, clock)

    (error,) = parse_errors(archive)
    assert error.endswith("unknown item type 'youtube#liveChatMessage', expected youtube#commentThread")
    missing = {f"youtube:{comment_id_of(comment)}"} | {
        f"youtube:{reply_id_of(comment, r)}" for r in comment.live_replies()
    }
    assert_partial(archive, world, result, missing=missing)


def test_reply_links_that_loop_are_unparsed_and_the_run_goes_on(
    archive: Archive, world: World, clock: FakeClock
) -> None:
    _, comment = with_replies(world.scenario)
    first = sorted(comment.live_replies(), key=lambda r: (r.created, r.id), reverse=True)[0]

    def loop(thread: dict[str, Any]) -> None:
        thread["snippet"]["topLevelComment"]["snippet"]["parentId"] = reply_id_of(comment, first)

    rewrite_thread(world, comment, loop)

    result = night(archive, world, clock)

    top, reply = comment_id_of(comment), reply_id_of(comment, first)
    assert parse_errors(archive) == [f"reply links form a cycle: {top} -> {reply} -> {top}"]
    assert_partial(archive, world, result, missing={f"youtube:{top}", f"youtube:{reply}"})


def test_a_very_large_response_is_archived_whole_and_indexed(
    archive: Archive, world: World, clock: FakeClock
) -> None:
    _, comment = with_replies(world.scenario)
    comment.text = ("Überlange Beschwerde über Parkplätze 🚓 " * 80_000).strip()  # ~3.4 MB of UTF-8

    result = night(archive, world, clock)

    assert_night(archive, world, result)
    with archive.sessions() as session:
        biggest = session.scalar(
            select(m.WarcRecord.payload_length).order_by(m.WarcRecord.payload_length.desc())
        )
        version = session.scalar(
            select(m.ItemVersion.text).join(m.Item, m.Item.id == m.ItemVersion.item_id)
            .where(m.Item.uid == f"youtube:{comment_id_of(comment)}")
        )  # fmt: skip
    assert biggest is not None and biggest > 3_000_000
    assert version == comment.text
