"""What every command shares. Only entry points read the real clock (DESIGN invariant 7)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from hp_archive.archive import Archive, system_clock
from hp_archive.errors import ConfigError
from hp_archive.settings import Settings

Command = Callable[[argparse.Namespace], int]


def now() -> datetime:
    """The real clock (aware UTC)."""
    return system_clock()


def settings() -> Settings:
    return Settings.from_env()


def open_archive(config: Settings | None = None) -> Archive:
    """The archive named by the environment, schema migrated, with the real clock."""
    return Archive.open(config or settings(), clock=now)


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write("\n")


def table(rows: list[list[str]], headers: list[str]) -> str:
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(str(c))) for w, c in zip(widths, row, strict=True)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines.extend("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows)
    return "\n".join(lines)


def parse_time(value: str | None, name: str) -> datetime | None:
    """An aware ISO-8601 time from the command line (or None)."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(
            f"{name} {value!r} is not an ISO-8601 time like 2026-11-25T08:00:00+00:00"
        ) from None
    if parsed.tzinfo is None:
        raise ConfigError(f"{name} {value!r} has no time zone: add Z or an offset such as -06:00")
    return parsed.astimezone(UTC)


def parse_date(value: str | None, name: str) -> date | None:
    """A calendar date ``YYYY-MM-DD`` from the command line (or None)."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"{name} {value!r} is not a date like 2026-11-25") from None


def add_command(
    subparsers: Any, name: str, func: Command, help_text: str, *, json_flag: bool = True
) -> argparse.ArgumentParser:
    """Add one sub-command with the shared ``--json`` flag."""
    parser: argparse.ArgumentParser = subparsers.add_parser(name, help=help_text, description=help_text)
    parser.set_defaults(func=func)
    if json_flag:
        parser.add_argument("--json", action="store_true", help="machine-readable output")
    return parser
