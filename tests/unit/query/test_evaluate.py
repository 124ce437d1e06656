"""The reference semantics: item-level words over versions, NOT, phrases, prefixes and filters."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from hp_archive.index.text import search_text
from hp_archive.query.evaluate import ItemFacts, matches
from hp_archive.query.parser import parse

EDITED = ItemFacts(
    platform="facebook",
    account="hppd-facebook",
    kind="comment",
    series="social-media",
    author_key="jane doe",
    author_id="10001",
    deleted=False,
    hidden=False,
    version_count=2,
    has_media=False,
    created_at=datetime(2026, 3, 8, 7, 30, tzinfo=UTC),  # 01:30 CST on the day DST begins
    first_captured_at=datetime(2026, 3, 9, 8, tzinfo=UTC),
    versions=(
        tuple(search_text("Speeding on Walnut, please do something. Jane Doe").split()),
        tuple(search_text("Parking on Walnut — never mind, found the answer. Jane Doe").split()),
    ),
)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # every version is searched: old words still find the item
        ("speeding", True),
        ("parking", True),
        ("version:current speeding", False),
        ("version:current parking", True),
        # words are judged per item: each may come from a different version
        ("speeding parking", True),
        ("version:current speeding parking", False),
        # NOT x: no searched version contains x
        ("NOT speeding", False),
        ("version:current NOT speeding", True),
        ("NOT traffic", True),
        ("walnut NOT parking", False),
        # a phrase is adjacent tokens of one version
        ('"speeding on walnut"', True),
        ('"walnut speeding"', False),
        ('"on walnut never"', True),
        ('"please do something never mind"', False),
        ('"never mi"*', True),
        ("never-mi*", True),
        ('"never mi*"', False),  # inside quotes '*' is punctuation
        ("speed*", True),
        ("speedy*", False),
        # the author's name is in every version's text too
        ("doe", True),
    ],
)
def test_words_over_versions(query: str, expected: bool) -> None:
    assert matches(parse(query), EDITED) is expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("platform:facebook", True),
        ("platform:x|facebook", True),
        ("platform:x", False),
        ("account:hppd-facebook", True),
        ("kind:comment|reply", True),
        ("kind:post", False),
        ("series:social-media", True),
        ('author:"Jane Doe"', True),
        ('author:"JANE  DOE"', True),
        ("author:jane", False),
        ("author:jan*", True),
        ("author:10001", True),
        ("edited:true", True),
        ("edited:false", False),
        ("deleted:true", False),
        ("hidden:false", True),
        ("has:media", False),
        ("NOT has:media", True),
        # item time is the creation time: 01:30 CST on 8 March 2026
        ("after:2026-03-08", True),
        ("after:2026-03-08T01:31", False),
        ("before:2026-03-08T01:31", True),
        ("before:2026-03-08", False),
        ("captured_after:2026-03-09", True),
        # first captured 08:00 UTC on 9 March = 03:00 CDT; before: bounds exclude their instant
        ("captured_before:2026-03-09T03:01", True),
        ("captured_before:2026-03-09T03:00", False),
        ("captured_before:2026-03-09T08:00:01Z", True),
    ],
)
def test_filters(query: str, expected: bool) -> None:
    assert matches(parse(query), EDITED) is expected


def test_an_item_without_creation_time_uses_its_first_capture() -> None:
    page = replace(EDITED, created_at=None)
    assert matches(parse("after:2026-03-09"), page)
    assert not matches(parse("before:2026-03-09"), page)


def test_an_item_without_versions_matches_no_word_and_every_not() -> None:
    empty = replace(EDITED, versions=(), version_count=0)
    assert not matches(parse("speeding"), empty)
    assert matches(parse("NOT speeding"), empty)
    assert matches(parse("version:current NOT speeding"), empty)
