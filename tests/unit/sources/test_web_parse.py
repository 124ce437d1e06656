"""WebPageSource.parse and its HTML/CSS readers on a recorded-shape page (tests/data/web)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hp_archive.sources.base import ParseResult
from hp_archive.sources.web import (
    WebPageSource,
    css_references,
    html_to_text,
    item_id,
    normalize_url,
    read_html,
    srcset_urls,
)
from tests.unit.sources.conftest import DATA, MakeResponse

SITE = "https://www.hanoverparkillinois.org"
PAGE = f"{SITE}/police/news/traffic-advisory-lake-street"
HTML = "text/html; charset=utf-8"


def page_bytes() -> bytes:
    return (DATA / "web" / "news_page.html").read_bytes()


def test_a_page_is_its_visible_text_and_its_same_origin_requisites(make_response: MakeResponse) -> None:
    result = WebPageSource.parse(make_response(f"{PAGE}#top", page_bytes(), content_type=HTML))

    assert result.unparsed == ()
    page, *requisites = result.items
    assert (page.kind, page.native_id, page.url) == ("page", PAGE, PAGE)
    assert (
        page.content["title"]
        == "Traffic advisory: Lake Street closed Saturday | Hanover Park, IL - Official Website"
    )
    text = page.content["text"]
    assert (
        "Lake Street between Barrington and Church will be closed Saturday 7am\u20133pm. Detour via Church St."
        in text
    )
    assert "Saturday 7am\u20133pm" in text.split("\n") and "Day Hours" in text.split("\n")
    for hidden in ("not text", "dataLayer", "Draft: do not publish", "background-image"):
        assert hidden not in text
    assert page.text == f"{page.content['title']}\n\n{text}"
    assert page.created_at == datetime(2026, 10, 30, 19, 5, tzinfo=UTC)
    assert page.author_is_agency
    assert page.extra["canonical"] == PAGE and page.extra["lang"] == "en-US"
    assert page.extra["external_requisites"] == [
        "https://fonts.googleapis.com/css2?family=Source+Sans+3",
        "https://www.facebook.com/tr?id=1&ev=PageView",
        "https://www.googletagmanager.com/gtag/js?id=G-XXXX",
    ]
    assert {(r.native_id, r.extra["role"]) for r in requisites} == {
        (f"{SITE}/Assets/site.css?v=20261001", "stylesheet"),
        (f"{SITE}/favicon.ico", "icon"),
        (f"{SITE}/Assets/fonts/village.woff2", "font"),
        (f"{SITE}/Assets/site.js", "script"),
        (f"{SITE}/police/img/hero.jpg", "css-image"),
        (f"{SITE}/Assets/badge.png", "image"),
        (f"{SITE}/Assets/badge@2x.png", "image"),
        (f"{SITE}/files/news/map.webp", "image"),
        (f"{SITE}/files/news/map.jpg", "image"),
        (f"{SITE}/files/news/banner.png", "css-image"),
    }
    for requisite in requisites:
        assert requisite.kind == "media" and requisite.parent_native_id == PAGE
        assert requisite.media_url == requisite.native_id and requisite.content == {
            "url": requisite.native_id
        }
        assert requisite.created_at is None  # never judged deleted by a page's listing


def test_only_content_changes_make_a_new_page_version(make_response: MakeResponse) -> None:
    original = WebPageSource.parse(make_response(PAGE, page_bytes(), content_type=HTML)).items[0]
    restyled = (
        page_bytes()
        .replace(b'<p class="byline">', b'<p class="byline meta" data-x="1">')
        .replace(b"site.js", b"site.min.js")
    )
    assert WebPageSource.parse(make_response(PAGE, restyled, content_type=HTML)).items[0].content_digest == (
        original.content_digest
    )
    edited = page_bytes().replace(b"7am&ndash;3pm.", b"7am&ndash;1pm.")
    assert WebPageSource.parse(make_response(PAGE, edited, content_type=HTML)).items[0].content_digest != (
        original.content_digest
    )


def test_a_stylesheet_names_what_it_loads(make_response: MakeResponse) -> None:
    css_url = f"{SITE}/Assets/site.css?v=20261001"
    result = WebPageSource.parse(
        make_response(css_url, (DATA / "web" / "site.css").read_bytes(), content_type="text/css")
    )
    assert [i.native_id for i in result.items] == [
        f"{SITE}/Assets/print.css",
        f"{SITE}/Assets/theme.css",
        f"{SITE}/Assets/fonts/village.woff2",
        f"{SITE}/Assets/fonts/village.woff",
        f"{SITE}/Assets/img/bg.png",
        f"{SITE}/Assets/badge-print.png",
    ]  # not the data: URL, not the other origin, not the comment
    assert all(i.parent_native_id == css_url for i in result.items)


@pytest.mark.parametrize(
    ("status", "content_type", "body"),
    [
        (304, HTML, b""),
        (404, HTML, b"<html><title>Not found</title></html>"),
        (301, HTML, b""),
        (200, "application/javascript", b"var x = '<p>no</p>';"),
        (200, "image/png", b"\x89PNG"),
    ],
)
def test_answers_that_hold_no_page(
    make_response: MakeResponse, status: int, content_type: str, body: bytes
) -> None:
    assert (
        WebPageSource.parse(make_response(PAGE, body, status=status, content_type=content_type))
        == ParseResult()
    )


def test_bytes_that_do_not_decode_are_one_reason(make_response: MakeResponse) -> None:
    bad = page_bytes().replace(b"Lake Street between", b"Lake \xff Street between", 1)
    where = page_bytes().index(b"Lake Street between") + len(b"Lake ")
    assert WebPageSource.parse(make_response(PAGE, bad, content_type=HTML)).unparsed == (
        f"body is not valid utf-8 (byte {where})",
    )
    latin = "<html><head><meta charset='iso-8859-1'><title>Caf\xe9</title></head></html>".encode("latin-1")
    (item,) = WebPageSource.parse(make_response(PAGE, latin, content_type="text/html")).items
    assert item.content["title"] == "Caf\xe9"
    unknown = WebPageSource.parse(make_response(PAGE, b"<p>x</p>", content_type="text/html; charset=klingon"))
    assert unknown.unparsed == ("unknown character encoding: unknown encoding: klingon",)


def test_html_to_text_keeps_text_and_drops_markup() -> None:
    assert (
        html_to_text("<p>Hi <b>there</b>,<br>friend</p><p>bye &amp; thanks</p>")
        == "Hi there,\nfriend\n\nbye & thanks"
    )
    assert (
        html_to_text("<p>&lt;script&gt;alert(1)&lt;/script&gt;</p><script>alert(2)</script>")
        == "<script>alert(1)</script>"
    )
    assert html_to_text("<ul><li>one<li>two</ul><p>unclosed") == "one\n\ntwo\n\nunclosed"
    assert html_to_text(None) == html_to_text("") == ""


def test_srcset_and_css_references() -> None:
    assert srcset_urls("a.png 1x, b,c.png 2x,d.png 480w ,  e.png") == ["a.png", "b,c.png", "d.png", "e.png"]
    assert srcset_urls("") == []
    assert css_references("background: url(a.png); color: red; src: url('b.woff')", declarations=True) == [
        "a.png",
        "b.woff",
    ]


def test_urls_are_normalized_for_ids() -> None:
    assert normalize_url("HTTPS://Example.ORG:443/a/b?x=1#frag") == "https://example.org/a/b?x=1"
    assert normalize_url("http://example.org") == "http://example.org/"
    assert normalize_url("http://example.org:8080/") == "http://example.org:8080/"
    long = "https://example.org/" + "x" * 600
    assert len(item_id(long)) < 512 and item_id(long) == item_id(long)
    page = read_html(
        '<base href="/sub/"><a href="p.html">p</a><a href="#x">x</a><a href="javascript:go()">j</a>',
        f"{SITE}/a/b.html",
    )
    assert page.links == [f"{SITE}/sub/p.html"]
