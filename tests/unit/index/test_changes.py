"""Change detection decisions."""

from __future__ import annotations

from datetime import UTC, datetime

from hp_archive.index.changes import (
    Candidate,
    KnownState,
    ListingWindow,
    missing_from_listing,
    observe,
)

T = datetime(2026, 11, 1, tzinfo=UTC)


def test_new_item_is_created_and_maybe_hidden() -> None:
    assert observe(None, content_digest="a", hidden=None).events == ("created",)
    assert observe(None, content_digest="a", hidden=True).events == ("created", "hidden")
    assert observe(None, content_digest="a", hidden=False).new_version


def test_edit_hide_unhide_restore() -> None:
    live = KnownState("a", is_hidden=False, is_deleted=False)
    assert observe(live, content_digest="a", hidden=False).events == ()
    assert not observe(live, content_digest="a", hidden=None).new_version
    edited = observe(live, content_digest="b", hidden=None)
    assert edited.new_version and edited.events == ("edited",)
    assert observe(live, content_digest="a", hidden=True).events == ("hidden",)
    hidden = KnownState("a", is_hidden=True, is_deleted=False)
    assert observe(hidden, content_digest="a", hidden=False).events == ("unhidden",)
    assert observe(hidden, content_digest="a", hidden=None).events == ()  # platform did not say
    deleted = KnownState("a", is_hidden=False, is_deleted=True)
    assert observe(deleted, content_digest="a", hidden=None).events == ("restored",)


def test_missing_items_respect_the_listing_window() -> None:
    candidates = [
        Candidate("fb:old", datetime(2026, 9, 1, tzinfo=UTC)),
        Candidate("fb:recent", datetime(2026, 10, 20, tzinfo=UTC)),
        Candidate("fb:seen", datetime(2026, 10, 21, tzinfo=UTC)),
        Candidate("fb:undated", None),
    ]
    window = ListingWindow("p/posts", since=datetime(2026, 10, 1, tzinfo=UTC), until=T)
    assert missing_from_listing(window, candidates, {"fb:seen"}) == ["fb:recent"]
    unbounded = ListingWindow("p/comments", since=None, until=None)
    assert missing_from_listing(unbounded, candidates, {"fb:seen"}) == [
        "fb:old",
        "fb:recent",
        "fb:undated",
    ]
