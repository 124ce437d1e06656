"""A loopback village web site, rendered from a :class:`Scenario`'s posts.

The site is what a small department's pages look like: a home page with the latest news, a news
list, one page per news item (the scenario's live posts, with their photos), an "about" page,
and the requisites a browser loads (a stylesheet that ``@import``\\ s another and refers to a
background image and a web font with ``url()``, a script, a badge image with a ``srcset``, a
favicon). A deleted post's page answers 404. Every resource carries an ``ETag`` (a digest of the
body) and a ``Last-Modified`` date, and answers ``304 Not Modified`` to a matching
``If-None-Match`` or, without one, to an ``If-Modified-Since`` at or after ``Last-Modified``
(RFC 9110 §13.1). ``robots.txt`` disallows everything: the archiver does not read it.

Comments are not rendered: a web page has none. Everything is a function of the scenario state,
so the same state gives byte-identical pages.
"""

from __future__ import annotations

import hashlib
import html
import random
from collections.abc import Iterable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from hp_archive.sources.simulators.base import SimRequest, SimResponse, SimulatorApp
from hp_archive.sources.simulators.scenario import Scenario, SimMedia, SimPost, png_bytes
from hp_archive.sources.simulators.support import http_date, iso_seconds, news_headline

SITE_NAME = "Village of Hanover Park"
EXTERNAL_PROFILE = "https://www.facebook.com/HanoverParkPD"
EXTERNAL_FONT_CSS = "https://fonts.example.net/css2?family=Source+Sans"
HTML_TYPE = "text/html; charset=utf-8"
_STATIC_EPOCH = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)

SITE_CSS = """@import url("print.css") print;
/* the village theme; url(commented-out.png) is not a reference */
@font-face {
  font-family: "Village";
  src: url("fonts/village.woff2") format("woff2");
}
body { font-family: Village, sans-serif; background: #fff url(img/bg.png) repeat-x; }
.badge { background-image: url('/assets/badge.png'); }
.news time { color: #555; }
"""
PRINT_CSS = "nav, footer { display: none; }\n"
SITE_JS = "document.documentElement.classList.add('js');\n"
ROBOTS = "User-agent: *\nDisallow: /\n"


def _fake_font(seed: int) -> bytes:
    rng = random.Random(seed)
    return b"wOF2\x00\x01\x00\x00" + rng.randbytes(600)


class WebSiteSimulator(SimulatorApp):
    """The village site. ``valid_tokens`` is accepted for symmetry; the site takes none."""

    def __init__(self, scenario: Scenario, *, valid_tokens: Iterable[str] = frozenset()) -> None:
        super().__init__()
        self.scenario = scenario
        self.valid_tokens = set(valid_tokens)

    # -- the SimulatorApp hooks -----------------------------------------------------------------

    def handle(self, request: SimRequest) -> SimResponse:
        found = self._resource(request.path)
        if found is None:
            return _page(404, "Not Found", "<h1>Page not found</h1><p>The page is not here.</p>")
        body, content_type, modified = found
        return _conditional(request, body, content_type, modified)

    def auth_error(self, request: SimRequest) -> SimResponse:
        # A public site has no tokens; the nearest thing is a firewall refusing the crawler.
        return _page(403, "Forbidden", "<h1>Forbidden</h1><p>Access denied by the site firewall.</p>")

    def rate_limit_error(self, request: SimRequest, retry_after: int) -> SimResponse:
        response = _page(429, "Too Many Requests", "<h1>Too many requests</h1>")
        response.headers.append(("Retry-After", str(retry_after)))
        return response

    def server_error(self, request: SimRequest, status: int) -> SimResponse:
        return _page(status, "Server Error", "<h1>The server had a problem</h1>")

    # -- resources ------------------------------------------------------------------------------

    def _resource(self, path: str) -> tuple[bytes, str, datetime] | None:
        posts = self.scenario.account.live_posts()
        latest = max((p.updated for p in posts), default=_STATIC_EPOCH)
        static: dict[str, tuple[bytes, str]] = {
            "/assets/site.css": (SITE_CSS.encode(), "text/css; charset=utf-8"),
            "/assets/print.css": (PRINT_CSS.encode(), "text/css; charset=utf-8"),
            "/assets/site.js": (SITE_JS.encode(), "application/javascript; charset=utf-8"),
            "/assets/badge.png": (png_bytes(self.scenario.seed * 7 + 1, 40, 40), "image/png"),
            "/assets/badge-2x.png": (png_bytes(self.scenario.seed * 7 + 2, 80, 80), "image/png"),
            "/assets/img/bg.png": (png_bytes(self.scenario.seed * 7 + 3, 8, 64), "image/png"),
            "/assets/fonts/village.woff2": (_fake_font(self.scenario.seed), "font/woff2"),
            "/favicon.ico": (png_bytes(self.scenario.seed * 7 + 4, 16, 16), "image/x-icon"),
            "/robots.txt": (ROBOTS.encode(), "text/plain; charset=utf-8"),
        }
        if path in static:
            body, content_type = static[path]
            return body, content_type, _STATIC_EPOCH
        if path in ("/", "/index.html"):
            return self._home(posts).encode(), HTML_TYPE, latest
        if path == "/news/":
            return self._news_list(posts).encode(), HTML_TYPE, latest
        if path == "/about.html":
            return self._about().encode(), HTML_TYPE, _STATIC_EPOCH
        if path.startswith("/news/") and path.endswith(".html"):
            post = self.scenario.account.find_post(path[len("/news/") : -len(".html")])
            if post is None or post.deleted:
                return None
            return self._news_page(post).encode(), HTML_TYPE, post.updated
        if path.startswith("/media/") and path.endswith(".png"):
            media = self._media().get(path[len("/media/") : -len(".png")])
            if media is None:
                return None
            return media.data, media.content_type, _STATIC_EPOCH
        return None

    def _media(self) -> dict[str, SimMedia]:
        return {m.id: m for post in self.scenario.account.live_posts() for m in post.media}

    # -- pages ----------------------------------------------------------------------------------

    def _layout(self, title: str, main: str, *, head: str = "") -> str:
        return (
            "<!DOCTYPE html>\n"
            '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{html.escape(title)}</title>\n"
            '<link rel="stylesheet" href="/assets/site.css">\n'
            f'<link rel="stylesheet" href="{html.escape(EXTERNAL_FONT_CSS)}">\n'
            '<link rel="icon" href="/favicon.ico">\n'
            '<script src="/assets/site.js" defer></script>\n'
            f"{head}</head>\n<body>\n"
            '<header><a href="/"><img class="badge" src="/assets/badge.png" '
            'srcset="/assets/badge.png 1x, /assets/badge-2x.png 2x" alt="Police badge"></a>'
            f"<p>{html.escape(SITE_NAME)} Police Department</p></header>\n"
            '<nav><a href="/">Home</a> <a href="/news/">News</a> <a href="/about.html">About</a> '
            f'<a href="{html.escape(EXTERNAL_PROFILE)}">Facebook</a></nav>\n'
            f"<main>\n{main}\n</main>\n"
            "<footer><p>Non-emergency: 630-823-5500. In an emergency call 911.</p>"
            '<p><a href="mailto:police@example.invalid">police@example.invalid</a></p></footer>\n'
            "<script>window.dataLayer = window.dataLayer || [];</script>\n"
            "</body>\n</html>\n"
        )

    def _home(self, posts: list[SimPost]) -> str:
        items = "".join(
            f'<li><a href="/news/{p.id}.html">{html.escape(headline(p))}</a></li>' for p in posts[:3]
        )
        main = (
            f"<h1>{html.escape(SITE_NAME)} Police Department</h1>\n"
            "<p>Serving the village around the clock.</p>\n"
            f'<section class="news"><h2>Latest news</h2><ul>{items}</ul>'
            '<p><a href="/news/">All news</a></p></section>'
        )
        return self._layout(f"{SITE_NAME} Police Department", main)

    def _news_list(self, posts: list[SimPost]) -> str:
        items = "".join(
            f'<li><a href="/news/{p.id}.html#top">{html.escape(headline(p))}</a> '
            f'<time datetime="{iso_seconds(p.created)}">{p.created:%B %d, %Y}</time></li>'
            for p in posts
        )
        return self._layout("News — Hanover Park Police", f'<h1>News</h1>\n<ul class="news">{items}</ul>')

    def _about(self) -> str:
        main = (
            "<h1>About the department</h1>\n"
            "<p>The department serves about 37,000 residents.</p>\n"
            '<p hidden>Internal note: not shown.</p>\n<p><img src="/media/missing.png" alt="Old photo"></p>'
        )
        return self._layout("About — Hanover Park Police", main)

    def _news_page(self, post: SimPost) -> str:
        figures = "".join(
            f'<figure><img src="/media/{m.id}.png" alt="{html.escape(m.alt)}" width="{m.width}" '
            f'height="{m.height}"><figcaption>{html.escape(m.alt)}</figcaption></figure>'
            for m in post.media
        )
        main = (
            f'<article id="top"><h1>{html.escape(headline(post))}</h1>\n'
            f'<p><time datetime="{iso_seconds(post.created)}" itemprop="datePublished">'
            f"{post.created:%B %d, %Y}</time></p>\n"
            f"<p>{html.escape(post.text)}</p>\n{figures}</article>"
        )
        head = f'<meta property="article:published_time" content="{iso_seconds(post.created)}">\n'
        return self._layout(f"{headline(post)} — Hanover Park Police", main, head=head)


def headline(post: SimPost) -> str:
    """A news page's headline: the news item's, with its number (no two pages share a title)."""
    return f"{news_headline(post)} (#{post.id})"


def news_path(post: SimPost) -> str:
    return f"/news/{post.id}.html"


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:24] + '"'


def _page(status: int, title: str, main: str) -> SimResponse:
    body = f"<!DOCTYPE html>\n<html><head><title>{title}</title></head><body>{main}</body></html>\n"
    return SimResponse(status, body.encode(), [("Content-Type", HTML_TYPE)])


def _conditional(request: SimRequest, body: bytes, content_type: str, modified: datetime) -> SimResponse:
    etag = _etag(body)
    last_modified = http_date(modified)
    headers = [
        ("ETag", etag),
        ("Last-Modified", last_modified),
        ("Cache-Control", "max-age=300"),
    ]
    match = request.headers.get("if-none-match")
    if match is not None:
        tags = [tag.strip() for tag in match.split(",")]
        if etag in tags or "*" in tags:
            return SimResponse(304, b"", headers)
    else:
        since = request.headers.get("if-modified-since")
        if since:
            try:
                when = parsedate_to_datetime(since)
            except (TypeError, ValueError):
                when = None
            if when is not None and when >= modified.replace(microsecond=0):
                return SimResponse(304, b"", headers)
    return SimResponse(200, body, [("Content-Type", content_type), *headers])
