"""The schedule file: validation that names the item and field, the JSON Schema, the date arithmetic."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import jsonschema
import pytest
import yaml

from hp_archive.errors import ConfigError
from hp_archive.retention.schedule import (
    EXAMPLE_PATH,
    Period,
    ScheduleItem,
    cutoff_start,
    json_schema,
    load_schedule,
    locate_schedule,
    parse_schedule,
)

REPO = Path(__file__).resolve().parents[3]
SCHEMA_FILE = REPO / "retention_schedules" / "schedule.schema.json"
EXAMPLE_FILE = REPO / "retention_schedules" / "example-schedule.yaml"

MINIMAL = {
    "agency": {"name": "Test PD"},
    "commission": "downstate",
    "application_number": "A-1",
    "items": [{"number": "1", "title": "Posts", "retention": "P2Y", "disposition": "destroy"}],
}


def problems(data: dict) -> list[str]:
    schedule, found = parse_schedule(yaml.safe_dump(data), origin="test")
    assert schedule is None
    return [str(p) for p in found]


def test_the_example_is_valid_and_says_it_is_an_example() -> None:
    schedule = load_schedule(EXAMPLE_PATH)
    assert schedule.example is True
    assert "EXAMPLE" in EXAMPLE_PATH.read_text().splitlines()[1]
    titles = " ".join(item.title.lower() for item in schedule.items)
    for series in (
        "official",
        "public comments",
        "moderation",
        "web pages",
        "investigative",
        "certificates",
        "audit log",
    ):
        assert series in titles, series
    permanent = {item.title for item in schedule.items if item.disposition == "permanent"}
    assert any("certificates" in t.lower() for t in permanent) and any(
        "audit" in t.lower() for t in permanent
    )
    investigative = next(i for i in schedule.items if "Investigative" in i.title)
    assert investigative.event_based and investigative.trigger == "case-closed"


def test_the_repository_copy_of_the_example_is_the_packaged_one() -> None:
    assert EXAMPLE_FILE.read_bytes() == EXAMPLE_PATH.read_bytes()


def test_the_committed_json_schema_is_the_exported_one_and_accepts_the_example() -> None:
    committed = json.loads(SCHEMA_FILE.read_text())
    assert committed == json_schema(), (
        "run: hp-archive retention schema > retention_schedules/schedule.schema.json"
    )
    jsonschema.validate(
        yaml.safe_load(EXAMPLE_FILE.read_text()), committed, cls=jsonschema.Draft202012Validator
    )
    bad = {**MINIMAL, "commission": "chicago"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, committed, cls=jsonschema.Draft202012Validator)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"items": [{"number": "26.1", "title": "Posts", "retention": "2 years", "disposition": "destroy"}]},
            "item 1 (number '26.1'), field 'retention': '2 years' is not an ISO 8601 period",
        ),
        (
            {"items": [{"number": "26.1", "title": "Posts", "disposition": "destroy"}]},
            "item 1 (number '26.1'): disposition 'destroy' needs a retention period",
        ),
        (
            {"items": [{"number": "9", "title": "Log", "retention": "P1Y", "disposition": "permanent"}]},
            "item 1 (number '9'): a permanent item has no retention period",
        ),
        (
            {"items": [{"number": "9", "title": "Log", "retention": "P1Y", "disposition": "shred"}]},
            "item 1 (number '9'), field 'disposition'",
        ),
        (
            {"items": [
                {"number": "1", "title": "A", "retention": "P1Y", "disposition": "destroy"},
                {"number": "1", "title": "B", "retention": "P1Y", "disposition": "destroy"},
            ]},
            "item 2 (number '1'), field 'number': item number '1' appears twice",
        ),
        (
            {"rules": [{"id": "r", "item": "7"}]},
            "rule 1 (id 'r'), field 'item': no schedule item numbered '7'",
        ),
        (
            {"rules": [{"id": "r", "item": "1", "when": {"kind": ["tweet"]}}]},
            "rule 1 (id 'r'), field 'when.kind.0'",
        ),
        (
            {"items": [{"number": "1", "title": "A", "retention": "P1Y", "cutoff": "fiscal-year",
                        "disposition": "destroy"}]},
            "item 1 (number '1'), field 'cutoff': a fiscal-year cutoff needs agency.fiscal_year_end",
        ),
        ({"waiting_period_days": -1}, "field 'waiting_period_days'"),
        ({"surprise": 1}, "field 'surprise': Extra inputs are not permitted"),
    ],
)  # fmt: skip
def test_problems_name_the_item_and_the_field(change: dict, expected: str) -> None:
    found = problems({**MINIMAL, **change})
    assert any(p.startswith(expected) for p in found), found


def test_load_raises_one_line_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        yaml.safe_dump({**MINIMAL, "items": [{"number": "1", "title": "T", "disposition": "destroy"}]})
    )
    with pytest.raises(ConfigError) as caught:
        load_schedule(path)
    assert str(caught.value).startswith(f"retention schedule {path}: item 1 (number '1')")
    assert "\n" not in str(caught.value)
    with pytest.raises(ConfigError, match="does not exist"):
        load_schedule(tmp_path / "missing.yaml")
    path.write_text("items: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_schedule(path)


def test_location_env_then_home_then_the_example_with_a_warning(tmp_path: Path) -> None:
    fallback = locate_schedule({}, tmp_path)
    assert fallback.path == EXAMPLE_PATH and fallback.fallback
    assert fallback.warning is not None and "EXAMPLE" in fallback.warning
    assert str(tmp_path / "retention-schedule.yaml") in fallback.warning
    (tmp_path / "retention-schedule.yaml").write_text("x")
    home = locate_schedule({}, tmp_path)
    assert home.path == tmp_path / "retention-schedule.yaml" and home.warning is None
    named = locate_schedule({"HP_ARCHIVE_RETENTION_SCHEDULE": "/etc/hp/schedule.yaml"}, tmp_path)
    assert named.path == Path("/etc/hp/schedule.yaml") and not named.fallback


@pytest.mark.parametrize(
    ("text", "start", "expected"),
    [
        ("P2Y", date(2024, 2, 29), date(2026, 2, 28)),
        ("P18M", date(2025, 1, 31), date(2026, 7, 31)),
        ("P1M", date(2025, 1, 31), date(2025, 2, 28)),
        ("P90D", date(2025, 12, 1), date(2026, 3, 1)),
        ("P1Y6M10D", date(2025, 1, 1), date(2026, 7, 11)),
    ],
)
def test_periods(text: str, start: date, expected: date) -> None:
    assert Period.parse(text).after(start) == expected


def test_period_text_and_refusal() -> None:
    assert str(Period.parse("P1Y6M")) == "1 year, 6 months"
    for bad in ("P", "2Y", "P2W", "P-1Y", ""):
        with pytest.raises(ValueError, match="ISO 8601"):
            Period.parse(bad)


@pytest.mark.parametrize(
    ("cutoff", "day", "expected"),
    [
        ("none", date(2026, 3, 5), date(2026, 3, 5)),
        ("month", date(2026, 12, 31), date(2027, 1, 1)),
        ("calendar-year", date(2026, 1, 1), date(2027, 1, 1)),
        ("fiscal-year", date(2026, 4, 30), date(2026, 5, 1)),
        ("fiscal-year", date(2026, 5, 1), date(2027, 5, 1)),
    ],
)
def test_cutoffs(cutoff: str, day: date, expected: date) -> None:
    assert cutoff_start(day, cutoff, "04-30") == expected


def test_due_date_is_the_first_day_destruction_is_allowed() -> None:
    item = ScheduleItem(number="1", title="t", retention="P2Y", cutoff="calendar-year", disposition="destroy")
    assert item.due_on(date(2026, 10, 13)) == date(2029, 1, 1)
    assert item.due_on(date(2026, 12, 31)) == date(2029, 1, 1)
    assert item.retention_text() == "2 years after end of calendar year"
    forever = ScheduleItem(number="2", title="t", disposition="permanent")
    assert forever.due_on(date(2026, 1, 1)) is None and forever.retention_text() == "permanent"
