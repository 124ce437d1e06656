"""The retention schedule file: its schema, the loader, where it lives, and the date arithmetic.

A schedule is the agency's approved *Application for Authority to Dispose of Local Records*
turned into data: each item has its item number, series title, retention period, cutoff, trigger
and disposition; classification rules map captured items to schedule items. The file is YAML (or
JSON) validated by :class:`Schedule`; ``retention_schedules/schedule.schema.json`` is the same
schema exported as JSON Schema (:func:`json_schema`).

Where it lives: ``HP_ARCHIVE_RETENTION_SCHEDULE``, else ``<HP_ARCHIVE_HOME>/retention-schedule.yaml``,
else the packaged EXAMPLE — which is loudly reported as an example, and under which no disposal
certificate can be proposed (a records officer must install the approved schedule).

Dates: a record's trigger date (created, last captured, or the date of its event) is read as a
calendar date in the archive's time zone; the cutoff moves it to the start of the next month,
calendar year or fiscal year; the retention period is added to that. The result is the first day
on which the record may be destroyed (:meth:`ScheduleItem.due_on`). Pure: no clock, no I/O except
:func:`load_schedule`.
"""

from __future__ import annotations

import calendar
import hashlib
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from hp_archive.errors import ConfigError

log = logging.getLogger(__name__)

SCHEDULE_ENV = "HP_ARCHIVE_RETENTION_SCHEDULE"
SCHEDULE_FILENAME = "retention-schedule.yaml"
EXAMPLE_PATH = Path(__file__).with_name("example-schedule.yaml")
BUILT_IN_TRIGGERS = ("created", "captured")
KINDS = ("post", "comment", "reply", "media", "page")
_PERIOD = re.compile(r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?$")
_NAME = r"^[a-z][a-z0-9-]{0,63}$"
_MONTH_DAY = re.compile(r"^(\d{2})-(\d{2})$")
EXAMPLE_WARNING = (
    "the retention schedule in use is the packaged EXAMPLE, not the department's approved "
    "schedule: install the approved one at {home_file} or set HP_ARCHIVE_RETENTION_SCHEDULE"
)

ItemNumber = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._/-]*$")]


@dataclass(frozen=True)
class Period:
    """A retention period in years, months and days (ISO 8601 ``P2Y``, ``P18M``, ``P1Y6M``, ``P90D``)."""

    years: int = 0
    months: int = 0
    days: int = 0

    @classmethod
    def parse(cls, text: str) -> Period:
        match = _PERIOD.match(text.strip())
        if match is None or not any(match.groups()):
            raise ValueError(f"{text!r} is not an ISO 8601 period: write P2Y (2 years), P18M, P1Y6M or P90D")
        years, months, days = (int(g) if g else 0 for g in match.groups())
        return cls(years, months, days)

    def after(self, start: date) -> date:
        """``start`` plus this period; a day missing from the target month clamps (Feb 29 → Feb 28)."""
        month_index = start.month - 1 + self.months + 12 * self.years
        year, month = start.year + month_index // 12, month_index % 12 + 1
        day = min(start.day, calendar.monthrange(year, month)[1])
        return date(year, month, day) + timedelta(days=self.days)

    def __str__(self) -> str:
        parts = []
        for value, one, many in ((self.years, "year", "years"), (self.months, "month", "months"),
                                 (self.days, "day", "days")):  # fmt: skip
            if value:
                parts.append(f"{value} {one if value == 1 else many}")
        return ", ".join(parts) or "0 days"


class Agency(BaseModel):
    """The agency the schedule belongs to, as named on its application and certificates."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, description="the agency's name as on the approved application")
    address: str = Field(default="", description="mailing address printed on certificates")
    records_officer: str = Field(default="", description="the records officer's name and title")
    fiscal_year_end: str | None = Field(
        default=None,
        description="MM-DD, the last day of the fiscal year (needed by items with a fiscal-year cutoff)",
    )

    @field_validator("fiscal_year_end")
    @classmethod
    def _month_day(cls, value: str | None) -> str | None:
        if value is None:
            return value
        match = _MONTH_DAY.match(value)
        if match is None:
            raise ValueError("must be MM-DD, e.g. 04-30 for a fiscal year ending April 30")
        month, day = int(match.group(1)), int(match.group(2))
        if not 1 <= month <= 12 or not 1 <= day <= calendar.monthrange(2001, month)[1]:
            raise ValueError(f"{value} is not a day of the year (MM-DD, no February 29)")
        return value


class ScheduleItem(BaseModel):
    """One item of the approved application: a records series and what happens to it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    number: ItemNumber = Field(description="the item number on the approved application, e.g. 26.4")
    title: str = Field(min_length=1, description="the records series title")
    description: str = Field(default="", description="what the series holds")
    retention: str | None = Field(
        default=None,
        description="ISO 8601 period kept after the cutoff (P2Y, P18M, P90D); omitted when permanent",
    )
    cutoff: Literal["none", "month", "calendar-year", "fiscal-year"] = Field(
        default="none",
        description="the trigger date is moved to the start of the next month / calendar year / fiscal year",
    )
    trigger: str = Field(
        default="created",
        pattern=_NAME,
        description="created (platform creation date), captured (last capture), or an event name "
        "recorded with 'hp-archive retention event add' (e.g. case-closed)",
    )
    disposition: Literal["destroy", "transfer", "permanent"] = Field(
        description="destroy, transfer to the State Archives, or keep permanently"
    )

    @field_validator("retention")
    @classmethod
    def _period(cls, value: str | None) -> str | None:
        if value is not None:
            Period.parse(value)
        return value

    @model_validator(mode="after")
    def _disposition_needs_period(self) -> ScheduleItem:
        if self.disposition == "permanent" and self.retention is not None:
            raise ValueError("a permanent item has no retention period: remove 'retention'")
        if self.disposition != "permanent" and self.retention is None:
            raise ValueError(f"disposition {self.disposition!r} needs a retention period, e.g. P2Y")
        return self

    @property
    def period(self) -> Period | None:
        return Period.parse(self.retention) if self.retention else None

    @property
    def event_based(self) -> bool:
        return self.trigger not in BUILT_IN_TRIGGERS

    def due_on(self, trigger_date: date, *, fiscal_year_end: str | None = None) -> date | None:
        """The first day a record triggered on ``trigger_date`` may be disposed of (None: never)."""
        period = self.period
        if period is None:
            return None
        return period.after(cutoff_start(trigger_date, self.cutoff, fiscal_year_end))

    def retention_text(self) -> str:
        """How the period reads on a certificate, e.g. '2 years after end of calendar year'."""
        if self.disposition == "permanent":
            return "permanent"
        after = {
            "none": "after " + ("creation" if self.trigger == "created" else
                                "last capture" if self.trigger == "captured" else self.trigger),
            "month": "after end of month",
            "calendar-year": "after end of calendar year",
            "fiscal-year": "after end of fiscal year",
        }[self.cutoff]  # fmt: skip
        if self.cutoff != "none" and self.event_based:
            after += f" of {self.trigger}"
        return f"{self.period} {after}"


class RuleMatch(BaseModel):
    """What a rule matches; every condition given must hold (an empty ``when`` matches all)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    platform: list[str] | None = Field(default=None, description="platforms, e.g. [facebook, x]")
    account: list[str] | None = Field(default=None, description="account ids from the accounts file")
    capture_series: list[str] | None = Field(
        default=None, description="the record series the account captures into (accounts file 'series')"
    )
    kind: list[Literal["post", "comment", "reply", "media", "page"]] | None = Field(
        default=None, description="item kinds"
    )
    author: Literal["agency", "public"] | None = Field(
        default=None, description="agency: written by the department's own account; public: anyone else"
    )
    moderated: bool | None = Field(
        default=None, description="true: the item was hidden by the page's moderators at some capture"
    )
    hashtags: list[str] | None = Field(
        default=None, description="any of these hashtags in the item's current text (case-insensitive)"
    )
    keywords: list[str] | None = Field(
        default=None, description="any of these words in the item's current text (case-insensitive)"
    )

    @field_validator("hashtags")
    @classmethod
    def _hashtags(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return value
        out = []
        for tag in value:
            clean = tag.strip().lstrip("#").lower()
            if not clean or not re.match(r"^\w+$", clean):
                raise ValueError(f"hashtag {tag!r} must be a word like #SafetyTip")
            out.append(clean)
        return out


class Rule(BaseModel):
    """A classification rule: items matching ``when`` belong to schedule item ``item``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=_NAME, description="a short name for audit entries and reports")
    item: ItemNumber = Field(description="the schedule item number matching items are classified under")
    when: RuleMatch = Field(default_factory=RuleMatch)
    event_key: str | None = Field(
        default=None,
        description="for event-based items: the key tying a record to its event, a template of "
        "{account}, {platform}, {series} (default {account})",
    )

    @field_validator("event_key")
    @classmethod
    def _template(cls, value: str | None) -> str | None:
        if value is None:
            return value
        try:
            value.format(account="a", platform="p", series="s")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(
                f"template {value!r} may only use {{account}}, {{platform}}, {{series}}"
            ) from exc
        return value


class Schedule(BaseModel):
    """An agency's retention schedule: its approved items and the rules classifying captures."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    example: bool = Field(
        default=False,
        description="true for the packaged example: no disposal certificate can be proposed under it",
    )
    agency: Agency
    commission: Literal["downstate", "cook-county"] = Field(
        description="which Local Records Commission approved the application"
    )
    application_number: str = Field(min_length=1, description="the approved application's number")
    approved_on: date | None = Field(default=None, description="when the Commission approved it")
    waiting_period_days: int = Field(
        default=30,
        ge=0,
        le=3650,
        description="days between sending a disposal certificate and destroying (Illinois: at least 30)",
    )
    items: list[ScheduleItem] = Field(min_length=1)
    rules: list[Rule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> Schedule:
        seen: set[str] = set()
        for index, item in enumerate(self.items):
            if item.number in seen:
                raise _Located(("items", index, "number"), f"item number {item.number!r} appears twice")
            seen.add(item.number)
            if item.cutoff == "fiscal-year" and self.agency.fiscal_year_end is None:
                raise _Located(
                    ("items", index, "cutoff"),
                    "a fiscal-year cutoff needs agency.fiscal_year_end (MM-DD)",
                )
        rule_ids: set[str] = set()
        for index, rule in enumerate(self.rules):
            if rule.id in rule_ids:
                raise _Located(("rules", index, "id"), f"rule id {rule.id!r} appears twice")
            rule_ids.add(rule.id)
            if rule.item not in seen:
                raise _Located(("rules", index, "item"), f"no schedule item numbered {rule.item!r}")
        return self

    @property
    def commission_name(self) -> str:
        return (
            "Cook County Local Records Commission"
            if self.commission == "cook-county"
            else "Local Records Commission (downstate)"
        )

    def item(self, number: str) -> ScheduleItem | None:
        return next((item for item in self.items if item.number == number), None)

    def item_for(self, reference: str) -> ScheduleItem | None:
        """The item whose number — or, failing that, whose exact title — is ``reference``."""
        found = self.item(reference)
        if found is None:
            wanted = reference.strip().casefold()
            found = next((item for item in self.items if item.title.casefold() == wanted), None)
        return found

    def due_on(self, number: str, trigger_date: date) -> date | None:
        item = self.item(number)
        return item.due_on(trigger_date, fiscal_year_end=self.agency.fiscal_year_end) if item else None

    def digest(self) -> str:
        """SHA-256 of the schedule's canonical JSON: which schedule a decision was made under."""
        data = self.model_dump(mode="json")
        return hashlib.sha256(
            json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        ).hexdigest()

    def describe(self) -> dict[str, Any]:
        """What a certificate records of the schedule it was made under."""
        return {
            "agency": self.agency.name,
            "address": self.agency.address,
            "records_officer": self.agency.records_officer,
            "commission": self.commission,
            "commission_name": self.commission_name,
            "application_number": self.application_number,
            "approved_on": self.approved_on.isoformat() if self.approved_on else None,
            "example": self.example,
            "digest": self.digest(),
        }


class _Located(ValueError):
    """A cross-field problem that names where it is (turned into a located message)."""

    def __init__(self, loc: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.loc = loc


def cutoff_start(day: date, cutoff: str, fiscal_year_end: str | None = None) -> date:
    """The day the retention period starts counting from, for a trigger on ``day``."""
    if cutoff == "none":
        return day
    if cutoff == "month":
        return date(day.year + (day.month == 12), day.month % 12 + 1, 1)
    if cutoff == "calendar-year":
        return date(day.year + 1, 1, 1)
    if cutoff == "fiscal-year":
        if fiscal_year_end is None:
            raise ConfigError("a fiscal-year cutoff needs agency.fiscal_year_end in the retention schedule")
        month, end_day = (int(part) for part in fiscal_year_end.split("-"))
        end = date(day.year, month, end_day)
        if day > end:
            end = date(day.year + 1, month, end_day)
        return end + timedelta(days=1)
    raise ConfigError(f"unknown cutoff {cutoff!r}: use none, month, calendar-year or fiscal-year")


# -- loading -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScheduleProblem:
    """One problem of a schedule file, named by item or rule and field."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


def _where(data: Any, loc: tuple[str | int, ...]) -> str:
    """'item 3 (number 26.3), field retention' from a validation location."""
    if len(loc) >= 2 and loc[0] in ("items", "rules") and isinstance(loc[1], int):
        section, index = loc[0], loc[1]
        label = "item" if section == "items" else "rule"
        entry = data.get(section, [])[index] if isinstance(data, dict) else None
        name_key = "number" if section == "items" else "id"
        name = entry.get(name_key) if isinstance(entry, dict) else None
        text = f"{label} {index + 1}" + (f" ({name_key} {name!r})" if name is not None else "")
        rest = ".".join(str(part) for part in loc[2:])
        return f"{text}, field '{rest}'" if rest else text
    field = ".".join(str(part) for part in loc)
    return f"field '{field}'" if field else ""


def validate_schedule(data: Any) -> tuple[Schedule | None, list[ScheduleProblem]]:
    """The schedule parsed from YAML/JSON data, or every problem with where it is."""
    if not isinstance(data, dict):
        return None, [ScheduleProblem("", "the file must be a mapping with agency, commission, items, rules")]
    try:
        return Schedule.model_validate(data), []
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            context = error.get("ctx") or {}
            located = context.get("error")
            if isinstance(located, _Located):
                problems.append(ScheduleProblem(_where(data, located.loc), str(located)))
                continue
            message = str(error["msg"]).removeprefix("Value error, ")
            problems.append(ScheduleProblem(_where(data, tuple(error["loc"])), message))
        return None, problems


def parse_schedule(text: str, *, origin: str) -> tuple[Schedule | None, list[ScheduleProblem]]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else ""
        return None, [ScheduleProblem(where, f"{origin} is not valid YAML: fix the syntax")]
    return validate_schedule(data)


def load_schedule(path: Path) -> Schedule:
    """Read and validate a schedule file; ConfigError names the file, the item and the field."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"retention schedule {path} does not exist: install the approved schedule there or set "
            f"{SCHEDULE_ENV}"
        ) from None
    except OSError as exc:
        raise ConfigError(f"retention schedule {path} cannot be read: {exc.strerror or exc}") from None
    schedule, problems = parse_schedule(text, origin=f"retention schedule {path}")
    if schedule is None:
        more = (
            f" (and {len(problems) - 1} more: run 'hp-archive retention check')" if len(problems) > 1 else ""
        )
        raise ConfigError(f"retention schedule {path}: {problems[0]}{more}")
    return schedule


@dataclass(frozen=True)
class ScheduleSource:
    """Which schedule file is in use, and whether it is the packaged example fallback."""

    path: Path
    fallback: bool
    home_file: Path

    @property
    def warning(self) -> str | None:
        if self.fallback:
            return EXAMPLE_WARNING.format(home_file=self.home_file)
        return None


def locate_schedule(environ: Mapping[str, str], home: Path) -> ScheduleSource:
    """``HP_ARCHIVE_RETENTION_SCHEDULE``, else ``<home>/retention-schedule.yaml``, else the example."""
    home_file = home / SCHEDULE_FILENAME
    named = environ.get(SCHEDULE_ENV)
    if named:
        return ScheduleSource(Path(named).expanduser(), False, home_file)
    if home_file.exists():
        return ScheduleSource(home_file, False, home_file)
    return ScheduleSource(EXAMPLE_PATH, True, home_file)


_cache: dict[Path, tuple[float, Schedule]] = {}


def schedule_at(source: ScheduleSource) -> Schedule:
    """The schedule ``source`` names (re-read when the file changes); warns loudly on the example."""
    path = source.path
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return load_schedule(path)  # raises the actionable error
    cached = _cache.get(path)
    if cached is not None and cached[0] == mtime:
        schedule = cached[1]
    else:
        schedule = load_schedule(path)
        _cache[path] = (mtime, schedule)
        if source.warning:
            log.warning("%s", source.warning)
    return schedule


def json_schema() -> dict[str, Any]:
    """The schedule file's JSON Schema (what ``retention_schedules/schedule.schema.json`` holds)."""
    schema = Schedule.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://hp-archive.invalid/retention_schedules/schedule.schema.json"
    schema["title"] = "hp-archive retention schedule"
    return schema
