"""``hp-archive demo``: the whole pipeline against the local platform simulators.

A sample department page is served on loopback; three simulated nights are captured with edits,
hides and deletions between them; then the demo prints what it captured, the change events it
found, and where the WARCs and the database are. It runs in ``<HP_ARCHIVE_HOME>/demo`` on the
embedded defaults (local directory store + SQLite) and starts afresh each time.
"""

from __future__ import annotations

import json
import logging
import shutil
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from hp_archive.archive import Archive
from hp_archive.capture import RunResult, capture_accounts
from hp_archive.settings import Settings
from hp_archive.sources.simulators.world import SimulatedDepartment
from hp_archive.warc.naming import WARC_PREFIX
from hp_archive.warc.reader import iter_records


class SimulatedClock:
    """The night's capture time plus the real time elapsed since the night began."""

    def __init__(self, start: datetime) -> None:
        self._base = start
        self._t0 = time.monotonic()

    def set(self, moment: datetime) -> None:
        self._base = moment
        self._t0 = time.monotonic()

    def __call__(self) -> datetime:
        return self._base + timedelta(seconds=time.monotonic() - self._t0)


@dataclass
class DemoSummary:
    """What the demo shows (also its ``--json`` output)."""

    home: str
    store: str
    database: str
    nights: list[dict[str, Any]] = field(default_factory=list)
    events: Counter[str] = field(default_factory=Counter)
    warc_files: int = 0
    warc_records: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "home": self.home,
            "store": self.store,
            "database": self.database,
            "nights": self.nights,
            "events": dict(sorted(self.events.items())),
            "warc_files": self.warc_files,
            "warc_records": self.warc_records,
            "seconds": round(self.seconds, 2),
        }


def demo_settings(base: Settings) -> Settings:
    """The demo's own embedded layout under ``<home>/demo``."""
    home = base.home / "demo"
    return Settings(
        home=home,
        storage_url=(home / "store").as_uri(),
        database_url=f"sqlite:///{home / 'index.sqlite'}",
        accounts_path=home / "accounts.yaml",
        operator=base.operator,
        timezone=base.timezone,
    )


def run_demo_capture(
    settings: Settings,
    *,
    nights: int = 3,
    posts: int = 36,
    comments_per_post: int = 8,
    platforms: list[str] | None = None,
) -> DemoSummary:
    """Serve the sample department on every platform, capture ``nights`` nights, verify every WARC."""
    started = time.monotonic()
    if settings.home.exists():
        shutil.rmtree(settings.home)
    settings.home.mkdir(parents=True)
    summary = DemoSummary(home=str(settings.home), store=settings.storage_url, database=settings.database_url)
    with SimulatedDepartment(platforms=platforms, posts=posts, comments_per_post=comments_per_post) as dept:
        clock = SimulatedClock(dept.now())
        archive = Archive.open(settings, clock=clock, environ=dept.environ, sleep=lambda _s: None)
        try:
            for night in range(nights):
                changes = dept.advance() if night else {}
                clock.set(dept.now())
                for result in capture_accounts(archive, dept.accounts, window_end=dept.now()):
                    summary.nights.append(_night(night, dept.now(), changes.get(result.platform, []), result))
                    summary.events.update(result.events)
            for info in archive.store.list(WARC_PREFIX + "/"):
                summary.warc_files += 1
                with archive.store.open(info.key) as stream:
                    summary.warc_records += sum(1 for _ in iter_records(stream, check_digests=True))
        finally:
            archive.close()
    summary.seconds = time.monotonic() - started
    return summary


def _night(night: int, when: datetime, changes: list[str], result: RunResult) -> dict[str, Any]:
    data = result.as_dict()
    return {
        "night": night + 1,
        "account": data["account"],
        "platform": data["platform"],
        "captured_at": when.isoformat(),
        "scenario_changes": changes,
        "outcome": data["outcome"],
        "error": data["error"],
        "listed": data["listed"],
        "archived": data["archived"],
        "media": data["media"],
        "events": data["events"],
        "files": [f["key"] for f in data["files"]],
        "failures": data["failures"],
    }


def run_demo(base: Settings, *, nights: int = 3, json_output: bool = False) -> int:
    """The CLI entry: run the demo and print its summary."""
    settings = demo_settings(base)
    logging.getLogger("hp_archive").setLevel(logging.WARNING)
    summary = run_demo_capture(settings, nights=nights)
    if json_output:
        json.dump(summary.as_dict(), sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        _print(summary)
    ok = all(n["outcome"] == "complete" for n in summary.nights)
    return 0 if ok else 1


def _print(summary: DemoSummary) -> None:
    print("hp-archive demo: a sample department served by local simulators of each platform's API\n")
    for night in summary.nights:
        listed, archived = night["listed"], night["archived"]
        print(f"night {night['night']} {night['account']} ({night['platform']}): {night['outcome']}")
        changes = night["scenario_changes"]
        if changes:
            print(
                f"  changes since last night: {len(changes)} "
                f"({'; '.join(changes[:3])}{' …' if len(changes) > 3 else ''})"
            )
        print(
            "  listed/archived: "
            + ", ".join(
                f"{label} {listed.get(kind, 0)}/{archived.get(kind, 0)}"
                for kind, label in (
                    ("post", "posts"),
                    ("comment", "comments"),
                    ("reply", "replies"),
                    ("media", "media"),
                )
            )
        )
        media = night["media"]
        print(
            f"  media: {media.get('downloaded', 0)} downloaded, "
            f"{media.get('already_archived', 0)} already archived, "
            f"{media.get('revisit', 0)} unchanged (revisit)"
        )
        print(
            "  change events: "
            + (", ".join(f"{k} {v}" for k, v in sorted(night["events"].items())) or "none")
        )
        if night["error"]:
            print(f"  error: {night['error']}")
        for failure in night["failures"]:
            print(f"  failure: {failure['what']}: {failure['reason']}")
    print(
        "\nchange events over all nights: " + ", ".join(f"{k} {v}" for k, v in sorted(summary.events.items()))
    )
    print(f"WARC files: {summary.warc_files} ({summary.warc_records} records, every digest verified)")
    print(f"object store: {summary.store}")
    print(f"index:        {summary.database}")
    print(f"took {summary.seconds:.1f}s\n")
    print("try:")
    print(f"  HP_ARCHIVE_HOME={summary.home} hp-archive search 'speeding'")
    print(f"  HP_ARCHIVE_HOME={summary.home} hp-archive search --json 'never mind'")
    print(f"  HP_ARCHIVE_HOME={summary.home} hp-archive show <ITEM-ID> --versions")
