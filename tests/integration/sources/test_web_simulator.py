"""The village web site simulator over real HTTP: pages, requisites, validators and 404s."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from hp_archive.sources.http import RecordingHTTPClient
from hp_archive.sources.simulators.base import SimulatorServer
from hp_archive.sources.simulators.scenario import Scenario
from hp_archive.sources.simulators.web import WebSiteSimulator
from hp_archive.sources.web import css_references, read_html


@pytest.fixture
def running() -> Iterator[tuple[SimulatorServer, Scenario]]:
    scenario = Scenario.department(posts=8, comments_per_post=2, days=20)
    with SimulatorServer(WebSiteSimulator(scenario)) as server:
        yield server, scenario


@pytest.fixture
def client() -> Iterator[RecordingHTTPClient]:
    with RecordingHTTPClient(clock=lambda: datetime(2026, 11, 1, 8, tzinfo=UTC)) as http:
        yield http


def test_pages_link_each_other_and_name_their_requisites(
    running: tuple[SimulatorServer, Scenario], client: RecordingHTTPClient
) -> None:
    server, scenario = running
    home = client.get(f"{server.url}/").response
    assert home.status == 200 and home.content_type == "text/html"
    page = read_html(home.body().decode(), f"{server.url}/")
    assert f"{server.url}/news/" in page.links and "https://www.facebook.com/HanoverParkPD" in page.links
    assert {
        f"{server.url}/assets/site.css",
        f"{server.url}/assets/badge-2x.png",
        f"{server.url}/favicon.ico",
    } <= set(page.requisites)
    news = read_html(client.get(f"{server.url}/news/").response.body().decode(), f"{server.url}/news/")
    assert [link for link in news.links if "/news/" in link and link.endswith(".html")] == [
        f"{server.url}/news/{p.id}.html" for p in scenario.account.live_posts()
    ]
    css = client.get(f"{server.url}/assets/site.css").response
    assert css_references(css.body().decode()) == [
        "print.css",
        "fonts/village.woff2",
        "img/bg.png",
        "/assets/badge.png",
    ]
    for path in ("/assets/img/bg.png", "/assets/fonts/village.woff2", "/assets/print.css", "/robots.txt"):
        assert client.get(f"{server.url}{path}").response.status == 200


def test_a_news_page_shows_its_post_and_disappears_when_deleted(
    running: tuple[SimulatorServer, Scenario], client: RecordingHTTPClient
) -> None:
    server, scenario = running
    post = next(p for p in scenario.account.live_posts() if p.media)
    response = client.get(f"{server.url}/news/{post.id}.html").response
    page = read_html(response.body().decode(), f"{server.url}/news/{post.id}.html")
    assert post.text in page.text and page.published is not None
    assert f"{server.url}/media/{post.media[0].id}.png" in page.requisites
    post.deleted = True
    assert client.get(f"{server.url}/news/{post.id}.html").response.status == 404
    assert client.get(f"{server.url}/media/{post.media[0].id}.png").response.status == 404


def test_validators_and_304(running: tuple[SimulatorServer, Scenario], client: RecordingHTTPClient) -> None:
    server, scenario = running
    for path in ("/", "/about.html", "/assets/site.css", "/assets/badge.png"):
        first = client.get(f"{server.url}{path}").response
        etag, modified = first.header("ETag"), first.header("Last-Modified")
        assert etag and modified
        assert client.get(f"{server.url}{path}").response.body() == first.body()
        assert client.get(f"{server.url}{path}", headers={"If-None-Match": etag}).response.status == 304
        assert (
            client.get(f"{server.url}{path}", headers={"If-Modified-Since": modified}).response.status == 304
        )
    etag = client.get(f"{server.url}/").response.header("ETag") or ""
    scenario.advance()
    assert client.get(f"{server.url}/", headers={"If-None-Match": etag}).response.status == 200
