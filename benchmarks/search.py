"""Search latency (p50 / p95) over N items on SQLite FTS5 and PostgreSQL.

The corpus is written straight into the index tables (bulk inserts: ``executemany`` on SQLite,
``COPY`` on PostgreSQL, the GIN index built after the load), through the real migrations, so the
queries run against exactly the schema and full-text setup the archive uses. Text is Zipf-
distributed over a 30,000-word vocabulary with the department's own words at fixed ranks and some
set phrases; 85 % of items have one version, the rest two or three. Each query goes through
``hp_archive.index.search.search`` (parse, count, rank, first 50 results with snippet, thread,
events and holds) — what ``hp-archive search`` does.

    python -m benchmarks.search --items 1000000 [--backends sqlite,postgresql] [--pg URL] [--runs 15]

PostgreSQL runs in a throw-away schema of the database named by ``--pg`` (default
HP_ARCHIVE_TEST_DATABASE_URL), dropped afterwards.
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from hp_archive.index.db import make_engine, session_factory, upgrade
from hp_archive.index.search import search

SEED = 20261125
START = datetime(2021, 1, 1, tzinfo=UTC)
SPAN_DAYS = 5 * 365
ACCOUNTS = [("hppd-facebook", "facebook"), ("hppd-x", "x"), ("hppd-web", "web")]
KINDS = [("post", 0.2), ("comment", 0.55), ("reply", 0.2), ("media", 0.05)]
# the department's words, at fixed Zipf ranks among the synthetic vocabulary
DOMAIN = {
    "police": 3,
    "officer": 10,
    "street": 25,
    "speeding": 40,
    "ticket": 60,
    "parking": 80,
    "traffic": 120,
    "walnut": 300,
    "lake": 350,
    "towed": 900,
    "scam": 1500,
    "ontarioville": 6000,
}
PHRASES = ["speeding ticket", "walnut street", "never mind", "lake street", "parking ticket"]

QUERIES = {
    "single-term": ["police", "speeding", "walnut", "towed", "ontarioville"],
    "phrase": ['"speeding ticket"', '"walnut street"', '"never mind"', '"lake street"'],
    "boolean+field": [
        "(speeding OR parking) ticket kind:comment",
        "police NOT officer platform:facebook",
        "(walnut OR lake) street NOT deleted:true",
        "towed* OR scam kind:comment|reply",
    ],
    "date-range": [
        "after:2024-01-01 before:2024-02-01",
        "after:2023-06-01 before:2023-06-08",
        "speeding after:2024-01-01 before:2024-07-01",
        "platform:x after:2025-03-01 before:2025-03-15",
    ],
}


# -- corpus ------------------------------------------------------------------------------------------


def vocabulary(size: int = 30_000) -> list[str]:
    """Ranked words: synthetic syllable words with the domain words placed at their ranks."""
    rng = random.Random(SEED)
    syllables = [c + v for c in "bdfghklmnprstvz" for v in "aeiou"]
    words: list[str] = []
    seen = set(DOMAIN)
    while len(words) < size:
        word = "".join(rng.choice(syllables) for _ in range(rng.randint(2, 4)))
        if word not in seen:
            seen.add(word)
            words.append(word)
    for word, rank in sorted(DOMAIN.items(), key=lambda kv: kv[1]):
        words.insert(rank, word)
    return words[:size]


class TextMaker:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.words = vocabulary()
        weights = [1.0 / (rank + 1) ** 1.07 for rank in range(len(self.words))]
        self.cumulative = list(itertools.accumulate(weights))

    def __call__(self, low: int, high: int) -> str:
        count = self.rng.randint(low, high)
        total = self.cumulative[-1]
        chosen = [self.words[bisect.bisect(self.cumulative, self.rng.random() * total)] for _ in range(count)]
        if self.rng.random() < 0.08:
            chosen.insert(self.rng.randint(0, len(chosen)), self.rng.choice(PHRASES))
        return " ".join(chosen)


def sqlite_time(value: datetime) -> str:
    """SQLAlchemy's storage format for DateTime on SQLite (naive UTC)."""
    return value.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


def corpus(items: int) -> Iterator[tuple[tuple[Any, ...], list[tuple[Any, ...]]]]:
    """(item row, version rows) in id order; rows are plain tuples in the insert column order."""
    rng = random.Random(SEED)
    make_text = TextMaker(rng)
    authors = [f"{make_text(1, 1).title()} {make_text(1, 1).title()}" for _ in range(20_000)]
    kinds, kind_weights = zip(*KINDS, strict=True)
    version_id = 0
    recent_posts: list[str] = []
    recent_comments: list[str] = []
    for pk in range(1, items + 1):
        account, platform = ACCOUNTS[0] if rng.random() < 0.7 else rng.choice(ACCOUNTS[1:])
        kind = rng.choices(kinds, kind_weights)[0]
        parent = None
        if kind in ("comment", "media") and recent_posts:
            parent = rng.choice(recent_posts)
        elif kind == "reply" and recent_comments:
            parent = rng.choice(recent_comments)
        uid = f"{platform}:{pk}"
        if kind == "post":
            recent_posts = [*recent_posts[-49:], uid]
        elif kind == "comment":
            recent_comments = [*recent_comments[-199:], uid]
        created = START + timedelta(seconds=rng.randint(0, SPAN_DAYS * 86400))
        first_seen = created + timedelta(hours=rng.randint(1, 30))
        author_no = rng.randrange(len(authors))
        author = authors[author_no]
        versions = 1 if rng.random() < 0.85 else rng.choice([2, 2, 3])
        rows = []
        body = make_text(20, 60) if kind == "post" else make_text(4, 30)
        for number in range(1, versions + 1):
            if number > 1:
                body = body + " " + make_text(2, 8)
            version_id += 1
            rows.append(
                (
                    version_id,
                    pk,
                    number,
                    f"{pk:064x}"[-64:],
                    body,
                    f"{body} {author.lower()}",
                    "{}",
                    created,
                    None,
                    first_seen + timedelta(days=number - 1),
                    1,
                )
            )
        deleted = rng.random() < 0.03
        item = (
            pk,
            uid,
            platform,
            account,
            str(pk),
            kind,
            parent,
            parent,
            str(100000 + author_no),
            author,
            author.lower(),
            False,
            None,
            "social-media",
            None,
            created,
            first_seen,
            first_seen,
            "bench-run",
            rng.random() < 0.02,
            deleted,
            first_seen if deleted else None,
            versions,
            version_id,
            1 if kind == "media" else None,
        )
        yield item, rows


ITEM_COLUMNS = (
    "id, uid, platform, account_id, native_id, kind, parent_uid, root_uid, author_id, author_name, "
    "author_key, author_is_agency, url, series, scope, created_at, first_seen_at, last_seen_at, "
    "last_seen_run, is_hidden, is_deleted, deleted_observed_at, version_count, current_version_id, "
    "media_record_id"
)
VERSION_COLUMNS = (
    "id, item_id, version_no, content_digest, text, search_text, normalized, created_at, edited_at, "
    "observed_at, record_id"
)


def _fixtures(conn: Any, now: Any, placeholder: str) -> None:
    """One account, run, file and record per account (the rows items and versions refer to)."""

    def insert(table: str, columns: str, rows: list[tuple[Any, ...]]) -> None:
        marks = ", ".join([placeholder] * len(rows[0]))
        conn.cursor().executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)

    insert("accounts", "id, platform, handle, first_seen_at", [(a, p, a, now) for a, p in ACCOUNTS])
    insert(
        "capture_runs",
        "id, account_id, platform, window_end, started_at, status, files, report, source_state",
        [("bench-run", ACCOUNTS[0][0], "facebook", now, now, "indexed", "[]", "{}", "{}")],
    )
    insert(
        "warc_files",
        "id, key, filename, account_id, series, run_id, size, sha256, record_count, first_date, "
        "last_date, legal_hold, indexed_at",
        [(1, "warcs/bench.warc.gz", "bench.warc.gz", ACCOUNTS[0][0], "social-media", "bench-run", 1,
          "0" * 64, 1, now, now, False, now)],
    )  # fmt: skip
    insert(
        "warc_records",
        'id, file_id, "offset", length, record_id, rec_type, date',
        [(1, 1, 0, 1, "<urn:uuid:bench>", "response", now)],
    )


def load_sqlite(engine: Engine, items: int) -> None:
    raw = engine.raw_connection()
    try:
        raw.cursor().execute("PRAGMA synchronous=OFF")
        _fixtures(raw, sqlite_time(START), "?")
        item_batch: list[tuple[Any, ...]] = []
        version_batch: list[tuple[Any, ...]] = []

        def flush() -> None:
            cur = raw.cursor()
            cur.executemany(f"INSERT INTO items ({ITEM_COLUMNS}) VALUES ({', '.join('?' * 25)})", item_batch)
            cur.executemany(
                f"INSERT INTO item_versions ({VERSION_COLUMNS}) VALUES ({', '.join('?' * 11)})", version_batch
            )
            item_batch.clear()
            version_batch.clear()

        for item, versions in corpus(items):
            item_batch.append(tuple(sqlite_time(v) if isinstance(v, datetime) else v for v in item))
            version_batch.extend(
                tuple(sqlite_time(v) if isinstance(v, datetime) else v for v in row) for row in versions
            )
            if len(item_batch) >= 20_000:
                flush()
        flush()
        raw.commit()
        raw.cursor().execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()


def _naive(value: Any) -> Any:
    return value.astimezone(UTC).replace(tzinfo=None) if isinstance(value, datetime) else value


def load_postgres(engine: Engine, items: int) -> None:
    raw = engine.raw_connection()
    try:
        conn: Any = raw.driver_connection
        now = START.replace(tzinfo=None)
        _fixtures(conn, now, "%s")
        cur = conn.cursor()
        cur.execute("DROP INDEX ix_item_versions_search_tsv")
        versions_all: list[tuple[Any, ...]] = []
        with cur.copy(f"COPY items ({ITEM_COLUMNS}) FROM STDIN") as items_copy:
            for item, versions in corpus(items):
                items_copy.write_row(tuple(_naive(v) for v in item))
                versions_all.extend(tuple(_naive(v) for v in row) for row in versions)
        with cur.copy(f"COPY item_versions ({VERSION_COLUMNS}) FROM STDIN") as versions_copy:
            for row in versions_all:
                versions_copy.write_row(row)
        cur.execute("CREATE INDEX ix_item_versions_search_tsv ON item_versions USING gin (search_tsv)")
        for table in ("items", "item_versions"):
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            )
        conn.commit()
        conn.autocommit = True
        cur.execute("VACUUM ANALYZE items")
        cur.execute("VACUUM ANALYZE item_versions")
        conn.autocommit = False
    finally:
        raw.close()


# -- measuring ---------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=100, method="inclusive")[int(q) - 1]


def measure(engine: Engine, runs: int) -> dict[str, Any]:
    sessions = session_factory(engine)
    out: dict[str, Any] = {}
    for kind, queries in QUERIES.items():
        timings: list[float] = []
        per_query = {}
        for query in queries:
            with sessions() as session:
                total = search(session, query, limit=50).total  # warm-up
            mine = []
            for _ in range(runs):
                with sessions() as session:
                    started = time.perf_counter()
                    search(session, query, limit=50)
                    mine.append((time.perf_counter() - started) * 1000)
            timings += mine
            per_query[query] = {
                "matches": total,
                "p50_ms": round(statistics.median(mine), 1),
                "p95_ms": round(percentile(mine, 95), 1),
            }
        out[kind] = {
            "p50_ms": round(statistics.median(timings), 1),
            "p95_ms": round(percentile(timings, 95), 1),
            "queries": per_query,
        }
    return out


@contextmanager
def postgres_schema(base: str) -> Iterator[str]:
    url = make_url(base)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    schema = f"hp_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False
        )
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def bench_backend(backend: str, items: int, runs: int, pg: str | None, workdir: Path) -> dict[str, Any]:
    @contextmanager
    def database() -> Iterator[str]:
        if backend == "sqlite":
            yield f"sqlite:///{workdir / f'search-{items}.sqlite'}"
        else:
            if not pg:
                raise SystemExit("PostgreSQL needs --pg URL or HP_ARCHIVE_TEST_DATABASE_URL")
            with postgres_schema(pg) as url:
                yield url

    with database() as url:
        engine = make_engine(url)
        try:
            upgrade(engine)
            started = time.perf_counter()
            (load_sqlite if backend == "sqlite" else load_postgres)(engine, items)
            load_seconds = time.perf_counter() - started
            print(f"{backend}: loaded {items} items in {load_seconds:.0f}s", file=sys.stderr, flush=True)
            result = {"load_seconds": round(load_seconds, 1), **measure(engine, runs)}
        finally:
            engine.dispose()
    return result


def print_table(items: int, results: dict[str, dict[str, Any]]) -> None:
    print(f"search latency over {items:,} items (ms; each query {len(QUERIES)} kinds, first 50 results)")
    print(f"{'query kind':16}" + "".join(f"{b + ' p50':>18}{b + ' p95':>18}" for b in results))
    for kind in QUERIES:
        cells = "".join(f"{results[b][kind]['p50_ms']:>18}{results[b][kind]['p95_ms']:>18}" for b in results)
        print(f"{kind:16}{cells}")
    for backend, data in results.items():
        print(f"\n{backend} (load {data['load_seconds']}s): per query p50 / p95 ms, matches")
        for kind in QUERIES:
            for query, figures in data[kind]["queries"].items():
                print(f"  {query:48} {figures['p50_ms']:>8} {figures['p95_ms']:>8} {figures['matches']:>9}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="search latency p50/p95 on SQLite and PostgreSQL")
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=15, help="timed runs of each query (after one warm-up)")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--pg", default=os.environ.get("HP_ARCHIVE_TEST_DATABASE_URL"))
    parser.add_argument("--workdir", type=Path, help="where the SQLite file goes (default: a temp dir)")
    parser.add_argument("--out", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args(argv)
    backends = [b for b in args.backends.split(",") if b]
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="hp-bench-search-") as tmp:
        workdir = args.workdir or Path(tmp)
        for backend in backends:
            if backend == "postgresql" and not args.pg:
                print("postgresql: skipped (no --pg URL or HP_ARCHIVE_TEST_DATABASE_URL)", file=sys.stderr)
                continue
            results[backend] = bench_backend(backend, args.items, args.runs, args.pg, workdir)
    print_table(args.items, results)
    if args.out:
        args.out.write_text(
            json.dumps({"items": args.items, "runs": args.runs, "results": results}, indent=2)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
