"""Disposal throughput: records destroyed per second, whole-object and rewrite paths, 10k → 100k.

    python -m benchmarks.disposal                          # 10k, 25k, 50k, 100k on SQLite + local store
    python -m benchmarks.disposal --sizes 10000,100000 --database-url postgresql+psycopg://…/test

With ``--database-url`` (PostgreSQL), each run creates a throw-away database beside the one named
(``hp_bench_disposal_<random>``, on the same server) and drops it afterwards, so the database
named, and whatever other jobs keep in it, is never touched.

Each size builds a fresh archive of real WARC files — written by the capture spool, stored
write-once with SHA-256, ingested by the index with every index hook (classification included) —
holding Facebook comment listings of 100 comments per page, ten pages per file:

* **whole** — every record is due: each file is deleted whole.
* **rewrite** — every file holds as many records that are due as records that are not: each file
  is rewritten with the survivors; ``size`` records are destroyed out of twice as many.

Then a certificate is proposed, submitted and approved, and ``execute`` is timed (re-checking each
record, reading the evidence back from the store, writing survivors, switching the index, deleting
objects, storing the signed report), then ``verify``. Reported: seconds, records per second, and
microseconds per record (wall clock, and CPU time of this process — which includes SQLite and
does not depend on what else the machine runs), whose constancy from 10k to 100k shows the growth
is linear.
"""

from __future__ import annotations

import argparse
import json
import secrets
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hp_archive.archive import Archive
from hp_archive.index.db import make_engine, transaction, upgrade
from hp_archive.index.hooks import run_index_hooks
from hp_archive.index.ingest import ingest_file
from hp_archive.retention import disposal
from hp_archive.retention.schedule import EXAMPLE_PATH
from hp_archive.storage import LocalObjectStore
from hp_archive.warc.runinfo import REPORT_PROFILE, RunInfo
from hp_archive.warc.spool import SpoolWriter

PER_PAGE = 100
PAGES_PER_FILE = 10
PAGE_ID = "104857600000001"
DUE_YEAR, KEPT_YEAR = 2026, 2028  # under P2Y after end of calendar year: due 2029 / 2031
PROPOSED = datetime(2029, 2, 1, 15, tzinfo=UTC)


def comments_page(post: str, first: int, year: int) -> bytes:
    created = datetime(year, 3, 1, 10, tzinfo=UTC)
    data = [
        {
            "id": f"{post}_{first + i}",
            "created_time": (created + timedelta(minutes=i)).strftime("%Y-%m-%dT%H:%M:%S+0000"),
            "message": f"Comment {first + i} on post {post}: is the road near the school closed today?",
            "from": {"id": f"u{(first + i) % 997}", "name": f"Resident {(first + i) % 997}"},
            "can_hide": True,
        }
        for i in range(PER_PAGE)
    ]
    body = json.dumps({"data": data, "paging": {}}).encode()
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=UTF-8\r\nContent-Length: %d\r\n\r\n"
    return head % len(body) + body


def build(archive: Archive, *, files: int, mixed: bool) -> None:
    """Write, store and index ``files`` WARC files of ``PAGES_PER_FILE`` pages each."""
    counter = 10_000_000
    for number in range(files):
        started = datetime(2026, 11, 1, 8, tzinfo=UTC) + timedelta(hours=number)
        info = RunInfo(
            run_id=f"bench-run-{number:05d}", account_id="bench", platform="facebook", handle=PAGE_ID,
            series="social-media", window_start=None, window_end=started, started_at=started,
            operator="bench", hostname="bench",
        )  # fmt: skip
        spool = SpoolWriter(
            archive.spool_dir / info.run_id,
            run_id=info.run_id,
            account_id="bench",
            warcinfo=info.warc_fields(),
            host="bench",
            revisit_lookup=lambda _series, _digest: None,
        )
        for page in range(PAGES_PER_FILE):
            post = f"{counter + number * PAGES_PER_FILE + page}"
            year = KEPT_YEAR if mixed and page % 2 else DUE_YEAR
            url = f"https://graph.facebook.com/v25.0/{PAGE_ID}_{post}/comments?limit=100"
            spool.write_exchange(
                url=url,
                request_bytes=f"GET {url} HTTP/1.1\r\nHost: graph.facebook.com\r\n\r\n".encode(),
                response_bytes=comments_page(post, page * PER_PAGE, year),
                date=started + timedelta(seconds=page),
                series="social-media",
            )
        report = {"profile": REPORT_PROFILE, "run_id": info.run_id, "outcome": "complete", "listings": [],
                  "finished_at": started.isoformat(), "source_state": {}}  # fmt: skip

        def metadata(_series: str, report: dict[str, Any] = report) -> dict[str, Any]:
            return report

        for spooled in spool.close(metadata, started + timedelta(minutes=1)):
            archive.store.put_file(spooled.key, spooled.path, sha256=spooled.sha256)
            with transaction(archive.sessions) as session:
                stats = ingest_file(
                    session, key=spooled.key, path=spooled.path, sha256=spooled.sha256, size=spooled.size,
                    read_range=archive.store.get_range, indexed_at=started,
                )  # fmt: skip
                run_index_hooks(archive, session, stats)
        shutil.rmtree(archive.spool_dir / info.run_id, ignore_errors=True)


def measure(size: int, path: str, database_url: str | None, work: Path) -> dict[str, Any]:
    home = work / f"{path}-{size}"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    (home / "retention-schedule.yaml").write_text(
        EXAMPLE_PATH.read_text().replace("example: true", "example: false")
    )
    url = database_url or f"sqlite:///{home / 'index.sqlite'}"
    engine = make_engine(url)
    upgrade(engine)
    clock_now = [PROPOSED]
    archive = Archive(
        store=LocalObjectStore(home / "store"), engine=engine, spool_dir=home / "spool",
        clock=lambda: clock_now[0], operator="bench",
    )  # fmt: skip
    mixed = path == "rewrite"
    per_file = PER_PAGE * PAGES_PER_FILE // (2 if mixed else 1)
    files = -(-size // per_file)
    started = time.perf_counter()
    build(archive, files=files, mixed=mixed)
    built = time.perf_counter() - started

    started = time.perf_counter()
    cert = disposal.propose(archive, as_of=PROPOSED.date(), now=PROPOSED).certificate_id
    proposed = time.perf_counter() - started
    disposal.submit(archive, cert, on=PROPOSED.date(), now=PROPOSED)
    disposal.approve(
        archive, cert, reference="BENCH", approved_on=PROPOSED.date(), approver="bench", now=PROPOSED
    )
    as_of = PROPOSED + timedelta(days=30)
    clock_now[0] = as_of
    started, cpu = time.perf_counter(), time.process_time()
    report = disposal.execute(archive, cert, as_of=as_of)
    executed, executed_cpu = time.perf_counter() - started, time.process_time() - cpu
    started = time.perf_counter()
    verified = disposal.verify(archive, cert, as_of=as_of)
    verify_seconds = time.perf_counter() - started
    archive.close()
    destroyed = sum(report.destroyed.values())
    assert verified.ok, verified.problems
    assert destroyed == files * per_file, (destroyed, files * per_file)
    return {
        "path": path,
        "records_destroyed": destroyed,
        "records_kept": files * per_file if mixed else 0,
        "files": files,
        "objects_deleted": len(report.deleted_objects),
        "objects_rewritten": len(report.rewritten_objects),
        "build_seconds": round(built, 2),
        "propose_seconds": round(proposed, 2),
        "execute_seconds": round(executed, 2),
        "execute_cpu_seconds": round(executed_cpu, 2),
        "verify_seconds": round(verify_seconds, 2),
        "records_per_second": round(destroyed / executed, 1),
        "microseconds_per_record": round(executed / destroyed * 1e6, 1),
        "cpu_microseconds_per_record": round(executed_cpu / destroyed * 1e6, 1),
        "backend": url.split(":", 1)[0],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.disposal", description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,25000,50000,100000", help="records destroyed per run")
    parser.add_argument("--paths", default="whole,rewrite", help="whole, rewrite or both")
    parser.add_argument(
        "--database-url", help="an empty database to use (default: SQLite in the work directory)"
    )
    parser.add_argument("--work", type=Path, help="work directory (default: a temporary one, removed)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    work = args.work or Path(tempfile.mkdtemp(prefix="hp-bench-disposal-"))
    results = []
    try:
        for path in args.paths.split(","):
            for size in sizes:
                if args.database_url:
                    with throwaway_database(args.database_url) as url:
                        result = measure(size, path, url, work)
                else:
                    result = measure(size, path, None, work)
                results.append(result)
                if not args.json:
                    print(_line(result), flush=True)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    growth = {}
    for path in {r["path"] for r in results}:
        runs = sorted((r for r in results if r["path"] == path), key=lambda r: r["records_destroyed"])
        if len(runs) > 1:
            first, last = runs[0], runs[-1]
            growth[path] = {
                "records_ratio": round(last["records_destroyed"] / first["records_destroyed"], 2),
                "time_ratio": round(last["execute_seconds"] / first["execute_seconds"], 2),
                "cpu_ratio": round(last["execute_cpu_seconds"] / first["execute_cpu_seconds"], 2),
            }
    if args.json:
        json.dump({"results": results, "growth": growth}, sys.stdout, indent=2)
        print()
    else:
        for path, g in sorted(growth.items()):
            print(
                f"{path}: {g['records_ratio']}x the records took {g['time_ratio']}x the time "
                f"({g['cpu_ratio']}x the CPU time)"
            )
    return 0


def _line(r: dict[str, Any]) -> str:
    return (
        f"{r['path']:8} {r['records_destroyed']:>7} records: execute {r['execute_seconds']:7.2f}s = "
        f"{r['records_per_second']:>8.0f} records/s ({r['microseconds_per_record']} µs each, "
        f"{r['cpu_microseconds_per_record']} µs CPU in this process); "
        f"{r['objects_deleted']} objects deleted, {r['objects_rewritten']} rewritten; "
        f"propose {r['propose_seconds']}s, verify {r['verify_seconds']}s"
    )


@contextmanager
def throwaway_database(url: str) -> Iterator[str]:
    """A new, empty PostgreSQL database on the server of ``url``, dropped when done (its URL)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"hp_bench_disposal_{secrets.token_hex(4)}"
    server = create_engine(make_url(url), isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(url).set(database=name).render_as_string(hide_password=False)
        finally:
            with server.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        server.dispose()


if __name__ == "__main__":
    sys.exit(main())
