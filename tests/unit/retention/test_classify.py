"""Classification rules: the first matching rule wins; conditions combine; event keys are templated."""

from __future__ import annotations

import dataclasses

import pytest

from hp_archive.retention.classify import RecordFacts, classify, hashtags
from hp_archive.retention.schedule import EXAMPLE_PATH, Schedule, load_schedule

BASE = RecordFacts(
    uid="facebook:1_2",
    platform="facebook",
    account="hppd-facebook",
    capture_series="social-media",
    kind="comment",
    author_is_agency=False,
    moderated=False,
    text="Is the road closed near the school?",
)


@pytest.fixture(scope="module")
def example() -> Schedule:
    return load_schedule(EXAMPLE_PATH)


def facts(**changes: object) -> RecordFacts:
    return dataclasses.replace(BASE, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "item", "rule"),
    [
        ({}, "EX-2", "public-comments"),
        ({"kind": "reply"}, "EX-2", "public-comments"),
        ({"moderated": True}, "EX-3", "moderated-comments"),
        ({"kind": "post", "author_is_agency": True}, "EX-1", "official-posts"),
        ({"kind": "reply", "author_is_agency": True, "moderated": True}, "EX-1", "official-posts"),
        ({"kind": "media", "author_is_agency": True}, "EX-1", "official-posts"),
        ({"kind": "media"}, "EX-2", "public-comments"),
        ({"kind": "page", "author_is_agency": False}, "EX-1", "page-profiles"),
        ({"platform": "web", "kind": "page"}, "EX-4", "web-pages"),
        ({"capture_series": "investigative", "kind": "post"}, "EX-5", "investigative"),
    ],
)
def test_the_example_rules(example: Schedule, changes: dict, item: str, rule: str) -> None:
    verdict = classify(example, facts(**changes))
    assert verdict is not None
    assert (verdict.item_number, verdict.rule) == (item, rule)


def test_event_based_items_get_a_key_from_the_template(example: Schedule) -> None:
    verdict = classify(example, facts(capture_series="investigative", account="case-2026-0142"))
    assert verdict is not None and verdict.event_key == "case-2026-0142"
    ordinary = classify(example, facts())
    assert ordinary is not None and ordinary.event_key is None


def _schedule(rules: list[dict]) -> Schedule:
    return Schedule.model_validate(
        {
            "agency": {"name": "PD"},
            "commission": "cook-county",
            "application_number": "A",
            "items": [
                {"number": "A", "title": "a", "retention": "P1Y", "disposition": "destroy"},
                {
                    "number": "B",
                    "title": "b",
                    "retention": "P1Y",
                    "trigger": "case-closed",
                    "disposition": "destroy",
                },
            ],
            "rules": rules,
        }
    )


def test_hashtags_keywords_and_accounts() -> None:
    schedule = _schedule(
        [
            {
                "id": "tagged",
                "item": "B",
                "when": {"hashtags": ["#Investigation"]},
                "event_key": "{platform}/{account}",
            },
            {
                "id": "phrase",
                "item": "A",
                "when": {"keywords": ["road closed"], "account": ["hppd-facebook"]},
            },
        ]
    )
    tagged = classify(schedule, facts(text="Tips wanted #INVESTIGATION today"))
    assert tagged is not None and tagged.rule == "tagged" and tagged.event_key == "facebook/hppd-facebook"
    phrase = classify(schedule, facts(text="The ROAD, closed since Monday"))
    assert phrase is not None and phrase.rule == "phrase"
    assert classify(schedule, facts(text="closed road")) is None  # the words, in that order
    assert classify(schedule, facts(account="other")) is None  # unclassified: never eligible


def test_hashtags_are_words_after_a_hash() -> None:
    assert hashtags("#Safety first, #safety2026 and a # lone hash") == {"safety", "safety2026"}
