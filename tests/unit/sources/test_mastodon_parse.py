"""MastodonSource.parse on documented-shape REST API responses (tests/data/mastodon)."""

from __future__ import annotations

import copy
import json
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from hp_archive.sources.base import ParsedItem, ParseResult
from hp_archive.sources.mastodon import MastodonSource, api_path, next_link
from tests.unit.sources.conftest import DATA, MakeResponse

API = "https://mastodon.example/api/v1"
DEPT = "109301000000001"
STATUSES_URL = f"{API}/accounts/{DEPT}/statuses?limit=40"
ROOT = "115480000000000001"
CONTEXT_URL = f"{API}/statuses/{ROOT}/context"


def fixture(name: str) -> Any:
    return json.loads((DATA / "mastodon" / name).read_text(encoding="utf-8"))


def parse(make_response: MakeResponse, url: str, body: Any) -> ParseResult:
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    return MastodonSource.parse(make_response(url, raw, content_type="application/json; charset=utf-8"))


def by_id(result: ParseResult) -> dict[str, ParsedItem]:
    return {item.native_id: item for item in result.items}


# -- the account and its statuses ----------------------------------------------------------------


def test_lookup_is_the_account_profile(make_response: MakeResponse) -> None:
    result = parse(make_response, f"{API}/accounts/lookup?acct=HanoverParkPD", fixture("account_lookup.json"))

    assert result.unparsed == ()
    (account,) = result.items
    assert (account.kind, account.native_id) == ("page", f"accounts/{DEPT}")
    assert account.author_is_agency and account.author_name == "Hanover Park Police"
    assert account.text == (
        "Hanover Park Police\n\nOfficial account of the Hanover Park Police Department. Not monitored "
        "24/7: in an emergency call 911.\n\nWebsite: https://www.hanoverparkillinois.org/police\n\n"
        "Non-emergency: 630-823-5500"
    )
    assert "followers_count" in account.extra and "followers_count" not in account.content


def test_statuses_page_gives_posts_own_replies_boosts_and_media(make_response: MakeResponse) -> None:
    result = parse(make_response, STATUSES_URL, fixture("statuses_page1.json"))

    assert result.unparsed == ()
    assert [(i.kind, i.native_id) for i in result.items] == [
        ("post", ROOT),
        ("media", "media/115480000000000101"),
        ("media", "media/115480000000000102"),
        ("reply", "115479000000000007"),
        ("post", "115478000000000001"),
        ("post", "115476000000000001"),
    ]
    items = by_id(result)
    post = items[ROOT]
    assert post.text == (
        "Traffic advisory: Lake Street between Barrington and Church will be closed Saturday 7am\u20133pm. "
        "#HanoverPark\n\nDetour via https://www.hanoverparkillinois.org/detour\n\n"
        "Map of the Lake Street closure"
    )
    assert post.created_at == datetime(2026, 10, 30, 14, 5, 12, 345000, tzinfo=UTC)
    assert post.edited_at == datetime(2026, 10, 30, 16, 40, tzinfo=UTC)
    assert post.author_is_agency and post.parent_native_id is None and post.root_native_id is None
    assert post.url == f"https://mastodon.example/@HanoverParkPD/{ROOT}"
    assert post.content["media"] == [
        {"id": "115480000000000101", "type": "image", "description": "Map of the Lake Street closure"},
        {"id": "115480000000000102", "type": "image", "description": None},
    ]
    assert post.extra["replies_count"] == 2 and post.extra["tags"] == ["hanoverpark"]

    photo = items["media/115480000000000101"]
    assert photo.parent_native_id == ROOT and photo.root_native_id == ROOT
    assert photo.media_url.endswith("/original/57859aede991da25.jpeg")  # type: ignore[union-attr]
    assert photo.content == {"type": "image", "description": "Map of the Lake Street closure"}

    reply = items["115479000000000007"]
    assert reply.parent_native_id == "115478000000000300" and reply.root_native_id is None
    assert reply.author_is_agency
    assert reply.text.startswith("@janedoe Thanks for reaching out")

    boost = items["115478000000000001"]
    assert boost.text == "Boosted villageofhp:\n\nCoffee with a Cop ☕ Thursday 9:00 at the Village Hall"
    assert boost.content["reblog"] == {
        "id": "115477000000000500",
        "uri": "https://mastodon.example/users/villageofhp/statuses/115477000000000500",
        "url": "https://mastodon.example/@villageofhp/115477000000000500",
        "account": "villageofhp",
    }
    assert boost.extra["reblog"] is True

    warned = items["115476000000000001"]
    assert warned.text == (
        "Crash report (injuries)\n\nDetails of the incident on Walnut Ave.\n\nMore patrols\n\nSpeed bumps"
    )
    assert warned.content["sensitive"] is True and warned.content["poll"] == ["More patrols", "Speed bumps"]


def test_counts_and_card_changes_make_no_new_version(make_response: MakeResponse) -> None:
    page = fixture("statuses_page1.json")
    before = {i.native_id: i.content_digest for i in parse(make_response, STATUSES_URL, page).items}
    changed = copy.deepcopy(page)
    changed[0].update(replies_count=9, favourites_count=300, card=None, pinned=True)
    changed[0]["account"]["followers_count"] = 99999
    after = {i.native_id: i.content_digest for i in parse(make_response, STATUSES_URL, changed).items}
    assert after == before

    edited = copy.deepcopy(page)
    edited[0]["content"] = "<p>Traffic advisory: Lake Street is open again.</p>"
    edited[0]["media_attachments"][1]["description"] = "Detour sign at Church St"
    again = {i.native_id: i.content_digest for i in parse(make_response, STATUSES_URL, edited).items}
    assert again[ROOT] != before[ROOT]
    assert again["media/115480000000000102"] != before["media/115480000000000102"]
    assert again["media/115480000000000101"] == before["media/115480000000000101"]


def test_bad_elements_are_reasons_and_the_rest_is_read(make_response: MakeResponse) -> None:
    page = fixture("statuses_page1.json")
    broken = [
        "not a status",
        None,
        {k: v for k, v in page[0].items() if k != "id"},
        {k: v for k, v in page[1].items() if k != "content"},
        {**page[2], "created_at": "yesterday"},
        {**page[3], "media_attachments": [{"type": "image"}, 7]},
    ]
    result = parse(make_response, STATUSES_URL, broken)

    assert result.unparsed == (
        "[0]: unknown item type (str), not a status",
        "[1]: unknown item type (null), not a status",
        "[2]: status without an id",
        "status 115479000000000007: missing or malformed content; left out",
        "status 115478000000000001: missing or malformed created_at; left out",
        "status 115476000000000001: media_attachments[0] is not an attachment; left out",
        "status 115476000000000001: media_attachments[1] is not an attachment; left out",
    )
    assert [i.native_id for i in result.items] == ["115476000000000001"]


def test_top_level_shapes_that_are_not_statuses(make_response: MakeResponse) -> None:
    assert parse(make_response, STATUSES_URL, {"data": []}).unparsed == (
        "unknown response shape: statuses are dict, not a list",
    )
    assert parse(make_response, STATUSES_URL, []).items == ()
    assert parse(make_response, f"{API}/timelines/home", []).unparsed == (
        "unknown Mastodon API path /api/v1/timelines/home",
    )
    assert parse(make_response, STATUSES_URL, b'[{"id": "1",,}').unparsed == (
        "malformed JSON at line 1 column 13",
    )
    assert parse(make_response, STATUSES_URL, b'[{"id": "\xff"}]').unparsed == (
        "body is not valid UTF-8 (byte 9)",
    )


def test_error_answers_hold_no_items(make_response: MakeResponse) -> None:
    body = b'{"error":"Record not found"}'
    response = make_response(CONTEXT_URL, body, status=404, reason="Not Found")
    assert MastodonSource.parse(response) == ParseResult()
    assert MastodonSource.parse(make_response(f"{API}/accounts/lookup?acct=x", body)) == ParseResult()


# -- context: replies and their nesting ----------------------------------------------------------


def test_context_descendants_are_comments_and_nested_replies(make_response: MakeResponse) -> None:
    result = parse(make_response, CONTEXT_URL, fixture("context.json"))

    assert result.unparsed == ()
    # the department's own reply (…210) is an item of its statuses listing, not of the thread
    assert [(i.kind, i.native_id, i.parent_native_id) for i in result.items] == [
        ("comment", "115480000000000200", ROOT),
        ("reply", "115480000000000220", "115480000000000210"),
        ("comment", "115480000000000300", ROOT),
        ("media", "media/115480000000000301", "115480000000000300"),
    ]
    for item in result.items:
        assert item.root_native_id == ROOT
        assert not item.author_is_agency
    items = by_id(result)
    question = items["115480000000000200"]
    assert question.author_name == "Jane Doe" and question.author_id == "109355500000042"
    assert question.edited_at == datetime(2026, 10, 30, 15, 20, tzinfo=UTC)
    assert question.text == "@HanoverParkPD Is Lake Street open to residents with driveways on that block?"
    # markup written as text stays text; nothing is executed or dropped
    assert items["115480000000000300"].text == (
        "<script>alert('xss')</script> just testing lol\n\nPhoto of the closed road"
    )


def test_a_cycle_in_reply_links_is_reported_not_followed(make_response: MakeResponse) -> None:
    context = fixture("context.json")
    first, _own, second, other = context["descendants"]
    first["in_reply_to_id"] = second["id"]  # …200 → …220 → …210 → …200
    result = parse(make_response, CONTEXT_URL, context)

    assert result.unparsed == (
        "status 115480000000000200: reply links form a cycle "
        "(115480000000000200 -> 115480000000000220 -> 115480000000000210 -> 115480000000000200); left out",
        "status 115480000000000210: reply links form a cycle "
        "(115480000000000210 -> 115480000000000200 -> 115480000000000220 -> 115480000000000210); left out",
        "status 115480000000000220: reply links form a cycle "
        "(115480000000000220 -> 115480000000000210 -> 115480000000000200 -> 115480000000000220); left out",
    )
    assert [i.native_id for i in result.items] == [other["id"], "media/115480000000000301"]


def test_unknown_descendant_types_and_shapes(make_response: MakeResponse) -> None:
    context = fixture("context.json")
    context["descendants"].insert(1, 42)
    context["descendants"].append({"id": "9", "created_at": "2026-10-30T16:00:00Z", "content": "x"})
    result = parse(make_response, CONTEXT_URL, context)
    assert result.unparsed == (
        "descendants[1]: unknown item type (int), not a status",
        "status 9: missing or malformed account; left out",
    )
    assert len(result.items) == 4
    assert parse(make_response, CONTEXT_URL, {"ancestors": []}).unparsed == (
        "unknown response shape: a context has no 'descendants' list",
    )


# -- history ------------------------------------------------------------------------------------


def test_history_is_evidence_without_items(make_response: MakeResponse) -> None:
    url = f"{API}/statuses/{ROOT}/history"
    assert parse(make_response, url, fixture("history.json")) == ParseResult()
    bad = parse(make_response, url, [{"content": "<p>x</p>"}, "y"])
    assert bad.unparsed == (
        "history[0]: a revision without content or created_at",
        "history[1]: unknown item type (str), not a revision",
    )


# -- helpers ------------------------------------------------------------------------------------


def test_api_paths_and_link_headers(make_response: MakeResponse) -> None:
    assert api_path(f"{API}/statuses/1/context?x=1") == ["statuses", "1", "context"]
    assert api_path("https://mastodon.example/other") == []
    link = (
        f'<{API}/accounts/{DEPT}/statuses?limit=40&max_id=115476000000000001>; rel="next", '
        f'<{API}/accounts/{DEPT}/statuses?limit=40&min_id=115480000000000001>; rel="prev"'
    )
    response = make_response(STATUSES_URL, b"[]", headers=[("Link", link)])
    assert next_link(response) == f"{API}/accounts/{DEPT}/statuses?limit=40&max_id=115476000000000001"
    prev_only = make_response(STATUSES_URL, b"[]", headers=[("Link", link.split(", ")[1])])
    assert next_link(prev_only) is None


def test_the_same_bytes_parse_the_same_way(make_response: MakeResponse) -> None:
    body = fixture("statuses_page1.json")
    first = parse(make_response, STATUSES_URL, body)
    second = parse(make_response, STATUSES_URL, body)
    assert first == second
    assert Counter(i.kind for i in first.items) == {"post": 3, "media": 2, "reply": 1}
