"""InstagramSource.parse on recorded-shape Graph API responses (tests/data/instagram)."""

from __future__ import annotations

import copy
import json
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest

from hp_archive.sources.base import ParsedItem, ParseResult
from hp_archive.sources.instagram import InstagramSource
from tests.unit.sources.conftest import DATA, MakeResponse

GRAPH = "https://graph.facebook.com/v25.0"
USER = "17841406338772941"
MEDIA_URL = f"{GRAPH}/{USER}/media?fields=id%2Ccaption&limit=100&until=1793520000"
IMAGE = "17895731045244887"
ALBUM = "17896129349106152"
REEL = "17904922598029999"
COMMENTS_URL = f"{GRAPH}/{IMAGE}/comments?fields=id%2Ctext&limit=50"
TOP = "17858154961981086"


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / "instagram" / name).read_text(encoding="utf-8"))
    return data


def parse(make_response: MakeResponse, url: str, body: bytes | dict[str, Any]) -> ParseResult:
    if isinstance(body, dict):
        body = json.dumps(body, ensure_ascii=False).encode()
    return InstagramSource.parse(make_response(url, body))


def by_id(result: ParseResult) -> dict[str, ParsedItem]:
    return {item.native_id: item for item in result.items}


# -- the profile and the media ------------------------------------------------------------------


def test_profile_is_one_agency_page_item(make_response: MakeResponse) -> None:
    result = parse(make_response, f"{GRAPH}/{USER}?fields=id,username,name", fixture("user.json"))

    assert result.unparsed == ()
    (page,) = result.items
    assert (page.kind, page.native_id, page.author_name) == (
        "page",
        "17841407673135339",
        "facebookfordevelopers",
    )
    assert page.text.startswith("Facebook for Developers\n\nFollow us")
    assert page.url == "https://www.instagram.com/facebookfordevelopers/"
    assert page.extra == {"media_count": 427, "followers_count": 64363}  # counts never make versions
    assert "followers_count" not in page.content


def test_media_listing_gives_each_media_and_each_file(make_response: MakeResponse) -> None:
    result = parse(make_response, MEDIA_URL, fixture("media_page.json"))

    assert result.unparsed == ()
    assert Counter(item.kind for item in result.items) == {"post": 3, "media": 6}
    items = by_id(result)
    assert [i.native_id for i in result.items if i.kind == "post"] == [IMAGE, ALBUM, REEL]
    image = items[IMAGE]
    assert image.text == "Traffic advisory: Lake Street closed Saturday 7am–3pm. 🚧"  # noqa: RUF001 - the recorded en dash
    assert image.created_at == datetime(2021, 8, 13, 8, 25, 28, tzinfo=UTC)
    assert (image.author_id, image.author_name, image.author_is_agency) == (USER, "hanoverparkpd", True)
    assert image.url == "https://www.instagram.com/p/CSgf9BChwVq/"
    assert image.content == {
        "caption": image.text,
        "media_type": "IMAGE",
        "media_product_type": "FEED",
        "children": [],
    }
    assert image.extra == {
        "like_count": 2,
        "comments_count": 6,
        "is_comment_enabled": True,
        "shortcode": "CSgf9BChwVq",
    }

    # each file is keyed by its media id and role: the signed CDN URL is only where to fetch it
    assert {k for k in items if ":" in k} == {
        f"{IMAGE}:image",
        "17889214265226770:image",
        "17904922598025487:video",
        "17904922598025487:thumbnail",
        f"{REEL}:video",
        f"{REEL}:thumbnail",
    }
    photo = items[f"{IMAGE}:image"]
    assert (photo.parent_native_id, photo.root_native_id) == (IMAGE, IMAGE)
    assert photo.content == {"media_id": IMAGE, "media_type": "IMAGE", "role": "image"}
    assert photo.media_url is not None and "oh=1fa7eb75ca61eeb68e6742b5db7cd725" in photo.media_url

    album = items[ALBUM]
    assert album.content["children"] == ["17889214265226770", "17904922598025487"]
    child_video = items["17904922598025487:thumbnail"]
    assert (child_video.parent_native_id, child_video.root_native_id) == (ALBUM, ALBUM)
    assert child_video.created_at == datetime(2021, 7, 26, 10, 45, 19, tzinfo=UTC)
    # the album's own media_url repeats its first child: it is not a file of its own
    assert f"{ALBUM}:image" not in items

    reel = items[REEL]
    assert reel.content["media_product_type"] == "REELS"
    assert reel.extra["is_comment_enabled"] is False


def test_children_edge_gives_the_album_files(make_response: MakeResponse) -> None:
    result = parse(make_response, f"{GRAPH}/{ALBUM}/children?fields=id,media_type", fixture("children.json"))

    assert result.unparsed == ()
    assert [(i.native_id, i.kind, i.parent_native_id) for i in result.items] == [
        ("17924318443748703:image", "media", ALBUM),
        ("18248754847048313:image", "media", ALBUM),
    ]


def test_resigned_urls_and_new_counts_are_not_edits(make_response: MakeResponse) -> None:
    before = fixture("media_page.json")
    after = copy.deepcopy(before)
    for media in after["data"]:
        media["like_count"] += 10
        media["comments_count"] += 1
        for key in ("media_url", "thumbnail_url"):
            if key in media:
                media[key] = media[key].replace("oh=", "oh=ffff").replace("oe=", "oe=7")
        for child in media.get("children", {}).get("data", []):
            child["media_url"] = child["media_url"].replace("oh=", "oh=eeee")

    first = {i.native_id: i.content_digest for i in parse(make_response, MEDIA_URL, before).items}
    second = {i.native_id: i.content_digest for i in parse(make_response, MEDIA_URL, after).items}

    assert first == second


def test_a_changed_caption_is_a_new_version(make_response: MakeResponse) -> None:
    before = fixture("media_page.json")
    after = copy.deepcopy(before)
    after["data"][0]["caption"] += " UPDATE: this has been resolved."

    first = by_id(parse(make_response, MEDIA_URL, before))
    second = by_id(parse(make_response, MEDIA_URL, after))

    assert first[IMAGE].content_digest != second[IMAGE].content_digest
    assert first[f"{IMAGE}:image"].content_digest == second[f"{IMAGE}:image"].content_digest


def test_media_without_a_file_url_is_kept_without_a_download(make_response: MakeResponse) -> None:
    page = fixture("media_page.json")
    del page["data"][2]["media_url"]  # omitted for copyrighted audio [notes §2]

    items = by_id(parse(make_response, MEDIA_URL, page))

    assert items[f"{REEL}:video"].media_url is None
    assert items[f"{REEL}:video"].extra == {"missing": "media_url"}
    assert items[f"{REEL}:thumbnail"].media_url is not None


# -- comments and replies -----------------------------------------------------------------------


def test_comments_with_inline_replies_hidden_and_agency(make_response: MakeResponse) -> None:
    result = parse(make_response, COMMENTS_URL, fixture("comments_page.json"))

    assert result.unparsed == ()
    items = by_id(result)
    assert [(i.native_id, i.kind, i.parent_native_id, i.root_native_id) for i in result.items] == [
        (TOP, "comment", IMAGE, IMAGE),
        ("17845747489952795", "reply", TOP, IMAGE),
        ("17845747489952796", "reply", TOP, IMAGE),
        ("17874875428706419", "comment", IMAGE, IMAGE),
    ]
    top = items[TOP]
    assert top.content == {"text": "Is Lake Street open to residents with driveways on that block?"}
    assert (top.author_id, top.author_name, top.author_is_agency) == ("17841400008460056", "jane.doe", False)
    assert top.created_at == datetime(2021, 8, 13, 10, 56, 52, tzinfo=UTC)
    assert top.hidden is False
    assert top.extra == {"like_count": 3}
    # `user` comes only on the account's own comments [notes §3]
    assert items["17845747489952795"].author_is_agency is True
    assert items["17874875428706419"].hidden is True
    assert items["17874875428706419"].text == "<script>alert('xss')</script> just testing lol"


def test_replies_edge_names_its_parent_and_root(make_response: MakeResponse) -> None:
    result = parse(make_response, f"{GRAPH}/{TOP}/replies?fields=id,text", fixture("replies.json"))

    assert result.unparsed == ()
    (reply,) = result.items
    assert (reply.kind, reply.parent_native_id, reply.root_native_id) == ("reply", TOP, IMAGE)


def test_a_like_is_not_an_edit_but_new_text_is(make_response: MakeResponse) -> None:
    before = fixture("comments_page.json")
    liked = copy.deepcopy(before)
    liked["data"][0]["like_count"] = 99
    edited = copy.deepcopy(before)
    edited["data"][0]["text"] += " [edited]"

    digest = {name: by_id(parse(make_response, COMMENTS_URL, body))[TOP].content_digest for name, body in
              (("before", before), ("liked", liked), ("edited", edited))}  # fmt: skip

    assert digest["before"] == digest["liked"] != digest["edited"]


def test_single_nodes_are_told_apart_by_their_fields(make_response: MakeResponse) -> None:
    media = fixture("media_page.json")["data"][0]
    comment = fixture("comments_page.json")["data"][0]["replies"]["data"][0]

    (node, _file) = parse(make_response, f"{GRAPH}/{IMAGE}?fields=id,caption", media).items
    (reply,) = parse(make_response, f"{GRAPH}/17845747489952795?fields=id,text", comment).items

    assert (node.kind, node.native_id) == ("post", IMAGE)
    assert (reply.kind, reply.parent_native_id) == ("reply", TOP)


# -- what cannot be parsed ----------------------------------------------------------------------


def test_bad_elements_are_named_and_the_rest_is_kept(make_response: MakeResponse) -> None:
    result = parse(make_response, MEDIA_URL, fixture("media_bad_elements.json"))

    assert [i.native_id for i in result.items] == [
        "17895731045244001",
        "17895731045244002",
        "17895731045244002:image",
    ]
    assert result.unparsed == (
        "data[0]: unknown item type (str), not a media object",
        "data[1]: media without an id",
        "media 17895731045244001: timestamp 'not a time' is not a time; left out",
        "media 17895731045244001: unknown media_type 'STORY_SLIDESHOW'; its files were not read",
        "media 17895731045244002: caption is list, not text; left out",
    )
    unknown = by_id(result)["17895731045244001"]
    assert (unknown.text, unknown.created_at) == ("a story highlight", None)


def test_a_comment_without_an_id_keeps_its_replies(make_response: MakeResponse) -> None:
    page = fixture("comments_page.json")
    del page["data"][0]["id"]

    result = parse(make_response, COMMENTS_URL, page)

    assert result.unparsed == ("data[0]: comment without an id",)
    assert [i.native_id for i in result.items] == [
        "17845747489952795",
        "17845747489952796",
        "17874875428706419",
    ]
    assert by_id(result)["17845747489952795"].parent_native_id == TOP  # from its own parent_id


def test_reply_links_that_loop_are_left_out(make_response: MakeResponse) -> None:
    result = parse(make_response, COMMENTS_URL, fixture("comments_cycle.json"))

    assert [i.native_id for i in result.items] == ["17874875428706419"]
    assert result.unparsed == (
        f"reply links form a cycle: {TOP} -> 17845747489952795 -> {TOP}",
        "reply links form a cycle: 17874875428706420 -> 17874875428706420",
    )


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"data":[{"id":"1"', "malformed JSON at line 1 column 19"),
        (b'{"data":[{"id":"\xff\xfe"}]}', "body is not valid UTF-8 (byte 16)"),
        (b'["data"]', "unknown response shape: top level is list"),
        (b'{"paging":{}}', "media listing has no 'data' list"),
    ],
)
def test_unreadable_bodies_are_unparsed_not_raised(
    make_response: MakeResponse, body: bytes, reason: str
) -> None:
    assert parse(make_response, MEDIA_URL, body) == ParseResult.failed(reason)


def test_error_objects_and_files_hold_no_items(make_response: MakeResponse) -> None:
    error = make_response(
        MEDIA_URL, json.dumps(fixture("error_expired.json")).encode(), status=400, reason="Bad Request"
    )
    image = make_response(
        "https://scontent.cdninstagram.com/v/x_n.jpg?oh=1&oe=2", b"\xff\xd8\xff", content_type="image/jpeg"
    )
    refusal = make_response(
        "https://scontent.cdninstagram.com/v/x_n.jpg", b"Bad URL hash", status=403, content_type="text/plain"
    )

    for response in (error, image, refusal):
        assert InstagramSource.parse(response) == ParseResult()


def test_an_unknown_path_is_unparsed(make_response: MakeResponse) -> None:
    result = parse(make_response, f"{GRAPH}/{USER}/stories/extra", {"data": []})

    assert result == ParseResult.failed("unknown Graph API path /v25.0/17841406338772941/stories/extra")
