"""FacebookPagesSource.parse on recorded-shape Graph API responses (tests/data/facebook)."""

from __future__ import annotations

import copy
import json
import re
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from hp_archive.sources.base import ParsedItem, ParseResult
from hp_archive.sources.facebook import FacebookPagesSource
from tests.unit.sources.conftest import MakeResponse

GRAPH = "https://graph.facebook.com/v25.0"
POSTS_URL = f"{GRAPH}/19292868552/posts?fields=id%2Cmessage&limit=100&until=1793520000"
POST_ID = "19292868552_10158407654328553"
COMMENTS_URL = f"{GRAPH}/{POST_ID}/comments?filter=stream&order=chronological&summary=true"
TOP = "10158407654328553_10158407903973553"

ReadFixture = Callable[[str], bytes]


def parse(make_response: MakeResponse, url: str, body: bytes | dict[str, Any]) -> ParseResult:
    if isinstance(body, dict):
        body = json.dumps(body).encode()
    return FacebookPagesSource.parse(make_response(url, body))


def by_id(result: ParseResult) -> dict[str, ParsedItem]:
    return {item.native_id: item for item in result.items}


def digests(result: ParseResult) -> dict[str, str]:
    return {item.native_id: item.content_digest for item in result.items}


# -- the Page and its posts ----------------------------------------------------------------------


def test_page_node_is_one_agency_page_item(make_response: MakeResponse, fixture_bytes: ReadFixture) -> None:
    result = parse(make_response, f"{GRAPH}/MetaforDevelopers?fields=id,name", fixture_bytes("page.json"))

    assert result.unparsed == ()
    (page,) = result.items
    assert (page.kind, page.native_id, page.text) == ("page", "19292868552", "Meta for Developers")
    assert page.author_is_agency
    assert page.url == "https://www.facebook.com/MetaforDevelopers"


def test_posts_listing_gives_each_post_and_each_image(
    make_response: MakeResponse, fixture_bytes: ReadFixture
) -> None:
    result = parse(make_response, POSTS_URL, fixture_bytes("posts_page1.json"))

    assert result.unparsed == ()
    assert Counter(item.kind for item in result.items) == {"post": 5, "media": 6}
    posts = [item for item in result.items if item.kind == "post"]
    assert [p.native_id for p in posts] == [
        "19292868552_10158349356748553",
        "19292868552_10158340000000001",
        "19292868552_10158333323653553",
        "19292868552_10158320000000002",
        "19292868552_10158310000000003",
    ]
    for post in posts:
        assert post.author_id == "19292868552"
        assert post.author_name == "Meta for Developers"
        assert post.author_is_agency
        assert post.parent_native_id is None
        assert post.edited_at is None  # updated_time is not an edit marker

    photo = posts[0]
    assert photo.text == "Singaporean logistics company Ninja Van used Messenger to scale customer support."
    assert photo.created_at == datetime(2021, 7, 9, 19, 9, 52, tzinfo=UTC)
    assert photo.hidden is False
    assert photo.url == "https://www.facebook.com/19292868552/posts/10158349356748553/"
    assert photo.extra == {
        "updated_time": "2021-07-12T01:03:23+0000",
        "status_type": "added_photos",
        "is_published": True,
        "share_count": 10,
        "comments_total": 13,
    }
    assert photo.content["attachments"][0]["target_id"] == "10158349355013553"
    assert posts[1].hidden is None  # the response did not say

    video, link, story = posts[2], posts[3], posts[4]
    assert video.text == "iCook used the Messenger Platform to grow.\n\niCook Success Story"
    assert link.text == (
        "New in v11.0: read the changelog.\n\nGraph API Changelog\n\n"
        "Graph API v11.0 brings new Page features."
    )
    assert (
        link.content["attachments"][0]["url"] == "https://developers.facebook.com/docs/graph-api/changelog/"
    )
    assert link.content["attachments"][0]["target_url"] == (
        "https://developers.facebook.com/docs/graph-api/changelog/"
    )
    assert story.text == "Meta for Developers updated their cover photo."
    assert story.content["message"] is None
    assert story.content["story"] == "Meta for Developers updated their cover photo."


def test_media_items_are_keyed_by_target_id_and_keep_the_src_exactly(
    make_response: MakeResponse, fixture_bytes: ReadFixture
) -> None:
    raw = json.loads(fixture_bytes("posts_page1.json"))
    result = parse(make_response, POSTS_URL, fixture_bytes("posts_page1.json"))
    media = [item for item in result.items if item.kind == "media"]

    photo = by_id(result)["10158349355013553"]
    assert photo.parent_native_id == "19292868552_10158349356748553"
    assert photo.root_native_id == "19292868552_10158349356748553"
    assert photo.media_url == raw["data"][0]["attachments"]["data"][0]["media"]["image"]["src"]
    assert photo.url == (
        "https://www.facebook.com/FacebookforDevelopers/photos/a.441861428552/10158349355013553/?type=3"
    )
    assert photo.extra == {"width": 720, "height": 720}
    assert photo.author_is_agency

    # An album gives its three photos; its cover repeats the first one and is not a fourth item.
    album = [m for m in media if m.parent_native_id == "19292868552_10158340000000001"]
    assert [m.native_id for m in album] == [
        "4018907174816739",
        "4018907228150067",
        "4018907294816727",
    ]
    assert album[1].text == "Speaker on stage"

    video = by_id(result)["1192957457884299"]
    assert video.content["media_type"] == "video"
    assert video.extra["video_source"].startswith("https://video.xx.fbcdn.net/")

    # A link preview has no target id: it is keyed by its post and the previewed image.
    (preview,) = [m for m in media if m.parent_native_id == "19292868552_10158320000000002"]
    assert re.fullmatch(r"19292868552_10158320000000002:[0-9a-f]{16}", preview.native_id)
    assert preview.content["image"] == "https://developers.facebook.com/images/changelog.png"
    assert preview.media_url is not None and "safe_image.php" in preview.media_url


def _refetched(raw: dict[str, Any]) -> dict[str, Any]:
    """The same posts fetched again later: new counts, new CDN signatures, new updated_time."""
    again = copy.deepcopy(raw)
    text = json.dumps(again)
    text = re.sub(r"oh=[0-9a-f]+", "oh=00ffee00ffee00ffee00ffee00ffee00", text)
    text = re.sub(r"oe=[0-9A-F]+", "oe=6A000000", text)
    text = re.sub(r"_nc_ohc=\w+", "_nc_ohc=ZZZ", text)
    text = text.replace("scontent-ssn1-1.xx", "scontent-ord5-2.xx").replace("h=AT0aB1cD2eF3", "h=AT9zz")
    again = json.loads(text)
    for post in again["data"]:
        post["updated_time"] = "2026-11-02T03:00:00+0000"
        post["shares"] = {"count": 999}
        post["comments"] = {
            "data": [],
            "summary": {"order": "chronological", "total_count": 77, "can_comment": True},
        }
    return again


def test_digests_ignore_counts_cdn_signatures_and_updated_time(
    make_response: MakeResponse, fixture_bytes: ReadFixture
) -> None:
    raw = json.loads(fixture_bytes("posts_page1.json"))
    first = parse(make_response, POSTS_URL, raw)
    again = parse(make_response, POSTS_URL, _refetched(raw))

    assert [i.media_url for i in first.items] != [i.media_url for i in again.items]
    assert by_id(again)["19292868552_10158349356748553"].extra["share_count"] == 999
    assert digests(again) == digests(first)


@pytest.mark.parametrize(
    ("change", "changed"),
    [
        (lambda d: d["data"][0].update(message="Ninja Van: corrected figures."), "19292868552_10158349356748553"),
        (lambda d: d["data"][4].update(story="Meta for Developers updated their profile picture."), "19292868552_10158310000000003"),
        (lambda d: d["data"][3]["attachments"]["data"][0].update(title="Graph API Changelog v12"), "19292868552_10158320000000002"),
        (lambda d: d["data"][1]["attachments"]["data"][0]["subattachments"]["data"].pop(), "19292868552_10158340000000001"),
    ],
    ids=["message", "story", "link-title", "album-photo-removed"],
)  # fmt: skip
def test_digest_changes_when_what_was_published_changes(
    make_response: MakeResponse,
    fixture_bytes: ReadFixture,
    change: Callable[[dict[str, Any]], object],
    changed: str,
) -> None:
    raw = json.loads(fixture_bytes("posts_page1.json"))
    before = digests(parse(make_response, POSTS_URL, raw))
    edited = copy.deepcopy(raw)
    change(edited)
    after = digests(parse(make_response, POSTS_URL, edited))

    assert after[changed] != before[changed]
    # nothing else changed, except the post's own link preview (it carries the title)
    others = {k for k in after if k in before and after[k] != before[k]} - {changed}
    assert all(k.startswith(f"{changed}:") for k in others)


def test_bad_elements_are_skipped_one_by_one(make_response: MakeResponse, fixture_bytes: ReadFixture) -> None:
    result = parse(make_response, POSTS_URL, fixture_bytes("posts_bad_elements.json"))

    assert [item.native_id for item in result.items] == [
        "19292868552_10158300000000004",
        "19292868552_10158300000000005",
    ]
    assert result.unparsed == (
        "data[0]: unknown item type (str), not a post object",
        "data[1]: unknown item type (null), not a post object",
        "data[2]: post without an id",
        "post 19292868552_10158300000000004: message is int, not text; left out",
        "post 19292868552_10158300000000004: created_time 'yesterday' is not a time; left out",
        "post 19292868552_10158300000000004: attachment 0 is str, not an object",
    )
    damaged = result.items[0]
    assert damaged.created_at is None
    assert damaged.content["message"] is None
    assert damaged.text == "No image, no target"  # the surviving attachment's title


def test_comments_embedded_in_a_post_are_parsed_too(make_response: MakeResponse) -> None:
    body = {
        "data": [
            {
                "id": POST_ID,
                "message": "Post",
                "comments": {
                    "data": [
                        {"id": TOP, "message": "First!", "from": {"id": "7", "name": "A"}},
                        {"id": "10158407654328553_2", "message": "Reply", "parent": {"id": TOP}},
                    ],
                    "summary": {"total_count": 2},
                },
            }
        ]
    }
    result = parse(make_response, POSTS_URL, body)

    assert [(i.kind, i.parent_native_id, i.root_native_id) for i in result.items] == [
        ("post", None, None),
        ("comment", POST_ID, POST_ID),
        ("reply", TOP, POST_ID),
    ]


# -- comments --------------------------------------------------------------------------------


def test_stream_comments_give_threads_hidden_and_agency_replies(
    make_response: MakeResponse, fixture_bytes: ReadFixture
) -> None:
    result = parse(make_response, COMMENTS_URL, fixture_bytes("comments_stream.json"))

    assert result.unparsed == ()
    assert [(i.kind, i.native_id) for i in result.items] == [
        ("comment", TOP),
        ("reply", "10158407654328553_10158409983033553"),
        ("reply", "10158407654328553_10158410000000001"),
        ("comment", "10158407654328553_10158410000000002"),
        ("comment", "10158407654328553_10158410000000003"),
        ("comment", "10158407654328553_2966313500250461"),
        ("media", "909150133277173"),
    ]
    items = by_id(result)
    for item in result.items:
        assert item.root_native_id == POST_ID

    top = items[TOP]
    assert top.parent_native_id == POST_ID
    assert (top.author_id, top.author_name, top.author_is_agency) == (
        "2711636948859886",
        "Jane Doe",
        False,
    )
    assert top.created_at == datetime(2021, 8, 10, 19, 38, 44, tzinfo=UTC)
    assert top.hidden is False
    assert top.extra == {"can_hide": True, "can_comment": True, "like_count": 3, "comment_count": 2}
    assert (
        top.url
        == "https://www.facebook.com/19292868552/posts/10158407654328553/?comment_id=10158407903973553"
    )

    agency_reply = items["10158407654328553_10158409983033553"]
    assert agency_reply.parent_native_id == TOP
    assert agency_reply.author_is_agency

    assert items["10158407654328553_10158410000000001"].hidden is True  # a hidden reply
    assert items["10158407654328553_10158410000000002"].hidden is True  # a hidden comment

    anonymous = items["10158407654328553_10158410000000003"]
    assert (anonymous.author_id, anonymous.author_name, anonymous.author_is_agency) == (
        None,
        None,
        False,
    )
    assert anonymous.text == "Posted by someone the token cannot show."

    photo = items["909150133277173"]
    assert photo.parent_native_id == "10158407654328553_2966313500250461"
    assert photo.author_id == "2711636948859887"
    assert photo.media_url is not None and photo.media_url.startswith("https://scontent-gmp1-1.xx.fbcdn.net/")
    assert items["10158407654328553_2966313500250461"].content["attachment"]["target_id"] == "909150133277173"


def test_comment_digest_changes_on_edit_only(make_response: MakeResponse, fixture_bytes: ReadFixture) -> None:
    raw = json.loads(fixture_bytes("comments_stream.json"))
    before = digests(parse(make_response, COMMENTS_URL, raw))

    recount = copy.deepcopy(raw)
    for comment in recount["data"]:
        comment["like_count"] = 50
        comment["comment_count"] = 9
        comment["is_hidden"] = not comment["is_hidden"]
    recount["summary"]["total_count"] = 40
    text = re.sub(r"oh=[0-9a-f]+&oe=[0-9A-F]+", "oh=ab&oe=6B000000", json.dumps(recount))
    assert digests(parse(make_response, COMMENTS_URL, json.loads(text))) == before

    edited = copy.deepcopy(raw)
    edited["data"][0]["message"] += " [edited: never mind, found the answer]"
    after = digests(parse(make_response, COMMENTS_URL, edited))
    assert after[TOP] != before[TOP]
    assert {k for k in after if after[k] != before[k]} == {TOP}


def test_replies_listed_on_a_comment_belong_to_that_comment(
    make_response: MakeResponse, fixture_bytes: ReadFixture
) -> None:
    url = f"{GRAPH}/{TOP}/comments?fields=id,message,from,like_count,is_hidden"
    result = parse(make_response, url, fixture_bytes("comments_replies.json"))

    assert result.unparsed == ()
    assert [(i.kind, i.parent_native_id) for i in result.items] == [("reply", TOP), ("reply", TOP)]
    # Without permalink_url nothing in the response names the Page or the post: left unknown.
    assert [i.root_native_id for i in result.items] == [None, None]
    assert [i.hidden for i in result.items] == [None, True]


def test_comments_without_ids_are_reported_not_invented(
    make_response: MakeResponse, fixture_bytes: ReadFixture
) -> None:
    result = parse(make_response, COMMENTS_URL, fixture_bytes("comments_ppca.json"))

    assert result.items == ()
    assert len(result.unparsed) == 2
    assert all("comment without an id" in reason for reason in result.unparsed)


def test_a_single_comment_object(make_response: MakeResponse, fixture_bytes: ReadFixture) -> None:
    url = f"{GRAPH}/2954961744718970_2966313500250461"
    result = parse(make_response, url, fixture_bytes("comment_single.json"))

    assert result.unparsed == ()
    comment, photo = result.items
    assert (comment.kind, comment.root_native_id, comment.parent_native_id) == (
        "comment",
        "2121008874780932_2954961744718970",
        "2121008874780932_2954961744718970",
    )
    assert (photo.kind, photo.native_id) == ("media", "909150133277173")


def test_a_single_object_that_could_be_either_is_reported(make_response: MakeResponse) -> None:
    result = parse(make_response, f"{GRAPH}/1_2", {"id": "1_2", "message": "hello"})

    assert result.items == ()
    assert result.unparsed == ("object '1_2': cannot tell whether it is a post or a comment",)


# -- what cannot be parsed ---------------------------------------------------------------------


def test_malformed_json_is_one_reason(make_response: MakeResponse, fixture_bytes: ReadFixture) -> None:
    result = parse(make_response, POSTS_URL, fixture_bytes("posts_malformed.json"))

    assert result.items == ()
    assert result.unparsed == ("malformed JSON at line 1 column 100",)


def test_invalid_utf8_is_one_reason(make_response: MakeResponse, fixture_bytes: ReadFixture) -> None:
    body = fixture_bytes("comments_stream.json").replace(b"Jane Doe", b"Jane \xff\xfe Doe", 1)
    result = parse(make_response, COMMENTS_URL, body)

    assert result.items == ()
    assert len(result.unparsed) == 1
    assert result.unparsed[0].startswith("body is not valid UTF-8 (byte ")


@pytest.mark.parametrize(
    ("url", "body", "reason"),
    [
        (POSTS_URL, b"[1, 2]", "unknown response shape: top level is list"),
        (POSTS_URL, b'{"data": {"id": "1"}}', "posts listing has no 'data' list"),
        (COMMENTS_URL, b'{"summary": {}}', "comments listing has no 'data' list"),
        (f"{GRAPH}/1/2/3", b'{"data": []}', "unknown Graph API path /v25.0/1/2/3"),
    ],
)
def test_unknown_shapes_are_one_reason(
    make_response: MakeResponse, url: str, body: bytes, reason: str
) -> None:
    assert parse(make_response, url, body) == ParseResult(items=(), unparsed=(reason,))


def test_responses_without_items_parse_to_nothing(
    make_response: MakeResponse, fixture_bytes: ReadFixture
) -> None:
    missing = make_response(
        f"{GRAPH}/19292868552_1637239499921854",
        fixture_bytes("error_object_missing.json"),
        status=400,
    )
    image = make_response(
        "https://scontent.xx.fbcdn.net/v/1_n.png?oh=1&oe=2",
        b"\x89PNG\r\n",
        content_type="image/png",
    )
    expired = make_response(
        "https://scontent.xx.fbcdn.net/v/1_n.png?oh=1&oe=2",
        b"URL signature expired",
        status=403,
        content_type="text/plain",
    )

    for response in (missing, image, expired):
        assert FacebookPagesSource.parse(response) == ParseResult()


def test_parse_is_pure(make_response: MakeResponse, fixture_bytes: ReadFixture) -> None:
    response = make_response(COMMENTS_URL, fixture_bytes("comments_stream.json"))

    assert FacebookPagesSource.parse(response) == FacebookPagesSource.parse(response)
