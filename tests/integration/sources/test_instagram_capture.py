"""InstagramSource through the real pipeline: simulator → spool → object store → index.

Every test starts from the same scenario and asserts the counts of items, versions and events
exactly, against an oracle computed from the scenario: what the simulator shows tonight, and what
the index must therefore hold (created, edited, hidden, deleted) given which listings ran.
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
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select
from sqlalchemy import text as sql

from hp_archive.archive import Archive
from hp_archive.capture import RunResult, capture_account
from hp_archive.index import models as m
from hp_archive.index.reindex import reindex
from hp_archive.index.search import show_item
from hp_archive.settings import Account
from hp_archive.sources.instagram import COMMENT_FIELDS, MEDIA_FIELDS, USER_FIELDS
from hp_archive.sources.simulators.base import Fault, SimRequest, SimResponse, SimulatorServer
from hp_archive.sources.simulators.instagram import (
    InstagramGraphSimulator,
    comment_id_of,
    media_id_of,
    media_keys,
    media_shape,
)
from hp_archive.sources.simulators.scenario import Scenario, SimComment, SimPost
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


class ScriptedInstagram(InstagramGraphSimulator):
    """The simulator plus per-test meddling with its JSON answers (bad payloads)."""

    def __init__(self, scenario: Scenario) -> None:
        super().__init__(scenario, valid_tokens={TOKEN})
        self.rewrites: list[tuple[str, Rewrite]] = []  # (path regex, rewrite); each used once

    def handle(self, request: SimRequest) -> SimResponse:
        response = super().handle(request)
        for index, (pattern, rewrite) in enumerate(self.rewrites):
            if response.status == 200 and re.search(pattern, request.path):
                changed = rewrite(request, json.loads(response.body))
                if changed is not None:
                    del self.rewrites[index]
                    kept = [(k, v) for k, v in response.headers if k not in ("Content-Type", "ETag")]
                    return SimResponse.json(200, changed, kept)
        return response


@dataclass
class World:
    scenario: Scenario
    server: SimulatorServer
    app: ScriptedInstagram
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
        ScriptedInstagram(Scenario.department(posts=8, comments_per_post=4, days=20))
    ) as server:
        yield server


def new_world(server: SimulatorServer, scenario: Scenario) -> World:
    app = server.app
    assert isinstance(app, ScriptedInstagram)
    app.scenario = scenario
    app.rewrites.clear()
    app.requests.clear()
    server.clear_faults()
    account = Account(
        id="hppd-instagram",
        platform="instagram",
        handle=scenario.account.id,
        base_url=f"{server.url}/v25.0",
        token_env=TOKEN_ENV,
        series="social-media",
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


def shown(scenario: Scenario) -> dict[str, tuple[str, str, bool]]:
    """uid -> (kind, text, hidden) of everything the simulator shows the account's token."""
    out = {f"instagram:{scenario.account.id}": ("page", "", False)}
    for post in scenario.account.live_posts():
        out[f"instagram:{media_id_of(post)}"] = ("post", post.text, False)
        out.update((f"instagram:{key}", ("media", "", False)) for key in media_keys(scenario, post))
        for comment in post.live_comments():
            out[f"instagram:{comment_id_of(comment)}"] = ("comment", comment.text, comment.hidden)
            for reply in comment.live_replies():
                out[f"instagram:{comment_id_of(reply)}"] = ("reply", reply.text, reply.hidden)
    return out


def relisted(scenario: Scenario, since: datetime | None) -> tuple[set[str], set[str]]:
    """(posts whose comments are listed tonight, every post id ever) for the deletion rules."""
    listed = {media_id_of(p) for p in scenario.account.live_posts() if since is None or p.created >= since}
    return listed, {media_id_of(p) for p in scenario.account.posts}


def expect_night(world: World, as_of: datetime) -> Counter[str]:
    """Advance the oracle's index by one complete night; returns the events it must record."""
    since = None if world.last_as_of is None else min(world.last_as_of, as_of) - LOOKBACK
    listed, _ = relisted(world.scenario, since)
    owner: dict[str, str] = {}  # comment uid -> its media id
    window: set[str] = set()  # posts and files covered by tonight's media listing
    for post in world.scenario.account.posts:
        media = media_id_of(post)
        if since is None or post.created >= since:
            window.add(f"instagram:{media}")
            window.update(f"instagram:{key}" for key in media_keys(world.scenario, post))
        for comment in post.comments:
            owner[f"instagram:{comment_id_of(comment)}"] = media
            owner.update((f"instagram:{comment_id_of(r)}", media) for r in comment.replies)
    now = shown(world.scenario)
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
        judged = uid in window if kind in ("post", "media") else owner.get(uid) in listed
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


def assert_night(archive: Archive, world: World, result: RunResult, *, outcome: str = "complete") -> None:
    expected = expect_night(world, world.scenario.now())
    assert (result.outcome, result.error) == (outcome, None)
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


def first_night_requests(scenario: Scenario) -> int:
    """Profile + media pages + one comments page per media + one download per file."""
    live = scenario.account.live_posts()
    files = sum(len(media_keys(scenario, p)) for p in live)
    return 1 + math.ceil(len(live) / 100) + len(live) + files


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
    live = world.scenario.account.live_posts()
    requests = world.requests()
    graph = [r for r in requests if r.path.startswith("/v25.0/")]
    cdn = [r for r in requests if r.path.startswith("/ig-cdn/")]
    assert graph[0].path == f"/v25.0/{world.scenario.account.id}" and graph[0].query == {
        "fields": USER_FIELDS
    }
    assert graph[1].path == f"/v25.0/{world.scenario.account.id}/media"
    assert graph[1].query == {"fields": MEDIA_FIELDS, "limit": "100", "until": str(int(as_of.timestamp()))}
    assert [r.path for r in graph[2:]] == [f"/v25.0/{media_id_of(p)}/comments" for p in live]
    assert all(r.query == {"fields": COMMENT_FIELDS, "limit": "50"} for r in graph[2:])
    assert all(
        r.headers["authorization"] == f"OAuth {TOKEN}" and "access_token" not in r.query for r in graph
    )
    expected_files = {k for p in live for k in media_keys(world.scenario, p)}
    assert {
        "{}:{}".format(*urlsplit(r.path).path.rsplit("/", 1)[1].split("_")[:2]) for r in cdn
    } == expected_files
    assert result.report["media"] == {"downloaded": len(expected_files), "listed": len(expected_files)}
    assert result.report["counts"] == {
        "requests": first_night_requests(world.scenario),
        "responses": len(requests),
    }
    assert records(archive) == 2 + 2 * len(requests)  # warcinfo, request/response pairs, the report
    assert result.report["source_state"] == {"media_listed_until": as_of.isoformat()}
    assert result.report["listings_complete"] == result.report["listings_total"] == 1 + len(live)
    kinds = Counter(kind for kind, _, _, _ in world.state.values())
    assert result.report["listed"] == {k: v for k, v in kinds.items() if k != "page"}
    for _, data in stored_warc_bytes(archive.store):
        assert TOKEN.encode() not in decompressed(data)
    archive.close()


def test_a_later_night_relists_only_the_look_back_window(
    archive: Archive, world: World, clock: FakeClock
) -> None:
    world.scenario = world.app.scenario = Scenario.department(posts=12, comments_per_post=3, days=120)
    first_as_of = world.scenario.now()
    assert_night(archive, world, night(archive, world, clock))
    known = {k for p in world.scenario.account.live_posts() for k in media_keys(world.scenario, p)}
    world.scenario.advance()
    start = len(world.app.requests)

    result = night(archive, world, clock)

    assert_night(archive, world, result)
    since = first_as_of - LOOKBACK
    graph = [r for r in world.requests(start) if r.path.startswith("/v25.0/")]
    (listing,) = [r for r in graph if r.path.endswith("/media")]
    assert listing.query["since"] == str(int(since.timestamp()))
    recent = [p for p in world.scenario.account.live_posts() if p.created >= since]
    assert 0 < len(recent) < len(world.scenario.account.live_posts())
    assert [r.path for r in graph if r.path.endswith("/comments")] == [
        f"/v25.0/{media_id_of(p)}/comments" for p in recent
    ]
    in_window = {k for p in recent for k in media_keys(world.scenario, p)}
    assert result.report["media"] == {
        "already_archived": len(in_window & known),
        "downloaded": len(in_window - known),
        "listed": len(in_window),
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
    world.scenario.night += 1

    result = night(archive, world, clock)

    assert_night(archive, world, result)
    assert result.events == {"edited": 1}
    with archive.sessions() as session:
        item = show_item(session, f"instagram:{comment_id_of(comment)}")
    assert [v["text"] for v in item["versions"]] == [old, comment.text]
    assert [e["kind"] for e in item["events"]] == ["created", "edited"]


def test_a_hidden_comment_is_marked_hidden(archive: Archive, world: World, clock: FakeClock) -> None:
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


def test_a_deleted_post_and_its_files_are_observed_deleted(
    archive: Archive, world: World, clock: FakeClock
) -> None:
    assert_night(archive, world, night(archive, world, clock))
    post = next(p for p in world.scenario.account.live_posts() if p.live_comments())
    post.deleted = True
    world.scenario.night += 1

    result = night(archive, world, clock)

    assert_night(archive, world, result)
    assert result.events == {"deleted-observed": 1 + len(media_keys(world.scenario, post))}
    with archive.sessions() as session:  # its comments were not listed, so nothing is said of them
        comment = session.scalar(
            select(m.Item).where(m.Item.uid == f"instagram:{comment_id_of(post.live_comments()[0])}")
        )
    assert comment is not None and not comment.is_deleted


def test_media_is_downloaded_once_across_nights(archive: Archive, world: World, clock: FakeClock) -> None:
    first = night(archive, world, clock)
    assert_night(archive, world, first)
    files = first.report["media"]["downloaded"]
    before = records(archive)
    world.scenario.night += 1  # every CDN URL is signed afresh

    second = night(archive, world, clock)

    assert_night(archive, world, second)
    assert second.events == {}
    assert second.report["media"] == {"already_archived": files, "listed": files}
    live = len(world.scenario.account.live_posts())
    # profile and comments answer the same bytes (revisits); the media page is re-signed
    assert second.report["counts"] == {"requests": 2 + live, "responses": 1, "revisits": 1 + live}
    assert records(archive) == before + 2 + 2 * (2 + live)


def test_album_children_not_inline_are_read_from_the_children_edge(
    archive: Archive, world: World, clock: FakeClock
) -> None:
    album = next(p for p in world.scenario.account.live_posts() if media_shape(world.scenario, p).children)

    def drop_children(request: SimRequest, body: dict[str, Any]) -> dict[str, Any] | None:
        if not request.path.endswith("/media"):
            return None
        for media in body["data"]:
            if media["id"] == media_id_of(album):
                del media["children"]
        return body

    world.app.rewrites.append((r"/media$", drop_children))
    result = night(archive, world, clock)

    assert_night(archive, world, result)
    assert [r.path for r in world.requests() if r.path.endswith("/children")] == [
        f"/v25.0/{media_id_of(album)}/children"
    ]
    assert result.report["counts"]["requests"] == first_night_requests(world.scenario) + 1


def test_long_reply_lists_page_on_through_the_replies_edge(
    archive: Archive, world: World, clock: FakeClock
) -> None:
    _, comment = with_replies(world.scenario)
    rng = random.Random(11)
    comment.replies.extend(world.scenario._new_comment(rng, comment.created) for _ in range(30))

    result = night(archive, world, clock)

    assert_night(archive, world, result)
    assert [r.path for r in world.requests() if r.path.endswith("/replies")] == [
        f"/v25.0/{comment_id_of(comment)}/replies"
    ]


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


# -- faults -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "slept", "archived_extra"),
    [
        (Fault("429", path=r"/media\?", retry_after=60), [60.0], 1),  # estimated_time_to_regain_access
        (Fault("500", path=r"/comments\?"), [1.0], 1),
        (Fault("503", path=r"/comments\?"), [1.0], 1),
        (Fault("slow", path=r"/comments\?", delay=2.0), [1.0], 0),  # the client times out
        (Fault("drop", path=r"/comments\?"), [1.0], 0),
        (Fault("malformed", path=r"/comments\?"), [1.0], 1),
    ],
    ids=["429", "500", "503", "slow", "drop", "malformed"],
)
def test_faults_are_waited_out_and_lose_nothing(
    archive: Archive, world: World, clock: FakeClock, fault: Fault, slept: list[float], archived_extra: int
) -> None:
    with ExitStack() as stack:
        if fault.kind == "slow":
            # the server thread that sleeps answers late into its own app, not a later test's
            private = stack.enter_context(SimulatorServer(ScriptedInstagram(world.scenario)))
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
    world.server.inject(Fault("expired-token", path=r"/media\?"))

    result = night(archive, world, clock)

    assert result.outcome == "failed"
    assert result.error is not None and "\n" not in result.error
    assert result.error.startswith("account 'hppd-instagram' (instagram): the platform refused the token")
    assert "Session has expired" in result.error and f"renew the access token in {TOKEN_ENV}" in result.error
    assert result.events == {"created": 1}  # the profile, read before the refusal
    assert counts(archive)["items"] == 1
    assert records(archive) == 2 + 2 * 2  # the refusal itself is evidence
    assert result.report["source_state"] == {}


# -- bad payloads -------------------------------------------------------------------------------


def test_invalid_utf8_is_archived_unparsed_and_fetched_again(
    archive: Archive, world: World, clock: FakeClock
) -> None:
    world.server.inject(Fault("invalid-utf8", path=r"/comments\?"))

    result = night(archive, world, clock)

    assert_night(archive, world, result)
    assert parse_errors(archive) == ["body is not valid UTF-8 (byte 2)"]
    assert records(archive) == 2 + 2 * (first_night_requests(world.scenario) + 1)


def test_a_comment_without_an_id_is_unparsed_and_the_run_goes_on(
    archive: Archive, world: World, clock: FakeClock
) -> None:
    post, comment = with_replies(world.scenario)

    def drop_id(request: SimRequest, body: dict[str, Any]) -> dict[str, Any]:
        for raw in body["data"]:
            if raw["id"] == comment_id_of(comment):
                del raw["id"]
        return body

    world.app.rewrites.append((rf"/{media_id_of(post)}/comments$", drop_id))
    result = night(archive, world, clock)

    assert result.outcome == "partial"
    assert parse_errors(archive) == [f"data[{ordered_index(post, comment)}]: comment without an id"]
    assert_partial(archive, world, result, missing={f"instagram:{comment_id_of(comment)}"})


def test_an_unknown_media_type_keeps_the_post_but_not_its_files(
    archive: Archive, world: World, clock: FakeClock
) -> None:
    post = world.scenario.account.live_posts()[0]

    def retype(request: SimRequest, body: dict[str, Any]) -> dict[str, Any]:
        for raw in body["data"]:
            if raw["id"] == media_id_of(post):
                raw["media_type"] = "STORY_SLIDESHOW"
        return body

    world.app.rewrites.append((r"/media$", retype))
    result = night(archive, world, clock)

    assert result.outcome == "partial"
    assert parse_errors(archive) == [
        f"media {media_id_of(post)}: unknown media_type 'STORY_SLIDESHOW'; its files were not read"
    ]
    missing = {f"instagram:{k}" for k in media_keys(world.scenario, post)}
    assert_partial(archive, world, result, missing=missing)
    assert result.report["media"]["listed"] == first_night_requests(world.scenario) - 2 - len(
        world.scenario.account.live_posts()
    ) - len(missing)


def test_reply_links_that_loop_are_unparsed_and_the_run_goes_on(
    archive: Archive, world: World, clock: FakeClock
) -> None:
    post, comment = with_replies(world.scenario)
    reply = comment.live_replies()[0]

    def loop(request: SimRequest, body: dict[str, Any]) -> dict[str, Any]:
        for raw in body["data"]:
            if raw["id"] == comment_id_of(comment):
                raw["parent_id"] = comment_id_of(reply)  # the reply already names the comment
        return body

    world.app.rewrites.append((rf"/{media_id_of(post)}/comments$", loop))
    result = night(archive, world, clock)

    assert result.outcome == "partial"
    (error,) = parse_errors(archive)
    assert (
        error
        == f"reply links form a cycle: {comment_id_of(comment)} -> {comment_id_of(reply)} -> {comment_id_of(comment)}"
    )
    assert_partial(
        archive,
        world,
        result,
        missing={f"instagram:{comment_id_of(comment)}", f"instagram:{comment_id_of(reply)}"},
    )


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
            .where(m.Item.uid == f"instagram:{comment_id_of(comment)}")
        )  # fmt: skip
    assert biggest is not None and biggest > 3_000_000
    assert version == comment.text


def ordered_index(post: SimPost, comment: SimComment) -> int:
    newest_first = sorted(post.live_comments(), key=lambda c: (c.created, comment_id_of(c)), reverse=True)
    return newest_first.index(comment)


def assert_partial(archive: Archive, world: World, result: RunResult, *, missing: set[str]) -> None:
    """A first night whose listing could not read ``missing``: everything else is indexed."""
    expected = {uid: v for uid, v in shown(world.scenario).items() if uid not in missing}
    assert result.events == {"created": len(expected)}
    totals = counts(archive)
    assert (totals["items"], totals["item_versions"], totals["change_events"]) == (len(expected),) * 3
    with archive.sessions() as session:
        assert set(session.scalars(select(m.Item.uid))) == set(expected)
    assert result.report["listings_complete"] == result.report["listings_total"] - 1
