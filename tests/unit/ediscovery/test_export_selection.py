"""Production order, families and Bates numbers (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hp_archive.ediscovery.export.selection import (
    Bates,
    ProducedItem,
    number_documents,
    plan_documents,
)
from hp_archive.errors import ConfigError

T0 = datetime(2026, 11, 1, 8, tzinfo=UTC)


def item(
    uid: str, kind: str, parent: str | None = None, minutes: int = 0, root: str | None = None
) -> ProducedItem:
    return ProducedItem(
        uid=uid,
        platform="facebook",
        account="hppd",
        kind=kind,
        native_id=uid,
        parent_uid=parent,
        root_uid=root or parent,
        author_name="A",
        author_id="1",
        url=None,
        series="s",
        created_at=T0 + timedelta(minutes=minutes),
        first_seen_at=T0,
        last_seen_at=T0,
        deleted_observed_at=None,
        is_hidden=False,
        is_deleted=False,
        status="live",
    )


def test_posts_head_families_in_time_order_with_replies_after_their_comment() -> None:
    items = [
        item("p2", "post", minutes=50),
        item("p1", "post", minutes=0),
        item("c2", "comment", "p1", minutes=20),
        item("c1", "comment", "p1", minutes=10),
        item("r1", "reply", "c1", minutes=30, root="p1"),
        item("m1", "media", "p1", minutes=0),
        item("c3", "comment", "p2", minutes=60),
    ]
    planned = plan_documents(items)
    assert [d.item.uid for d in planned] == ["p1", "c1", "r1", "c2", "p2", "c3"]
    assert [d.family for d in planned] == [0, 0, 0, 0, 1, 1]
    assert [d.depth for d in planned] == [0, 1, 2, 1, 0, 1]
    assert [m.uid for m in planned[0].media] == ["m1"]  # media belong to their post, not a document
    assert [a.uid for a in planned[2].context] == ["p1", "c1"]  # a reply is shown under post and comment


def test_a_comment_whose_post_is_not_archived_is_its_own_family() -> None:
    planned = plan_documents([item("c1", "comment", "gone"), item("p1", "post", minutes=5)])
    assert [(d.item.uid, d.family, d.context) for d in planned] == [("c1", 0, ()), ("p1", 1, ())]


def test_a_reply_whose_comment_is_missing_hangs_under_the_post() -> None:
    planned = plan_documents([item("p1", "post"), item("r1", "reply", "lost-comment", root="p1")])
    assert [(d.item.uid, d.family) for d in planned] == [("p1", 0), ("r1", 0)]


def test_media_without_an_archived_owner_is_a_document() -> None:
    planned = plan_documents([item("m1", "media", "gone")])
    assert [d.item.uid for d in planned] == ["m1"]


def test_bates_ranges_are_continuous_and_families_span_their_pages() -> None:
    planned = plan_documents(
        [item("p1", "post"), item("c1", "comment", "p1", 1), item("p2", "post", minutes=9)]
    )
    numbered = number_documents(planned, [2, 3, 1], start=101)
    assert [(d.first, d.last) for d in numbered] == [(101, 102), (103, 105), (106, 106)]
    assert [(d.family_first, d.family_last) for d in numbered] == [(101, 105), (101, 105), (106, 106)]
    assert [d.parent_first for d in numbered] == [None, 101, None]


def test_bates_labels_pad_and_refuse_what_does_not_fit() -> None:
    bates = Bates("HPPD", 7)
    assert bates.label(1) == "HPPD0000001"
    assert bates.parse("HPPD0000042") == 42
    assert bates.parse("HPPD42") is None and bates.parse("XX0000042") is None
    with pytest.raises(ConfigError, match="does not fit"):
        Bates("HP", 4).label(10_000)


@pytest.mark.parametrize("prefix", ["", "hp", "../X", "A B", "TOOLONGPREFIX1234", "HP/1"])
def test_a_bates_prefix_that_could_reach_a_file_name_badly_is_refused(prefix: str) -> None:
    with pytest.raises(ConfigError, match="Bates prefix"):
        Bates(prefix, 7)
