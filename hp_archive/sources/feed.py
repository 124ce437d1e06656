"""RSS 2.0 and Atom 1.0 feeds, read with ``feedparser``, fetched with conditional GET.

Built to docs/research/feed.md. A night's capture of one feed is:

1. ``GET {feed URL}`` with ``If-None-Match`` / ``If-Modified-Since`` from the previous night's
   ``ETag`` / ``Last-Modified`` (kept in the run state); ``304 Not Modified`` ends the night;
2. every image enclosure (``<enclosure>``, Atom ``rel="enclosure"``, Media RSS
   ``<media:content medium="image">``) once, keyed by its entry and URL.

A feed is a window onto the newest entries, not a listing of everything: an entry that drops off
the end was not deleted. So nothing is ever judged deleted from a feed: its response is archived
outside any listing scope, and the feed's listing only records the night's outcome (complete,
failed, or not modified) and how many entries the feed held. Every entry is an item (kind
``post``); a changed title, text, link, enclosure list or ``updated`` date is a new version.

The feed URL is the account's ``handle`` when it is a URL, else its ``base_url``. No credentials
are sent.
"""

from __future__ import annotations

import hashlib
import io
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import urljoin, urlsplit

import feedparser  # type: ignore[import-untyped]

from hp_archive.errors import HPArchiveError
from hp_archive.settings import Secret
from hp_archive.sources.base import (
    KIND_MEDIA,
    KIND_PAGE,
    KIND_POST,
    ArchivedResponse,
    CaptureContext,
    ParsedItem,
    ParseResult,
    Source,
    Verdict,
    text_of,
)
from hp_archive.sources.http import strip_query
from hp_archive.sources.support import as_nonempty_str, is_media, one_line, overload_verdict
from hp_archive.sources.walking import conditional_headers, validators_of
from hp_archive.sources.web import html_to_text, item_id, normalize_url

#: feedparser's ``version`` values for the two formats this source is built for (others —
#: RSS 0.9x/1.0, Atom 0.3 — parse too and are accepted as they come)
FORMATS = {"rss20": "RSS 2.0", "atom10": "Atom 1.0"}
# feedparser's "bozo" notes that do not make a feed unreadable
_HARMLESS = (feedparser.NonXMLContentType,)


class FeedSource(Source):
    """One RSS or Atom feed of the department (its web site's news, a blog, a platform's feed)."""

    platform: ClassVar[str] = "feed"
    title: ClassVar[str] = "RSS / Atom feed"
    api: ClassVar[str] = "RSS 2.0 and Atom 1.0 (RFC 4287) via feedparser; conditional GET (RFC 9110)"
    default_base_url: ClassVar[str] = ""
    needs_token: ClassVar[bool] = False

    def auth_headers(self, token: Secret | None) -> dict[str, str]:
        return {}  # feeds are public: nothing to authenticate, nothing to leak

    @property
    def feed_url(self) -> str:
        handle = self.account.handle.strip()
        if urlsplit(handle).scheme in ("http", "https"):
            return handle
        if self.base_url:
            return self.base_url
        raise HPArchiveError(
            f"feed account '{self.account.id}': handle {handle!r} is not a URL and no base_url is "
            "set; put the feed's URL in the account's handle"
        )

    # -- capture --------------------------------------------------------------------------------

    def capture(self, ctx: CaptureContext) -> None:
        url = self.feed_url
        previous = ctx.state.get("validators")
        validators = previous if isinstance(previous, Mapping) else {}
        with ctx.listing(f"feed:{url}", kind=KIND_POST, until=ctx.as_of) as listing:
            # Deliberately not attributed to the listing (listing=None): the entries get no
            # listing scope, so an entry that drops off the feed is never reported deleted.
            fetched = ctx.fetch(url, headers=conditional_headers(validators), kind=KIND_POST)
            if fetched.response.status == 304:
                listing.not_modified()
                return
            entries = sum(1 for item in fetched.parsed.items if item.kind == KIND_POST)
            listing.expect(entries)
            if fetched.parsed.unparsed:
                listing.incomplete("; ".join(fetched.parsed.unparsed)[:300])
                ctx.set_state("validators", {})  # ask for the whole feed again next night
            else:
                ctx.set_state("validators", validators_of(fetched))
            for item in fetched.parsed.items:
                if item.kind == KIND_MEDIA and item.media_url:
                    ctx.download_media(item.media_url, media_key=item.native_id)

    # -- classify -------------------------------------------------------------------------------

    def classify(self, response: ArchivedResponse) -> Verdict:
        status = response.status
        where = strip_query(response.url)
        if 200 <= status < 300:
            if is_media(response):
                return Verdict.ok()
            problem = _unreadable(response)
            if problem is not None:
                # a cut or garbled feed would read as edits of every entry: fetch it again
                return Verdict("retry", f"{where}: {problem}")
            return Verdict.ok()
        if status == 304:
            return Verdict.ok()
        overloaded = overload_verdict(response)
        if overloaded is not None:
            return overloaded
        # a public feed has no token: 401/403 is the server refusing, and 404/410 a moved feed
        return Verdict("error", f"HTTP {status} at {where}: check the feed URL in the account's handle")

    # -- parse ----------------------------------------------------------------------------------

    @classmethod
    def parse(cls, response: ArchivedResponse) -> ParseResult:
        if not 200 <= response.status < 300 or is_media(response):
            return ParseResult()  # 304s, errors and enclosure files hold no entries
        feed, problem = _read(response)
        if feed is None:
            return ParseResult.failed(problem or "not a feed")
        url = normalize_url(response.url)
        channel = feed.get("feed", {})
        title = _field_text(channel, "title")
        subtitle = _field_text(channel, "subtitle")
        author = _field_text(channel, "author") or title
        items = [
            ParsedItem(
                native_id=item_id(url),
                kind=KIND_PAGE,
                text=text_of([title, subtitle]),
                content={
                    "title": title,
                    "subtitle": subtitle,
                    "link": as_nonempty_str(channel.get("link")),
                },
                author_id=url,
                author_name=author,
                author_is_agency=True,
                url=as_nonempty_str(channel.get("link")) or url,
                extra={
                    "format": FORMATS.get(feed.get("version", ""), feed.get("version")),
                    "updated": _iso(_own(channel, "updated_parsed")),
                    "generator": as_nonempty_str(channel.get("generator")),
                    "entries": len(feed.get("entries", [])),
                },
            )
        ]
        unparsed: list[str] = []
        seen: set[str] = set()
        for index, entry in enumerate(feed.get("entries", [])):
            entry_id = as_nonempty_str(entry.get("id")) or as_nonempty_str(entry.get("link"))
            if not entry_id:
                unparsed.append(f"entries[{index}]: an entry with neither an id/guid nor a link; left out")
                continue
            if entry_id in seen:
                unparsed.append(f"entries[{index}]: id {entry_id[:80]!r} repeats an earlier entry; left out")
                continue
            seen.add(entry_id)
            items.extend(_entry_items(entry, entry_id=entry_id, feed_url=url, author=author))
        return ParseResult(items=tuple(items), unparsed=tuple(unparsed))


def _entry_items(
    entry: Mapping[str, Any], *, entry_id: str, feed_url: str, author: str | None
) -> list[ParsedItem]:
    title = _field_text(entry, "title")
    summary = _field_text(entry, "summary")
    # RSS content:encoded, Atom content (feedparser also files Media RSS descriptions here)
    contents = [
        _as_text(as_nonempty_str(c.get("value")), as_nonempty_str(c.get("type")))
        for c in entry.get("content") or []
        if isinstance(c, Mapping)
    ]
    contents = [c for c in dict.fromkeys(contents) if c and c != summary]
    link = as_nonempty_str(entry.get("link"))
    enclosures = _enclosures(entry, feed_url)
    created = _time(entry.get("published_parsed")) or _time(entry.get("created_parsed"))
    updated = _time(_own(entry, "updated_parsed"))
    entry_author = _field_text(entry, "author") or author
    native = item_id(entry_id)
    items = [
        ParsedItem(
            native_id=native,
            kind=KIND_POST,
            text=text_of([title, *contents, summary]),
            content={
                "title": title,
                "summary": summary,
                "content": contents,
                "link": link,
                "updated": updated.isoformat() if updated else None,
                "enclosures": [url for url, _type in enclosures],
            },
            author_id=feed_url,
            author_name=entry_author,
            author_is_agency=True,
            created_at=created or updated,
            edited_at=updated if updated and created and updated > created else None,
            url=link,
            extra={
                "published": created.isoformat() if created else None,
                "tags": [
                    as_nonempty_str(t.get("term")) for t in entry.get("tags") or [] if isinstance(t, Mapping)
                ],
                "comments": as_nonempty_str(entry.get("comments")),
            },
        )
    ]
    for url, media_type in enclosures:
        if not media_type.startswith("image/"):
            continue  # audio, video and documents are named in the entry, not downloaded
        items.append(
            ParsedItem(
                native_id=enclosure_key(native, url),
                kind=KIND_MEDIA,
                text=title or "",
                content={"url": url, "type": media_type},
                parent_native_id=native,
                root_native_id=native,
                author_id=feed_url,
                author_name=entry_author,
                author_is_agency=True,
                created_at=created or updated,
                url=url,
                media_url=url,
            )
        )
    return items


def enclosure_key(entry_native_id: str, url: str) -> str:
    """The stable key (and native id) of an entry's enclosure: the entry and the file's URL."""
    return item_id(f"{entry_native_id}|enclosure:{hashlib.sha256(url.encode()).hexdigest()[:16]}")


def _enclosures(entry: Mapping[str, Any], base: str) -> list[tuple[str, str]]:
    """(absolute URL, media type) of enclosures and Media RSS content, in document order."""
    found: dict[str, str] = {}
    entry_base = base
    detail = entry.get("summary_detail") or entry.get("title_detail")
    if isinstance(detail, Mapping) and as_nonempty_str(detail.get("base")):
        entry_base = str(detail["base"])
    for enclosure in entry.get("enclosures") or []:
        if isinstance(enclosure, Mapping) and as_nonempty_str(enclosure.get("href")):
            url = urljoin(entry_base, str(enclosure["href"]))
            found.setdefault(url, as_nonempty_str(enclosure.get("type")) or "")
    for media in entry.get("media_content") or []:
        if isinstance(media, Mapping) and as_nonempty_str(media.get("url")):
            url = urljoin(entry_base, str(media["url"]))
            media_type = as_nonempty_str(media.get("type")) or ""
            if not media_type and media.get("medium") == "image":
                media_type = "image/*"
            found.setdefault(url, media_type)
    return [(url, kind) for url, kind in found.items() if urlsplit(url).scheme in ("http", "https")]


def _read(response: ArchivedResponse) -> tuple[Any, str | None]:
    """(the feedparser result, None), or (None, why the body is not a readable feed)."""
    try:
        body = response.body()
    except HPArchiveError as exc:
        return None, f"body cannot be read: {one_line(exc)}"
    headers = {"content-location": response.url}
    content_type = response.header("Content-Type")
    if content_type:
        headers["content-type"] = content_type
    # A stream, never bytes or a string: feedparser would treat those as a URL or a file path.
    feed = feedparser.parse(io.BytesIO(body), response_headers=headers)
    problem = feed.get("bozo_exception") if feed.get("bozo") else None
    if isinstance(problem, feedparser.CharacterEncodingOverride) and _unicode(feed.get("encoding")):
        # e.g. text/* without a charset "declares" us-ascii (RFC 3023) but decoded as UTF-8:
        # every byte was read as written. A fallback to windows-1252 is not harmless.
        problem = None
    if problem is not None and not isinstance(problem, _HARMLESS):
        return (
            None,
            f"not a well-formed feed: {type(problem).__name__}: {one_line(problem)}",
        )
    if not feed.get("version"):
        return None, "not an RSS or Atom feed (no rss, feed or RDF root element)"
    return feed, None


def _own(parsed: Mapping[str, Any], key: str) -> Any:
    """A key only if the document had it (feedparser maps a missing ``updated`` to ``published``,
    with a DeprecationWarning, and says it will stop)."""
    return parsed[key] if key in parsed else None  # noqa: SIM401 - .get() is the fallback


def _unicode(encoding: Any) -> bool:
    return isinstance(encoding, str) and encoding.lower().replace("_", "-").startswith(
        ("utf-8", "utf-16", "utf-32")
    )


def _unreadable(response: ArchivedResponse) -> str | None:
    return _read(response)[1]


def _time(value: Any) -> datetime | None:
    """feedparser's parsed dates are UTC ``time.struct_time`` values."""
    if not isinstance(value, time.struct_time):
        return None
    try:
        return datetime(*value[:6], tzinfo=UTC)
    except ValueError:
        return None


def _iso(value: Any) -> str | None:
    moment = _time(value)
    return moment.isoformat() if moment else None


def _field_text(parent: Mapping[str, Any], key: str) -> str | None:
    """A text construct as plain text: HTML ones (``type="html"``, RSS descriptions) lose their
    markup; plain ones are kept as written, so a literal ``<b>`` in a title stays."""
    detail = parent.get(f"{key}_detail")
    kind = as_nonempty_str(detail.get("type")) if isinstance(detail, Mapping) else None
    return _as_text(as_nonempty_str(parent.get(key)), kind) or None


def _as_text(value: str | None, media_type: str | None) -> str:
    if not value:
        return ""
    if media_type in ("text/plain", "text"):
        return "\n".join(" ".join(line.split()) for line in value.strip().splitlines()).strip()
    return html_to_text(value)
