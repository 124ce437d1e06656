"""A loopback news feed in two renderings, RSS 2.0 and Atom 1.0, from a :class:`Scenario`.

``/feed.rss`` is RSS 2.0 (with the Media RSS namespace for every photo and an ``<enclosure>`` for
the first), ``/feed.atom`` is Atom 1.0 (RFC 4287, one ``rel="enclosure"`` link per photo). Both
hold the ``window`` newest live posts, newest first, so older entries drop off the end as new
ones come, as real feeds do. Entry ids are ``tag:`` URIs (RFC 4151) that never change; an edited
post keeps its id and, in Atom, gets a new ``<updated>``. Photos are served at ``/media/{id}.png``.

Both renderings carry an ``ETag`` (a digest of the body) and a ``Last-Modified`` date (the newest
``updated`` in the window), and answer ``304 Not Modified`` to a matching ``If-None-Match`` or,
without one, to an ``If-Modified-Since`` at or after ``Last-Modified`` (RFC 9110 §13.1).
Everything is a function of the scenario state and the request's Host.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from xml.sax.saxutils import escape, quoteattr

from hp_archive.sources.simulators.base import SimRequest, SimResponse, SimulatorApp
from hp_archive.sources.simulators.scenario import Scenario, SimMedia, SimPost
from hp_archive.sources.simulators.support import http_date, iso_seconds, news_headline

DEFAULT_WINDOW = 10
TAG_AUTHORITY = "hanoverpark.example,2026"
RSS_TYPE = "application/rss+xml; charset=utf-8"
ATOM_TYPE = "application/atom+xml; charset=utf-8"
_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def entry_id(post: SimPost) -> str:
    """The entry's id (RSS ``guid``, Atom ``id``): a tag URI that stays the same for ever."""
    return f"tag:{TAG_AUTHORITY}:news/{post.id}"


class FeedSimulator(SimulatorApp):
    """The department's news feed. ``valid_tokens`` is accepted for symmetry; feeds take none."""

    def __init__(
        self, scenario: Scenario, *, valid_tokens: Iterable[str] = frozenset(), window: int = DEFAULT_WINDOW
    ) -> None:
        super().__init__()
        self.scenario = scenario
        self.valid_tokens = set(valid_tokens)
        self.window = window

    def handle(self, request: SimRequest) -> SimResponse:
        host = request.host
        posts = self.scenario.account.live_posts()[: self.window]
        modified = max((p.updated for p in posts), default=_EPOCH)
        if request.path == "/feed.rss":
            return _conditional(request, self._rss(posts, host, modified).encode(), RSS_TYPE, modified)
        if request.path == "/feed.atom":
            return _conditional(request, self._atom(posts, host, modified).encode(), ATOM_TYPE, modified)
        if request.path.startswith("/media/") and request.path.endswith(".png"):
            wanted = request.path[len("/media/") : -len(".png")]
            for post in self.scenario.account.live_posts():
                for media in post.media:
                    if media.id == wanted:
                        return _conditional(request, media.data, media.content_type, post.created)
        return SimResponse(404, b"Not Found", [("Content-Type", "text/plain; charset=utf-8")])

    def auth_error(self, request: SimRequest) -> SimResponse:
        # A public feed has no tokens; the nearest thing is a server refusing the reader.
        return SimResponse(403, b"Forbidden", [("Content-Type", "text/plain; charset=utf-8")])

    def rate_limit_error(self, request: SimRequest, retry_after: int) -> SimResponse:
        return SimResponse(
            429,
            b"Too Many Requests",
            [("Content-Type", "text/plain; charset=utf-8"), ("Retry-After", str(retry_after))],
        )

    def server_error(self, request: SimRequest, status: int) -> SimResponse:
        return SimResponse(status, b"Server Error", [("Content-Type", "text/plain; charset=utf-8")])

    # -- renderings -----------------------------------------------------------------------------

    def _rss(self, posts: list[SimPost], host: str, modified: datetime) -> str:
        site = f"http://{host}/"
        items = []
        for post in posts:
            link = f"http://{host}/news/{post.id}.html"
            media = "".join(
                f"<media:content url={quoteattr(_media_url(host, m))} type={quoteattr(m.content_type)} "
                f'medium="image" width="{m.width}" height="{m.height}">'
                f"<media:description>{escape(m.alt)}</media:description></media:content>"
                for m in post.media
            )
            enclosure = ""
            if post.media:
                first = post.media[0]
                enclosure = (
                    f'<enclosure url={quoteattr(_media_url(host, first))} length="{len(first.data)}" '
                    f"type={quoteattr(first.content_type)}/>"
                )
            items.append(
                "<item>"
                f"<title>{escape(news_headline(post))}</title>"
                f"<link>{escape(link)}</link>"
                f'<guid isPermaLink="false">{escape(entry_id(post))}</guid>'
                f"<pubDate>{http_date(post.created)}</pubDate>"
                "<category>News</category>"
                f"<description>{escape(_html(post))}</description>"
                f"{enclosure}{media}</item>"
            )
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/" '
            'xmlns:atom="http://www.w3.org/2005/Atom">\n<channel>'
            f"<title>{escape(self.scenario.account.name)} — News</title>"
            f"<link>{escape(site)}</link>"
            f'<atom:link href={quoteattr(f"http://{host}/feed.rss")} rel="self" type="application/rss+xml"/>'
            "<description>News and advisories from the department</description>"
            "<language>en-us</language>"
            f"<lastBuildDate>{http_date(modified)}</lastBuildDate>"
            "<generator>hp-archive simulator</generator>"
            f"{''.join(items)}</channel>\n</rss>\n"
        )

    def _atom(self, posts: list[SimPost], host: str, modified: datetime) -> str:
        entries = []
        for post in posts:
            link = f"http://{host}/news/{post.id}.html"
            enclosures = "".join(
                f'<link rel="enclosure" href={quoteattr(_media_url(host, m))} '
                f'type={quoteattr(m.content_type)} length="{len(m.data)}" title={quoteattr(m.alt)}/>'
                for m in post.media
            )
            entries.append(
                "<entry>"
                f"<id>{escape(entry_id(post))}</id>"
                f'<title type="text">{escape(news_headline(post))}</title>'
                f'<link rel="alternate" type="text/html" href={quoteattr(link)}/>'
                f"{enclosures}"
                f"<published>{iso_seconds(post.created)}</published>"
                f"<updated>{iso_seconds(post.updated)}</updated>"
                f"<author><name>{escape(self.scenario.account.name)}</name></author>"
                '<category term="news"/>'
                f'<content type="html">{escape(_html(post))}</content>'
                "</entry>"
            )
        return (
            '<?xml version="1.0" encoding="utf-8"?>\n'
            '<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">'
            f"<id>tag:{TAG_AUTHORITY}:news</id>"
            f"<title>{escape(self.scenario.account.name)} — News</title>"
            "<subtitle>News and advisories from the department</subtitle>"
            f'<link rel="self" type="application/atom+xml" href={quoteattr(f"http://{host}/feed.atom")}/>'
            f'<link rel="alternate" type="text/html" href={quoteattr(f"http://{host}/")}/>'
            f"<updated>{iso_seconds(modified)}</updated>"
            f"<author><name>{escape(self.scenario.account.name)}</name></author>"
            '<generator uri="https://example.invalid/hp-archive">hp-archive simulator</generator>'
            f"{''.join(entries)}</feed>\n"
        )


def _html(post: SimPost) -> str:
    """An entry's HTML: the post's text as a paragraph (escaped: it is text, not markup)."""
    return f"<p>{escape(post.text)}</p>"


def _media_url(host: str, media: SimMedia) -> str:
    return f"http://{host}/media/{media.id}.png"


def _conditional(request: SimRequest, body: bytes, content_type: str, modified: datetime) -> SimResponse:
    etag = '"' + hashlib.sha256(body).hexdigest()[:24] + '"'
    last_modified = http_date(modified)
    headers = [("ETag", etag), ("Last-Modified", last_modified), ("Cache-Control", "max-age=900")]
    match = request.headers.get("if-none-match")
    if match is not None:
        if etag in [tag.strip() for tag in match.split(",")] or match.strip() == "*":
            return SimResponse(304, b"", headers)
    elif request.headers.get("if-modified-since"):
        try:
            since = parsedate_to_datetime(request.headers["if-modified-since"])
        except (TypeError, ValueError):
            since = None
        if since is not None and since >= modified.replace(microsecond=0):
            return SimResponse(304, b"", headers)
    return SimResponse(200, body, [("Content-Type", content_type), *headers])
