"""``hp-archive retention check | eligible | classify | reclassify | event add | event list | schema``."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from hp_archive.commands import common


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "retention",
        help="retention schedules, classification and eligibility",
        description="the retention schedule, how records are classified under it, and what is due",
    )
    sub = parser.add_subparsers(dest="retention_command", required=True, metavar="ACTION")
    p = common.add_command(sub, "check", cmd_check, "validate a schedule file (default: the one in use)")
    p.add_argument("file", nargs="?", type=Path, metavar="FILE")
    p = common.add_command(
        sub, "eligible", cmd_eligible, "what is eligible for disposal, and why the rest is not"
    )
    p.add_argument("--as-of", metavar="DATE", help="the date to judge (YYYY-MM-DD; default today)")
    p.add_argument("--series", metavar="ITEM", help="only this schedule item (its number)")
    p.add_argument("--records", action="store_true", help="also list each eligible record")
    p = common.add_command(sub, "classify", cmd_classify, "classify a record under a schedule item (audited)")
    p.add_argument("item", metavar="ITEM", help="the record's id, e.g. facebook:1017_1042")
    p.add_argument("--series", required=True, metavar="ITEM_NUMBER", help="the schedule item number")
    p.add_argument("--reason", required=True, help="why (audited)")
    p.add_argument("--key", metavar="KEY", help="for event-based items: the event key (e.g. the case)")
    p.add_argument("--by", metavar="NAME", help="who classifies (default: HP_ARCHIVE_OPERATOR)")
    common.add_command(
        sub, "reclassify", cmd_reclassify, "re-apply the schedule's rules to every record (manual ones kept)"
    )
    common.add_command(sub, "schema", cmd_schema, "print the schedule file's JSON Schema", json_flag=False)
    events = sub.add_parser("event", help="events that start event-based retention")
    events_sub = events.add_subparsers(dest="event_command", required=True, metavar="ACTION")
    p = common.add_command(events_sub, "add", cmd_event_add, "record an event, e.g. case-closed (audited)")
    p.add_argument("name", metavar="NAME", help="the event, as the schedule names it (e.g. case-closed)")
    p.add_argument("--key", required=True, help="what it applies to (e.g. the investigative account's id)")
    p.add_argument("--date", required=True, metavar="DATE", help="when it happened (YYYY-MM-DD)")
    p.add_argument("--note", default="", help="a note kept with the event")
    p.add_argument("--by", metavar="NAME", help="who records it (default: HP_ARCHIVE_OPERATOR)")
    common.add_command(events_sub, "list", cmd_event_list, "every recorded event")


def _warn(source: Any) -> None:
    if source.warning:
        print(f"hp-archive: warning: {source.warning}", file=sys.stderr)


def cmd_check(args: argparse.Namespace) -> int:
    from hp_archive.retention.schedule import locate_schedule, parse_schedule

    settings = common.settings()
    source = None
    path = args.file
    if path is None:
        source = locate_schedule(os.environ, settings.home)
        path = source.path
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        from hp_archive.errors import ConfigError

        raise ConfigError(f"retention schedule {path} cannot be read: {exc.strerror or exc}") from None
    schedule, problems = parse_schedule(text, origin=f"retention schedule {path}")
    stale = 0
    if schedule is not None and args.file is None:
        stale = _stale_classifications(schedule.digest())
    data: dict[str, Any] = {
        "file": str(path),
        "ok": schedule is not None,
        "problems": [str(p) for p in problems],
        "example": bool(schedule and schedule.example) or bool(source and source.fallback),
        "items": [item.number for item in schedule.items] if schedule else [],
        "rules": [rule.id for rule in schedule.rules] if schedule else [],
        "classified_under_another_schedule": stale,
    }
    if args.json:
        common.print_json(data)
    elif schedule is None:
        for problem in problems:
            print(f"retention schedule {path}: {problem}", file=sys.stderr)
    else:
        print(
            f"retention schedule {path}: valid — {schedule.agency.name}, application "
            f"{schedule.application_number} ({schedule.commission_name}), {len(schedule.items)} items, "
            f"{len(schedule.rules)} rules, waiting period {schedule.waiting_period_days} days"
        )
        for item in schedule.items:
            print(f"  {item.number:10} {item.title} — {item.retention_text()}, {item.disposition}")
        if schedule.example:
            print("  EXAMPLE: replace it with the approved application's items and set example: false")
        if stale:
            print(
                f"  {stale} record(s) were classified under another schedule: "
                "run 'hp-archive retention reclassify'"
            )
    if source is not None:
        _warn(source)
    return 0 if schedule is not None else 1


def _stale_classifications(digest: str) -> int:
    from sqlalchemy import func, select

    from hp_archive.index.models import RetentionClass

    archive = common.open_archive()
    try:
        with archive.sessions() as session:
            return (
                session.scalar(
                    select(func.count())
                    .select_from(RetentionClass)
                    .where(RetentionClass.schedule_digest != digest, RetentionClass.source == "rule")
                )
                or 0
            )
    finally:
        archive.close()


def cmd_eligible(args: argparse.Namespace) -> int:
    from hp_archive.errors import ConfigError
    from hp_archive.retention.classify import schedule_for, schedule_source
    from hp_archive.retention.eligibility import eligibility
    from hp_archive.retention.rows import local_day

    archive = common.open_archive()
    try:
        as_of = common.parse_date(args.as_of, "--as-of") or local_day(common.now(), archive.timezone)
        schedule = schedule_for(archive)
        number = None
        if args.series:
            item = schedule.item_for(args.series)
            if item is None:
                raise ConfigError(f"schedule item {args.series!r} is not in the retention schedule")
            number = item.number
        with archive.sessions() as session:
            report = eligibility(
                session, schedule, as_of=as_of, timezone=archive.timezone, item_number=number
            )
        source = schedule_source(archive)
    finally:
        archive.close()
    data = report.as_dict()
    if args.json:
        common.print_json(data)
        _warn(source)
        return 0
    print(f"eligible for disposal as of {data['as_of']} ({data['timezone']}): {data['eligible']} record(s)")
    rows = [
        [g["item_number"], g["series_title"], str(g["quantity"]), f"{(g['first_date'] or '')[:10]} to "
         f"{(g['last_date'] or '')[:10]}", g["retention"]]
        for g in data["items"]
    ]  # fmt: skip
    if rows:
        print(common.table(rows, ["item", "series title", "records", "inclusive dates", "retention"]))
    if args.records:
        for group in data["items"]:
            for uid in group["records"]:
                print(f"  eligible  {group['item_number']:8} {uid}")
    excluded = data["excluded_records"]
    print(f"\nnot eligible: {len(excluded)} record(s) " + json.dumps(data["excluded"]))
    for record in excluded:
        reasons = "; ".join(r["text"] for r in record["reasons"])
        print(
            f"  {record['reasons'][0]['code']:20} {record['item_number'] or '-':8} {record['id']}  {reasons}"
        )
    _warn(source)
    return 0


def cmd_classify(args: argparse.Namespace) -> int:
    from hp_archive.retention.classify import classify_record, schedule_source

    archive = common.open_archive()
    try:
        result = classify_record(
            archive, args.item, args.series, reason=args.reason, actor=args.by, event_key=args.key
        )
        source = schedule_source(archive)
    finally:
        archive.close()
    if args.json:
        common.print_json(result)
    else:
        before = result["previous"]["item_number"] if result["previous"] else "unclassified"
        print(
            f"{result['id']}: classified under item {result['item_number']} ({result['series_title']}), "
            f"was {before}; audit entry {result['audit_seq']}"
        )
    _warn(source)
    return 0


def cmd_reclassify(args: argparse.Namespace) -> int:
    from hp_archive.retention.classify import reclassify, schedule_source

    archive = common.open_archive()
    try:
        totals = reclassify(archive)
        source = schedule_source(archive)
    finally:
        archive.close()
    if args.json:
        common.print_json(totals)
    else:
        print(
            f"re-applied the rules to {totals['records']} record(s): "
            f"{totals['classified']} newly classified, "
            f"{totals['changed']} changed, {totals['unclassified']} no longer matching any rule"
        )
    _warn(source)
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    from hp_archive.retention.schedule import json_schema

    common.print_json(json_schema())
    return 0


def cmd_event_add(args: argparse.Namespace) -> int:
    from hp_archive.retention.events import record_event

    on = common.parse_date(args.date, "--date")
    assert on is not None
    archive = common.open_archive()
    try:
        result = record_event(
            archive, args.name, key=args.key, on=on, now=common.now(), actor=args.by, note=args.note
        )
    finally:
        archive.close()
    if args.json:
        common.print_json(result)
    else:
        print(
            f"event {result['name']} for {result['key']} recorded on {result['occurred_on']}: "
            f"{result['records']} record(s) now have a due date; audit entry {result['audit_seq']}"
        )
    return 0


def cmd_event_list(args: argparse.Namespace) -> int:
    from hp_archive.retention.events import list_events

    archive = common.open_archive()
    try:
        events = list_events(archive)
    finally:
        archive.close()
    if args.json:
        common.print_json({"events": events})
    else:
        rows = [[e["name"], e["key"], e["occurred_on"], e["recorded_by"], e["note"]] for e in events]
        print(
            common.table(rows, ["event", "key", "date", "recorded by", "note"])
            if rows
            else "no events recorded"
        )
    return 0
