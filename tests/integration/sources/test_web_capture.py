"""Web pages end to end: the village site simulator → WebPageSource → WARC → store → index.

The oracle is the site: every page the crawl reaches is in the index with its current text,
a news page taken down (404) is marked deleted, and nothing else is. Counts are exact.
"""

from __future__ import annotations

import dataclasses
import io
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from hp_archive.archive import Archive
from hp_archive.capture import RunResult, capture_account
from hp_archive.index import models as m
from hp_archive.index.reindex import reindex
from hp_archive.index.search import show_item
from hp_archive.settings import Account
from hp_archive.sources.simulators.base import Fault, SimRequest, SimResponse, SimulatorServer
from hp_archive.sources.simulators.scenario import Scenario, SimPost
from hp_archive.sources.simulators.web import WebSiteSimulator
from hp_archive.storage import LocalObjectStore
from hp_archive.warc.reader import iter_records
from tests.support.clock import FakeClock
from tests.support.pipeline import counts, make_archive, snapshot, stored_warc_bytes
from tests.support.tools import cdxj_index, warcio_check

Rewrite = Callable[[SimRequest, SimResponse], SimResponse]
STATIC = (
    "/assets/site.css", "/assets/print.css", "/assets/img/bg.png", "/assets/fonts/village.woff2",
    "/assets/site.js", "/assets/badge.png", "/assets/badge-2x.png", "/favicon.ico", "/media/missing.png",
)  # fmt: skip


class ScriptedSite(WebSiteSimulator):
    def __init__(self, scenario: Scenario) -> None:
        super().__init__(scenario)
        self.rewrite: Rewrite | None = None

    def handle(self, request: SimRequest) -> SimResponse:
        response = super().handle(request)
        return self.rewrite(request, response) if self.rewrite is not None else response


@dataclass
class World:
    scenario: Scenario
    server: SimulatorServer
    account: Account
    app: ScriptedSite

    def url(self, path: str) -> str:
        return f"{self.server.url}{path}"


@pytest.fixture
def world() -> Iterator[World]:
    scenario = Scenario.department(posts=8, comments_per_post=4, days=20)
    app = ScriptedSite(scenario)
    with SimulatorServer(app) as server:
        account = Account(
            id="hppd-web", platform="web", handle=f"{server.url}/", series="web-pages",
            options={"max_pages": 40, "depth": 2},
        )  # fmt: skip
        yield World(scenario, server, account, app)


@pytest.fixture
def archive(tmp_path: Path, database_url: str, clock: FakeClock) -> Iterator[Archive]:
    arch = make_archive(
        LocalObjectStore(tmp_path / "store"), database_url, tmp_path / "spool", clock, http_timeout=2.0
    )
    yield arch
    arch.close()


def night(archive: Archive, world: World, clock: FakeClock) -> RunResult:
    clock.set(world.scenario.now())
    return capture_account(archive, world.account, window_end=world.scenario.now())


def page_uid(world: World, post: SimPost) -> str:
    return f"web:{world.url(f'/news/{post.id}.html')}"


def expected(world: World, captured: set[str]) -> dict[str, tuple[str, bool]]:
    """uid -> (kind, deleted) for every page and requisite of the posts captured so far."""
    out = {f"web:{world.url(p)}": ("page", False) for p in ("/", "/news/", "/about.html")}
    out.update({f"web:{world.url(p)}": ("media", False) for p in STATIC})
    for post in world.scenario.account.posts:
        if post.id in captured:
            out[page_uid(world, post)] = ("page", post.deleted)
            out.update({f"web:{world.url(f'/media/{m.id}.png')}": ("media", False) for m in post.media})
    return out


def assert_index_matches(archive: Archive, world: World, captured: set[str]) -> dict[str, tuple[str, bool]]:
    want = expected(world, captured)
    with archive.sessions() as session:
        rows = {
            item.uid: (item.kind, item.is_deleted, version.text)
            for item, version in session.execute(
                select(m.Item, m.ItemVersion).join(
                    m.ItemVersion, m.ItemVersion.id == m.Item.current_version_id
                )
            )
        }
    assert {k: v[:2] for k, v in rows.items()} == want
    for post in world.scenario.account.live_posts():
        assert post.text in rows[page_uid(world, post)][2]
    return want


def statuses(world: World, start: int) -> Counter[tuple[str, int]]:
    """(path, status) of what the site answered since ``start`` (re-rendered, the server is pure)."""
    seen: Counter[tuple[str, int]] = Counter()
    for request in world.app.requests[start:]:
        seen[(request.path, world.app.handle(request).status)] += 1
    return seen


# -- nights ------------------------------------------------------------------------------------------


def test_first_night_captures_pages_and_requisites_but_never_leaves_the_site(
    archive: Archive, world: World, clock: FakeClock
) -> None:
    result = night(archive, world, clock)
    assert result.outcome == "complete", result.error
    captured = {p.id for p in world.scenario.account.live_posts()}
    want = assert_index_matches(archive, world, captured)
    assert len(want) == 24  # 11 pages, 9 site files, 4 photos
    assert result.events == {"created": 24}
    assert counts(archive)["item_versions"] == 24
    paths = [r.path for r in world.app.requests]
    assert paths[:3] == ["/", "/news/", "/about.html"]
    assert "/robots.txt" not in paths  # the department's own pages: robots.txt is not consulted
    assert all(r.headers.get("host", "").startswith("127.0.0.1") for r in world.app.requests)
    assert len(paths) == len(set(paths)) == 24  # each page and file once (the 404 photo included)
    assert result.report["media"] == {"listed": 13, "downloaded": 13}
    assert result.report["listings_total"] == result.report["listings_complete"] == 11
    state = result.report["source_state"]
    assert set(state["pages"]) == {world.url(p) for p in ("/", "/news/", "/about.html")} | {
        world.url(f"/news/{i}.html") for i in captured
    }
    assert world.url("/media/missing.png") not in state["requisites"]  # the site's broken link


def test_later_nights_ask_conditionally_and_see_edits_and_removals(
    archive: Archive, world: World, clock: FakeClock
) -> None:
    night(archive, world, clock)
    captured = {p.id for p in world.scenario.account.live_posts()}
    totals: Counter[str] = Counter({"created": 24})
    for _ in range(3):
        before = expected(world, captured)
        changes = world.scenario.advance()
        start = len(world.app.requests)
        result = night(archive, world, clock)
        assert result.outcome == "complete", result.error
        previously = set(captured)
        captured |= {p.id for p in world.scenario.account.live_posts()}
        after = assert_index_matches(archive, world, captured)
        deleted = [c.split()[2] for c in changes if c.startswith("delete post")]
        edited = [c.split()[2] for c in changes if c.startswith("edit post")]
        live = {p.id for p in world.scenario.account.live_posts()}
        want = Counter(
            {
                "created": len(after.keys() - before.keys()),
                # home and news list change with every new post, plus the edited news page
                "edited": 2 + sum(1 for i in edited if i in live and i in previously),
                "deleted-observed": sum(1 for i in deleted if i in previously),
            }
        )
        assert result.events == +want, changes
        totals.update(result.events)
        answered = statuses(world, start)
        assert answered[("/about.html", 304)] == 1
        assert answered[("/assets/site.css", 304)] == 1 and answered[("/assets/badge.png", 304)] == 1
        for post_id in deleted:
            assert answered[(f"/news/{post_id}.html", 404)] == 1  # asked again although unlinked
    assert counts(archive)["items"] == len(expected(world, captured))
    assert counts(archive)["item_versions"] == totals["created"] + totals["edited"]
    assert counts(archive)["change_events"] == sum(totals.values())
    assert totals["deleted-observed"] == 1


def test_an_edited_page_keeps_both_versions(archive: Archive, world: World, clock: FakeClock) -> None:
    night(archive, world, clock)
    post = world.scenario.account.live_posts()[4]
    post.text += " UPDATE: this has been resolved."
    post.updated = world.scenario.now()
    world.scenario.night += 1
    result = night(archive, world, clock)
    assert result.events == {"edited": 1}
    with archive.sessions() as session:
        shown = show_item(session, page_uid(world, post))
    assert [v["version"] for v in shown["versions"]] == [1, 2]
    assert "UPDATE: this has been resolved." in shown["versions"][1]["text"]


def test_a_removed_page_is_deleted_its_images_are_not_judged_and_comments_are_not_pages(
    archive: Archive, world: World, clock: FakeClock
) -> None:
    night(archive, world, clock)
    victim = next(p for p in world.scenario.account.live_posts() if p.media)
    victim.deleted = True
    victim.comments[0].deleted = True  # a web page has no comments: nothing to see
    victim.comments[1].hidden = True
    world.scenario.night += 1
    result = night(archive, world, clock)
    assert result.events == {"deleted-observed": 1, "edited": 2}  # its page; home and news list changed
    with archive.sessions() as session:
        gone = session.scalars(select(m.Item.uid).where(m.Item.is_deleted.is_(True))).all()
    assert gone == [page_uid(world, victim)]


def test_requisites_are_downloaded_once_and_then_only_revalidated(
    archive: Archive, world: World, clock: FakeClock
) -> None:
    night(archive, world, clock)
    world.scenario.night += 1
    start = len(world.app.requests)
    result = night(archive, world, clock)
    answered = statuses(world, start)
    # every file was known and asked conditionally; only the site's broken photo link is tried anew
    assert result.report["media"] == {"listed": 1, "revisit": 1}
    assert {s for (_path, s) in answered} == {304, 404}
    assert sum(n for (path, s), n in answered.items() if s == 304) == 11 + 12
    assert result.events == {}


# -- faults ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "slept"),
    [
        (Fault("429", path=r"^/news/$", retry_after=20), [20.0]),
        (Fault("500", path=r"^/about\.html"), [1.0]),
        (Fault("503", path=r"^/assets/site\.css"), [1.0]),
        (Fault("slow", path=r"^/news/$", delay=3.0), [1.0]),
        (Fault("drop", path=r"^/$"), [1.0]),
        (Fault("invalid-utf8", path=r"^/news/$"), [1.0]),
        (Fault("truncated", path=r"^/news/$"), [1.0]),
    ],
    ids=["429-retry-after", "500", "503", "slow", "drop", "invalid-utf8", "truncated"],
)
def test_each_transient_fault_is_waited_out(
    archive: Archive, world: World, clock: FakeClock, fault: Fault, slept: list[float]
) -> None:
    world.server.inject(dataclasses.replace(fault))
    result = night(archive, world, clock)
    assert result.outcome == "complete", result.error
    assert clock.slept == slept
    assert result.events == {"created": 24}
    assert_index_matches(archive, world, {p.id for p in world.scenario.account.live_posts()})


def test_a_garbled_page_is_archived_as_the_site_served_it(
    archive: Archive, world: World, clock: FakeClock
) -> None:
    # HTML has no "malformed": a cut page with a matching Content-Length is what the site said
    # (docs/research/web.md §6). It is archived and indexed as served, and nothing else is lost.
    world.server.inject(Fault("malformed", path=r"^/about\.html"))
    result = night(archive, world, clock)
    assert result.outcome == "complete"
    assert result.events == {"created": 24 - 1}  # the cut page no longer names its missing photo
    with archive.sessions() as session:
        text = session.scalar(
            select(m.ItemVersion.text)
            .join(m.Item, m.Item.id == m.ItemVersion.item_id)
            .where(m.Item.uid == f"web:{world.url('/about.html')}")
        )
    assert text is not None and text.endswith(",,}")


def test_a_refusal_fails_that_page_only_and_removes_nothing(
    archive: Archive, world: World, clock: FakeClock
) -> None:
    night(archive, world, clock)
    victim = world.scenario.account.live_posts()[0]
    victim.deleted = True
    world.scenario.night += 1
    world.server.inject(Fault("expired-token", path=rf"^/news/{victim.id}\.html", times=10))
    result = night(archive, world, clock)
    assert result.outcome == "partial"
    assert [f["what"] for f in result.report["failures"]] == [f"web:{world.url(f'/news/{victim.id}.html')}"]
    assert "HTTP 403" in result.report["failures"][0]["reason"]
    assert "deleted-observed" not in result.events


# -- bad payloads ---------------------------------------------------------------------------------


def on(path: str, change: Callable[[SimResponse], SimResponse]) -> Rewrite:
    def rewrite(request: SimRequest, response: SimResponse) -> SimResponse:
        return change(response) if request.path == path and response.status == 200 else response

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


def test_a_page_that_never_decodes_is_archived_unparsed_and_blocks_its_deletion(
    archive: Archive, world: World, clock: FakeClock
) -> None:
    post = world.scenario.account.live_posts()[1]
    path = f"/news/{post.id}.html"
    world.app.rewrite = on(
        path, lambda r: SimResponse(200, r.body.replace(b"<title>", b"<title>\xff", 1), r.headers)
    )
    result = night(archive, world, clock)
    assert result.outcome == "partial"
    errors = parse_errors(archive)
    assert len(errors) == 4 and set(errors) == {errors[0]} and errors[0].startswith("body is not valid utf-8")
    missing = 1 + len(post.media)  # the page, and the photo only that page shows
    assert result.events == {"created": 24 - missing}
    assert counts(archive)["items"] == 24 - missing


def test_a_page_without_a_title_and_a_page_that_is_not_html(
    archive: Archive, world: World, clock: FakeClock
) -> None:
    home = on(
        "/about.html",
        lambda r: SimResponse(
            200, r.body.replace(b"<title>", b"<!--").replace(b"</title>", b"-->"), r.headers
        ),
    )
    binary = on(
        "/news/",
        lambda r: SimResponse(200, b"\x00\x01binary", [("Content-Type", "application/octet-stream")]),
    )
    world.app.rewrite = lambda request, response: binary(request, home(request, response))
    result = night(archive, world, clock)
    assert result.outcome == "partial"  # the news list was not a page: its listing is incomplete
    listings = {f["what"] for f in result.report["failures"]}
    assert listings == set()  # not a failed request: an incomplete listing
    with archive.sessions() as session:
        about = session.scalar(
            select(m.ItemVersion.text)
            .join(m.Item, m.Item.id == m.ItemVersion.item_id)
            .where(m.Item.uid == f"web:{world.url('/about.html')}")
        )
    assert about is not None and about.startswith("Village of Hanover Park Police Department")
    # without the news list only the 3 news pages home links to are reached: 5 pages, the 9
    # site files, and the one photo among those 3 posts
    assert result.events == {"created": 5 + 9 + 1}


def test_a_redirect_loop_is_not_followed_for_ever(archive: Archive, world: World, clock: FakeClock) -> None:
    def loop(request: SimRequest, response: SimResponse) -> SimResponse:
        if request.path == "/about.html":
            return SimResponse(302, b"", [("Location", "/about-us.html")])
        if request.path == "/about-us.html":
            return SimResponse(301, b"", [("Location", "/about.html")])
        return response

    world.app.rewrite = loop
    result = night(archive, world, clock)
    assert result.outcome == "partial"
    paths = [r.path for r in world.app.requests]
    assert paths.count("/about.html") == 3 and paths.count("/about-us.html") == 3
    assert result.events == {"created": 24 - 1 - 1}  # the about page and its missing photo


def test_a_very_large_page_is_archived_and_read(archive: Archive, world: World, clock: FakeClock) -> None:
    big = b"<p>" + b"Road closure details. " * 140_000 + b"</p>"
    world.app.rewrite = on(
        "/about.html", lambda r: SimResponse(200, r.body.replace(b"</main>", big + b"</main>"), r.headers)
    )
    result = night(archive, world, clock)
    assert result.outcome == "complete"
    assert result.events == {"created": 24}
    with archive.sessions() as session:
        assert max(len(t) for t in session.scalars(select(m.ItemVersion.text))) > 3_000_000


# -- the archive ------------------------------------------------------------------------------------


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
