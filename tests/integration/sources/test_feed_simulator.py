"""The feed simulator over real HTTP: RSS 2.0 and Atom 1.0 renderings, validators and 304s."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime

import feedparser  # type: ignore[import-untyped]
import pytest

from hp_archive.sources.http import RecordingHTTPClient
from hp_archive.sources.simulators.base import SimulatorServer
from hp_archive.sources.simulators.feed import FeedSimulator, entry_id
from hp_archive.sources.simulators.scenario import Scenario

ATOM_NS = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def running() -> Iterator[tuple[SimulatorServer, Scenario]]:
    scenario = Scenario.department(posts=14, comments_per_post=2, days=20)
    with SimulatorServer(FeedSimulator(scenario, window=10)) as server:
        yield server, scenario


@pytest.fixture
def client() -> Iterator[RecordingHTTPClient]:
    with RecordingHTTPClient(clock=lambda: datetime(2026, 11, 1, 8, tzinfo=UTC)) as http:
        yield http


def test_rss_is_rss_2_0_with_guids_dates_and_enclosures(
    running: tuple[SimulatorServer, Scenario], client: RecordingHTTPClient
) -> None:
    server, scenario = running
    response = client.get(f"{server.url}/feed.rss").response
    assert response.status == 200 and response.content_type == "application/rss+xml"
    root = ET.fromstring(response.body())
    assert root.tag == "rss" and root.get("version") == "2.0"
    items = root.findall("./channel/item")
    window = scenario.account.live_posts()[:10]
    assert [i.findtext("guid") for i in items] == [entry_id(p) for p in window]
    assert all(i.findtext("pubDate", "").endswith("GMT") for i in items)
    with_media = [i for i, p in zip(items, window, strict=True) if p.media]
    assert all(i.find("enclosure") is not None for i in with_media)
    parsed = feedparser.parse(io.BytesIO(response.body()))
    assert (parsed.bozo, parsed.version, len(parsed.entries)) == (False, "rss20", 10)


def test_atom_is_atom_1_0_with_updated_and_enclosure_links(
    running: tuple[SimulatorServer, Scenario], client: RecordingHTTPClient
) -> None:
    server, _scenario = running
    response = client.get(f"{server.url}/feed.atom").response
    assert response.content_type == "application/atom+xml"
    root = ET.fromstring(response.body())
    assert root.tag == f"{ATOM_NS}feed"
    entries = root.findall(f"{ATOM_NS}entry")
    assert len(entries) == 10
    for entry in entries:
        assert entry.findtext(f"{ATOM_NS}id", "").startswith("tag:")
        assert entry.findtext(f"{ATOM_NS}updated") and entry.findtext(f"{ATOM_NS}published")
    parsed = feedparser.parse(io.BytesIO(response.body()))
    assert (parsed.bozo, parsed.version) == (False, "atom10")
    enclosure = next(e for e in parsed.entries if e.get("enclosures"))
    image = client.get(enclosure.enclosures[0]["href"]).response
    assert image.status == 200 and image.content_type == "image/png"


@pytest.mark.parametrize("path", ["/feed.rss", "/feed.atom"])
def test_validators_answer_304_until_the_feed_changes(
    running: tuple[SimulatorServer, Scenario], client: RecordingHTTPClient, path: str
) -> None:
    server, scenario = running
    first = client.get(f"{server.url}{path}").response
    etag, modified = first.header("ETag"), first.header("Last-Modified")
    assert etag and modified
    again = client.get(f"{server.url}{path}").response
    assert again.body() == first.body()  # the same state gives the same bytes
    assert client.get(f"{server.url}{path}", headers={"If-None-Match": etag}).response.status == 304
    assert client.get(f"{server.url}{path}", headers={"If-Modified-Since": modified}).response.status == 304
    stale = client.get(
        f"{server.url}{path}", headers={"If-None-Match": '"old"', "If-Modified-Since": modified}
    )
    assert stale.response.status == 200  # If-None-Match wins (RFC 9110 §13.1.3)
    scenario.advance()
    changed = client.get(
        f"{server.url}{path}", headers={"If-None-Match": etag, "If-Modified-Since": modified}
    )
    assert changed.response.status == 200 and changed.response.header("ETag") != etag


def test_older_entries_drop_off_the_window(
    running: tuple[SimulatorServer, Scenario], client: RecordingHTTPClient
) -> None:
    server, scenario = running
    before = feedparser.parse(io.BytesIO(client.get(f"{server.url}/feed.atom").response.body()))
    scenario.advance()
    after = feedparser.parse(io.BytesIO(client.get(f"{server.url}/feed.atom").response.body()))
    dropped = {e.id for e in before.entries} - {e.id for e in after.entries}
    assert len(after.entries) == 10 and len(dropped) >= 2
