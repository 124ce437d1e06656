"""XSource.parse on recorded-shape X API v2 responses (tests/data/x)."""

from __future__ import annotations

import copy
import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from hp_archive.sources.base import ParsedItem, ParseResult
from hp_archive.sources.x import XSource
from tests.unit.sources.conftest import archived_response

DATA = Path(__file__).resolve().parents[2] / "data" / "x"
API = "https://api.x.com/2"
DEPT = "1262468093209534465"
TIMELINE_URL = (
    f"{API}/users/{DEPT}/tweets?max_results=100&tweet.fields=created_at&end_time=2026-11-01T08%3A00%3A00Z"
)
PHOTO_POST = "2115444015494070273"
SEARCH_URL = f"{API}/tweets/search/recent?query=conversation_id%3A{PHOTO_POST}&max_results=100"
EDITED_V0, EDITED_V1 = "2115009523348406274", "2115013390496694275"
JANE_Q = "2114778962457526278"


def load(name: str) -> dict[str, Any]:
    return json.loads((DATA / name).read_bytes())


def parse(url: str, body: bytes | dict[str, Any], **kwargs: Any) -> ParseResult:
    if isinstance(body, dict):
        body = json.dumps(body).encode()
    return XSource.parse(
        archived_response(url, body, content_type="application/json; charset=utf-8", **kwargs)
    )


def by_id(result: ParseResult) -> dict[str, ParsedItem]:
    return {item.native_id: item for item in result.items}


# -- the profile ----------------------------------------------------------------------------------


def test_profile_is_one_agency_page_item() -> None:
    result = parse(
        f"{API}/users/by/username/HanoverParkPD?user.fields=created_at", load("user_by_username.json")
    )

    assert result.unparsed == ()
    (page,) = result.items
    assert (page.kind, page.native_id, page.author_name) == ("page", DEPT, "Hanover Park Police")
    assert page.author_is_agency and page.url == "https://x.com/HanoverParkPD"
    assert page.content["username"] == "HanoverParkPD"
    assert page.created_at == datetime(2020, 5, 18, 15, 10, 4, tzinfo=UTC)
    assert "profile_image_url" in page.extra and "profile_image_url" not in page.content


def test_an_unknown_username_gives_no_item_and_no_parse_error() -> None:
    result = parse(f"{API}/users/by/username/HanoverParkPDx", load("user_not_found.json"))

    assert result == ParseResult()


# -- the timeline ---------------------------------------------------------------------------------


def test_timeline_page_gives_posts_replies_and_media() -> None:
    result = parse(TIMELINE_URL, load("user_tweets_page1.json"))

    assert result.unparsed == ()
    assert Counter(i.kind for i in result.items) == {"post": 3, "reply": 1, "media": 2}
    items = by_id(result)
    photo = items[PHOTO_POST]
    assert photo.author_is_agency and photo.author_name == "Hanover Park Police"
    assert photo.text.startswith("National Night Out recap") and "💙" in photo.text
    assert photo.created_at == datetime(2026, 10, 28, 14, 2, 11, tzinfo=UTC)
    assert photo.edited_at is None and photo.hidden is None  # X says nothing about hiding
    assert photo.url == f"https://x.com/HanoverParkPD/status/{PHOTO_POST}"
    assert photo.content["hashtags"] == ["HanoverParkPD"]
    assert photo.content["urls"] == []  # the pic.x.com link is the media, not a link
    assert photo.extra["public_metrics"]["quote_count"] == 2


def test_an_edited_post_is_keyed_by_its_first_id_and_versioned_by_its_newest() -> None:
    result = parse(TIMELINE_URL, load("user_tweets_page1.json"))

    edited = by_id(result)[EDITED_V0]
    assert EDITED_V1 not in by_id(result)
    assert edited.content["id"] == EDITED_V1
    assert edited.content["edit_history_tweet_ids"] == [EDITED_V0, EDITED_V1]
    # created_at of the shown version is the edit; the post's own creation is in its first id
    assert edited.created_at == datetime(2026, 10, 27, 9, 15, 40, tzinfo=UTC)
    assert edited.edited_at == datetime(2026, 10, 27, 9, 31, 2, tzinfo=UTC)
    assert edited.url == f"https://x.com/HanoverParkPD/status/{EDITED_V1}"
    assert edited.content["urls"] == ["https://www.hanoverparkillinois.org/police/closures"]


def test_a_department_reply_points_at_the_post_it_answered() -> None:
    result = parse(TIMELINE_URL, load("user_tweets_page1.json"))

    reply = by_id(result)["2114790182220726276"]
    assert reply.kind == "reply"  # it answers Jane's reply, not the post itself
    assert (reply.parent_native_id, reply.root_native_id) == (JANE_Q, PHOTO_POST)
    assert reply.author_is_agency
    assert reply.content["mentions"] == ["janedoe"]


def test_a_repost_is_a_post_of_the_account_marked_as_such() -> None:
    result = parse(TIMELINE_URL, load("user_tweets_page1.json"))

    repost = by_id(result)["2114688491320246277"]
    assert repost.kind == "post" and repost.author_is_agency
    assert repost.extra["repost_of"] == "2114680941573046279"
    assert repost.content["referenced_tweets"] == [{"type": "retweeted", "id": "2114680941573046279"}]


def test_media_are_keyed_by_media_key_and_keep_their_url() -> None:
    result = parse(TIMELINE_URL, load("user_tweets_page1.json"))

    media = [i for i in result.items if i.kind == "media"]
    assert [m.native_id for m in media] == ["3_2115443927413686283", "3_2115443935802294284"]
    first = media[0]
    assert first.parent_native_id == first.root_native_id == PHOTO_POST
    assert first.media_url == "https://pbs.twimg.com/media/G4kLm2aWgAAe1Qx.jpg"
    assert first.text == "Officers and residents at the National Night Out block party"
    assert first.extra == {"width": 2048, "height": 1365}
    assert first.author_is_agency


def test_counts_and_link_enrichment_never_make_a_version() -> None:
    raw = load("user_tweets_page1.json")
    later = copy.deepcopy(raw)
    for tweet in later["data"]:
        tweet["public_metrics"]["like_count"] += 100
        tweet["public_metrics"]["quote_count"] += 3
        tweet["edit_controls"]["is_edit_eligible"] = False
    later["data"][1]["entities"]["urls"][0]["title"] = "Road closures (updated)"

    before, after = parse(TIMELINE_URL, raw), parse(TIMELINE_URL, later)

    assert [i.content_digest for i in before.items] == [i.content_digest for i in after.items]
    assert by_id(after)[PHOTO_POST].extra["public_metrics"]["like_count"] == 148


def test_a_new_edit_makes_a_new_version_of_the_same_item() -> None:
    raw = load("user_tweets_page1.json")
    edited = copy.deepcopy(raw)
    newer = "2115013999999999999"
    edited["data"][1]["edit_history_tweet_ids"].append(newer)
    edited["data"][1]["id"] = newer
    edited["data"][1]["text"] = raw["data"][1]["text"].replace("9:20", "9:25")

    before, after = by_id(parse(TIMELINE_URL, raw)), by_id(parse(TIMELINE_URL, edited))

    assert before.keys() == after.keys()
    changed = {key for key in before if before[key].content_digest != after[key].content_digest}
    assert changed == {EDITED_V0}


# -- the conversation -----------------------------------------------------------------------------


def test_conversation_replies_nest_and_know_the_agency_from_the_root() -> None:
    result = parse(SEARCH_URL, load("search_conversation.json"))

    assert result.unparsed == ()
    assert Counter(i.kind for i in result.items) == {"comment": 2, "reply": 2, "media": 1}
    items = by_id(result)
    bob = items["2115478698193846295"]
    assert (bob.kind, bob.parent_native_id, bob.root_native_id) == ("comment", PHOTO_POST, PHOTO_POST)
    assert not bob.author_is_agency and bob.author_name == "Chris O'Neil"
    answer = items["2115490022814646296"]
    assert (answer.kind, answer.parent_native_id) == ("reply", bob.native_id)
    assert answer.author_is_agency  # the root's author, from includes.tweets
    photo = items["3_2115478614307766299"]
    assert (photo.parent_native_id, photo.root_native_id) == (bob.native_id, PHOTO_POST)


def test_a_reply_to_a_deleted_post_keeps_its_parent_id() -> None:
    result = parse(SEARCH_URL, load("search_conversation.json"))

    orphan = by_id(result)["2115503864017846297"]
    assert orphan.kind == "reply"
    assert orphan.parent_native_id == "2115496314270646298"  # named by the partial error


def test_an_edited_reply_is_one_item_with_its_edit_time() -> None:
    result = parse(SEARCH_URL, load("search_conversation.json"))

    jane = by_id(result)["2115461082117046293"]
    assert jane.kind == "comment"
    assert jane.content["id"] == "2115461711262646294"
    assert jane.edited_at == datetime(2026, 10, 28, 15, 12, 30, tzinfo=UTC)
    assert jane.created_at == datetime(2026, 10, 28, 15, 10, tzinfo=UTC)


def test_a_reply_to_an_old_version_belongs_to_the_post_not_the_version() -> None:
    raw = load("search_conversation.json")
    old, new = "2115444015494070273", "2115450000000000001"
    root = raw["includes"]["tweets"][1]
    root["edit_history_tweet_ids"] = [old, new]  # the root was edited after Bob replied to it
    result = parse(SEARCH_URL, raw)

    assert by_id(result)["2115478698193846295"].parent_native_id == old
    raw["includes"]["tweets"][1]["id"] = new
    raw["data"][2]["referenced_tweets"] = [{"type": "replied_to", "id": new}]
    assert by_id(parse(SEARCH_URL, raw))["2115478698193846295"].parent_native_id == old


def test_the_newer_post_naming_of_the_spec_is_read_too() -> None:
    raw = json.dumps(load("search_conversation.json"))
    renamed = json.loads(
        raw.replace('"edit_history_tweet_ids"', '"edit_history_post_ids"')
        .replace('"referenced_tweets"', '"referenced_posts"')
        .replace('"tweets": [', '"posts": [')
    )

    assert [i.native_id for i in parse(SEARCH_URL, renamed).items] == [
        i.native_id for i in parse(SEARCH_URL, load("search_conversation.json")).items
    ]


def test_an_empty_page_has_no_items_and_no_complaint() -> None:
    assert parse(TIMELINE_URL, load("empty_page.json")) == ParseResult()


# -- bad payloads ---------------------------------------------------------------------------------


def test_malformed_json_and_invalid_utf8_are_unparsed() -> None:
    body = (DATA / "user_tweets_page1.json").read_bytes()

    cut = parse(TIMELINE_URL, body[: len(body) // 2])
    garbled = parse(TIMELINE_URL, body.replace(b'"', b'"\xff\xfe', 1))

    assert cut.items == () and cut.unparsed[0].startswith("malformed JSON at line")
    assert garbled.items == () and garbled.unparsed == ("body is not valid UTF-8 (byte 5)",)


def test_unknown_item_types_and_missing_fields_leave_only_those_out() -> None:
    raw = load("user_tweets_page1.json")
    raw["data"].insert(1, "2115444015494070999")
    raw["data"].append({"text": "no id here"})
    del raw["data"][2]["text"]
    raw["includes"]["media"][1]["type"] = "hologram"

    result = parse(TIMELINE_URL, raw)

    assert result.unparsed == (
        "data[1]: unknown item type (str), not a post object",
        f"post {EDITED_V1}: text is null; left out",
        "data[5]: post without an id; left out",
        "media 3_2115443935802294284: unknown media type 'hologram'; left out",
    )
    assert Counter(i.kind for i in result.items) == {"post": 2, "reply": 1, "media": 1}


def test_a_top_level_that_is_not_an_object_is_unparsed() -> None:
    assert parse(TIMELINE_URL, b"[1, 2]").unparsed == ("unknown response shape: top level is list",)


def test_reply_links_that_form_a_cycle_are_left_out() -> None:
    raw = load("search_conversation.json")
    nested, bob = raw["data"][1], raw["data"][2]
    bob["referenced_tweets"] = [{"type": "replied_to", "id": nested["id"]}]  # each answers the other
    raw["includes"]["tweets"] = raw["includes"]["tweets"][1:]
    jane = raw["data"][3]
    jane["referenced_tweets"] = [{"type": "replied_to", "id": jane["id"]}]  # answers itself

    result = parse(SEARCH_URL, raw)

    assert sorted(result.unparsed) == sorted(
        [
            f"post {nested['id']}: reply links form a cycle ({nested['id']} → {bob['id']} → {nested['id']}); left out",
            f"post {bob['id']}: reply links form a cycle ({bob['id']} → {nested['id']} → {bob['id']}); left out",
            "post 2115461082117046293: reply links form a cycle "
            "(2115461082117046293 → 2115461082117046293); left out",
        ]
    )
    assert [i.native_id for i in result.items if i.kind != "media"] == ["2115503864017846297"]


def test_a_very_large_page_parses() -> None:
    raw = load("search_conversation.json")
    raw["data"][0]["text"] = "🚓 " * 1_500_000  # about 7 MB of JSON
    body = json.dumps(raw).encode()
    assert len(body) > 5_000_000

    result = parse(SEARCH_URL, body)

    assert result.unparsed == ()
    assert len(by_id(result)["2115503864017846297"].text) == 3_000_000


# -- what is not a listing ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["problem_unauthorized.json", "problem_too_many_requests.json", "problem_invalid_start_time.json"]
)
def test_error_answers_have_no_items(name: str) -> None:
    status = {"problem_unauthorized.json": 401, "problem_too_many_requests.json": 429}.get(name, 400)
    result = XSource.parse(
        archived_response(
            TIMELINE_URL, (DATA / name).read_bytes(), status=status, content_type="application/problem+json"
        )
    )
    assert result == ParseResult()


def test_a_photo_has_no_items() -> None:
    response = archived_response(
        "https://pbs.twimg.com/media/G4kLm2aWgAAe1Qx.jpg", b"\xff\xd8\xff", content_type="image/jpeg"
    )
    assert XSource.parse(response) == ParseResult()


def test_an_unknown_path_is_unparsed() -> None:
    assert parse(f"{API}/spaces/1DXxyRYNejbKM", {"data": {}}).unparsed == (
        "unknown X API path /2/spaces/1DXxyRYNejbKM",
    )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (TIMELINE_URL, True),
        ("https://api.twitter.com/2/tweets/search/recent?query=conversation_id%3A1", True),
        ("https://api.x.com/1.1/statuses/user_timeline.json", False),
        ("https://pbs.twimg.com/media/G4kLm2aWgAAe1Qx.jpg", False),
        ("https://x.com/HanoverParkPD", False),
    ],
)
def test_it_recognizes_x_api_responses_in_imported_warcs(url: str, expected: bool) -> None:
    assert XSource.recognizes(url) is expected
