"""Items for archived web resources no platform source recognizes (WARCs from other tools).

Every HTML or text response (or ``resource`` record) with an ``http(s)`` URL in an imported WARC
becomes one item of kind ``page`` on the pseudo-platform ``imported``, whose native id is the URL:
importing several crawls of the same page gives that page's versions over time. Its text is the
page's title and visible text (script, style and other non-text elements left out), so it is found
by full-text search; the URL itself is searchable as ``url`` on the item. Error pages, redirects and
non-text bodies (images, scripts, JSON of unknown APIs) get no item: their records are still in the
index (``warc_records``) with their URL, type and digests. Pure functions, no I/O.
"""

from __future__ import annotations

import hashlib
import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

from hp_archive.errors import HPArchiveError
from hp_archive.sources.base import KIND_PAGE, ArchivedResponse, ParsedItem, ParseResult

PLATFORM = "imported"
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
TEXT_TYPES = frozenset({"text/plain", "text/markdown"})
MAX_ID_LENGTH = 480
MAX_TEXT = 200_000  # characters of visible text kept per page (full-text search, not evidence)

_NO_TEXT = frozenset(
    {"script", "style", "noscript", "template", "title", "svg", "math", "iframe", "object", "head"}
)
_BLOCK = frozenset(
    {"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table",
     "section", "article", "header", "footer", "nav", "main", "aside", "blockquote", "pre", "hr",
     "dd", "dt", "figcaption", "address"}
)  # fmt: skip
_CHARSET = re.compile(rb"""<meta[^>]+charset=["']?([A-Za-z0-9_-]+)""", re.IGNORECASE)
_SPACES = re.compile(r"[ \t\r\f\v]+")


def page_id(url: str) -> str:
    """A URL as a page's native id (a digest keeps an overly long one within the index's column)."""
    if len(url) <= MAX_ID_LENGTH:
        return url
    return url[:400] + "#sha256=" + hashlib.sha256(url.encode()).hexdigest()[:32]


class _VisibleText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title: list[str] = []
        self._skip = 0
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        if tag in _NO_TEXT:
            self._skip += 1
        elif tag in _BLOCK:
            self.parts.append("\n")
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt and not self._skip:
                self.parts.append(f" {alt} ")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        if tag in _NO_TEXT and self._skip:
            self._skip -= 1
        elif tag in _BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title.append(data)
        elif not self._skip:
            self.parts.append(data)


def visible_text(html: str) -> tuple[str, str]:
    """(title, visible text) of an HTML document, whitespace tidied, text cut at MAX_TEXT."""
    parser = _VisibleText()
    parser.feed(html)
    parser.close()
    lines = (_SPACES.sub(" ", line).strip() for line in "".join(parser.parts).split("\n"))
    text = "\n".join(line for line in lines if line)
    title = " ".join("".join(parser.title).split())
    return title, text[:MAX_TEXT]


def _decode(body: bytes, response: ArchivedResponse, *, html: bool) -> str:
    declared = response.header("Content-Type") or ""
    charset = None
    for part in declared.split(";")[1:]:
        name, _, value = part.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip("\"'")
    if charset is None and html:
        found = _CHARSET.search(body[:4096])
        charset = found.group(1).decode("ascii") if found else None
    try:
        return body.decode(charset or "utf-8", "replace")
    except LookupError:
        return body.decode("utf-8", "replace")


def page_items(response: ArchivedResponse) -> ParseResult:
    """One ``page`` item for an HTML/text response with an http(s) URL and a 2xx status, else none."""
    url = response.url
    if urlsplit(url).scheme not in ("http", "https"):
        return ParseResult()
    status = response.status
    if status and not 200 <= status < 300:
        return ParseResult()
    content_type = response.message.content_type
    is_html = content_type in HTML_TYPES
    if not is_html and content_type not in TEXT_TYPES:
        return ParseResult()
    try:
        body = response.body()
    except HPArchiveError as exc:
        return ParseResult.failed(f"page body cannot be read: {exc}")
    document = _decode(body, response, html=is_html)
    if is_html:
        title, text = visible_text(document)
    else:
        title, text = "", "\n".join(line.strip() for line in document.splitlines() if line.strip())
        text = text[:MAX_TEXT]
    return ParseResult(
        items=(
            ParsedItem(
                native_id=page_id(url),
                kind=KIND_PAGE,
                text="\n\n".join(part for part in (title, text) if part),
                content={"title": title, "text": text},
                url=url,
                extra={"content_type": content_type, "status": status or None},
            ),
        )
    )
