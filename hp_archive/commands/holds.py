"""``hp-archive hold create | list | show | release | sync``: matters and legal holds."""

from __future__ import annotations

import argparse
from typing import Any

from hp_archive.commands import common


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "hold", help="legal holds on matters", description="place, list, show and release legal holds"
    )
    sub = parser.add_subparsers(dest="hold_command", required=True, metavar="ACTION")
    p = common.add_command(
        sub,
        "create",
        cmd_hold_create,
        "hold what a query matches (now and in later captures) and named items",
    )
    p.add_argument("matter", metavar="MATTER", help="the matter's id, e.g. 2026-CV-0142 (created if new)")
    p.add_argument("--query", metavar="Q", help="a search query (see docs/query-language.md)")
    p.add_argument("--item", action="append", default=[], metavar="ID", help="an item id (repeatable)")
    p.add_argument("--reason", required=True, help="why the records are held (audited)")
    p.add_argument("--title", help="the matter's title, when the matter is new")
    p.add_argument("--by", metavar="NAME", help="who places the hold (default: HP_ARCHIVE_OPERATOR)")
    common.add_command(sub, "list", cmd_hold_list, "every hold, active and released")
    p = common.add_command(sub, "show", cmd_hold_show, "a matter's holds, held items and held objects")
    p.add_argument("matter", metavar="MATTER")
    p = common.add_command(sub, "release", cmd_hold_release, "release a matter's holds (audited)")
    p.add_argument("matter", metavar="MATTER")
    p.add_argument("--reason", required=True, help="why the hold ends (audited)")
    p.add_argument("--hold", type=int, metavar="N", help="release only this hold of the matter")
    p.add_argument("--by", metavar="NAME", help="who releases it (default: HP_ARCHIVE_OPERATOR)")
    common.add_command(
        sub, "sync", cmd_hold_sync, "recompute every stored object's legal-hold flag from the holds (repair)"
    )


def _print_outcome(data: dict[str, Any]) -> None:
    verb = "placed" if data["action"] == "create" else "released"
    holds = ", ".join(str(h) for h in data["holds"])
    by_basis = ", ".join(f"{k} {v}" for k, v in data["items_by_basis"].items()) or "none yet"
    print(f"matter {data['matter']}: hold {holds} {verb}; {data['items']} item(s) ({by_basis})")
    for date in data.get("dates", []):
        print(f"  {date['filter']} read in {date['timezone']}: {date['bound']} {date['local']}")
    label = "flagged" if data["action"] == "create" else "cleared"
    print(f"  stored objects {label}: {len(data['objects'])}")
    for key in data["objects"]:
        print(f"    {key}")
    if data["action"] == "release":
        print(f"  objects still under another hold: {data['objects_still_held']}")
    if not data["store_enforces_legal_hold"]:
        print(
            "  note: the object store has no Object Lock, so it cannot enforce the hold itself; "
            "the index still keeps held records out of disposal"
        )
    print(f"  audit entry {data['audit_seq']}")


def cmd_hold_create(args: argparse.Namespace) -> int:
    from hp_archive.ediscovery.holds import place_hold

    archive = common.open_archive()
    try:
        outcome = place_hold(
            archive,
            args.matter,
            reason=args.reason,
            query=args.query,
            items=args.item,
            actor=args.by,
            title=args.title,
        )
    finally:
        archive.close()
    if args.json:
        common.print_json(outcome.as_dict())
    else:
        _print_outcome(outcome.as_dict())
    return 0


def cmd_hold_list(args: argparse.Namespace) -> int:
    from hp_archive.ediscovery.holds import list_holds

    archive = common.open_archive()
    try:
        with archive.sessions() as session:
            holds = list_holds(session)
    finally:
        archive.close()
    if args.json:
        common.print_json({"holds": holds})
        return 0
    if not holds:
        print("no holds")
        return 0
    rows = [
        [
            h["matter"],
            str(h["hold"]),
            h["status"],
            str(h["items"]),
            h["created_at"][:19],
            h["created_by"],
            (h["query"] or "") + (f" +{len(h['explicit_items'])} item(s)" if h["explicit_items"] else ""),
        ]
        for h in holds
    ]
    print(common.table(rows, ["matter", "hold", "status", "items", "placed (UTC)", "by", "query"]))
    return 0


def cmd_hold_show(args: argparse.Namespace) -> int:
    from hp_archive.ediscovery.holds import show_matter

    archive = common.open_archive()
    try:
        with archive.sessions() as session:
            data = show_matter(session, args.matter)
    finally:
        archive.close()
    if args.json:
        common.print_json(data)
        return 0
    print(f"matter {data['matter']}" + (f": {data['title']}" if data["title"] else ""))
    for h in data["holds"]:
        print(
            f"  hold {h['hold']} [{h['status']}] placed {h['created_at']} by {h['created_by']}: {h['reason']}"
        )
        if h["query"]:
            print(f"    query: {h['query']}  (dates read in {h['timezone']})")
        if h["explicit_items"]:
            print(f"    items: {', '.join(h['explicit_items'])}")
        if h["released_at"]:
            print(f"    released {h['released_at']} by {h['released_by']}: {h['release_reason']}")
    held = [i for i in data["items"] if i["held"]]
    print(f"items held: {len(held)}")
    for item in held:
        print(
            f"  {item['id']}  {item['kind'] or '?'} [{item['status']}] {item['basis']} since {item['since']}"
        )
    print(f"stored objects: {len(data['objects'])}")
    for obj in data["objects"]:
        print(f"  {obj['key']}{'  (legal hold)' if obj['legal_hold'] else '  (NOT flagged: run hold sync)'}")
    return 0


def cmd_hold_release(args: argparse.Namespace) -> int:
    from hp_archive.ediscovery.holds import release_holds

    archive = common.open_archive()
    try:
        outcome = release_holds(archive, args.matter, reason=args.reason, actor=args.by, hold_id=args.hold)
    finally:
        archive.close()
    if args.json:
        common.print_json(outcome.as_dict())
    else:
        _print_outcome(outcome.as_dict())
    return 0


def cmd_hold_sync(args: argparse.Namespace) -> int:
    from hp_archive.ediscovery.holds import sync_object_flags

    archive = common.open_archive()
    try:
        result = sync_object_flags(archive)
    finally:
        archive.close()
    if args.json:
        common.print_json(result)
    else:
        print(
            f"{result['objects_held']} stored object(s) hold held records; "
            f"flagged {len(result['flagged'])}, cleared {len(result['cleared'])}"
        )
    return 0
