"""What is eligible for disposal as of a date, and why each other record is not.

:func:`assess` is pure: given a record's classification and dates, the schedule, the recorded
events and the holds covering it, it says whether the record is due on ``as_of`` and, if not,
every reason why — ``hold``, ``not-due``, ``event-not-recorded``, ``permanent``, ``transfer``,
``unclassified`` or ``not-in-schedule``. :func:`eligibility` reads those inputs from the index
and groups the result per item number, as a disposal certificate lists records.

A record's dates: its *record date* is when the platform says it was created (else when it was
first captured); the trigger date is that creation date (``created``), its last capture
(``captured``), or the date recorded for its event. Dates are calendar dates in the archive's
time zone.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from hp_archive.index import models as m
from hp_archive.retention.schedule import Schedule

HOLD = "hold"
NOT_DUE = "not-due"
EVENT = "event-not-recorded"
PERMANENT = "permanent"
TRANSFER = "transfer"
UNCLASSIFIED = "unclassified"
NOT_IN_SCHEDULE = "not-in-schedule"
REASONS = (UNCLASSIFIED, NOT_IN_SCHEDULE, PERMANENT, TRANSFER, EVENT, NOT_DUE, HOLD)
CHUNK = 500


@dataclass(frozen=True)
class RecordState:
    """A record as eligibility sees it: identity, classification and dates (aware UTC)."""

    uid: str
    platform: str
    account: str
    kind: str
    item_number: str | None
    event_key: str | None
    created_at: datetime | None
    first_seen_at: datetime | None
    last_seen_at: datetime | None

    @property
    def record_date(self) -> datetime | None:
        return self.created_at or self.first_seen_at

    def trigger(
        self, schedule: Schedule, events: Mapping[tuple[str, str], date], timezone: str
    ) -> date | None:
        """The date the record's retention period runs from (None: not known yet)."""
        item = schedule.item(self.item_number) if self.item_number else None
        if item is None:
            return None
        if item.trigger == "created":
            moment = self.record_date
        elif item.trigger == "captured":
            moment = self.last_seen_at or self.first_seen_at
        else:
            return events.get((item.trigger, self.event_key or ""))
        return moment.astimezone(ZoneInfo(timezone)).date() if moment else None

    def due_on(
        self, schedule: Schedule, events: Mapping[tuple[str, str], date], timezone: str
    ) -> date | None:
        """The first day the record may be disposed of; None when unknown or never."""
        trigger = self.trigger(schedule, events, timezone)
        if trigger is None or self.item_number is None:
            return None
        return schedule.due_on(self.item_number, trigger)


@dataclass(frozen=True)
class Reason:
    code: str
    text: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "text": self.text}


@dataclass(frozen=True)
class Assessment:
    """Whether a record is eligible on ``as_of``, and why not."""

    state: RecordState
    due_on: date | None
    reasons: tuple[Reason, ...]

    @property
    def eligible(self) -> bool:
        return not self.reasons

    @property
    def uid(self) -> str:
        return self.state.uid

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.state.uid,
            "item_number": self.state.item_number,
            "record_date": _iso(self.state.record_date),
            "due_on": self.due_on.isoformat() if self.due_on else None,
            "eligible": self.eligible,
            "reasons": [reason.as_dict() for reason in self.reasons],
        }


def assess(
    schedule: Schedule,
    state: RecordState,
    *,
    as_of: date,
    events: Mapping[tuple[str, str], date],
    holds: Mapping[str, Iterable[str]],
    timezone: str,
) -> Assessment:
    """The verdict for one record (pure)."""
    reasons: list[Reason] = []
    due: date | None = None
    item = schedule.item(state.item_number) if state.item_number else None
    if state.item_number is None:
        reasons.append(Reason(UNCLASSIFIED, "no classification rule matches it: add a rule or classify it"))
    elif item is None:
        reasons.append(
            Reason(NOT_IN_SCHEDULE, f"classified under item {state.item_number}, which the schedule lacks")
        )
    elif item.disposition == "permanent":
        reasons.append(Reason(PERMANENT, f"item {item.number} is kept permanently"))
    else:
        due = state.due_on(schedule, events, timezone)
        if item.event_based and due is None:
            reasons.append(
                Reason(EVENT, f"event {item.trigger} not recorded for key {state.event_key or '?'}")
            )
        elif due is None:
            reasons.append(Reason(NOT_DUE, "its trigger date is unknown"))
        elif due > as_of:
            reasons.append(Reason(NOT_DUE, f"not due until {due.isoformat()}"))
        if item.disposition == "transfer":
            reasons.append(Reason(TRANSFER, f"item {item.number} is transferred to the State Archives"))
    matters = sorted(set(holds.get(state.uid, ())))
    if matters:
        reasons.append(Reason(HOLD, f"on legal hold for matter {', '.join(matters)}"))
    return Assessment(state=state, due_on=due, reasons=tuple(reasons))


# -- grouping ------------------------------------------------------------------------------------


@dataclass
class ItemGroup:
    """The eligible records of one schedule item: what a certificate line shows."""

    item_number: str
    title: str
    retention: str
    disposition: str
    uids: list[str] = field(default_factory=list)
    first_date: datetime | None = None
    last_date: datetime | None = None

    def add(self, state: RecordState) -> None:
        self.uids.append(state.uid)
        moment = state.record_date
        if moment is not None:
            self.first_date = moment if self.first_date is None else min(self.first_date, moment)
            self.last_date = moment if self.last_date is None else max(self.last_date, moment)

    def as_dict(self, *, with_records: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "item_number": self.item_number,
            "series_title": self.title,
            "retention": self.retention,
            "disposition": self.disposition,
            "quantity": len(self.uids),
            "first_date": _iso(self.first_date),
            "last_date": _iso(self.last_date),
        }
        if with_records:
            data["records"] = sorted(self.uids)
        return data


@dataclass
class EligibilityReport:
    """``retention eligible --json``: eligible records per item number, and every exclusion."""

    as_of: date
    timezone: str
    schedule: dict[str, Any]
    groups: dict[str, ItemGroup] = field(default_factory=dict)
    assessments: list[Assessment] = field(default_factory=list)

    @property
    def eligible(self) -> list[Assessment]:
        return [a for a in self.assessments if a.eligible]

    @property
    def excluded(self) -> list[Assessment]:
        return [a for a in self.assessments if not a.eligible]

    def excluded_counts(self) -> dict[str, int]:
        counts: Counter[str] = Counter(a.reasons[0].code for a in self.excluded)
        return {code: counts[code] for code in REASONS if counts[code]}

    def as_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "timezone": self.timezone,
            "schedule": self.schedule,
            "eligible": sum(len(g.uids) for g in self.groups.values()),
            "items": [self.groups[k].as_dict(with_records=True) for k in sorted(self.groups)],
            "excluded": self.excluded_counts(),
            "excluded_records": [a.as_dict() for a in self.excluded],
        }


def group(schedule: Schedule, assessments: Iterable[Assessment]) -> dict[str, ItemGroup]:
    """Eligible records per item number (pure)."""
    groups: dict[str, ItemGroup] = {}
    for assessment in assessments:
        if not assessment.eligible or assessment.state.item_number is None:
            continue
        number = assessment.state.item_number
        if number not in groups:
            item = schedule.item(number)
            assert item is not None
            groups[number] = ItemGroup(number, item.title, item.retention_text(), item.disposition)
        groups[number].add(assessment.state)
    return groups


# -- reading the inputs --------------------------------------------------------------------------


def _state_query() -> Any:
    return select(
        m.Item.uid, m.Item.platform, m.Item.account_id, m.Item.kind, m.RetentionClass.item_number,
        m.RetentionClass.event_key, m.Item.created_at, m.Item.first_seen_at, m.Item.last_seen_at,
    ).outerjoin(m.RetentionClass, m.RetentionClass.uid == m.Item.uid)  # fmt: skip


def _state(row: Any) -> RecordState:
    return RecordState(*row)


def record_states(session: Session, uids: Iterable[str] | None = None) -> dict[str, RecordState]:
    """Indexed records (all, or those among ``uids``) with their classification."""
    if uids is None:
        return {row.uid: _state(row) for row in session.execute(_state_query().order_by(m.Item.uid))}
    found: dict[str, RecordState] = {}
    pending = sorted(set(uids))
    for start in range(0, len(pending), CHUNK):
        chunk = pending[start : start + CHUNK]
        for row in session.execute(_state_query().where(m.Item.uid.in_(chunk))):
            found[row.uid] = _state(row)
    return found


def hold_matters(session: Session, uids: Iterable[str] | None = None) -> dict[str, list[str]]:
    """uid -> the matters of unreleased holds covering it."""
    statement = (
        select(m.HoldItem.item_uid, m.Hold.matter_id)
        .join(m.Hold, m.Hold.id == m.HoldItem.hold_id)
        .where(m.Hold.released_at.is_(None))
    )
    found: dict[str, list[str]] = defaultdict(list)
    if uids is None:
        rows: Iterator[Any] = iter(session.execute(statement))
        for uid, matter in rows:
            found[uid].append(matter)
        return dict(found)
    pending = sorted(set(uids))
    for start in range(0, len(pending), CHUNK):
        chunk = pending[start : start + CHUNK]
        for uid, matter in session.execute(statement.where(m.HoldItem.item_uid.in_(chunk))):
            found[uid].append(matter)
    return dict(found)


def eligibility(
    session: Session,
    schedule: Schedule,
    *,
    as_of: date,
    timezone: str,
    item_number: str | None = None,
) -> EligibilityReport:
    """Assess every indexed record (or those of one item number) as of ``as_of``."""
    from hp_archive.retention.classify import event_dates

    events = event_dates(session)
    holds = hold_matters(session)
    report = EligibilityReport(as_of=as_of, timezone=timezone, schedule=schedule.describe())
    for state in record_states(session).values():
        if item_number is not None and state.item_number != item_number:
            continue
        report.assessments.append(
            assess(schedule, state, as_of=as_of, events=events, holds=holds, timezone=timezone)
        )
    report.groups = group(schedule, report.assessments)
    return report


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
