"""Eligibility: due dates in the department's time zone, and every reason a record is excluded."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime

import pytest

from hp_archive.retention.eligibility import RecordState, assess, group
from hp_archive.retention.schedule import Schedule

TZ = "America/Chicago"
SCHEDULE = Schedule.model_validate(
    {
        "agency": {"name": "PD", "fiscal_year_end": "04-30"},
        "commission": "downstate",
        "application_number": "A",
        "items": [
            {"number": "1", "title": "Posts", "retention": "P2Y", "cutoff": "calendar-year", "disposition": "destroy"},
            {"number": "2", "title": "Pages", "retention": "P1Y", "trigger": "captured", "disposition": "destroy"},
            {"number": "3", "title": "Cases", "retention": "P5Y", "cutoff": "calendar-year",
             "trigger": "case-closed", "disposition": "destroy"},
            {"number": "4", "title": "Log", "disposition": "permanent"},
            {"number": "5", "title": "History", "retention": "P1Y", "disposition": "transfer"},
        ],
    }
)  # fmt: skip
RECORD = RecordState(
    uid="facebook:1_2",
    platform="facebook",
    account="hppd",
    kind="post",
    item_number="1",
    event_key=None,
    created_at=datetime(2026, 10, 13, 9, 0, tzinfo=UTC),
    first_seen_at=datetime(2026, 11, 1, 8, 0, tzinfo=UTC),
    last_seen_at=datetime(2026, 11, 3, 8, 0, tzinfo=UTC),
)


def verdict(state: RecordState = RECORD, as_of: date = date(2029, 1, 1), **kwargs: object):  # type: ignore[no-untyped-def]
    events = kwargs.pop("events", {})
    holds = kwargs.pop("holds", {})
    return assess(SCHEDULE, state, as_of=as_of, events=events, holds=holds, timezone=TZ)  # type: ignore[arg-type]


def test_due_on_the_first_day_after_the_period() -> None:
    assert verdict(as_of=date(2029, 1, 1)).eligible
    before = verdict(as_of=date(2028, 12, 31))
    assert not before.eligible
    assert [(r.code, r.text) for r in before.reasons] == [("not-due", "not due until 2029-01-01")]


def test_the_trigger_date_is_read_in_the_departments_time_zone() -> None:
    # 05:30 UTC on January 1 is still December 31 in Chicago: the 2026 calendar year
    late = dataclasses.replace(RECORD, created_at=datetime(2027, 1, 1, 5, 30, tzinfo=UTC))
    assert verdict(late).due_on == date(2029, 1, 1)
    after = dataclasses.replace(RECORD, created_at=datetime(2027, 1, 1, 6, 30, tzinfo=UTC))
    assert verdict(after).due_on == date(2030, 1, 1)


def test_without_a_creation_date_the_first_capture_counts() -> None:
    undated = dataclasses.replace(RECORD, created_at=None, first_seen_at=datetime(2027, 3, 1, tzinfo=UTC))
    assert verdict(undated).due_on == date(2030, 1, 1)


def test_captured_trigger_runs_from_the_last_capture() -> None:
    page = dataclasses.replace(RECORD, item_number="2", last_seen_at=datetime(2027, 6, 1, 12, tzinfo=UTC))
    assert verdict(page).due_on == date(2028, 6, 1)


def test_event_based_records_wait_for_their_event() -> None:
    case = dataclasses.replace(RECORD, item_number="3", event_key="case-0142")
    waiting = verdict(case, as_of=date(2040, 1, 1))
    assert [r.code for r in waiting.reasons] == ["event-not-recorded"]
    assert "case-closed" in waiting.reasons[0].text and "case-0142" in waiting.reasons[0].text
    closed = {("case-closed", "case-0142"): date(2027, 3, 1)}
    assert verdict(case, as_of=date(2033, 1, 1), events=closed).eligible
    assert not verdict(case, as_of=date(2032, 12, 31), events=closed).eligible
    other_case = {("case-closed", "case-9999"): date(2020, 1, 1)}
    assert not verdict(case, as_of=date(2040, 1, 1), events=other_case).eligible


@pytest.mark.parametrize(
    ("number", "code"),
    [("4", "permanent"), ("5", "transfer"), (None, "unclassified"), ("99", "not-in-schedule")],
)
def test_records_that_are_never_destroyed_say_why(number: str | None, code: str) -> None:
    result = verdict(dataclasses.replace(RECORD, item_number=number), as_of=date(2100, 1, 1))
    assert not result.eligible and result.reasons[0].code == code


def test_a_hold_excludes_and_every_reason_is_given() -> None:
    held = verdict(holds={RECORD.uid: ["2026-CV-0142", "2027-CV-0001"]})
    assert [r.code for r in held.reasons] == ["hold"]
    assert "2026-CV-0142, 2027-CV-0001" in held.reasons[0].text
    both = verdict(as_of=date(2027, 1, 1), holds={RECORD.uid: ["M"]})
    assert [r.code for r in both.reasons] == ["not-due", "hold"]


def test_groups_give_quantity_and_inclusive_dates_per_item_number() -> None:
    a = dataclasses.replace(RECORD, uid="a", created_at=datetime(2026, 3, 1, tzinfo=UTC))
    b = dataclasses.replace(RECORD, uid="b", created_at=datetime(2026, 9, 1, tzinfo=UTC))
    c = dataclasses.replace(RECORD, uid="c", item_number="4")
    groups = group(SCHEDULE, [verdict(a), verdict(b), verdict(c)])
    assert list(groups) == ["1"]
    line = groups["1"].as_dict(with_records=True)
    assert line["quantity"] == 2 and line["records"] == ["a", "b"]
    assert line["first_date"].startswith("2026-03-01") and line["last_date"].startswith("2026-09-01")
    assert line["series_title"] == "Posts" and line["retention"] == "2 years after end of calendar year"
