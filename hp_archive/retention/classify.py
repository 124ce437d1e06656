"""Classification: which schedule item each record (item) belongs to.

The rules of the schedule are pure functions of a record's facts (:func:`classify`): platform,
account, the account's capture series, kind, agency-authored or public, whether moderators hid
it, and the hashtags and words of its current text. They are applied at index time by
:func:`on_indexed` (registered in ``INDEX_HOOKS``, so captures and ``reindex`` classify alike) and
again by :func:`reclassify` after a new schedule is installed.

The result is stored authoritatively in ``retention_classes`` (keyed by the item's stable uid, so
it survives reindex). A records officer's reclassification (:func:`classify_record`, audited with
a reason) is ``manual`` and rules never override it.

After classifying, the hook sets the stored object's retain-until date (DESIGN invariant 3): the
earliest date on which any record the object evidences may be disposed of. Only where the store
enforces Object Lock, and only ever later (the store refuses to move it back).
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from hp_archive.errors import ConfigError, NotFoundError, StorageError
from hp_archive.index import models as m
from hp_archive.index.bulk import BulkWriter
from hp_archive.index.db import transaction
from hp_archive.index.text import tokens
from hp_archive.retention.schedule import (
    Rule,
    Schedule,
    ScheduleItem,
    ScheduleSource,
    locate_schedule,
    schedule_at,
)

if TYPE_CHECKING:
    from hp_archive.archive import Archive
    from hp_archive.index.ingest import IngestStats

log = logging.getLogger(__name__)

CHUNK = 500
_HASHTAG = re.compile(r"#(\w+)", re.UNICODE)
DEFAULT_EVENT_KEY = "{account}"


# -- the pure part -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordFacts:
    """What the rules may look at (plain values)."""

    uid: str
    platform: str
    account: str
    capture_series: str
    kind: str
    author_is_agency: bool
    moderated: bool
    text: str

    @functools.cached_property
    def hashtags(self) -> set[str]:
        """The text's hashtags, lower-cased (computed once, however many rules ask)."""
        return hashtags(self.text)

    @functools.cached_property
    def words(self) -> list[str]:
        """The text's search tokens (computed once, however many rules ask)."""
        return tokens(self.text)


@dataclass(frozen=True)
class Classification:
    """A rule's verdict: the schedule item, which rule, and the event key (event-based items)."""

    item_number: str
    rule: str
    event_key: str | None


def hashtags(text: str) -> set[str]:
    return {tag.lower() for tag in _HASHTAG.findall(text)}


@functools.cache
def _phrase_tokens(phrase: str) -> tuple[str, ...]:
    return tuple(tokens(phrase))


def _has_phrase(words: list[str], phrase: str) -> bool:
    wanted = list(_phrase_tokens(phrase))
    if not wanted:
        return False
    size = len(wanted)
    return any(words[i : i + size] == wanted for i in range(len(words) - size + 1))


def matches(rule: Rule, facts: RecordFacts) -> bool:
    """Whether every condition the rule gives holds for the record."""
    when = rule.when
    if when.platform is not None and facts.platform not in when.platform:
        return False
    if when.account is not None and facts.account not in when.account:
        return False
    if when.capture_series is not None and facts.capture_series not in when.capture_series:
        return False
    if when.kind is not None and facts.kind not in when.kind:
        return False
    if when.author is not None and (when.author == "agency") != facts.author_is_agency:
        return False
    if when.moderated is not None and when.moderated != facts.moderated:
        return False
    if when.hashtags is not None and facts.hashtags.isdisjoint(when.hashtags):
        return False
    if when.keywords is not None:
        words = facts.words
        if not any(_has_phrase(words, keyword) for keyword in when.keywords):
            return False
    return True


def classify(schedule: Schedule, facts: RecordFacts) -> Classification | None:
    """The first rule matching the record, or None (unclassified: never eligible)."""
    for rule in schedule.rules:
        if matches(rule, facts):
            item = _items_of(schedule).get(rule.item)
            key = None
            if item is not None and item.event_based:
                template = rule.event_key or DEFAULT_EVENT_KEY
                key = template.format(
                    account=facts.account, platform=facts.platform, series=facts.capture_series
                )
            return Classification(rule.item, rule.id, key)
    return None


def local_midnight(day: date, timezone: str) -> datetime:
    """The first instant of ``day`` in ``timezone`` (aware)."""
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(timezone))


# -- the schedule an archive uses ----------------------------------------------------------------


def schedule_source(archive: Archive) -> ScheduleSource:
    """Where the archive's schedule file is (its home is the spool directory's parent)."""
    return locate_schedule(archive.environ, archive.spool_dir.parent)


def schedule_for(archive: Archive) -> Schedule:
    return schedule_at(schedule_source(archive))


# -- reading records from the index --------------------------------------------------------------


def _chunks(values: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def record_facts(session: Session, uids: Iterable[str]) -> dict[str, RecordFacts]:
    """The facts of each indexed item among ``uids``."""
    session.flush()
    bulk = BulkWriter(session)
    facts: dict[str, RecordFacts] = {}
    for chunk in _chunks(sorted(set(uids))):
        # plain SQL: this runs for every file a capture or reindex indexes, and compiling
        # a fresh IN (…) statement per chunk costs more than reading the rows
        rows = bulk.select(
            "SELECT i.id, i.uid, i.platform, i.account_id, i.series, i.kind, i.author_is_agency, "
            "i.is_hidden, v.text FROM items i LEFT JOIN item_versions v ON v.id = i.current_version_id "
            f"WHERE i.uid IN ({bulk.placeholders(len(chunk))})",
            chunk,
        )
        ids = [row[0] for row in rows if not row[7]]
        hidden_once: set[int] = set()
        for part in _chunks(ids):
            hidden_once.update(
                item_id
                for (item_id,) in bulk.select(
                    "SELECT DISTINCT item_id FROM change_events WHERE kind = 'hidden' "
                    f"AND item_id IN ({bulk.placeholders(len(part))})",
                    part,
                )
            )
        for pk, uid, platform, account, series, kind, agency, hidden, text in rows:
            facts[uid] = RecordFacts(
                uid=uid,
                platform=platform,
                account=account,
                capture_series=series,
                kind=kind,
                author_is_agency=bool(agency),
                moderated=bool(hidden) or pk in hidden_once,
                text=text or "",
            )
    return facts


class _Stored(NamedTuple):
    source: str
    item_number: str
    rule: str | None
    event_key: str | None
    schedule_digest: str


def _stored_verdicts(bulk: BulkWriter, uids: Sequence[str]) -> dict[str, _Stored]:
    found: dict[str, _Stored] = {}
    for chunk in _chunks(uids):
        for uid, *values in bulk.select(
            "SELECT uid, source, item_number, rule, event_key, schedule_digest FROM retention_classes "
            f"WHERE uid IN ({bulk.placeholders(len(chunk))})",
            chunk,
        ):
            found[uid] = _Stored(*values)
    return found


_CLASS_COLUMNS = (
    "uid", "item_number", "source", "rule", "event_key", "reason", "schedule_digest", "classified_at",
    "classified_by",
)  # fmt: skip


def apply_rules(
    session: Session,
    schedule: Schedule,
    uids: Iterable[str],
    *,
    at: datetime,
    actor: str,
) -> dict[str, int]:
    """Classify ``uids`` by the rules (manual classifications untouched); counts of what changed."""
    facts = record_facts(session, uids)
    bulk = BulkWriter(session)
    existing = _stored_verdicts(bulk, sorted(facts))
    digest = _digest(schedule)
    stamp = bulk.dt(at)
    inserts: list[tuple[Any, ...]] = []
    updates: list[tuple[Any, ...]] = []
    removed: list[str] = []
    for uid, fact in facts.items():
        row = existing.get(uid)
        if row is not None and row.source == "manual":
            continue
        verdict = classify(schedule, fact)
        if verdict is None:
            if row is not None:
                removed.append(uid)
            continue
        if row is None:
            inserts.append(
                (
                    uid,
                    verdict.item_number,
                    "rule",
                    verdict.rule,
                    verdict.event_key,
                    None,
                    digest,
                    stamp,
                    actor,
                )
            )
        elif (row.item_number, row.rule, row.event_key, row.schedule_digest) != (
            verdict.item_number,
            verdict.rule,
            verdict.event_key,
            digest,
        ):
            updates.append(
                (
                    verdict.item_number,
                    "rule",
                    verdict.rule,
                    verdict.event_key,
                    None,
                    digest,
                    stamp,
                    actor,
                    uid,
                )
            )
    for chunk in _chunks(removed):
        marks = ", ".join(bulk.mark for _ in chunk)
        bulk.conn.exec_driver_sql(f"DELETE FROM retention_classes WHERE uid IN ({marks})", tuple(chunk))
    bulk.insert("retention_classes", _CLASS_COLUMNS, inserts)
    if updates:
        sets = ", ".join(f'"{c}" = {bulk.mark}' for c in _CLASS_COLUMNS[1:])
        bulk.conn.exec_driver_sql(f"UPDATE retention_classes SET {sets} WHERE uid = {bulk.mark}", updates)
    if removed or updates:
        _expire_classes(session)
    return {"classified": len(inserts), "changed": len(updates), "unclassified": len(removed)}


def _expire_classes(session: Session) -> None:
    """Loaded classification objects are stale after plain-SQL writes: reload them on next use."""
    for obj in list(session.identity_map.values()):
        if isinstance(obj, m.RetentionClass):
            session.expire(obj)


_prepared: dict[int, tuple[Schedule, str, dict[str, ScheduleItem]]] = {}


def _prepare(schedule: Schedule) -> tuple[Schedule, str, dict[str, ScheduleItem]]:
    """The schedule's digest and items by number, once per schedule object (loaded schedules
    are not changed; :func:`~hp_archive.retention.schedule.schedule_at` reloads a changed file)."""
    cached = _prepared.get(id(schedule))
    if cached is None or cached[0] is not schedule:
        items: dict[str, ScheduleItem] = {}
        for item in schedule.items:
            items.setdefault(item.number, item)
        cached = (schedule, schedule.digest(), items)
        _prepared.clear()
        _prepared[id(schedule)] = cached
    return cached


def _digest(schedule: Schedule) -> str:
    return _prepare(schedule)[1]


def _items_of(schedule: Schedule) -> dict[str, ScheduleItem]:
    return _prepare(schedule)[2]


# -- the index hook ------------------------------------------------------------------------------


def on_indexed(archive: Archive, session: Session, stats: IngestStats) -> None:
    """Index hook: classify what the file observed, then lock the object until its earliest due date."""
    schedule = schedule_for(archive)
    uids = set(stats.uids)
    file_row = session.scalar(select(m.WarcFile).where(m.WarcFile.key == stats.key))
    if file_row is not None:
        uids |= _uids_judged_in(session, file_row.id)
    apply_rules(session, schedule, uids, at=archive.clock(), actor=archive.operator)
    if file_row is not None and not schedule.example:  # an example never locks real objects
        lock_object(archive, session, schedule, file_row, uids)


def _uids_judged_in(session: Session, file_id: int) -> set[str]:
    """Items a listing page of the file showed gone (their deletion is evidenced there)."""
    return set(
        session.scalars(
            select(m.Item.uid)
            .join(m.ChangeEvent, m.ChangeEvent.item_id == m.Item.id)
            .join(m.WarcRecord, m.WarcRecord.id == m.ChangeEvent.record_id)
            .where(m.WarcRecord.file_id == file_id, m.ChangeEvent.kind == "deleted-observed")
        )
    )


def lock_object(
    archive: Archive, session: Session, schedule: Schedule, file_row: m.WarcFile, uids: Iterable[str]
) -> datetime | None:
    """Set the object's retain-until to the earliest due date of the records in it (extend only)."""
    from hp_archive.retention.eligibility import record_states

    earliest: date | None = None
    events = event_dates(session)
    for state in record_states(session, uids).values():
        due = state.due_on(schedule, events, archive.timezone)
        if due is not None and (earliest is None or due < earliest):
            earliest = due
    if earliest is None:
        return None
    until = local_midnight(earliest, archive.timezone)
    if archive.store.object_lock_enabled:
        info = archive.store.head(file_row.key)
        if info is not None and info.retain_until is not None and info.retain_until >= until:
            until = info.retain_until  # only ever later: the store refuses to move it back
        else:
            try:
                archive.store.set_retain_until(file_row.key, until)
            except StorageError as exc:  # the lock is protection, not evidence: say so and go on
                log.warning("retain-until of %s not set: %s", file_row.key, exc)
    file_row.retain_until = until
    return until


def lock_file(
    archive: Archive, session: Session, schedule: Schedule, file_row: m.WarcFile
) -> datetime | None:
    """:func:`lock_object` for a file whose records are read back from it (every item it shows)."""
    if schedule.example:
        return None
    from hp_archive.retention.evidence import EvidenceReader

    [contents] = EvidenceReader(archive, session).read([file_row])
    uids = {uid for record in contents.records for uid in record.evidence}
    return lock_object(archive, session, schedule, file_row, uids)


def refresh_locks(archive: Archive, schedule: Schedule) -> int:
    """Extend every stored object's retain-until to the current schedule (after a reclassification)."""
    if schedule.example:
        return 0
    with archive.sessions() as session:
        ids = list(session.scalars(select(m.WarcFile.id).order_by(m.WarcFile.id)))
    changed = 0
    for file_id in ids:
        with transaction(archive.sessions) as session:
            row = session.get(m.WarcFile, file_id)
            if row is None:
                continue
            before = row.retain_until
            if lock_file(archive, session, schedule, row) != before:
                changed += 1
    return changed


def event_dates(session: Session) -> dict[tuple[str, str], date]:
    """Every recorded retention event: (name, key) -> the date it occurred."""
    return {
        (row.name, row.key): row.occurred_on
        for row in session.execute(
            select(m.RetentionEvent.name, m.RetentionEvent.key, m.RetentionEvent.occurred_on)
        )
    }


# -- the records officer's acts ------------------------------------------------------------------


def classify_record(
    archive: Archive,
    uid: str,
    reference: str,
    *,
    reason: str,
    actor: str | None = None,
    event_key: str | None = None,
) -> dict[str, Any]:
    """Classify one record under the item ``reference`` (its number or title), audited.

    The classification is ``manual``: rules never override it, and it survives reindex.
    """
    schedule = schedule_for(archive)
    reason = " ".join(reason.split())
    if not reason:
        raise ConfigError(f"reclassifying {uid} needs a reason: give --reason 'why'")
    item = schedule.item_for(reference)
    if item is None:
        numbers = ", ".join(i.number for i in schedule.items)
        raise ConfigError(
            f"schedule item {reference!r} is not in the retention schedule: use one of {numbers}"
        )
    who = actor or archive.operator
    at = archive.clock()
    with transaction(archive.sessions) as session:
        known = session.scalar(select(m.Item.uid).where(m.Item.uid == uid))
        if known is None:
            raise NotFoundError(f"item {uid!r} is not in the index: find ids with 'hp-archive search'")
        previous = session.get(m.RetentionClass, uid)
        before = (
            {"item_number": previous.item_number, "source": previous.source, "rule": previous.rule}
            if previous is not None
            else None
        )
        key = event_key
        if key is None and item.event_based:
            key = previous.event_key if previous is not None and previous.event_key else None
            if key is None:
                facts = record_facts(session, [uid])[uid]
                key = DEFAULT_EVENT_KEY.format(account=facts.account)
        if previous is None:
            previous = m.RetentionClass(uid=uid)
            session.add(previous)
        previous.item_number = item.number
        previous.source = "manual"
        previous.rule = None
        previous.event_key = key if item.event_based else None
        previous.reason = reason
        previous.schedule_digest = schedule.digest()
        previous.classified_at = at
        previous.classified_by = who
        seq = archive.record(
            "retention.classify",
            target=uid,
            actor=who,
            session=session,
            params={
                "item_number": item.number,
                "series_title": item.title,
                "event_key": previous.event_key,
                "reason": reason,
                "previous": before,
            },
        )
    archive.mirror_audit()
    return {
        "id": uid,
        "item_number": item.number,
        "series_title": item.title,
        "event_key": previous.event_key,
        "previous": before,
        "audit_seq": seq,
    }


def reclassify(archive: Archive, *, actor: str | None = None) -> dict[str, int]:
    """Re-apply the current schedule's rules to every indexed record (manual ones kept), audited."""
    schedule = schedule_for(archive)
    who = actor or archive.operator
    totals = {"records": 0, "classified": 0, "changed": 0, "unclassified": 0, "objects_relocked": 0}
    with transaction(archive.sessions) as session:
        uids = list(session.scalars(select(m.Item.uid).order_by(m.Item.uid)))
        at = archive.clock()
        for chunk in _chunks(uids, 5000):
            counts = apply_rules(session, schedule, chunk, at=at, actor=who)
            for name, value in counts.items():
                totals[name] += value
        totals["records"] = len(uids)
    totals["objects_relocked"] = refresh_locks(archive, schedule)
    with transaction(archive.sessions) as session:
        archive.record(
            "retention.reclassify",
            actor=who,
            session=session,
            params={**totals, "schedule": schedule.describe()},
        )
    archive.mirror_audit()
    return totals
