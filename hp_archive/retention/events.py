"""Retention events: the dates that start event-based retention (``case-closed`` for a key).

An event is authoritative (``retention_events``), audited, and mirrored signed into the store
under ``retention/events/`` (DESIGN invariant 5). Its name must be a trigger of some schedule
item, its date may not lie in the future, and it is recorded once per key: a mistaken entry is
not edited away.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from hp_archive.errors import ConfigError
from hp_archive.index import models as m
from hp_archive.index.db import transaction
from hp_archive.retention.classify import lock_file, schedule_for
from hp_archive.retention.documents import store_signed
from hp_archive.retention.schedule import BUILT_IN_TRIGGERS

if TYPE_CHECKING:
    from hp_archive.archive import Archive

EVENTS_PREFIX = "retention/events/"


def record_event(
    archive: Archive,
    name: str,
    *,
    key: str,
    on: date,
    now: datetime,
    actor: str | None = None,
    note: str = "",
) -> dict[str, Any]:
    """Record that event ``name`` happened for ``key`` on ``on`` (audited, mirrored, once)."""
    from zoneinfo import ZoneInfo

    schedule = schedule_for(archive)
    triggers = sorted({item.trigger for item in schedule.items if item.trigger not in BUILT_IN_TRIGGERS})
    if name not in triggers:
        raise ConfigError(
            f"event {name!r} starts no schedule item's retention: use one of "
            f"{', '.join(triggers) or '(none)'}"
        )
    key = key.strip()
    if not key:
        raise ConfigError(f"event {name} needs the key it applies to: give --key, e.g. the case's account id")
    today = now.astimezone(ZoneInfo(archive.timezone)).date()
    if on > today:
        raise ConfigError(
            f"event date {on.isoformat()} is in the future (today is {today.isoformat()}): "
            "record it once it happened"
        )
    who = actor or archive.operator
    with transaction(archive.sessions) as session:
        existing = session.scalar(
            select(m.RetentionEvent).where(m.RetentionEvent.name == name, m.RetentionEvent.key == key)
        )
        if existing is not None:
            raise ConfigError(
                f"event {name} for key {key!r} is already recorded (on {existing.occurred_on.isoformat()} by "
                f"{existing.recorded_by}): events are recorded once; see 'hp-archive retention event list'"
            )
        row = m.RetentionEvent(
            name=name, key=key, occurred_on=on, note=note, recorded_at=now, recorded_by=who
        )
        session.add(row)
        session.flush()
        document = {
            "profile": "hp-archive/retention-event/1",
            "id": row.id,
            "name": name,
            "key": key,
            "occurred_on": on.isoformat(),
            "note": note,
            "recorded_at": now.isoformat(),
            "recorded_by": who,
        }
        stored = store_signed(archive, f"{EVENTS_PREFIX}{row.id:08d}.json", document)
        records = list(
            session.scalars(
                select(m.RetentionClass.uid).where(
                    m.RetentionClass.event_key == key,
                    m.RetentionClass.item_number.in_([i.number for i in schedule.items if i.trigger == name]),
                )
            )
        )
        seq = archive.record(
            "retention.event",
            target=f"{name}:{key}",
            actor=who,
            session=session,
            params={**document, "records": len(records), "mirror": stored},
        )
        _lock_files_of(archive, session, schedule, records)
    archive.mirror_audit()
    return {**document, "records": len(records), "audit_seq": seq, "mirror": stored}


def _lock_files_of(archive: Archive, session: Any, schedule: Any, uids: list[str]) -> None:
    """The records now have a due date: extend the retain-until of the objects holding them."""
    from hp_archive.retention.evidence import candidate_files

    for file_row in candidate_files(session, uids) if uids else []:
        lock_file(archive, session, schedule, file_row)


def list_events(archive: Archive) -> list[dict[str, Any]]:
    with archive.sessions() as session:
        return [
            {
                "name": row.name,
                "key": row.key,
                "occurred_on": row.occurred_on.isoformat(),
                "note": row.note,
                "recorded_at": row.recorded_at.isoformat(),
                "recorded_by": row.recorded_by,
            }
            for row in session.scalars(
                select(m.RetentionEvent).order_by(m.RetentionEvent.name, m.RetentionEvent.key)
            )
        ]
