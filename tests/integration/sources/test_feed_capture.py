"""Feeds end to end: simulator (RSS 2.0 and Atom 1.0) → FeedSource → WARC → store → index.

A feed is a window: the oracle is every entry the feed ever showed on a night it was read, each
with its text, and nothing ever deleted. Counts of items, versions and events are exact.
"""

from __future__ import annotations

import dataclasses
import io
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import select

from hp_archive.archive import Archive
from hp_archive.capture import RunResult, capture_account
from hp_archive.index import models as m
from hp_archive.index.reindex import reindex
from hp_archive.index.search import show_item
from hp_archive.settings import Account
from hp_archive.sources.feed import enclosure_key
from hp_archive.sources.simulators.base import Fault, SimRequest, SimResponse, SimulatorServer
from hp_archive.sources.simulators.feed import FeedSimulator, entry_id
from hp_archive.sources.simulators.scenario import Scenario, SimPost
from hp_archive.storage import LocalObjectStore
from hp_archive.warc.reader import iter_records
from tests.support.clock import FakeClock
from tests.support.pipeline import counts, make_archive, snapshot, stored_warc_bytes
from tests.support.tools import cdxj_index, warcio_check

WINDOW = 10
Rewrite = Callable[[SimRequest, SimResponse], SimResponse]


class ScriptedFeed(FeedSimulator):
    def __init__(self, scenario: Scenario) -> None:
        super().__init__(scenario, window=WINDOW)
        self.rewrite: Rewrite | None = None

    def handle(self, request: SimRequest) -> SimResponse:
        response = super().handle(request)
        return self.rewrite(request, response) if self.rewrite is not None else response


@dataclass
class World:
    scenario: Scenario
    server: SimulatorServer
    account: Account
    app: ScriptedFeed
    path: str
    shown: set[str] = field(default_factory=set)  # ids of posts the feed showed on a read night

    def remember(self) -> None:
        self.shown |= {p.id for p in self.scenario.account.live_posts()[:WINDOW]}


@pytest.fixture(params=["/feed.rss", "/feed.atom"], ids=["rss", "atom"])
def world(request: pytest.FixtureRequest) -> Iterator[World]:
    scenario = Scenario.department(posts=8, comments_per_post=4, days=20)
    app = ScriptedFeed(scenario)
    with SimulatorServer(app) as server:
        account = Account(
            id="hppd-news", platform="feed", handle=f"{server.url}{request.param}", series="web-pages"
        )
        yield World(scenario, server, account, app, request.param)


@pytest.fixture
def archive(tmp_path: Path, database_url: str, clock: FakeClock) -> Iterator[Archive]:
    arch = make_archive(
        LocalObjectStore(tmp_path / "store"), database_url, tmp_path / "spool", clock, http_timeout=2.0
    )
    yield arch
    arch.close()


def night(archive: Archive, world: World, clock: FakeClock) -> RunResult:
    clock.set(world.scenario.now())
    result = capture_account(archive, world.account, window_end=world.scenario.now())
    if result.outcome == "complete":
        world.remember()
    return result


def post_uid(post: SimPost) -> str:
    return f"feed:{entry_id(post)}"


def media_uids(world: World, post: SimPost) -> set[str]:
    return {
        f"feed:{enclosure_key(entry_id(post), f'{world.server.url}/media/{m.id}.png')}" for m in post.media
    }


def expected(world: World) -> dict[str, str | None]:
    """uid -> text the current version must contain, for every item the index must hold."""
    out: dict[str, str | None] = {f"feed:{world.account.handle}": world.scenario.account.name}
    for post in world.scenario.account.posts:
        if post.id in world.shown:
            out[post_uid(post)] = post.text if not post.deleted else None
            out.update(dict.fromkeys(media_uids(world, post)))
    return out


def assert_index_matches(archive: Archive, world: World) -> None:
    want = expected(world)
    with archive.sessions() as session:
        rows = {
            item.uid: (version.text, item.is_deleted, item.is_hidden)
            for item, version in session.execute(
                select(m.Item, m.ItemVersion).join(
                    m.ItemVersion, m.ItemVersion.id == m.Item.current_version_id
                )
            )
        }
    assert set(rows) == set(want)
    for key, text in want.items():
        assert rows[key][1:] == (False, False), key  # nothing in a feed is ever judged deleted
        if text:
            assert text in rows[key][0], key


def requests_since(world: World, start: int) -> list[SimRequest]:
    return world.app.requests[start:]


# -- nights ------------------------------------------------------------------------------------------


def test_first_night_reads_every_entry_and_image_once(
    archive: Archive, world: World, clock: FakeClock
) -> None:
    result = night(archive, world, clock)
    assert result.outcome == "complete", result.error
    assert_index_matches(archive, world)
    assert result.events == {"created": 13}  # the feed, 8 entries, 4 photos
    assert counts(archive)["items"] == counts(archive)["item_versions"] == 13
    assert result.report["media"] == {"listed": 4, "downloaded": 4}
    assert result.report["listings_total"] == result.report["listings_complete"] == 1
    (feed, *media) = world.app.requests
    assert (
        feed.path == world.path
        and "if-none-match" not in feed.headers
        and "authorization" not in feed.headers
    )
    assert sorted(r.path for r in media) == sorted(
        f"/media/{m.id}.png" for p in world.scenario.account.posts for m in p.media
    )
    state = result.report["source_state"]["validators"]
    assert set(state) == {"etag", "last_modified"}


def test_later_nights_ask_conditionally_and_never_report_entries_that_drop_off(
    archive: Archive, world: World, clock: FakeClock
) -> None:
    first = night(archive, world, clock)
    totals = Counter(first.events)
    validators = first.report["source_state"]["validators"]
    for _ in range(3):
        before = set(expected(world))
        changes = world.scenario.advance()
        start = len(world.app.requests)
        result = night(archive, world, clock)
        assert result.outcome == "complete", result.error
        feed_request = requests_since(world, start)[0]
        assert feed_request.headers["if-none-match"] == validators["etag"]
        assert feed_request.headers["if-modified-since"] == validators["last_modified"]
        validators = result.report["source_state"]["validators"]
        assert_index_matches(archive, world)
        window = {p.id for p in world.scenario.account.live_posts()[:WINDOW]}
        edited = [c.split()[2] for c in changes if c.startswith("edit post")]
        want = Counter(
            {
                "created": len(set(expected(world)) - before),
                "edited": sum(
                    1
                    for i in edited
                    if i in window and post_uid(world.scenario.account.find_post(i)) in before
                ),  # type: ignore[arg-type]
            }
        )
        assert result.events == +want, changes
        totals.update(result.events)
    # entries fell off the 10-entry window and posts were deleted: none of it is a deletion
    assert len(world.shown) > WINDOW
    assert "deleted-observed" not in totals
    assert counts(archive)["items"] == len(expected(world))
    assert counts(archive)["item_versions"] == totals["created"] + totals["edited"]
    assert counts(archive)["change_events"] == sum(totals.values())


def test_an_unchanged_feed_is_not_modified(archive: Archive, world: World, clock: FakeClock) -> None:
    night(archive, world, clock)
    before = counts(archive)
    world.scenario.night += 1  # a quiet night: nothing posted, nothing edited
    result = night(archive, world, clock)
    assert result.outcome == "complete"
    (only,) = requests_since(world, len(world.app.requests) - 1)
    assert only.path == world.path
    assert result.events == {}
    assert (
        counts(archive)["items"] == before["items"]
        and counts(archive)["item_versions"] == before["item_versions"]
    )
    assert result.report["listings_complete"] == 0 and result.report["listings_total"] == 1
    with archive.sessions() as session:
        statuses = session.scalars(
            select(m.WarcRecord.http_status)
            .where(m.WarcRecord.rec_type == "response")
            .order_by(m.WarcRecord.id)
        ).all()
    assert statuses[-1] == 304


def test_an_edited_entry_keeps_both_versions(archive: Archive, world: World, clock: FakeClock) -> None:
    night(archive, world, clock)
    post = world.scenario.account.live_posts()[3]
    post.history.append((world.scenario.now(), post.text))
    post.text += " UPDATE: this has been resolved."
    post.updated = world.scenario.now()
    world.scenario.night += 1
    result = night(archive, world, clock)
    assert result.events == {"edited": 1}
    with archive.sessions() as session:
        shown = show_item(session, post_uid(post))
    assert [v["version"] for v in shown["versions"]] == [1, 2]
    assert shown["versions"][1]["text"].endswith("UPDATE: this has been resolved.")


def test_a_deleted_post_is_not_a_deleted_entry_and_comments_are_not_in_feeds(
    archive: Archive, world: World, clock: FakeClock
) -> None:
    night(archive, world, clock)
    victim = world.scenario.account.live_posts()[2]
    victim.deleted = True
    victim.comments[0].deleted = True
    victim.comments[1].hidden = True
    world.scenario.night += 1
    result = night(archive, world, clock)
    assert result.outcome == "complete"
    assert result.events == {}  # gone from the feed: not a deletion the feed can prove
    assert_index_matches(archive, world)


def test_images_are_downloaded_once_across_nights(archive: Archive, world: World, clock: FakeClock) -> None:
    night(archive, world, clock)
    world.scenario.advance()
    start = len(world.app.requests)
    result = night(archive, world, clock)
    images = [r.path for r in requests_since(world, start) if r.path.startswith("/media/")]
    window = world.scenario.account.live_posts()[:WINDOW]
    listed = sum(len(p.media) for p in window)
    assert result.report["media"] == {"listed": listed, "already_archived": listed - 2, "downloaded": 2}
    assert len(images) == 2


# -- faults ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "slept"),
    [
        (Fault("429", path=r"^/feed\.", retry_after=45), [45.0]),
        (Fault("500", path=r"^/feed\."), [1.0]),
        (Fault("503", path=r"^/media/"), [1.0]),
        (Fault("slow", path=r"^/feed\.", delay=3.0), [1.0]),
        (Fault("drop", path=r"^/feed\."), [1.0]),
        (Fault("malformed", path=r"^/feed\."), [1.0]),
        (Fault("invalid-utf8", path=r"^/feed\."), [1.0]),
        (Fault("truncated", path=r"^/feed\."), [1.0]),
    ],
    ids=["429-retry-after", "500", "503", "slow", "drop", "malformed", "invalid-utf8", "truncated"],
)
def test_each_transient_fault_is_waited_out(
    archive: Archive, world: World, clock: FakeClock, fault: Fault, slept: list[float]
) -> None:
    world.server.inject(dataclasses.replace(fault))  # a Fault counts down as it is used
    result = night(archive, world, clock)
    assert result.outcome == "complete", result.error
    assert clock.slept == slept
    assert result.events == {"created": 13}
    assert_index_matches(archive, world)


def test_a_refusal_fails_the_night_without_losing_anything(
    archive: Archive, world: World, clock: FakeClock
) -> None:
    night(archive, world, clock)
    world.scenario.advance()
    world.server.inject(Fault("expired-token", path=r"^/feed\."))  # a feed has no token: a 403
    result = night(archive, world, clock)
    assert result.outcome == "partial"
    assert [f["what"] for f in result.report["failures"]] == [f"feed:{world.account.handle}"]
    assert "HTTP 403" in result.report["failures"][0]["reason"]
    assert result.events == {}
    assert counts(archive)["items"] == 13


# -- bad payloads --------------------------------------------------------------------------------------


def on_feed(change: Callable[[bytes], bytes]) -> Rewrite:
    def rewrite(request: SimRequest, response: SimResponse) -> SimResponse:
        if request.path.startswith("/feed.") and response.status == 200:
            return SimResponse(200, change(response.body), response.headers)
        return response

    return rewrite


def parse_errors(archive: Archive) -> list[str]:
    with archive.sessions() as session:
        return list(
            session.scalars(
                select(m.WarcRecord.parse_error)
                .where(m.WarcRecord.parse_error.is_not(None))
                .order_by(m.WarcRecord.id)
            )
        )


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda body: body[: len(body) // 2], "not a well-formed feed: SAXParseException"),
        (
            lambda body: body.replace(b"Traffic", b"Tr\xe4ffic", 1),
            "not a well-formed feed: CharacterEncodingOverride",
        ),
        (
            lambda body: b"<!DOCTYPE html><html><body>Site maintenance</body></html>",
            "not an RSS or Atom feed",
        ),
    ],
    ids=["malformed-xml", "invalid-utf8", "unknown-type"],
)
def test_a_feed_that_stays_unreadable_is_archived_and_the_night_is_partial(
    archive: Archive, world: World, clock: FakeClock, change: Callable[[bytes], bytes], reason: str
) -> None:
    world.app.rewrite = on_feed(change)
    result = night(archive, world, clock)
    assert result.outcome == "partial"
    errors = parse_errors(archive)
    # Every attempt is evidence: one response and three revisits of the same bytes. The shared
    # ingest keeps only JSON/text originals in memory, so the revisits of an RSS/Atom response
    # in the same file are noted as unresolved (reported to the lead); the original says why.
    assert len(errors) == 4 and errors[0].startswith(reason)
    assert counts(archive)["items"] == 0 and result.events == {}
    world.app.rewrite = None
    world.scenario.night += 1
    healed = night(archive, world, clock)
    assert healed.outcome == "complete" and healed.events == {"created": 13}


def test_an_entry_missing_its_id_and_link_is_left_out(
    archive: Archive, world: World, clock: FakeClock
) -> None:
    post = world.scenario.account.live_posts()[1]

    def strip(body: bytes) -> bytes:
        text = body.decode()
        for needle in (f'<guid isPermaLink="false">{entry_id(post)}</guid>', f"<id>{entry_id(post)}</id>"):
            text = text.replace(needle, "")
        link = f"{world.server.url}/news/{post.id}.html"
        text = text.replace(f"<link>{link}</link>", "").replace(
            f'<link rel="alternate" type="text/html" href="{link}"/>', ""
        )
        return text.encode()

    world.app.rewrite = on_feed(strip)
    result = night(archive, world, clock)
    assert result.outcome == "partial"
    assert parse_errors(archive) == ["entries[1]: an entry with neither an id/guid nor a link; left out"]
    missing = 1 + len(post.media)
    assert result.events == {"created": 13 - missing}
    assert result.report["source_state"]["validators"] == {}  # read it whole again next night


def test_a_very_large_feed_is_archived_and_read(archive: Archive, world: World, clock: FakeClock) -> None:
    big = "Road closure details. " * 140_000  # about 3 MB in one entry
    world.app.rewrite = on_feed(
        lambda body: body.replace(b"Traffic advisory", f"Traffic advisory {big}".encode(), 1)
    )
    result = night(archive, world, clock)
    assert result.outcome == "complete"
    assert result.events == {"created": 13}
    with archive.sessions() as session:
        longest = max(len(t) for t in session.scalars(select(m.ItemVersion.text)))
    assert longest > 3_000_000


# -- the archive --------------------------------------------------------------------------------------


def test_reindex_rebuilds_the_same_index_and_warcs_pass_the_tools(
    archive: Archive, world: World, clock: FakeClock, tmp_path: Path
) -> None:
    night(archive, world, clock)
    for _ in range(2):
        world.scenario.advance()
        night(archive, world, clock)
    before = snapshot(archive)
    with archive.engine.begin() as conn:
        for table in ("change_events", "item_versions", "items"):
            conn.exec_driver_sql(f"DELETE FROM {table}")
    reindex(archive)
    assert snapshot(archive) == before
    out = tmp_path / "check"
    out.mkdir()
    paths = []
    for key, data in stored_warc_bytes(archive.store):
        path = out / key.rsplit("/", 1)[-1]
        path.write_bytes(data)
        paths.append(str(path))
        assert list(iter_records(io.BytesIO(data), check_digests=True))
    assert warcio_check(paths).returncode == 0
    assert cdxj_index(paths).returncode == 0
