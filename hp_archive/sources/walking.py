"""What the platform modules share while capturing: where a listing starts, walking its pages
and noting what they name, downloading media, and the validators of a conditional GET.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from hp_archive.errors import PlatformError, TransportError
from hp_archive.sources.base import KIND_MEDIA, KIND_POST, CaptureContext, Fetched, Listing, ParsedItem
from hp_archive.sources.support import parse_time


def listing_start(
    ctx: CaptureContext,
    key: str,
    *,
    where: str,
    fallback: str,
    read_time: Callable[[Any], datetime | None] = parse_time,
) -> datetime | None:
    """Where tonight's listing starts: the end of the last complete one, saved in the run state
    under ``key``, less the look-back window.

    None (list everything) on the first night, and when the saved time cannot be read: that is
    reported as a failure at ``where``, saying what is done instead (``fallback``).
    """
    listed_until = ctx.state.get(key)
    if listed_until is None:
        return None
    previous = read_time(listed_until)
    if previous is None:
        ctx.note_failure(where, f"saved {key} {listed_until!r} is not an ISO time; {fallback}")
        return None
    return min(previous, ctx.as_of) - ctx.lookback


@dataclass
class ListingItems:
    """The posts and the media files (key → URL) the pages of one listing named, in order."""

    posts: dict[str, ParsedItem] = field(default_factory=dict)
    media: dict[str, str] = field(default_factory=dict)

    def add(self, fetched: Fetched) -> None:
        """Note one page's posts and media files (the first sighting of each counts)."""
        for item in fetched.parsed.items:
            if item.kind == KIND_POST:
                self.posts.setdefault(item.native_id, item)
            elif item.kind == KIND_MEDIA and item.media_url:
                self.media.setdefault(item.native_id, item.media_url)


class PageWalk:
    """Fetches the pages of one listing through the context, up to ``max_pages`` pages.

    A page that could not be parsed completely marks the listing incomplete (an item left out of
    it must not be judged deleted), and the walk goes on so the rest is still archived. A
    subclass follows the platform's paging from page to page.
    """

    def __init__(
        self,
        ctx: CaptureContext,
        listing: Listing,
        headers: Mapping[str, str],
        kind: str,
        on_page: Callable[[Fetched], None],
        *,
        max_pages: int,
    ) -> None:
        self.ctx = ctx
        self.listing = listing
        self.headers = headers
        self.kind = kind
        self.on_page = on_page
        self.max_pages = max_pages
        self.pages = 0
        self.marked_incomplete = False

    def incomplete(self, reason: str) -> None:
        self.marked_incomplete = True
        self.listing.incomplete(reason)

    def fetch_page(self, url: str, params: Mapping[str, Any] | None) -> Fetched | None:
        """The next page, handed to ``on_page``; None (the listing incomplete) at the page cap."""
        if self.pages >= self.max_pages:
            self.incomplete(f"stopped after {self.max_pages} pages (page cap)")
            return None
        fetched = self.ctx.fetch(
            url, params=params, headers=self.headers, kind=self.kind, listing=self.listing
        )
        self.pages += 1
        if fetched.parsed.unparsed:
            self.incomplete(f"page {self.pages} not fully parsed: {fetched.parsed.unparsed[0]}")
        self.on_page(fetched)
        return fetched


def judge_page(listing: Listing, fetched: Fetched, page: int) -> None:
    """Mark the listing incomplete when part of a page could not be parsed: an item left out of
    it must not be judged deleted."""
    if fetched.parsed.unparsed:
        listing.incomplete(
            f"page {page}: {len(fetched.parsed.unparsed)} part(s) could not be parsed, so nothing "
            "missing from this listing is judged deleted"
        )


def download_files(ctx: CaptureContext, media: Mapping[str, str], what: str) -> None:
    """Download each file (media key → URL) once through ``ctx``.

    A failure is reported as ``{what} {media key}`` and loses only that file for the night: its
    item still names it, and the next night's listing brings its URL (freshly signed) again.
    """
    for media_key, url in media.items():
        try:
            ctx.download_media(url, media_key=media_key)
        except (PlatformError, TransportError) as exc:
            ctx.note_failure(f"{what} {media_key}", str(exc))


def url_origin(url: str) -> str:
    """``scheme://host[:port]`` of a URL, lower-cased (a walk follows links on its origin only)."""
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def validators_of(fetched: Fetched) -> dict[str, str]:
    """The response's ``ETag`` and ``Last-Modified``, kept for the next night's conditional GET."""
    found: dict[str, str] = {}
    etag = fetched.response.header("ETag")
    modified = fetched.response.header("Last-Modified")
    if etag:
        found["etag"] = etag
    if modified:
        found["last_modified"] = modified
    return found


def conditional_headers(validators: Mapping[str, Any]) -> dict[str, str]:
    """``If-None-Match`` / ``If-Modified-Since`` from validators kept by :func:`validators_of`."""
    headers: dict[str, str] = {}
    if isinstance(validators.get("etag"), str):
        headers["If-None-Match"] = validators["etag"]
    if isinstance(validators.get("last_modified"), str):
        headers["If-Modified-Since"] = validators["last_modified"]
    return headers
