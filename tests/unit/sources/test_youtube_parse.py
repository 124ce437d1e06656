"""YouTubeSource.parse on recorded-shape Data API v3 responses (tests/data/youtube)."""

from __future__ import annotations

import copy
import json
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest

from hp_archive.sources.base import ParsedItem, ParseResult
from hp_archive.sources.youtube import YouTubeSource
from tests.unit.sources.conftest import DATA, MakeResponse

API = "https://www.googleapis.com/youtube/v3"
CHANNEL = "UC_x5XG1OV2P6uZZ5FSM9Ttw"
VIDEO = "D-lhorsDlUQ"
T1 = "UgydxWWoeA7F1OdqypJ4AaABAg"
T2 = "UgyZ1jqkHKYvi1-ruOZ4AaABAg"
THREADS_URL = (
    f"{API}/commentThreads?part=snippet%2Creplies&videoId={VIDEO}&maxResults=100&textFormat=plainText"
)
VIDEOS_URL = f"{API}/videos?part=snippet%2Cstatistics%2Cstatus&id=D-lhorsDlUQ%2CCvTApw9X8aA"


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / "youtube" / name).read_text(encoding="utf-8"))
    return data


def parse(make_response: MakeResponse, url: str, body: bytes | dict[str, Any]) -> ParseResult:
    if isinstance(body, dict):
        body = json.dumps(body, ensure_ascii=False).encode()
    return YouTubeSource.parse(make_response(url, body))


def by_id(result: ParseResult) -> dict[str, ParsedItem]:
    return {item.native_id: item for item in result.items}


def test_channel_is_one_agency_page_item(make_response: MakeResponse) -> None:
    result = parse(
        make_response, f"{API}/channels?part=snippet%2CcontentDetails&mine=true", fixture("channel.json")
    )

    assert result.unparsed == ()
    (page,) = result.items
    assert (page.kind, page.native_id, page.author_name) == ("page", CHANNEL, "Google Developers")
    assert page.url == "https://www.youtube.com/@googledevelopers"
    assert page.created_at == datetime(2007, 8, 23, 0, 34, 43, tzinfo=UTC)
    assert page.extra == {"relatedPlaylists": {"likes": "", "uploads": "UU_x5XG1OV2P6uZZ5FSM9Ttw"}}


def test_playlist_entries_only_point_at_videos(make_response: MakeResponse) -> None:
    url = (
        f"{API}/playlistItems?part=contentDetails%2Cstatus&playlistId=UU_x5XG1OV2P6uZZ5FSM9Ttw&maxResults=50"
    )
    assert parse(make_response, url, fixture("playlist_items.json")) == ParseResult()

    odd = fixture("playlist_items.json")
    odd["items"][0]["contentDetails"] = {}
    odd["items"].append(
        {"kind": "youtube#playlistItem", "snippet": {"resourceId": {"kind": "youtube#channel"}}}
    )
    result = parse(make_response, url, odd)
    assert result.unparsed == (
        "items[0]: playlist entry without a videoId",
        "items[2]: playlist entry of unknown type 'youtube#channel'",
    )


def test_videos_give_each_video_and_its_largest_thumbnail(make_response: MakeResponse) -> None:
    result = parse(make_response, VIDEOS_URL, fixture("videos.json"))

    assert result.unparsed == ()
    assert Counter(i.kind for i in result.items) == {"post": 2, "media": 2}
    items = by_id(result)
    video = items[VIDEO]
    assert video.text.startswith("What are Actions on Google (Assistant on Air)\n\nIn the first episode")
    assert video.content == {
        "title": "What are Actions on Google (Assistant on Air)",
        "description": "In the first episode of Assistant on Air, Luke Davis and guest Jessica Dene Early-Cha "
        "introduce the concept of Actions on Google.",
        "tags": ["Google", "developers"],
    }
    assert (video.author_id, video.author_name, video.author_is_agency) == (
        CHANNEL,
        "Google Developers",
        True,
    )
    assert video.created_at == datetime(2019, 3, 21, 20, 37, 49, tzinfo=UTC)
    assert (video.hidden, video.url) == (False, f"https://www.youtube.com/watch?v={VIDEO}")
    assert video.extra["statistics"]["viewCount"] == "23014"  # counts never make versions
    assert items["CvTApw9X8aA"].hidden is True  # private: not visible to the public

    thumb = items[f"{VIDEO}:thumbnail"]
    assert (thumb.kind, thumb.parent_native_id, thumb.root_native_id) == ("media", VIDEO, VIDEO)
    assert thumb.media_url == f"https://i.ytimg.com/vi/{VIDEO}/maxresdefault.jpg"
    assert thumb.content == {"video_id": VIDEO, "role": "thumbnail"}
    assert thumb.extra == {"size": "maxres", "width": 1280, "height": 720}
    assert items["CvTApw9X8aA:thumbnail"].media_url == "https://i.ytimg.com/vi/CvTApw9X8aA/hqdefault.jpg"


def test_statistics_and_privacy_are_not_edits_but_a_new_title_is(make_response: MakeResponse) -> None:
    before = fixture("videos.json")
    counted = copy.deepcopy(before)
    counted["items"][0]["statistics"]["viewCount"] = "99999"
    counted["items"][0]["etag"] = "changed"
    retitled = copy.deepcopy(before)
    retitled["items"][0]["snippet"]["title"] += " (updated)"

    digests = [
        by_id(parse(make_response, VIDEOS_URL, body))[VIDEO].content_digest
        for body in (before, counted, retitled)
    ]

    assert digests[0] == digests[1] != digests[2]


def test_threads_give_comments_replies_edits_and_held_ones(make_response: MakeResponse) -> None:
    result = parse(make_response, THREADS_URL, fixture("comment_threads.json"))

    assert result.unparsed == ()
    assert [(i.native_id, i.kind, i.parent_native_id, i.root_native_id) for i in result.items] == [
        (T1, "comment", VIDEO, VIDEO),
        (f"{T1}.8wWQ3tdHcFx8xcDheui-qb", "reply", T1, VIDEO),
        (f"{T1}.8wWQ3tdHcFx8xcDheui-qc", "reply", T1, VIDEO),
        (T2, "comment", VIDEO, VIDEO),
        (f"{T2}.91zT3cYb5B291za6voUoRh", "reply", T2, VIDEO),
    ]
    items = by_id(result)
    top = items[T1]
    assert top.content == {"text": "Is Lake Street open to residents? [edited: never mind, found the answer]"}
    assert top.created_at == datetime(2019, 6, 23, 8, 24, 24, tzinfo=UTC)
    assert top.edited_at == datetime(2019, 6, 24, 10, 0, tzinfo=UTC)  # updatedAt after publishedAt
    assert (top.author_id, top.author_name, top.author_is_agency) == (
        "UCe9i1nJCcevTa6KJa55KYog",
        "Loren Robilio",
        False,
    )
    assert top.hidden is False
    assert top.extra["totalReplyCount"] == 2 and top.extra["likeCount"] == 2
    assert top.url == f"https://www.youtube.com/watch?v={VIDEO}&lc={T1}"
    assert items[f"{T1}.8wWQ3tdHcFx8xcDheui-qb"].author_is_agency is True  # the channel replied
    assert items[f"{T1}.8wWQ3tdHcFx8xcDheui-qb"].edited_at is None
    assert items[f"{T1}.8wWQ3tdHcFx8xcDheui-qc"].hidden is True  # heldForReview


def test_comments_by_parent_are_replies_without_a_known_video(make_response: MakeResponse) -> None:
    url = f"{API}/comments?part=snippet&parentId={T2}&maxResults=100&textFormat=plainText"
    result = parse(make_response, url, fixture("comments_by_parent.json"))

    assert result.unparsed == ()
    assert [(i.kind, i.parent_native_id, i.root_native_id) for i in result.items] == [("reply", T2, None)] * 2


def test_a_like_is_not_an_edit(make_response: MakeResponse) -> None:
    before = fixture("comment_threads.json")
    liked = copy.deepcopy(before)
    liked["items"][0]["snippet"]["topLevelComment"]["snippet"]["likeCount"] = 50
    liked["items"][0]["snippet"]["totalReplyCount"] = 3

    assert (
        by_id(parse(make_response, THREADS_URL, before))[T1].content_digest
        == by_id(parse(make_response, THREADS_URL, liked))[T1].content_digest
    )


def test_without_moderation_status_hidden_is_unknown(make_response: MakeResponse) -> None:
    page = fixture("comment_threads.json")
    del page["items"][0]["snippet"]["topLevelComment"]["snippet"]["moderationStatus"]

    assert by_id(parse(make_response, THREADS_URL, page))[T1].hidden is None


def test_bad_elements_are_named_and_the_rest_is_kept(make_response: MakeResponse) -> None:
    result = parse(make_response, THREADS_URL, fixture("threads_bad_elements.json"))

    assert [i.native_id for i in result.items] == [T2, T1]  # a thread's comments carry their own ids
    assert result.unparsed == (
        "items[0]: unknown item type (str), not a resource",
        "items[1]: youtube#commentThread without an id",
        "items[2]: unknown item type 'youtube#liveChatMessage', expected youtube#commentThread",
        f"comment {T1}: textDisplay is int, not text; left out",
        f"comment {T1}: textOriginal is int, not text; left out",
        f"comment {T1}: publishedAt 'yesterday' is not a time; left out",
        f"comment {T1}: updatedAt 'yesterday' is not a time; left out",
    )


def test_reply_links_that_loop_are_left_out(make_response: MakeResponse) -> None:
    result = parse(make_response, THREADS_URL, fixture("threads_cycle.json"))

    assert [i.native_id for i in result.items] == [T2]
    assert result.unparsed == (f"reply links form a cycle: {T1} -> {T1}.8wWQ3tdHcFx8xcDheui-qb -> {T1}",)


@pytest.mark.parametrize(
    ("url", "body", "reason"),
    [
        (THREADS_URL, b'{"items":[{"id":"1"', "malformed JSON at line 1 column 20"),
        (THREADS_URL, b'{"items":[{"id":"\xff\xfe"}]}', "body is not valid UTF-8 (byte 17)"),
        (THREADS_URL, b'["items"]', "unknown response shape: top level is list"),
        (
            THREADS_URL,
            b'{"kind":"youtube#commentThreadListResponse"}',
            "commentThreads response has no 'items' list",
        ),
        (f"{API}/search?part=snippet", b'{"items":[]}', "unknown YouTube API path /youtube/v3/search"),
    ],
)
def test_unreadable_bodies_are_unparsed_not_raised(
    make_response: MakeResponse, url: str, body: bytes, reason: str
) -> None:
    assert parse(make_response, url, body) == ParseResult.failed(reason)


@pytest.mark.parametrize("name", ["error_quota.json", "error_comments_disabled.json", "error_auth.json"])
def test_error_objects_hold_no_items(make_response: MakeResponse, name: str) -> None:
    response = make_response(THREADS_URL, json.dumps(fixture(name)).encode(), status=403, reason="Forbidden")
    assert YouTubeSource.parse(response) == ParseResult()


def test_thumbnails_hold_no_items(make_response: MakeResponse) -> None:
    image = make_response(
        f"https://i.ytimg.com/vi/{VIDEO}/hqdefault.jpg", b"\xff\xd8\xff", content_type="image/jpeg"
    )
    missing = make_response(
        f"https://i.ytimg.com/vi/{VIDEO}/x.jpg", b"<html>404</html>", status=404, content_type="text/html"
    )
    assert YouTubeSource.parse(image) == ParseResult() == YouTubeSource.parse(missing)
