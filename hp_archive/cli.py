"""The ``hp-archive`` command: parse arguments, call a service function, print the result.

Every failure exits non-zero with one line a person can act on; ``--json`` output is stable.
Only this module (and the DAGs) read the real clock and the process environment.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from importlib import import_module
from pathlib import Path
from typing import Any

from hp_archive import __version__
from hp_archive.commands import common
from hp_archive.errors import ConfigError, HPArchiveError

log = logging.getLogger("hp_archive")

EXAMPLE_ACCOUNTS = """\
# Accounts hp-archive captures. Tokens are never written here: `token_env` names the
# environment variable (or Airflow connection) that holds each account's token.
#
# - id: hppd-facebook            # a-z, 0-9, '-' or '_'
#   platform: facebook           # see `hp-archive sources`
#   handle: "104857600000001"    # the page id, user name or URL on the platform
#   token_env: HP_FACEBOOK_TOKEN
#   series: social-media         # default record series of the account's captures
#   lookback_days: 30            # how far back comments are re-listed for edits and deletions
accounts: []
"""


class SecretFilter(logging.Filter):
    """Removes known secret values from every log message (belt and braces)."""

    def __init__(self, secrets: Sequence[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s and len(s) >= 6]

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            message = record.getMessage()
            for secret in self.secrets:
                message = message.replace(secret, "REDACTED")
            record.msg, record.args = message, ()
        return True


def _now() -> datetime:
    return common.now()


def _settings() -> Any:
    return common.settings()


def _open_archive(settings: Any) -> Any:
    return common.open_archive(settings)


_print_json = common.print_json
_table = common.table


# -- commands ------------------------------------------------------------------------------------


def cmd_init(args: argparse.Namespace) -> int:
    settings = _settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    archive = _open_archive(settings)
    archive.close()
    created = False
    if not settings.accounts_path.exists():
        settings.accounts_path.parent.mkdir(parents=True, exist_ok=True)
        settings.accounts_path.write_text(EXAMPLE_ACCOUNTS, encoding="utf-8")
        created = True
    from hp_archive.index.db import make_engine, safe_url

    info = {
        "home": str(settings.home),
        "store": settings.storage_url,
        "database": safe_url(make_engine(settings.database_url)),
        "accounts": str(settings.accounts_path),
        "accounts_created": created,
    }
    if args.json:
        _print_json(info)
    else:
        for key, value in info.items():
            print(f"{key:17} {value}")
    return 0


def cmd_sources(args: argparse.Namespace) -> int:
    from hp_archive.sources import platform_names, source_class

    entries = [source_class(name).describe() for name in platform_names()]
    if args.json:
        _print_json({"sources": entries})
    else:
        print(
            _table(
                [[e["platform"], e["title"], e["api"]] for e in entries],
                ["platform", "title", "api"],
            )
        )
    return 0


_parse_time = common.parse_time


def cmd_capture(args: argparse.Namespace) -> int:
    from hp_archive.capture import capture_accounts
    from hp_archive.settings import load_accounts

    settings = _settings()
    archive = _open_archive(settings)  # a wrong store or database URL is reported first
    archive.close()
    accounts = load_accounts(settings.accounts_path)
    if args.account:
        known = {a.id for a in accounts}
        missing = [a for a in args.account if a not in known]
        if missing:
            raise ConfigError(f"account(s) {', '.join(missing)} not in {settings.accounts_path}")
        accounts = [a for a in accounts if a.id in args.account]
    if not accounts:
        raise ConfigError(f"no accounts to capture: add them to {settings.accounts_path}")
    _install_secret_filter([a.token_key for a in accounts])
    window_end = _parse_time(args.window_end, "--window-end") or _now()
    window_start = _parse_time(args.window_start, "--window-start")
    archive = _open_archive(settings)
    try:
        results = capture_accounts(archive, accounts, window_end=window_end, window_start=window_start)
    finally:
        archive.close()
    if args.json:
        _print_json({"runs": [r.as_dict() for r in results]})
    else:
        print(completeness_table([r.as_dict() for r in results]))
        for r in results:
            if r.error:
                print(f"{r.account_id}: {r.error}", file=sys.stderr)
    return 0 if all(r.outcome == "complete" for r in results) else 1


def completeness_table(runs: list[dict[str, Any]]) -> str:
    """Per account: outcome, listings, listed vs archived, media, failures, events."""
    rows = []
    for run in runs:
        listed, archived = run.get("listed", {}), run.get("archived", {})
        kinds = ("post", "comment", "reply", "media")
        rows.append(
            [
                run["account"],
                run["platform"],
                (run["outcome"] or "-") + (" (already captured)" if run.get("already_done") else ""),
                f"{run.get('listings_complete') or 0}/{run.get('listings_total') or 0}",
                " ".join(f"{k[0]}{listed.get(k, 0)}/{archived.get(k, 0)}" for k in kinds),
                str(sum((run.get("media") or {}).get(k, 0) for k in ("downloaded", "revisit"))),
                str(len(run.get("failures") or [])),
                " ".join(f"{k}={v}" for k, v in sorted((run.get("events") or {}).items())) or "-",
            ]
        )
    headers = [
        "account",
        "platform",
        "outcome",
        "listings",
        "listed/archived",
        "media",
        "failures",
        "events",
    ]
    return _table(rows, headers) + "\n(listed/archived: p=posts c=comments r=replies m=media)"


def cmd_reindex(args: argparse.Namespace) -> int:
    from hp_archive.index.reindex import default_workers, reindex

    archive = _open_archive(_settings())
    try:
        stats = reindex(archive, workers=args.workers or default_workers())
    finally:
        archive.close()
    data = {
        "files": stats.files,
        "records": stats.records,
        "items": stats.items,
        "versions": stats.versions,
        "events": dict(sorted(stats.events.items())),
    }
    if args.json:
        _print_json(data)
    else:
        print(
            f"re-indexed {stats.files} WARC files, {stats.records} records: {stats.items} items, "
            f"{stats.versions} versions, events {data['events']}"
        )
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from hp_archive.index.search import search

    archive = _open_archive(_settings())
    try:
        with archive.sessions() as session:
            results = search(
                session, args.query, limit=args.limit, offset=args.offset, timezone=archive.timezone
            )
        archive.record("search", params={"query": args.query, "total": results.total})
    finally:
        archive.close()
    if args.json:
        _print_json(results.as_dict())
        return 0
    scope = "current versions" if results.current_only else "every version"
    print(f"{results.total} item(s) match {results.query}  (searched {scope})")
    for date in results.dates:
        print(f"  {date['filter']} read in {date['timezone']}: {date['bound']} {date['local']}")
    for r in results.results:
        held = ", ".join(sorted({h["matter"] for h in r["holds"]}))
        print(
            f"\n{r['id']}  [{r['status']}] {r['kind']} by {r['author'] or '?'} on {r['platform']} "
            f"({r['account']}), created {r['created_at'] or '?'}" + (f"  HELD: {held}" if held else "")
        )
        for ancestor in r["thread"]:
            print(f"    in {ancestor['kind'] or '?'} {ancestor['id']}: {(ancestor.get('text') or '')[:80]!r}")
        matched = r["matched_versions"]
        if matched and matched != [r["versions"]]:
            print(f"    matched in version(s) {', '.join(map(str, matched))} of {r['versions']}")
        print(f"    {r['snippet']}")
        if r["events"]:
            print("    events: " + ", ".join(f"{e['kind']} {e['observed_at'][:10]}" for e in r["events"]))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from hp_archive.index.search import show_item

    archive = _open_archive(_settings())
    try:
        with archive.sessions() as session:
            data = show_item(session, args.item)
    finally:
        archive.close()
    if not args.versions:
        data = {**data, "versions": data["versions"][-1:]}
    if args.json:
        _print_json(data)
        return 0
    for ancestor in data["thread"]:
        print(f"  ↳ in {ancestor['id']} [{ancestor.get('status')}] {(ancestor.get('text') or '')[:100]!r}")
    print(f"{data['id']}  [{data['status']}] {data['kind']} by {data['author']} created {data['created_at']}")
    print(f"  first captured {data['first_captured_at']}, last seen {data['last_seen_at']}")
    for hold in data["holds"]:
        print(
            f"  HELD for matter {hold['matter']} (hold {hold['hold']}, {hold['basis']}) since {hold['since']}"
        )
    print(f"  {data['text']}")
    print("versions:")
    for v in data["versions"]:
        ev = v["evidence"]
        print(
            f"  v{v['version']} observed {v['observed_at']}  "
            f"{ev['warc']} @ {ev['offset']} ({ev['record_id']})"
        )
        print(f"     {v['text']!r}")
    print("events:")
    for e in data["events"]:
        print(f"  {e['observed_at']}  {e['kind']}")
    if data["replies"]:
        print(f"replies ({len(data['replies'])}):")
        for child in data["replies"]:
            print(f"  {child['id']} [{child['status']}] {child['author']}: {child['text'][:80]!r}")
    return 0


def cmd_audit_verify(args: argparse.Namespace) -> int:
    from hp_archive.audit import verify_against_mirror, verify_chain

    archive = _open_archive(_settings())
    try:
        with archive.sessions() as session:
            problems = verify_chain(session) + verify_against_mirror(session, archive.store)
            from sqlalchemy import func, select

            from hp_archive.index.models import AuditEntry

            total = session.scalar(select(func.count()).select_from(AuditEntry)) or 0
    finally:
        archive.close()
    if args.json:
        _print_json({"entries": total, "ok": not problems, "problems": [str(p) for p in problems]})
    elif problems:
        for problem in problems:
            print(f"audit: {problem}", file=sys.stderr)
    else:
        print(f"audit log verified: {total} entries, hash chain and signed mirrors intact")
    return 0 if not problems else 1


def cmd_fixity(args: argparse.Namespace) -> int:
    from hp_archive.fixity import check_fixity

    archive = _open_archive(_settings())
    try:
        report = check_fixity(
            archive,
            as_of=_now(),
            sample=args.sample,
            period_days=args.period_days,
            interval_days=args.interval_days,
        )
    finally:
        archive.close()
    if args.json:
        _print_json(report.as_dict())
    else:
        print(
            f"fixity: checked {report.checked} of {report.total_objects} stored WARC objects "
            f"({report.bytes_read} bytes); {len(report.problems)} problem(s); audit entry {report.audit_seq}"
        )
    for problem in report.problems:
        print(f"fixity: {problem}", file=sys.stderr)
    return 0 if report.ok else 1


def cmd_simulate(args: argparse.Namespace) -> int:
    """Serve the simulated department until interrupted; write its accounts and token files."""
    import signal
    import threading

    import yaml

    from hp_archive.sources.simulators.world import SimulatedDepartment

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    ports = {}
    if args.base_port:
        from hp_archive.sources.simulators import simulator_platforms

        ports = {name: args.base_port + i for i, name in enumerate(simulator_platforms())}
    with SimulatedDepartment(ports=ports) as dept:
        accounts = [
            {k: v for k, v in vars(a).items() if v not in (None, {}, "") and k != "options"}
            for a in dept.accounts
        ]
        args.accounts.parent.mkdir(parents=True, exist_ok=True)
        args.accounts.write_text(
            "# written by 'hp-archive simulate': accounts pointing at the local platform simulators\n"
            + yaml.safe_dump({"accounts": accounts}, sort_keys=False),
            encoding="utf-8",
        )
        fd = os.open(args.env_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            for name, value in sorted(dept.environ.items()):
                fh.write(f"export {name}={value}\n")
        print(
            f"simulating {len(accounts)} platform(s); accounts in {args.accounts}, tokens in {args.env_file}"
        )
        print("press Ctrl-C to stop")
        try:
            while not stop.wait(timeout=args.night_seconds or None):
                if args.night_seconds:
                    dept.advance()
        except KeyboardInterrupt:
            pass
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from hp_archive.demo import run_demo

    settings = _settings()
    return run_demo(settings, nights=args.nights, json_output=args.json)


def _install_secret_filter(token_envs: Sequence[str | None]) -> None:
    secrets = [os.environ.get(name, "") for name in token_envs if name]
    secret_filter = SecretFilter(secrets)
    for handler in logging.getLogger().handlers:
        handler.addFilter(secret_filter)


# -- parser --------------------------------------------------------------------------------------


# Modules with a register(subparsers) function adding a group of commands.
COMMAND_GROUPS: tuple[str, ...] = (
    "hp_archive.commands.holds",
    "hp_archive.commands.importer",
    "hp_archive.commands.export",
    "hp_archive.commands.retention",
    "hp_archive.commands.disposal",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hp-archive",
        description="Records-grade archive of the department's social media and web pages.",
    )
    parser.add_argument("--version", action="version", version=f"hp-archive {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(
        name: str, func: Callable[[argparse.Namespace], int], help_text: str, json_flag: bool = True
    ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(func=func)
        if json_flag:
            p.add_argument("--json", action="store_true", help="machine-readable output")
        return p

    for group in COMMAND_GROUPS:
        import_module(group).register(sub)

    add("init", cmd_init, "create config, database and object store layout")
    p = add("capture", cmd_capture, "capture now (what the nightly DAG runs per account)")
    p.add_argument("--account", action="append", metavar="ID", help="only this account (repeatable)")
    p.add_argument(
        "--window-start",
        metavar="TIME",
        help="start of the capture window (ISO-8601, for schedulers)",
    )
    p.add_argument("--window-end", metavar="TIME", help="end of the capture window (default: now)")
    p = add("reindex", cmd_reindex, "rebuild the derived index from the stored WARCs")
    p.add_argument(
        "--workers", type=int, default=0, metavar="N", help="processes parsing WARCs (default: one per CPU)"
    )
    add("sources", cmd_sources, "the platforms this build can capture")
    p = add("search", cmd_search, "search every version of every item (docs/query-language.md)")
    p.add_argument("query")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--offset", type=int, default=0)
    p = add("show", cmd_show, "an item with its thread, versions and change events")
    p.add_argument("item", metavar="ITEM")
    p.add_argument("--versions", action="store_true", help="list every version, not only the current one")
    audit_parser = sub.add_parser("audit", help="the append-only, hash-chained audit log")
    audit_sub = audit_parser.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    p = audit_sub.add_parser("verify", help="walk the hash chain and compare it with its signed mirrors")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_audit_verify)
    p = add("fixity", cmd_fixity, "re-hash stored objects against their recorded SHA-256 (audited)")
    p.add_argument("--sample", type=int, metavar="N", help="check only N objects (rotating with the date)")
    p.add_argument(
        "--period-days", type=int, metavar="D", help="check this run's slice so all are read every D days"
    )
    p.add_argument("--interval-days", type=int, default=7, metavar="I", help="days between runs (default 7)")
    p = add(
        "simulate", cmd_simulate, "serve the platform simulators (for 'make airflow' and trying things out)"
    )
    p.add_argument("--accounts", type=Path, default=Path("hp-archive-data/simulated-accounts.yaml"))
    p.add_argument("--env-file", type=Path, default=Path("hp-archive-data/simulated-tokens.env"))
    p.add_argument("--base-port", type=int, default=18100, help="first loopback port (0 = any free ports)")
    p.add_argument("--night-seconds", type=float, default=0, help="advance the scenario every N seconds")
    p = add("demo", cmd_demo, "the whole pipeline against the local platform simulators")
    p.add_argument("--nights", type=int, default=3, help="simulated nights to capture (default 3)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        code: int = args.func(args)
        return code
    except HPArchiveError as exc:
        print(f"hp-archive: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("hp-archive: interrupted; re-run the same command to resume", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug: still one line, with the way to see more
        if args.verbose:
            raise
        print(
            f"hp-archive: internal error: {type(exc).__name__}: {' '.join(str(exc).split())[:300]} "
            "(re-run with -v for the traceback and report it)",
            file=sys.stderr,
        )
        return 70


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
