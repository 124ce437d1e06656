"""XSource through the real pipeline: X API simulator → spool → object store → index.

A small hand-made account keeps every count exact:

* post A (photo M1) with comment C1 (Jane) answered by the department (R1), and comment C2
  (John, photo M2);
* post B with comment C3 (Zoë).

That is 9 items on the first night: the profile, 2 posts, 3 comments, 1 reply, 2 photos. The
department's reply R1 is listed twice (timeline and conversation) and the photo M1 twice (the
root post comes back in its own conversation search) but each is one item.
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
from hp_archive.settings import Account
from hp_archive.sources.simulators.base import Fault, SimRequest, SimResponse, SimulatorServer
from hp_archive.sources.simulators.scenario import (
    Scenario,
    SimAccount,
    SimComment,
    SimMedia,
    SimPost,
    png_bytes,
)
from hp_archive.sources.simulators.x import XApiSimulator
from hp_archive.storage import LocalObjectStore
from tests.support.clock import FakeClock
from tests.support.pipeline import TOKEN, TOKEN_ENV, counts, decompressed, make_archive, stored_warc_bytes

EPOCH = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
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


class ScriptedX(XApiSimulator):
    """The simulator plus a per-test rewrite of its JSON answers (bad payloads)."""

    def __init__(self, scenario: Scenario) -> None:
        super().__init__(scenario, valid_tokens={TOKEN})
        self.rewrite: Rewrite | None = None

    def handle(self, request: SimRequest) -> SimResponse:
        response = super().handle(request)
        if self.rewrite is None or response.status != 200 or not request.path.startswith("/2/"):
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
    app: ScriptedX
    account: Account

    def x_id(self, sim_id: str) -> str:
        return self.app.stable_id(sim_id)

    def uid(self, sim_id: str) -> str:
        return f"x:{self.x_id(sim_id)}"

    def conversation(self, sim_id: str) -> str:
        return rf"/2/tweets/search/recent\?query=conversation_id%3A{self.x_id(sim_id)}&"


@pytest.fixture(scope="module")
def running() -> Iterator[SimulatorServer]:
    with SimulatorServer(ScriptedX(small_scenario())) as server:
        yield server


@pytest.fixture
def world(running: SimulatorServer) -> Iterator[World]:
    app = running.app
    assert isinstance(app, ScriptedX)
    app.scenario = small_scenario()
    app.rewrite = None
    app.valid_tokens = {TOKEN}
    running.clear_faults()
    account = Account(
        id="hppd-x", platform="x", handle="HanoverParkPD", base_url=running.url, token_env=TOKEN_ENV,
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
    """(items, versions, change events) in the index."""
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


def api_requests(world: World, start: int = 0) -> list[SimRequest]:
    return [r for r in world.app.requests[start:] if r.path.startswith("/2/")]


FIRST_NIGHT = {"created": 9}


# -- nights ---------------------------------------------------------------------------------------


def test_a_first_night_archives_every_post_reply_and_photo(
    archive: Archive, world: World, clock: FakeClock
) -> None:
    start = len(world.app.requests)
    result = night(archive, world, clock)

    assert result.outcome == "complete", result.error
    assert totals(archive) == (9, 9, 9)
    assert result.events == FIRST_NIGHT
    assert result.archived == {"page": 1, "post": 2, "comment": 3, "reply": 1, "media": 2}
    found = items(archive)
    assert found[world.uid("2102")].kind == "reply" and found[world.uid("2102")].author_is_agency
    assert found[world.uid("2102")].parent_uid == world.uid("2101")
    assert found[world.uid("2103")].root_uid == world.uid("2001")
    api = api_requests(world, start)
    assert [r.path for r in api] == [
        "/2/users/by/username/HanoverParkPD",
        "/2/users/104857600000001/tweets",
        "/2/tweets/search/recent",
        "/2/tweets/search/recent",
    ]
    assert "start_time" not in api[1].query and api[1].query["end_time"] == "2026-11-01T08:00:00Z"
    assert api[2].query["query"] == f"conversation_id:{world.x_id('2002')}"  # newest post first
    assert api[2].query["start_time"] == "2026-10-31T08:00:00Z"  # the post's own creation
    assert result.report["media"] == {"downloaded": 2, "listed": 3, "already_archived": 1}
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in api)
    assert result.report["source_state"] == {
        "user_id": "104857600000001",
        "posts_listed_until": EPOCH.isoformat(),
        "newest_id": world.x_id("2002"),
    }


def test_an_incremental_night_lists_the_look_back_window_and_finds_what_is_new(
    archive: Archive, world: World, clock: FakeClock
) -> None:
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
    timeline = next(r for r in api_requests(world, start) if r.path.endswith("/tweets"))
    assert timeline.query["start_time"] == "2026-10-02T08:00:00Z"  # last night's end minus 30 days
    assert timeline.query["end_time"] == "2026-11-02T08:00:00Z"
    searched = [r.query["query"] for r in api_requests(world, start) if "search" in r.path]
    assert searched == [f"conversation_id:{world.x_id(s)}" for s in ("2003", "2002", "2001")]
    assert result.report["source_state"]["newest_id"] == world.x_id("2003")


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
    # media dedup across runs: listed again, downloaded never
    assert result.report["media"] == {"already_archived": 3, "listed": 3}
    assert not [r for r in world.app.requests[start:] if r.path.startswith("/media/")]


def test_a_zero_look_back_asks_only_for_newer_posts(archive: Archive, world: World, clock: FakeClock) -> None:
    world.account = Account(**{**world.account.__dict__, "lookback_days": 0})
    night(archive, world, clock)
    world.scenario.night += 1
    start = len(world.app.requests)

    result = night(archive, world, clock)

    timeline = next(r for r in api_requests(world, start) if r.path.endswith("/tweets"))
    assert timeline.query["since_id"] == world.x_id("2002") and "start_time" not in timeline.query
    assert result.outcome == "complete" and result.events == {}


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
    assert items(archive)[world.uid("2102")].parent_uid == world.uid("2101")  # still its parent


def test_an_edited_post_keeps_its_identity_and_its_conversation(
    archive: Archive, world: World, clock: FakeClock
) -> None:
    night(archive, world, clock)
    world.scenario.night += 1
    post = world.scenario.account.posts[0]
    post.history.append((world.scenario.now() - timedelta(hours=3), post.text))
    post.text += " UPDATE: this has been resolved."

    result = night(archive, world, clock)

    assert result.events == {"edited": 1}
    assert totals(archive) == (9, 10, 10)
    assert "closed Saturday 7am-3pm. UPDATE: this has been resolved." in current_text(
        archive, world.uid("2001")
    )


def test_a_hidden_comment_is_kept_and_x_does_not_say_it_is_hidden(
    archive: Archive, world: World, clock: FakeClock
) -> None:
    night(archive, world, clock)
    world.scenario.night += 1
    world.scenario.account.posts[0].comments[1].hidden = True

    result = night(archive, world, clock)

    assert result.outcome == "complete"
    assert result.events == {}  # the v2 read endpoints have no hidden flag
    assert totals(archive) == (9, 9, 9)
    assert items(archive)[world.uid("2103")].is_hidden is False


def test_a_deleted_comment_is_observed_deleted(archive: Archive, world: World, clock: FakeClock) -> None:
    night(archive, world, clock)
    world.scenario.night += 1
    world.scenario.account.posts[1].comments[0].deleted = True

    result = night(archive, world, clock)

    assert result.outcome == "complete"
    assert result.events == {"deleted-observed": 1}
    assert totals(archive) == (9, 9, 10)
    assert [uid for uid, item in items(archive).items() if item.is_deleted] == [world.uid("2104")]


def test_a_deleted_post_is_observed_deleted_and_its_replies_are_not_judged(
    archive: Archive, world: World, clock: FakeClock
) -> None:
    night(archive, world, clock)
    world.scenario.night += 1
    world.scenario.account.posts[1].deleted = True

    result = night(archive, world, clock)

    assert result.events == {"deleted-observed": 1}
    assert totals(archive) == (9, 9, 10)
    assert [uid for uid, item in items(archive).items() if item.is_deleted] == [world.uid("2002")]


def test_replies_older_than_recent_search_reaches_are_not_judged(
    archive: Archive, world: World, clock: FakeClock
) -> None:
    night(archive, world, clock)
    world.scenario.night += 8  # C1, C2, C3 are now more than seven days old
    world.scenario.account.posts[1].comments[0].deleted = True

    result = night(archive, world, clock)

    assert result.outcome == "complete"
    assert result.events == {}  # recent search cannot see them, so their absence proves nothing
    assert not [item for item in items(archive).values() if item.is_deleted]


def test_full_archive_search_reaches_back_to_the_post(
    archive: Archive, world: World, clock: FakeClock
) -> None:
    world.account = Account(**{**world.account.__dict__, "options": {"full_archive_search": True}})
    night(archive, world, clock)
    world.scenario.night += 8
    world.scenario.account.posts[1].comments[0].deleted = True
    start = len(world.app.requests)

    result = night(archive, world, clock)

    searches = [r for r in api_requests(world, start) if "search" in r.path]
    assert {r.path for r in searches} == {"/2/tweets/search/all"}
    assert result.events == {"deleted-observed": 1}


# -- injected faults ------------------------------------------------------------------------------


def test_429_waits_until_the_reset_header_says(archive: Archive, world: World, clock: FakeClock) -> None:
    world.server.inject(Fault("429", path=r"/2/users/\d+/tweets\?", retry_after=60))

    result = night(archive, world, clock)

    assert result.outcome == "complete", result.error
    assert clock.slept == [60.0]  # x-rate-limit-reset minus the response time
    assert totals(archive) == (9, 9, 9)
    assert result.report["counts"]["retries"] == 1
    assert result.report["counts"]["responses"] == 7  # the 429 itself is evidence too


def test_500_is_retried_with_backoff(archive: Archive, world: World, clock: FakeClock) -> None:
    world.server.inject(Fault("500", path=world.conversation("2001"), times=2))

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
    world.server.inject(Fault("slow", path=r"/2/users/\d+/tweets\?", delay=1.0))

    result = night(archive, world, clock)
    archive.close()

    assert result.outcome == "complete", result.error
    assert result.report["counts"]["transport_errors"] == 1
    assert clock.slept == [1.0]
    assert totals(archive) == (9, 9, 9)


def test_a_dropped_connection_is_retried(archive: Archive, world: World, clock: FakeClock) -> None:
    world.server.inject(Fault("drop", path=world.conversation("2002")))

    result = night(archive, world, clock)

    assert result.outcome == "complete", result.error
    assert result.report["counts"]["transport_errors"] == 1
    assert totals(archive) == (9, 9, 9)


def test_an_expired_token_fails_the_account_with_one_actionable_line(
    archive: Archive, world: World, clock: FakeClock
) -> None:
    world.server.inject(Fault("expired-token", path=r"/2/users/\d+/tweets\?"))

    result = night(archive, world, clock)

    assert result.outcome == "failed"
    error = result.error or ""
    assert "'hppd-x' (x)" in error and "X API 401 Unauthorized" in error
    assert "generate a new Bearer Token" in error and f"renew the access token in {TOKEN_ENV}" in error
    assert "\n" not in error and TOKEN not in error
    assert totals(archive) == (1, 1, 1)  # the profile was archived before the refusal
    assert result.status == "indexed"  # the 401 itself is stored as evidence


def test_a_malformed_body_is_archived_unparsed_and_fetched_again(
    archive: Archive, world: World, clock: FakeClock
) -> None:
    world.server.inject(Fault("malformed", path=r"/2/users/\d+/tweets\?"))

    result = night(archive, world, clock)

    assert result.outcome == "complete", result.error
    assert totals(archive) == (9, 9, 9)
    (error,) = parse_errors(archive)
    assert error.startswith("malformed JSON at line 1")


# -- bad payloads ---------------------------------------------------------------------------------


def test_malformed_json_every_time_fails_only_that_conversation(
    archive: Archive, world: World, clock: FakeClock
) -> None:
    world.server.inject(Fault("malformed", path=world.conversation("2001"), times=10))

    result = night(archive, world, clock)

    assert result.outcome == "partial"
    assert totals(archive) == (6, 6, 6)  # C1, C2 and photo M2 were only in that conversation
    assert len(parse_errors(archive)) == 4  # every attempt is archived and marked
    assert any(world.x_id("2001") in f["what"] for f in result.report["failures"])


def test_invalid_utf8_every_time_fails_only_that_conversation(
    archive: Archive, world: World, clock: FakeClock
) -> None:
    world.server.inject(Fault("invalid-utf8", path=world.conversation("2002"), times=10))

    result = night(archive, world, clock)

    assert result.outcome == "partial"
    assert totals(archive) == (8, 8, 8)
    assert parse_errors(archive) == ["body is not valid UTF-8 (byte 2)"] * 4


def rewrite_conversation(world: World, sim_id: str, change: Callable[[dict[str, Any]], Any]) -> Rewrite:
    def rewrite(request: SimRequest, payload: dict[str, Any]) -> Any:
        if request.query.get("query") != f"conversation_id:{world.x_id(sim_id)}":
            return None
        return change(payload)

    return rewrite


def tweet(payload: dict[str, Any], world: World, sim_id: str) -> dict[str, Any]:
    return next(t for t in payload["data"] if t["edit_history_tweet_ids"][0] == world.x_id(sim_id))


def test_a_missing_field_leaves_that_reply_out(archive: Archive, world: World, clock: FakeClock) -> None:
    def drop_text(payload: dict[str, Any]) -> dict[str, Any]:
        del tweet(payload, world, "2101")["text"]
        return payload

    world.app.rewrite = rewrite_conversation(world, "2001", drop_text)

    result = night(archive, world, clock)

    assert result.outcome == "partial"  # the listing cannot prove absences any more
    assert totals(archive) == (8, 8, 8)
    assert world.uid("2101") not in items(archive)
    assert parse_errors(archive) == [f"post {world.x_id('2101')}: text is null; left out"]


def test_an_unknown_item_type_leaves_that_element_out(
    archive: Archive, world: World, clock: FakeClock
) -> None:
    def replace_c2(payload: dict[str, Any]) -> dict[str, Any]:
        index = payload["data"].index(tweet(payload, world, "2103"))
        payload["data"][index] = ["a", "list", "where", "a", "post", "should", "be"]
        return payload

    world.app.rewrite = rewrite_conversation(world, "2001", replace_c2)

    result = night(archive, world, clock)

    assert result.outcome == "partial"
    assert totals(archive) == (7, 7, 7)  # C2 and its photo M2
    (error,) = parse_errors(archive)
    assert error.endswith("unknown item type (list), not a post object")


def test_reply_links_in_a_cycle_are_left_out_and_the_run_goes_on(
    archive: Archive, world: World, clock: FakeClock
) -> None:
    def loop(payload: dict[str, Any]) -> dict[str, Any]:
        tweet(payload, world, "2101")["referenced_tweets"] = [
            {"type": "replied_to", "id": world.x_id("2102")}
        ]
        return payload

    world.app.rewrite = rewrite_conversation(world, "2001", loop)

    result = night(archive, world, clock)

    assert result.outcome == "partial"
    assert totals(archive) == (8, 8, 8)  # C1 is left out; R1 comes from the timeline too
    (error,) = parse_errors(archive)
    assert "reply links form a cycle" in error and "2 more" not in error


def test_a_very_large_response_is_archived_and_indexed(
    archive: Archive, world: World, clock: FakeClock
) -> None:
    big = "Ich wohne seit 20 Jahren hier: danke für alles. " * 60_000  # about 3 MB

    def enlarge(payload: dict[str, Any]) -> dict[str, Any]:
        tweet(payload, world, "2103")["text"] = big
        return payload

    world.app.rewrite = rewrite_conversation(world, "2001", enlarge)

    result = night(archive, world, clock)

    assert result.outcome == "complete", result.error
    assert totals(archive) == (9, 9, 9)
    assert len(current_text(archive, world.uid("2103"))) == len(big)
    assert parse_errors(archive) == []


def test_a_bad_page_on_a_later_night_never_reports_a_deletion(
    archive: Archive, world: World, clock: FakeClock
) -> None:
    night(archive, world, clock)
    world.scenario.night += 1

    def drop_text(payload: dict[str, Any]) -> dict[str, Any]:
        del tweet(payload, world, "2101")["text"]
        return payload

    world.app.rewrite = rewrite_conversation(world, "2001", drop_text)

    result = night(archive, world, clock)

    assert result.outcome == "partial"
    assert result.events == {}
    assert not items(archive)[world.uid("2101")].is_deleted


def test_no_token_in_any_stored_warc(archive: Archive, world: World, clock: FakeClock) -> None:
    night(archive, world, clock)
    world.scenario.night += 1
    world.server.inject(Fault("expired-token", path=r"/2/tweets/search"))
    night(archive, world, clock)

    for key, data in stored_warc_bytes(archive.store):
        plain = decompressed(data)
        assert TOKEN.encode() not in plain, key
        assert b"Authorization: Bearer REDACTED" in plain
