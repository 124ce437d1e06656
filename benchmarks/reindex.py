"""Reindex of stored WARCs into the SQL index with full text, beside the peers on the same files.

Peers: ``cdxj-indexer`` and ``warcio index`` (they write one CDX line per record, no database),
and a plain ISA-L inflate of every record (what one core can gunzip: the machine's limit).
Ours: ``reindex`` with 1 and 2 worker processes into SQLite (and PostgreSQL with ``--pg URL``).
Every run is a child process on the same files, so peak RSS is each run's own.

    python -m benchmarks.reindex --records 100000 [--pg postgresql+psycopg://…] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.common import BIN, LAST_CPU, Row, directory_bytes, peak_rss_mb, timed_child

GOAL = "≥ 2.5x cdxj-indexer records/s on one core; 2 processes ≥ 1.8x 1 process"


def build(records: int, root: Path) -> tuple[Path, list[Path], int]:
    """The corpus as a local object store under ``root``; (store dir, WARC paths, records)."""
    from benchmarks.corpus import Spec, write_ours
    from hp_archive.storage import LocalObjectStore
    from hp_archive.storage.base import sha256_file
    from hp_archive.warc.members import iter_file

    store = LocalObjectStore(root / "store")
    spool = root / "spool"
    for path, key in write_ours(Spec.for_records(records), spool):
        store.put_file(key, path, sha256=sha256_file(path))
    shutil.rmtree(spool)
    paths = [store.local_path(info.key) for info in store.list("warcs/")]
    paths = [p for p in paths if p is not None]
    count = 0
    for path in paths:
        with path.open("rb") as fh:
            count += sum(1 for _ in iter_file(fh))
    return root / "store", paths, count


def build_to(records: int, root: str, listing: str) -> None:
    """:func:`build`, writing what it built to the JSON file ``listing`` (run in a child)."""
    store, paths, count = build(records, Path(root))
    Path(listing).write_text(
        json.dumps({"store": str(store), "paths": [str(p) for p in paths], "records": count})
    )


def inflate_all(paths: list[str]) -> None:
    """The machine's limit: inflate every gzip member on one core (ISA-L), nothing else."""
    import zlib

    from isal import isal_zlib

    for name in paths:
        data = Path(name).read_bytes()
        view = memoryview(data)
        pos = 0
        while pos < len(data):
            inflater = isal_zlib.decompressobj(zlib.MAX_WBITS | 16)
            window = 16 * 1024
            while True:
                chunk = view[pos : pos + window]
                inflater.decompress(chunk)
                if inflater.eof:
                    pos += len(chunk) - len(inflater.unused_data)
                    break
                pos += len(chunk)


def reindex_once(store: str, url: str, workers: int) -> None:
    """One reindex into a fresh index (run in a child process)."""
    from hp_archive.archive import Archive
    from hp_archive.index.db import make_engine, upgrade
    from hp_archive.index.reindex import reindex
    from hp_archive.storage import LocalObjectStore

    engine = make_engine(url)
    upgrade(engine)
    home = Path(store).parent
    archive = Archive(
        store=LocalObjectStore(Path(store)),
        engine=engine,
        spool_dir=home / "spool-unused",
        clock=lambda: datetime(2026, 11, 25, tzinfo=UTC),
        signing_key_path=home / "bench-key.pem",
    )
    start = time.perf_counter()
    stats = reindex(archive, workers=workers)
    _stop_forkserver()
    print(
        f"{stats.records} records, {stats.items} items in {time.perf_counter() - start:.2f}s", file=sys.stderr
    )
    print(json.dumps({"rss": peak_rss_mb()}))


def _stop_forkserver() -> None:
    """Wait for the forkserver that started the parse workers, so that the CPU time of those
    workers (which the forkserver reaps) counts in this process's children and so in the
    benchmark's figure; left running, it exits unwaited and their CPU time is lost."""
    from multiprocessing import forkserver

    server = getattr(forkserver, "_forkserver", None)
    stop = getattr(server, "_stop", None)
    if stop is not None:
        stop()


def run(
    records: int = 100_000, pg: str | None = None, keep: Path | None = None, *, ours_only: bool = False
) -> list[Row]:
    root = Path(tempfile.mkdtemp(prefix="hp-bench-reindex-", dir=keep))
    try:
        started = time.perf_counter()
        # built in a child so that this driver stays small (children's RSS figures start from it)
        listing = root / "corpus.json"
        code = (
            f"from benchmarks.reindex import build_to; build_to({records}, {str(root)!r}, {str(listing)!r})"
        )
        subprocess.run([sys.executable, "-c", code], check=True)
        built = json.loads(listing.read_text())
        store, paths, count = Path(built["store"]), [Path(p) for p in built["paths"]], built["records"]
        took = time.perf_counter() - started
        print(
            f"corpus: {count} records, {directory_bytes(store) / 1e6:.0f} MB in {took:.0f}s", file=sys.stderr
        )
        mb = sum(p.stat().st_size for p in paths) / 1e6
        names = [str(p) for p in paths]
        rows: list[Row] = []
        if ours_only:  # the memory check at 1M records: one reindex, 2 processes, SQLite
            copy = root / "store-memory"
            subprocess.run(["cp", "-al", str(store), str(copy)], check=True)
            url = f"sqlite:///{root}/m.sqlite"
            code = f"from benchmarks.reindex import reindex_once; reindex_once({str(copy)!r}, {url!r}, 2)"
            report = root / "reindex-rss.json"
            with report.open("w") as out:
                seconds, _ = timed_child([sys.executable, "-c", code], stdout=out)
            rss = json.loads(report.read_text().strip().splitlines()[-1])["rss"]
            row = Row(
                "hp-archive reindex → SQLite, 2 processes (memory)",
                count,
                seconds,
                mb,
                rss,
                goal="peak RSS ≤ 500 MB",
                met=rss <= 500,
                cpu_seconds=LAST_CPU[0],
            )
            return [row]
        seconds, rss = timed_child(
            [sys.executable, "-c", f"from benchmarks.reindex import inflate_all; inflate_all({names!r})"]
        )
        rows.append(
            Row("gunzip every record (ISA-L, 1 core)", count, seconds, mb, rss, note="the machine's limit")
        )
        seconds, rss = timed_child([str(BIN / "cdxj-indexer"), *names])
        cdxj = Row("cdxj-indexer (peer)", count, seconds, mb, rss, cpu_seconds=LAST_CPU[0])
        rows.append(cdxj)
        seconds, rss = timed_child([str(BIN / "warcio"), "index", *names])
        rows.append(Row("warcio index (peer)", count, seconds, mb, rss, cpu_seconds=LAST_CPU[0]))
        targets = [("SQLite", lambda n: f"sqlite:///{root / f'index-{n}.sqlite'}")]
        if pg:
            targets.append(("PostgreSQL", lambda _n: pg))
        for label, url_of in targets:
            single: Row | None = None
            for workers in (1, 2):
                copy = root / f"store-{label}-{workers}"
                subprocess.run(["cp", "-al", str(store), str(copy)], check=True)
                if label == "PostgreSQL":
                    _reset_pg(pg or "")
                code = (
                    "from benchmarks.reindex import reindex_once; "
                    f"reindex_once({str(copy)!r}, {url_of(workers)!r}, {workers})"
                )
                report = root / "reindex-rss.json"
                with report.open("w") as out:
                    seconds, _ = timed_child([sys.executable, "-c", code], stdout=out)
                rss = json.loads(report.read_text().strip().splitlines()[-1])["rss"]
                row = Row(
                    f"hp-archive reindex → {label}, {workers} process{'es' if workers > 1 else ''}",
                    count,
                    seconds,
                    mb,
                    rss,
                    peer="cdxj-indexer",
                )
                row.cpu_seconds = LAST_CPU[0]
                row.ratio = round(row.records_per_s / cdxj.records_per_s, 2)
                if workers == 1:
                    row.goal, row.met = "≥ 2.5x cdxj-indexer", row.ratio >= 2.5
                    single = row
                else:
                    assert single is not None
                    scale = row.records_per_s / single.records_per_s
                    row.goal, row.met = "≥ 1.8x one process", scale >= 1.8
                    row.note = f"{scale:.2f}x one process"
                rows.append(row)
                shutil.rmtree(copy, ignore_errors=True)
        return rows
    finally:
        if keep is None:
            shutil.rmtree(root, ignore_errors=True)


def _reset_pg(url: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="reindex vs cdxj-indexer and warcio index")
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--pg", help="PostgreSQL URL of a throw-away database (its public schema is reset)")
    parser.add_argument("--keep", type=Path, help="scratch directory parent (default: /tmp)")
    parser.add_argument("--memory", action="store_true", help="only our 2-process reindex (peak RSS)")
    args = parser.parse_args(argv)
    from benchmarks.run import print_rows

    rows = run(args.records, args.pg, args.keep, ours_only=args.memory)
    print_rows(rows)
    if args.memory:
        print(json.dumps([r.as_dict() for r in rows]))
    print(f"peak RSS of the driver: {peak_rss_mb():.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
