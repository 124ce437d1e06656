"""The department's own web pages and their same-origin page requisites, over plain HTTP.

Built to docs/research/web.md. A night's capture of one site is:

1. the start page (the account's ``handle`` when it is a URL, else its ``base_url``), then the
   same-origin pages it links to, breadth first, to ``options.depth`` link hops and at most
   ``options.max_pages`` pages; pages known from earlier nights that the crawl did not reach are
   asked for again, so a page taken down shows up as gone (404/410);
2. every page with a conditional GET (``If-None-Match`` / ``If-Modified-Since`` from the previous
   night's validators kept in the run state), each in its own listing: ``304`` is "not modified",
   ``200`` is a new capture, ``404``/``410`` is evidence that the page is gone;
3. every same-origin requisite of those pages (images, ``srcset`` candidates, stylesheets,
   icons, scripts, and what stylesheets reference with ``url()`` / ``@import``): the first time as
   a media download keyed by its URL, later nights with a conditional GET.

robots.txt is not consulted: these are the department's own pages, archived as its records. The
crawl never leaves the start page's origin, and sends no credentials.

:meth:`WebPageSource.parse` turns an archived HTML page into one ``page`` item (its visible text
and title define its versions) plus one ``media`` item per same-origin requisite, and an archived
stylesheet into ``media`` items for what it references. HTML is read with :mod:`html.parser` and
CSS with ``tinycss2``; nothing here takes HTML apart with regular expressions.
"""

from __future__ import annotations

import codecs
import hashlib
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email.message import Message
from html.parser import HTMLParser
from typing import Any, ClassVar
from urllib.parse import urljoin, urlsplit, urlunsplit

import tinycss2  # type: ignore[import-untyped]

from hp_archive.errors import HPArchiveError, PlatformError, TransportError
from hp_archive.settings import Secret
from hp_archive.sources.base import (
    KIND_MEDIA,
    KIND_PAGE,
    ArchivedResponse,
    CaptureContext,
    Fetched,
    ParsedItem,
    ParseResult,
    Source,
    Verdict,
)
from hp_archive.sources.http import strip_query
from hp_archive.sources.support import one_line, overload_verdict, parse_time
from hp_archive.sources.walking import conditional_headers, validators_of

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
CSS_TYPE = "text/css"
REDIRECTS = frozenset({301, 302, 303, 307, 308})
GONE = frozenset({404, 410})
MAX_REDIRECTS = 5
DEFAULT_MAX_PAGES = 25
DEFAULT_DEPTH = 2
DEFAULT_MAX_REQUISITES = 300
#: pages remembered between nights beyond the ones crawled (re-asked for so removals are seen)
MAX_REMEMBERED_PAGES = 1000
MAX_ID_LENGTH = 480

# Links to these are documents or media, not pages: the crawl does not follow them.
_NOT_PAGES = (
    ".pdf", ".doc", ".docx", ".xls", ".xlsx", ".ppt", ".pptx", ".zip", ".gz", ".jpg", ".jpeg",
    ".png", ".gif", ".webp", ".svg", ".ico", ".mp3", ".mp4", ".mov", ".avi", ".webm", ".css",
    ".js", ".json", ".xml", ".rss", ".atom", ".ics", ".woff", ".woff2", ".ttf", ".otf",
)  # fmt: skip

# Elements whose character data is never shown as text.
_NO_TEXT = frozenset(
    {"script", "style", "noscript", "template", "title", "svg", "math", "iframe", "object",
     "canvas", "select", "datalist"}
)  # fmt: skip
_BLOCK = frozenset(
    {"address", "article", "aside", "blockquote", "caption", "dd", "details", "div", "dl", "dt",
     "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6",
     "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section", "summary", "table",
     "tbody", "thead", "tfoot", "tr", "ul", "body", "html"}
)  # fmt: skip
_CELL = frozenset({"td", "th"})
_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
     "track", "wbr"}
)  # fmt: skip
_PUBLISHED_META = ("article:published_time", "datepublished", "dc.date.issued", "dcterms.issued")


# -- HTML and CSS reading (pure) -----------------------------------------------------------------


@dataclass
class HtmlPage:
    """What one HTML document says: its text, title, links and requisites (absolute URLs)."""

    url: str
    title: str | None = None
    text: str = ""
    lang: str | None = None
    description: str | None = None
    canonical: str | None = None
    published: datetime | None = None
    links: list[str] = field(default_factory=list)
    requisites: dict[str, tuple[str, str]] = field(default_factory=dict)  # url -> (role, alt)


class _TextCollector:
    """Visible text with paragraph breaks at block elements and line breaks at ``<br>``."""

    def __init__(self) -> None:
        self.pieces: list[str] = []

    def data(self, text: str, *, pre: bool) -> None:
        # outside <pre>, a line break in the markup is only a space
        self.pieces.append(text if pre else text.translate(_LINE_BREAKS))

    def brk(self, marker: str) -> None:
        self.pieces.append(marker)

    def text(self) -> str:
        lines = [" ".join(line.split()) for line in "".join(self.pieces).split("\n")]
        out: list[str] = []
        for line in lines:
            if line or (out and out[-1]):
                out.append(line)
        return "\n".join(out).strip()


_LINE_BREAKS = str.maketrans({"\n": " ", "\r": " ", "\t": " ", "\f": " ", "\v": " "})


class _DocumentParser(HTMLParser):
    """One pass over an HTML document with the standard library's tolerant parser."""

    def __init__(self, url: str) -> None:
        super().__init__(convert_charrefs=True)
        self.page = HtmlPage(url=url)
        self.base = url
        self._text = _TextCollector()
        self._skip: list[str] = []  # open elements whose text is not shown
        self._pre = 0
        self._title: list[str] | None = None
        self._style: list[str] | None = None
        self._in_time = False
        self._seen_base = False

    # -- HTMLParser hooks ------------------------------------------------------------------------

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {name.lower(): (value or "") for name, value in attrs}
        self._element(tag, attr)
        if tag in _VOID:
            return
        if tag in _NO_TEXT or "hidden" in attr:
            self._skip.append(tag)
        if tag == "title" and self.page.title is None:
            self._title = []
        elif tag == "style":
            self._style = []
        elif tag == "pre":
            self._pre += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._element(tag, {name.lower(): (value or "") for name, value in attrs})

    def handle_endtag(self, tag: str) -> None:
        if tag in self._skip:
            while self._skip:  # close everything opened inside it too (unclosed tags)
                if self._skip.pop() == tag:
                    break
        if tag == "title" and self._title is not None:
            self.page.title = " ".join("".join(self._title).split()) or None
            self._title = None
        elif tag == "style" and self._style is not None:
            for ref in css_references("".join(self._style)):
                self._requisite(ref, "css-image")
            self._style = None
        elif tag == "pre" and self._pre:
            self._pre -= 1
        if tag in _BLOCK:
            self._text.brk("\n\n")
        elif tag in _CELL:
            self._text.brk(" ")

    def handle_data(self, data: str) -> None:
        if self._title is not None:
            self._title.append(data)
            return
        if self._style is not None:
            self._style.append(data)
            return
        if self._skip:
            return
        self._text.data(data, pre=self._pre > 0)

    # -- elements --------------------------------------------------------------------------------

    def _element(self, tag: str, attr: dict[str, str]) -> None:
        if tag in _BLOCK:
            self._text.brk("\n\n")
        elif tag == "br":
            self._text.brk("\n")
        elif tag in _CELL:
            self._text.brk(" ")
        if tag == "html" and attr.get("lang"):
            self.page.lang = attr["lang"]
        elif tag == "base" and attr.get("href") and not self._seen_base:
            self._seen_base = True
            self.base = urljoin(self.page.url, attr["href"])
        elif tag in ("a", "area") and attr.get("href"):
            self._link(attr["href"])
        elif tag == "img":
            alt = attr.get("alt", "")
            self._requisite(attr.get("src"), "image", alt)
            for candidate in srcset_urls(attr.get("srcset", "")):
                self._requisite(candidate, "image", alt)
        elif tag == "source":
            self._requisite(attr.get("src"), "source")
            for candidate in srcset_urls(attr.get("srcset", "")):
                self._requisite(candidate, "image")
        elif tag == "video":
            self._requisite(attr.get("poster"), "image")
        elif tag == "input" and attr.get("type", "").lower() == "image":
            self._requisite(attr.get("src"), "image", attr.get("alt", ""))
        elif tag == "script":
            self._requisite(attr.get("src"), "script")
        elif tag == "link":
            self._link_element(attr)
        elif tag == "meta":
            self._meta(attr)
        elif tag == "time" and attr.get("datetime") and self.page.published is None and _is_published(attr):
            self.page.published = parse_time(attr["datetime"])
        if attr.get("style"):
            for ref in css_references(attr["style"], declarations=True):
                self._requisite(ref, "css-image")

    def _link_element(self, attr: dict[str, str]) -> None:
        rels = set(attr.get("rel", "").lower().split())
        href = attr.get("href")
        if not href:
            return
        if "stylesheet" in rels:
            self._requisite(href, "stylesheet")
        elif rels & {"icon", "apple-touch-icon", "mask-icon"}:
            self._requisite(href, "icon")
        elif "preload" in rels and attr.get("as", "").lower() in ("font", "image", "style", "script"):
            self._requisite(href, attr["as"].lower())
        elif "canonical" in rels and self.page.canonical is None:
            self.page.canonical = normalize_url(urljoin(self.base, href))

    def _meta(self, attr: dict[str, str]) -> None:
        key = (attr.get("property") or attr.get("name") or attr.get("itemprop") or "").lower()
        content = attr.get("content")
        if not content:
            return
        if key in _PUBLISHED_META and self.page.published is None:
            self.page.published = parse_time(content)
        elif key == "description" and self.page.description is None:
            self.page.description = " ".join(content.split())

    def _link(self, href: str) -> None:
        url = absolute(self.base, href)
        if url is not None and url not in self.page.links:
            self.page.links.append(url)

    def _requisite(self, ref: str | None, role: str, alt: str = "") -> None:
        if not ref:
            return
        url = absolute(self.base, ref)
        if url is not None and url not in self.page.requisites:
            self.page.requisites[url] = (role, " ".join(alt.split()))

    def finish(self) -> HtmlPage:
        self.close()
        self.page.text = self._text.text()
        return self.page


def _is_published(attr: Mapping[str, str]) -> bool:
    return attr.get("itemprop", "").lower() == "datepublished" or "pubdate" in attr


def read_html(html: str, url: str) -> HtmlPage:
    """Parse an HTML document fetched from ``url`` (never raises on malformed markup)."""
    parser = _DocumentParser(url)
    parser.feed(html)
    return parser.finish()


def html_to_text(html: str | None) -> str:
    """The visible text of an HTML fragment: no markup, no scripts, paragraphs as blank lines."""
    if not html:
        return ""
    return read_html(html, "about:blank").text


def srcset_urls(value: str) -> list[str]:
    """The image candidate URLs of a ``srcset`` attribute (HTML's candidate-string rules)."""
    urls: list[str] = []
    pos, length = 0, len(value)
    while pos < length:
        while pos < length and (value[pos].isspace() or value[pos] == ","):
            pos += 1
        start = pos
        while pos < length and not value[pos].isspace():
            pos += 1
        url = value[start:pos]
        if not url:
            break
        if url.endswith(","):
            urls.append(url.rstrip(","))
            continue
        urls.append(url)
        depth = 0
        while pos < length:  # skip the descriptors up to the next top-level comma
            char = value[pos]
            if char == "(":
                depth += 1
            elif char == ")" and depth:
                depth -= 1
            elif char == "," and not depth:
                pos += 1
                break
            pos += 1
    return urls


def css_references(css: str, *, declarations: bool = False) -> list[str]:
    """URLs a stylesheet (or a ``style`` attribute) refers to: ``url(...)`` and ``@import``."""
    nodes: Any
    if declarations:
        nodes = tinycss2.parse_blocks_contents(css, skip_comments=True, skip_whitespace=True)
    else:
        nodes = tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True)
    found: list[str] = []

    def walk(tokens: Iterable[Any]) -> None:
        for token in tokens or ():
            kind = getattr(token, "type", None)
            if kind == "url":
                found.append(token.value)
            elif kind == "function":
                if token.lower_name == "url":
                    strings = [t.value for t in token.arguments if t.type == "string"]
                    found.extend(strings[:1])
                walk(token.arguments)
            elif kind in ("() block", "[] block", "{} block"):
                walk(token.content)
            elif kind == "at-rule":
                prelude = [t for t in token.prelude if t.type != "whitespace"]
                if token.lower_at_keyword == "import" and prelude and prelude[0].type == "string":
                    found.append(prelude[0].value)
                walk(token.prelude)
                walk(token.content or ())
            elif kind == "qualified-rule":
                walk(token.prelude)
                walk(token.content or ())
            elif kind == "declaration":
                walk(token.value)

    walk(nodes)
    return [ref for ref in dict.fromkeys(r.strip() for r in found) if ref]


def normalize_url(url: str) -> str:
    """A URL's stable spelling: lower-case scheme and host, no default port, no fragment."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    port = parts.port
    if port is not None and not ((scheme == "http" and port == 80) or (scheme == "https" and port == 443)):
        host = f"{host}:{port}"
    if parts.username:
        host = f"{parts.username}@{host}"  # kept so the URL still names what was asked for
    return urlunsplit((scheme, host, parts.path or "/", parts.query, ""))


def absolute(base: str, ref: str) -> str | None:
    """``ref`` resolved against ``base`` and normalized; None unless it is http(s)."""
    ref = ref.strip()
    if not ref or ref.startswith("#"):
        return None
    try:
        url = urljoin(base, ref)
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return None
    if scheme not in ("http", "https"):
        return None
    try:
        return normalize_url(url)
    except ValueError:  # a port that is not a number
        return None


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return normalize_url(f"{parts.scheme}://{parts.netloc}/")[:-1]


def same_origin(url: str, origin: str) -> bool:
    return origin_of(url) == origin


def item_id(url: str) -> str:
    """A URL as an item's native id (a digest keeps an overly long one within the index's column)."""
    if len(url) <= MAX_ID_LENGTH:
        return url
    return url[:400] + "#sha256=" + hashlib.sha256(url.encode()).hexdigest()[:32]


def declared_charset(response: ArchivedResponse) -> str | None:
    value = response.header("Content-Type")
    if not value:
        return None
    message = Message()
    message["content-type"] = value
    charset = message.get_content_charset()
    return charset or None


class _CharsetSniffer(HTMLParser):
    """``<meta charset>`` / ``http-equiv`` in the first bytes (the HTML encoding prescan)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.charset: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "meta" or self.charset:
            return
        attr = {name.lower(): (value or "") for name, value in attrs}
        if attr.get("charset"):
            self.charset = attr["charset"].strip()
        elif attr.get("http-equiv", "").lower() == "content-type":
            message = Message()
            message["content-type"] = attr.get("content", "")
            self.charset = message.get_content_charset() or None


def decode_html(body: bytes, response: ArchivedResponse) -> str:
    """Decode an HTML body: BOM, then the Content-Type charset, then ``<meta charset>``, then
    UTF-8. Raises UnicodeDecodeError (or LookupError) when the bytes do not fit the encoding."""
    boms = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
    for bom, name in boms:
        if body.startswith(bom):
            return body.decode(name).lstrip("\ufeff")
    charset = declared_charset(response)
    if charset is None:
        sniffer = _CharsetSniffer()
        sniffer.feed(body[:2048].decode("latin-1"))
        charset = sniffer.charset
    return body.decode(codecs.lookup(charset or "utf-8").name)


def _body_text(response: ArchivedResponse) -> tuple[str | None, str | None]:
    """(text, None) or (None, why the body cannot be read as text)."""
    try:
        body = response.body()
    except HPArchiveError as exc:
        return None, f"body cannot be read: {one_line(exc)}"
    try:
        return decode_html(body, response), None
    except UnicodeDecodeError as exc:
        return None, f"body is not valid {exc.encoding} (byte {exc.start})"
    except LookupError as exc:
        return None, f"unknown character encoding: {one_line(exc)}"


# -- the source ----------------------------------------------------------------------------------


@dataclass
class _PageResult:
    """What capturing one page URL found (for the crawl and for the next night's state)."""

    state: dict[str, Any] | None  # None: forget the page (gone)
    links: list[str] = field(default_factory=list)
    requisites: list[str] = field(default_factory=list)


class WebPageSource(Source):
    """A department web site: pages and same-origin requisites, re-captured when they change."""

    platform: ClassVar[str] = "web"
    title: ClassVar[str] = "Web pages"
    api: ClassVar[str] = "HTTP/1.1 GET with conditional requests (ETag / Last-Modified)"
    default_base_url: ClassVar[str] = ""
    needs_token: ClassVar[bool] = False

    def auth_headers(self, token: Secret | None) -> dict[str, str]:
        return {}  # public pages: nothing to authenticate, nothing to leak

    @property
    def start_url(self) -> str:
        handle = self.account.handle.strip()
        if urlsplit(handle).scheme in ("http", "https"):
            return normalize_url(handle)
        if not self.base_url:
            raise PlatformError(
                f"web account '{self.account.id}': handle {handle!r} is not a URL and no base_url "
                "is set; put the page's URL in the account's handle"
            )
        return normalize_url(urljoin(self.base_url.rstrip("/") + "/", handle.lstrip("/")))

    def _option(self, name: str, default: int) -> int:
        value = self.account.options.get(name, default)
        return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else default

    # -- capture --------------------------------------------------------------------------------

    def capture(self, ctx: CaptureContext) -> None:
        start = self.start_url
        origin = origin_of(start)
        max_pages = max(1, self._option("max_pages", DEFAULT_MAX_PAGES))
        max_depth = self._option("depth", DEFAULT_DEPTH)
        known: Mapping[str, Any] = _mapping(ctx.state.get("pages"))
        pages: dict[str, Any] = {}
        requisites: dict[str, None] = {}
        queue: deque[tuple[str, int]] = deque([(start, 0)])
        queued = {start}
        visited: set[str] = set()

        def visit(url: str) -> _PageResult:
            visited.add(url)
            result = self._capture_page(ctx, url, _mapping(known.get(url)), origin)
            if result.state is not None:
                pages[url] = result.state
            requisites.update(dict.fromkeys(result.requisites))
            return result

        while queue and len(visited) < max_pages:
            url, depth = queue.popleft()
            result = visit(url)
            if depth >= max_depth:
                continue
            for link in result.links:
                if link not in queued and same_origin(link, origin) and _looks_like_page(link):
                    queued.add(link)
                    queue.append((link, depth + 1))
        # Pages of earlier nights the crawl did not reach: ask again, so a removal is seen.
        for url in sorted(known):
            if url in visited or not same_origin(url, origin):
                continue
            if len(visited) < max_pages:
                visit(url)
            else:
                pages[url] = dict(_mapping(known[url]))  # not asked tonight: remembered as it was
        ctx.set_state("pages", dict(sorted(pages.items())[:MAX_REMEMBERED_PAGES]))
        ctx.set_state("requisites", self._capture_requisites(ctx, list(requisites), origin))

    def _capture_page(
        self, ctx: CaptureContext, url: str, previous: Mapping[str, Any], origin: str
    ) -> _PageResult:
        kept = _PageResult(
            state=dict(previous) if previous else None,
            links=list(_strings(previous.get("links"))),
            requisites=list(_strings(previous.get("requisites"))),
        )
        result = kept
        with ctx.listing(f"web:{url}", kind=KIND_PAGE, until=ctx.as_of) as listing:
            target = url
            for _hop in range(MAX_REDIRECTS + 1):
                headers = conditional_headers(previous) if target == url else {}
                fetched = ctx.fetch(target, headers=headers, kind=KIND_PAGE, listing=listing)
                status = fetched.response.status
                if status in REDIRECTS:
                    location = fetched.response.header("Location") or ""
                    following = absolute(target, location)
                    if following is None or not same_origin(following, origin):
                        listing.incomplete(
                            f"{target} redirects to {strip_query(location)}, off the site; not followed"
                        )
                        return kept
                    target = following
                    continue
                if status == 304:
                    listing.not_modified()
                    return kept
                if status in GONE:
                    return _PageResult(state=None)  # evidence of removal: the listing judges it
                if fetched.parsed.unparsed:
                    listing.incomplete("; ".join(fetched.parsed.unparsed)[:300])
                    return kept
                page = _page_of(fetched)
                if page is None:
                    content_type = fetched.response.message.content_type or "no content type"
                    listing.incomplete(f"{target} answered {status} with {content_type}, not a page")
                    return kept
                internal = [r for r in page.requisites if same_origin(r, origin)]
                result = _PageResult(
                    state={**validators_of(fetched), "links": page.links, "requisites": internal},
                    links=page.links,
                    requisites=internal,
                )
                break
            else:
                listing.incomplete(f"{url}: more than {MAX_REDIRECTS} redirects")
                return kept
        return result

    def _capture_requisites(self, ctx: CaptureContext, urls: list[str], origin: str) -> dict[str, Any]:
        known = _mapping(ctx.state.get("requisites"))
        limit = self._option("max_requisites", DEFAULT_MAX_REQUISITES)
        remembered: dict[str, Any] = {}
        queue = deque(urls)
        done: set[str] = set()
        while queue and len(done) < limit:
            url = queue.popleft()
            if url in done or not same_origin(url, origin):
                continue
            done.add(url)
            previous = _mapping(known.get(url))
            refs = list(_strings(previous.get("refs")))
            try:
                if previous.get("etag") or previous.get("last_modified"):
                    fetched: Fetched | None = ctx.fetch(
                        url, headers=conditional_headers(previous), kind=KIND_MEDIA
                    )
                else:
                    fetched = ctx.download_media(url, media_key=item_id(url))
            except (PlatformError, TransportError) as exc:
                ctx.note_failure(f"web requisite {strip_query(url)}", str(exc))
                fetched = None
            if fetched is not None:
                status = fetched.response.status
                if status in GONE:
                    continue  # the site's own broken reference; its 404 is archived
                if 200 <= status < 300:
                    refs = [r for r in _css_refs(fetched) if same_origin(r, origin)]
                    previous = {**validators_of(fetched), "refs": refs}
            remembered[url] = dict(previous) if previous else {}
            queue.extend(r for r in refs if r not in done)
        return dict(sorted(remembered.items()))

    # -- classify -------------------------------------------------------------------------------

    def classify(self, response: ArchivedResponse) -> Verdict:
        status = response.status
        where = strip_query(response.url)
        if status in REDIRECTS or status in GONE or status == 304:
            return Verdict.ok()  # the source follows redirects; a 404/410 is evidence of removal
        if 200 <= status < 300:
            if response.message.content_type in HTML_TYPES:
                _text, problem = _body_text(response)
                if problem is not None:
                    # a cut or garbled page would read as an edit: fetch it again
                    return Verdict("retry", f"{where}: {problem}")
            return Verdict.ok()
        overloaded = overload_verdict(response)
        if overloaded is not None:
            return overloaded
        # 401/403 from a public site is a server or firewall refusal, not a token problem
        return Verdict("error", f"HTTP {status} at {where}")

    # -- parse ----------------------------------------------------------------------------------

    @classmethod
    def parse(cls, response: ArchivedResponse) -> ParseResult:
        if not 200 <= response.status < 300:
            return ParseResult()  # redirects, 304s and 404s hold no page
        content_type = response.message.content_type
        if content_type == CSS_TYPE:
            return _parse_stylesheet(response)
        if content_type not in HTML_TYPES:
            return ParseResult()  # scripts, images, fonts: archived, nothing to read
        html, problem = _body_text(response)
        if html is None:
            return ParseResult.failed(problem or "body cannot be read")
        url = normalize_url(response.url)
        page = read_html(html, url)
        origin = origin_of(url)
        content = {"title": page.title, "text": page.text}
        text = "\n\n".join(part for part in (page.title, page.text) if part)
        items = [
            ParsedItem(
                native_id=item_id(url),
                kind=KIND_PAGE,
                text=text,
                content=content,
                author_id=origin,
                author_name=urlsplit(url).hostname,
                author_is_agency=True,
                created_at=page.published,
                url=url,
                extra={
                    "canonical": page.canonical,
                    "lang": page.lang,
                    "description": page.description,
                    "links": len(page.links),
                    "external_requisites": sorted(r for r in page.requisites if not same_origin(r, origin)),
                },
            )
        ]
        for ref, (role, alt) in page.requisites.items():
            if same_origin(ref, origin):
                items.append(_requisite_item(ref, role=role, alt=alt, parent=url))
        return ParseResult(items=tuple(items))


def _parse_stylesheet(response: ArchivedResponse) -> ParseResult:
    try:
        css = response.body().decode(declared_charset(response) or "utf-8")
    except (HPArchiveError, UnicodeDecodeError, LookupError) as exc:
        return ParseResult.failed(f"stylesheet cannot be read: {one_line(exc)}")
    url = normalize_url(response.url)
    origin = origin_of(url)
    refs = [absolute(url, ref) for ref in css_references(css)]
    return ParseResult(
        items=tuple(
            _requisite_item(ref, role="css", alt="", parent=url)
            for ref in dict.fromkeys(r for r in refs if r is not None and same_origin(r, origin))
        )
    )


def _requisite_item(url: str, *, role: str, alt: str, parent: str) -> ParsedItem:
    # Only the URL defines the item: the same image shown on two pages with two alt texts is
    # still one file, and must not flip between versions.
    return ParsedItem(
        native_id=item_id(url),
        kind=KIND_MEDIA,
        text=alt,
        content={"url": url},
        parent_native_id=item_id(parent),
        root_native_id=item_id(parent),
        author_id=origin_of(url),
        author_is_agency=True,
        url=url,
        media_url=url,
        extra={"role": role, "alt": alt},
    )


def _page_of(fetched: Fetched) -> HtmlPage | None:
    response = fetched.response
    if response.message.content_type not in HTML_TYPES:
        return None
    html, _problem = _body_text(response)
    return None if html is None else read_html(html, normalize_url(response.url))


def _css_refs(fetched: Fetched) -> list[str]:
    if fetched.response.message.content_type != CSS_TYPE:
        return []
    return [item.url for item in fetched.parsed.items if item.kind == KIND_MEDIA and item.url]


def _looks_like_page(url: str) -> bool:
    return not urlsplit(url).path.lower().endswith(_NOT_PAGES)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []
