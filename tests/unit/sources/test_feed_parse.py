"""FeedSource.parse on RSS 2.0 and Atom 1.0 documents (tests/data/feed)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hp_archive.sources.base import ParsedItem, ParseResult
from hp_archive.sources.feed import FeedSource, enclosure_key
from tests.unit.sources.conftest import DATA, MakeResponse

SITE = "https://www.hanoverparkillinois.org"
RSS_URL = f"{SITE}/police/news.rss"
ATOM_URL = f"{SITE}/police/news.atom"
RSS = "application/rss+xml; charset=utf-8"
ATOM = "application/atom+xml"


def read(name: str) -> bytes:
    return (DATA / "feed" / name).read_bytes()


def parse(make_response: MakeResponse, url: str, body: bytes, content_type: str = RSS) -> ParseResult:
    return FeedSource.parse(make_response(url, body, content_type=content_type))


def by_id(result: ParseResult) -> dict[str, ParsedItem]:
    return {item.native_id: item for item in result.items}


def test_rss_entries_are_posts_with_their_image_enclosures(make_response: MakeResponse) -> None:
    result = parse(make_response, RSS_URL, read("news.rss"))

    assert result.unparsed == ()
    first = "tag:hanoverparkillinois.org,2026:news/1001"
    assert [(i.kind, i.native_id) for i in result.items] == [
        ("page", RSS_URL),
        ("post", first),
        ("media", enclosure_key(first, f"{SITE}/files/news/1001/map.jpg")),
        ("media", enclosure_key(first, f"{SITE}/files/news/1001/detour.png")),
        ("post", f"{SITE}/police/news/1002"),  # a permalink guid is still the id
        ("post", f"{SITE}/police/news/1003"),  # no guid: the link is the id
    ]
    items = by_id(result)
    feed = items[RSS_URL]
    assert feed.text == "Hanover Park Police Department — News\n\nNews and advisories from the department"
    assert feed.extra["format"] == "RSS 2.0" and feed.extra["entries"] == 3

    advisory = items[first]
    assert advisory.created_at == datetime(2026, 10, 31, 19, 5, tzinfo=UTC)  # -0500 read as UTC
    assert advisory.author_name == "Sgt. A. Rivera"
    assert advisory.url == f"{SITE}/police/news/1001"
    # HTML descriptions lose their markup and their scripts; relative links are resolved
    assert advisory.content["summary"] == (
        "Lake Street between Barrington and Church will be closed Saturday 7am\u20133pm.\n\nDetour via Church St."
    )
    assert advisory.content["enclosures"] == [
        f"{SITE}/files/news/1001/map.jpg",
        f"{SITE}/files/news/1001/detour.png",
    ]
    assert "track()" not in advisory.text
    photo = items[enclosure_key(first, f"{SITE}/files/news/1001/map.jpg")]
    assert (photo.parent_native_id, photo.media_url) == (first, f"{SITE}/files/news/1001/map.jpg")

    briefing = items[f"{SITE}/police/news/1002"]
    assert briefing.content["enclosures"] == [f"{SITE}/files/news/1002/briefing.mp3"]  # named, not fetched
    assert (
        briefing.text
        == "Drug take-back day & shredding event\n\nSaturday 10am\u20132pm at the station lobby. No questions asked."
    )


def test_atom_entries_carry_updates_as_edits(make_response: MakeResponse) -> None:
    result = parse(make_response, ATOM_URL, read("news.atom"), ATOM)

    assert result.unparsed == ()
    items = by_id(result)
    feed = items[ATOM_URL]
    assert feed.extra["format"] == "Atom 1.0"
    assert feed.content["subtitle"] == "News & advisories from the department"
    advisory = items["tag:hanoverparkillinois.org,2026:news/1001"]
    assert advisory.url == f"{SITE}/police/news/1001"  # resolved against xml:base
    assert advisory.created_at == datetime(2026, 10, 31, 19, 5, tzinfo=UTC)
    assert advisory.edited_at == datetime(2026, 11, 1, 9, 12, tzinfo=UTC)
    assert advisory.content["content"] == [
        "Lake Street between Barrington and Church will be closed Saturday 7am\u20133pm.\n\n"
        "UPDATE: the closure now ends at 1pm."
    ]
    assert advisory.content["summary"] == "Lake Street closed Saturday 7am\u20133pm."
    xhtml = items["tag:hanoverparkillinois.org,2026:news/1002"]
    assert xhtml.text == "Drug take-back day & shredding\n\nSaturday 10am\u20132pm at the station lobby."
    assert xhtml.edited_at is None


def test_only_real_changes_make_versions(make_response: MakeResponse) -> None:
    base = read("news.atom")
    digests = {i.native_id: i.content_digest for i in parse(make_response, ATOM_URL, base, ATOM).items}
    # the feed's own <updated> and generator change on every rebuild: not an edit of anything
    rebuilt = base.replace(
        b"<updated>2026-11-02T05:00:00Z</updated>", b"<updated>2026-11-03T05:00:00Z</updated>"
    )
    assert {
        i.native_id: i.content_digest for i in parse(make_response, ATOM_URL, rebuilt, ATOM).items
    } == digests
    # an entry's <updated> is its edit date: a new version even with the same text
    bumped = base.replace(
        b"<updated>2026-10-30T09:00:00Z</updated>", b"<updated>2026-11-03T09:00:00Z</updated>"
    )
    after = {i.native_id: i.content_digest for i in parse(make_response, ATOM_URL, bumped, ATOM).items}
    changed = {k for k in digests if digests[k] != after[k]}
    assert changed == {"tag:hanoverparkillinois.org,2026:news/1002"}


def test_entries_without_an_id_or_twice_are_reasons(make_response: MakeResponse) -> None:
    body = (
        read("news.rss")
        .replace(b"<link>https://www.hanoverparkillinois.org/police/news/1003</link>", b"")
        .replace(
            b"</channel>",
            b"<item><guid>https://www.hanoverparkillinois.org/police/news/1002</guid><title>again</title></item></channel>",
        )
    )
    result = parse(make_response, RSS_URL, body)
    assert result.unparsed == (
        "entries[2]: an entry with neither an id/guid nor a link; left out",
        "entries[3]: id 'https://www.hanoverparkillinois.org/police/news/1002' repeats an earlier entry; left out",
    )
    assert sum(1 for i in result.items if i.kind == "post") == 2


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (
            b"<rss version='2.0'><channel><title>x</title><item><title>cut",
            RSS,
            "not a well-formed feed: SAXParseException",
        ),
        (
            read("news.rss").replace(b"Lake Street between", b"Lake \xff Street between"),
            RSS,
            "not a well-formed feed: CharacterEncodingOverride: document declared as utf-8, but parsed as",
        ),
        (b"<!DOCTYPE html><html><body><h1>Login</h1></body></html>", "text/html", "not an RSS or Atom feed"),
        (b'{"items": []}', "application/json", "not a well-formed feed"),
    ],
    ids=["malformed-xml", "invalid-utf8", "an-html-page", "json"],
)
def test_unreadable_feeds_are_one_reason_and_no_items(
    make_response: MakeResponse, body: bytes, content_type: str, reason: str
) -> None:
    result = parse(make_response, RSS_URL, body, content_type)
    assert result.items == ()
    (why,) = result.unparsed
    assert why.startswith(reason)


def test_a_feed_served_as_text_plain_is_still_read(make_response: MakeResponse) -> None:
    result = parse(make_response, RSS_URL, read("news.rss"), "text/plain")
    assert result.unparsed == () and len(result.items) == 6


def test_answers_without_entries(make_response: MakeResponse) -> None:
    assert FeedSource.parse(make_response(RSS_URL, b"", status=304, reason="Not Modified")) == ParseResult()
    image = make_response(f"{SITE}/files/news/1001/map.jpg", b"\xff\xd8\xff", content_type="image/jpeg")
    assert FeedSource.parse(image) == ParseResult()


def test_a_body_that_is_a_file_path_is_never_opened(make_response: MakeResponse, tmp_path: object) -> None:
    # feedparser opens a *string or bytes* argument as a path or URL; the source hands it a stream
    result = parse(make_response, RSS_URL, b"/etc/passwd", "application/rss+xml")
    assert result.items == ()
    assert "root:" not in " ".join(result.unparsed)
