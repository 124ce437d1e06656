"""BlueskySource.parse on recorded-shape AppView responses (tests/data/bluesky)."""

from __future__ import annotations

import copy
import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from hp_archive.sources.base import ParsedItem, ParseResult
from hp_archive.sources.bluesky import BlueskySource
from tests.unit.sources.conftest import archived_response

DATA = Path(__file__).resolve().parents[2] / "data" / "bluesky"
XRPC = "https://public.api.bsky.app/xrpc"
DEPT = "did:plc:z7ja7uhcr5is6uqmnsjyn3k7"
ROOT = f"at://{DEPT}/app.bsky.feed.post/3lhmggpkbw22v"
FEED_URL = f"{XRPC}/app.bsky.feed.getAuthorFeed?actor={quote(DEPT)}&limit=100&filter=posts_with_replies"
THREAD_URL = f"{XRPC}/app.bsky.feed.getPostThread?uri={quote(ROOT, safe='')}&depth=1000&parentHeight=0"
JANE_Q = "at://did:plc:yf6b2cgjhxo5wevddebvklna/app.bsky.feed.post/3lhmgh4f5es2q"
OWN_REPLY = f"at://{DEPT}/app.bsky.feed.post/3lhmjfkl44s2y"
BOB = "at://did:plc:64fyz6rpsagabcfqzdxykwgg/app.bsky.feed.post/3lhnv26fdxc2v"
ZOE = "at://did:plc:ab5inzxnpw4j2zvzlxupr5ut/app.bsky.feed.post/3lhnqkp3a5c2h"
BLOB = "bafkreicjr5ezdgwv6z4zcxv2egqjmaox6ocplsrhvubmmfqyuh6dybhfma"


def load(name: str) -> dict[str, Any]:
    return json.loads((DATA / name).read_bytes())


def parse(url: str, body: bytes | dict[str, Any]) -> ParseResult:
    if isinstance(body, dict):
        body = json.dumps(body).encode()
    return BlueskySource.parse(archived_response(url, body, content_type="application/json; charset=utf-8"))


def by_id(result: ParseResult) -> dict[str, ParsedItem]:
    return {item.native_id: item for item in result.items}


def test_profile_is_one_agency_page_item() -> None:
    result = parse(f"{XRPC}/app.bsky.actor.getProfile?actor=hanoverparkpd.bsky.social", load("profile.json"))

    assert result.unparsed == ()
    (page,) = result.items
    assert (page.kind, page.native_id, page.author_name) == ("page", DEPT, "Hanover Park Police")
    assert page.url == "https://bsky.app/profile/hanoverparkpd.bsky.social"
    assert page.extra["followersCount"] == 4210 and "followersCount" not in page.content


# -- the author feed ------------------------------------------------------------------------------


def test_author_feed_gives_the_accounts_posts_replies_and_images() -> None:
    result = parse(FEED_URL, load("author_feed_page1.json"))

    assert result.unparsed == ()
    assert Counter(i.kind for i in result.items) == {"post": 2, "reply": 1, "media": 2}
    items = by_id(result)
    root = items[ROOT]
    assert root.author_is_agency and root.hidden is None
    assert root.created_at == datetime(2026, 10, 28, 14, 2, 8, 906000, tzinfo=UTC)
    assert root.url == "https://bsky.app/profile/hanoverparkpd.bsky.social/post/3lhmggpkbw22v"
    assert root.content["cid"] == "bafyreiafygqmoa553i5bvt4d55axdvzbogsweh32t42atysw2fikpu7h3u"
    assert root.content["facets"] == [
        {"type": "app.bsky.richtext.facet#tag", "start": 82, "end": 96, "tag": "HanoverParkPD"}
    ]
    assert root.extra["replyCount"] == 3 and root.extra["quoteCount"] == 2
    reply = items[OWN_REPLY]
    assert (reply.kind, reply.parent_native_id, reply.root_native_id) == ("reply", JANE_Q, ROOT)
    link = items[f"at://{DEPT}/app.bsky.feed.post/3lhmf2be2rc2b"]
    assert link.content["embed"]["external"]["uri"] == "https://www.hanoverparkillinois.org/police/closures"


def test_a_repost_is_not_the_accounts_post() -> None:
    result = parse(FEED_URL, load("author_feed_page1.json"))

    assert "at://did:plc:ab5inzxnpw4j2zvzlxupr5ut/app.bsky.feed.post/3lhnuqw5cms2h" not in by_id(result)


def test_images_are_keyed_by_post_and_blob_and_download_fullsize() -> None:
    result = parse(FEED_URL, load("author_feed_page1.json"))

    media = [i for i in result.items if i.kind == "media"]
    assert [m.native_id for m in media] == [
        f"{ROOT}#{BLOB}",
        f"{ROOT}#bafkreih6jynjnlbr5euod3iwnv6d76jyae7vvrzjfwxl2zt5szdkouivre",
    ]
    first = media[0]
    assert first.media_url == f"https://cdn.bsky.app/img/feed_fullsize/plain/{DEPT}/{BLOB}@jpeg"
    assert first.text == "Officers and residents at the National Night Out block party"
    assert first.parent_native_id == first.root_native_id == ROOT
    assert first.content == {
        "cid": BLOB,
        "alt": "Officers and residents at the National Night Out block party",
        "kind": "image",
    }


def test_counts_and_cdn_urls_never_make_a_version_but_a_new_cid_does() -> None:
    raw = load("author_feed_page1.json")
    later = copy.deepcopy(raw)
    for entry in later["feed"]:
        entry["post"]["likeCount"] += 50
        entry["post"]["indexedAt"] = "2026-11-02T08:00:00.000Z"
        for image in entry["post"].get("embed", {}).get("images", []):
            image["thumb"] = image["thumb"].replace("cdn.bsky.app", "cdn2.bsky.app")
    rewritten = copy.deepcopy(raw)
    rewritten["feed"][1]["post"]["record"]["text"] += " (corrected)"
    rewritten["feed"][1]["post"]["cid"] = "bafyreinewcidnewcidnewcidnewcidnewcidnewcidnewcidnewcid"

    base, counted, edited = (by_id(parse(FEED_URL, r)) for r in (raw, later, rewritten))

    assert {k: v.content_digest for k, v in base.items()} == {k: v.content_digest for k, v in counted.items()}
    assert {k for k in base if base[k].content_digest != edited[k].content_digest} == {ROOT}


# -- threads --------------------------------------------------------------------------------------


def test_the_thread_gives_every_reply_nested_with_hidden_ones_marked() -> None:
    result = parse(THREAD_URL, load("post_thread.json"))

    assert result.unparsed == ()
    assert Counter(i.kind for i in result.items) == {"post": 1, "comment": 3, "reply": 1, "media": 3}
    items = by_id(result)
    assert (items[JANE_Q].kind, items[JANE_Q].parent_native_id) == ("comment", ROOT)
    assert items[OWN_REPLY].parent_native_id == JANE_Q and items[OWN_REPLY].author_is_agency
    assert not items[BOB].author_is_agency and items[BOB].author_name == "Chris O'Neil"
    assert {uri: items[uri].hidden for uri in (JANE_Q, OWN_REPLY, BOB, ZOE)} == {
        JANE_Q: False, OWN_REPLY: False, BOB: False, ZOE: True,
    }  # fmt: skip
    assert items[ROOT].hidden is None
    assert items[ZOE].extra["labels"] == ["spam"]
    assert items[ZOE].text == "<script>alert('xss')</script> just testing lol"
    photo = items[f"{BOB}#bafkreibkxgznhp42mnr6dgxkfylsu53nkjlzte4mhmgvspx4ib55jfes3e"]
    assert (photo.parent_native_id, photo.root_native_id) == (BOB, ROOT)


def test_blocked_and_missing_posts_are_skipped_without_complaint() -> None:
    raw = load("post_thread.json")
    raw["thread"]["replies"].append(
        {"$type": "app.bsky.feed.defs#blockedPost", "uri": "at://did:plc:x/app.bsky.feed.post/3k", "blocked": True,
         "author": {"did": "did:plc:x"}}
    )  # fmt: skip
    raw["thread"]["replies"][0]["replies"].append(
        {
            "$type": "app.bsky.feed.defs#notFoundPost",
            "uri": "at://did:plc:y/app.bsky.feed.post/3j",
            "notFound": True,
        }
    )

    result = parse(THREAD_URL, raw)

    assert result.unparsed == ()
    assert len(result.items) == 8


def test_a_deleted_root_answer_has_no_items() -> None:
    response = archived_response(THREAD_URL, (DATA / "error_not_found.json").read_bytes(), status=400)
    assert BlueskySource.parse(response) == ParseResult()


# -- bad payloads ---------------------------------------------------------------------------------


def test_malformed_json_and_invalid_utf8_are_unparsed() -> None:
    body = (DATA / "post_thread.json").read_bytes()

    cut = parse(THREAD_URL, body[: len(body) // 3])
    garbled = parse(THREAD_URL, body.replace(b'"', b'"\xff\xfe', 1))

    assert cut.items == () and cut.unparsed[0].startswith("malformed JSON at line")
    assert garbled.unparsed == ("body is not valid UTF-8 (byte 5)",)


def test_unknown_item_types_and_missing_fields_leave_only_those_out() -> None:
    raw = load("post_thread.json")
    replies = raw["thread"]["replies"]
    replies[1]["$type"] = "app.bsky.feed.defs#threadViewPostV9"  # Bob, and his photo
    del replies[2]["post"]["record"]["text"]  # Zoë
    replies.append(42)

    result = parse(THREAD_URL, raw)

    assert result.unparsed == (
        "thread.replies[1]: unknown item type 'app.bsky.feed.defs#threadViewPostV9'; left out",
        "thread.replies[3]: unknown item type (int), not a thread view",
        f"thread.replies[2] {ZOE}: record text is null; left out",
    )
    assert sorted(i.native_id for i in result.items if i.kind != "media") == sorted([ROOT, JANE_Q, OWN_REPLY])


def test_a_record_of_another_type_is_an_unknown_item() -> None:
    raw = load("author_feed_page1.json")
    raw["feed"][2]["post"]["record"]["$type"] = "app.bsky.feed.like"

    result = parse(FEED_URL, raw)

    assert result.unparsed == (
        f"feed[2] at://{DEPT}/app.bsky.feed.post/3lhmf2be2rc2b: unknown item type 'app.bsky.feed.like', "
        "not a post record; left out",
    )


def test_reply_links_that_form_a_cycle_are_left_out() -> None:
    raw = load("post_thread.json")
    jane = raw["thread"]["replies"][0]
    own = jane["replies"][0]
    # Jane's record now says it answers the department's reply, which answers Jane
    jane["post"]["record"]["reply"]["parent"] = {"uri": OWN_REPLY, "cid": own["post"]["cid"]}
    # and a post that contains itself
    bob = raw["thread"]["replies"][1]
    bob["replies"] = [copy.deepcopy(bob)]

    result = parse(THREAD_URL, raw)

    assert sorted(result.unparsed) == sorted(
        [
            f"thread.replies[0] {JANE_Q}: reply links form a cycle ({JANE_Q} → {OWN_REPLY} → {JANE_Q}); left out",
            f"thread.replies[0].replies[0] {OWN_REPLY}: reply links form a cycle "
            f"({OWN_REPLY} → {JANE_Q} → {OWN_REPLY}); left out",
            f"thread.replies[1].replies[0] {BOB}: reply links form a cycle ({ROOT} → {BOB} → {BOB}); left out",
        ]
    )
    assert {i.native_id for i in result.items if i.kind != "media"} == {ROOT, BOB, ZOE}


def test_a_very_large_thread_parses() -> None:
    raw = load("post_thread.json")
    raw["thread"]["replies"][2]["post"]["record"]["text"] = "שלום, תודה רבה " * 300_000
    body = json.dumps(raw, ensure_ascii=False).encode()
    assert len(body) > 5_000_000

    result = parse(THREAD_URL, body)

    assert result.unparsed == () and len(by_id(result)[ZOE].text) == 4_500_000


@pytest.mark.parametrize("body", [b"[]", b'"thread"'])
def test_a_top_level_that_is_not_an_object_is_unparsed(body: bytes) -> None:
    assert parse(THREAD_URL, body).unparsed[0].startswith("unknown response shape: top level is")


def test_an_unknown_method_is_unparsed() -> None:
    assert parse(f"{XRPC}/app.bsky.feed.getLikes?uri=x", {"likes": []}).unparsed == (
        "unknown XRPC method 'app.bsky.feed.getLikes'",
    )


def test_an_image_has_no_items() -> None:
    response = archived_response(
        f"https://cdn.bsky.app/img/feed_fullsize/plain/{DEPT}/{BLOB}@jpeg",
        b"\xff\xd8\xff",
        content_type="image/jpeg",
    )
    assert BlueskySource.parse(response) == ParseResult()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (FEED_URL, True),
        (THREAD_URL, True),
        ("https://bsky.social/xrpc/app.bsky.actor.getProfile?actor=x.bsky.social", True),
        ("https://public.api.bsky.app/xrpc/app.bsky.feed.getLikes?uri=x", False),
        (f"https://cdn.bsky.app/img/feed_fullsize/plain/{DEPT}/{BLOB}@jpeg", False),
    ],
)
def test_it_recognizes_appview_reads_in_imported_warcs(url: str, expected: bool) -> None:
    assert BlueskySource.recognizes(url) is expected
