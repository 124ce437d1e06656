"""``make bench``: every benchmark module present, one table, and a JSON file per run.

Runs this issue's modules (reindex, capture_write, incremental, memory) and, when they exist,
the other suites (search, export, disposal): a module with ``run(...)`` returning rows is called
in process; one without is run as ``python -m benchmarks.<name>`` and its output is kept. Results
go to ``benchmarks/results/<timestamp>.json`` and ``benchmarks/results/latest.json`` with the
machine description.

    python -m benchmarks.run [--records 100000] [--pg URL] [--only reindex,capture_write]
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import subprocess
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.common import Row, machine

RESULTS = Path(__file__).parent / "results"
OURS = ("reindex", "capture_write", "incremental", "memory")
OTHERS = ("search", "export", "disposal")
HEADERS = [
    "operation",
    "records",
    "records/s",
    "MB/s",
    "peak RSS MB",
    "CPU s",
    "ratio to peer",
    "goal met",
    "note",
]


def print_rows(rows: list[Row]) -> None:
    """The table the issue asks for."""
    table = [
        [
            r.operation,
            str(r.records),
            f"{r.records_per_s:,.0f}",
            f"{r.mb_per_s:,.1f}",
            f"{r.peak_rss_mb:,.0f}",
            "" if r.cpu_seconds is None else f"{r.cpu_seconds:,.1f}",
            "" if r.ratio is None else f"{r.ratio:g}x {r.peer}".strip(),
            "" if r.met is None else ("yes" if r.met else "NO"),
            r.note,
        ]
        for r in rows
    ]
    widths = [
        max(len(h), *(len(row[i]) for row in table)) if table else len(h) for i, h in enumerate(HEADERS)
    ]
    print("  ".join(h.ljust(w) for h, w in zip(HEADERS, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in table:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))


def _keep_earlier(document: dict[str, Any], wanted: list[str]) -> None:
    """With ``--only``, keep the latest figures of the suites not run this time (each row says when)."""
    try:
        earlier = json.loads((RESULTS / "latest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    kept = [row for row in earlier.get("rows", []) if row.get("suite") not in wanted]
    document["rows"] = kept + document["rows"]
    for name, value in earlier.get("other_suites", {}).items():
        document["other_suites"].setdefault(name, value)
    document.setdefault("earlier_machines", []).append(
        {"at": earlier.get("at"), **earlier.get("machine", {})}
    )


def _call(name: str, args: argparse.Namespace) -> list[Row]:
    module = importlib.import_module(f"benchmarks.{name}")
    if name == "reindex":
        return module.run(args.records, args.pg)  # type: ignore[no-any-return]
    if name == "capture_write":
        return module.run(min(args.records, 50_000))  # type: ignore[no-any-return]
    return module.run()  # type: ignore[no-any-return]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="the benchmark suite against the peers")
    parser.add_argument("--records", type=int, default=100_000, help="corpus size for reindex (10k-1M)")
    parser.add_argument(
        "--pg",
        default=os.environ.get("HP_ARCHIVE_TEST_DATABASE_URL"),
        help="PostgreSQL URL of a throw-away database (default: HP_ARCHIVE_TEST_DATABASE_URL)",
    )
    parser.add_argument("--only", help="comma-separated module names")
    args = parser.parse_args(argv)
    wanted = args.only.split(",") if args.only else [*OURS, *OTHERS]
    rows: list[Row] = []
    others: dict[str, Any] = {}
    for name in wanted:
        if name in OURS:
            try:
                print(f"== {name}", file=sys.stderr, flush=True)
                found = _call(name, args)
                for row in found:
                    row.suite = name
                rows += found
            except Exception:  # one broken benchmark must not hide the others' figures
                others[name] = {"error": traceback.format_exc(limit=3)}
                print(f"benchmark {name} failed:\n{others[name]['error']}", file=sys.stderr)
            continue
        if importlib.util.find_spec(f"benchmarks.{name}") is None:
            continue
        print(f"== {name} (python -m benchmarks.{name})", file=sys.stderr, flush=True)
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", f"benchmarks.{name}"], capture_output=True, text=True, check=False
        )
        others[name] = {
            "exit": done.returncode,
            "seconds": round(time.perf_counter() - start, 1),
            "output": done.stdout[-20_000:],
            "errors": done.stderr[-4_000:],
        }
    print_rows(rows)
    for name, result in others.items():
        print(f"\n== {name}\n{result.get('output') or result.get('error') or ''}")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    document = {
        "at": stamp,
        "machine": machine(),
        "arguments": {"records": args.records, "pg": bool(args.pg), "only": wanted},
        "rows": [{**r.as_dict(), "at": stamp} for r in rows],
        "other_suites": others,
    }
    if args.only:
        _keep_earlier(document, wanted)
    RESULTS.mkdir(parents=True, exist_ok=True)
    text = json.dumps(document, indent=2, ensure_ascii=False)
    (RESULTS / f"{stamp}.json").write_text(text + "\n", encoding="utf-8")
    (RESULTS / "latest.json").write_text(text + "\n", encoding="utf-8")
    print(f"\nresults: {RESULTS / 'latest.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
