"""Search latency (p50 / p95) over N items on SQLite FTS5 and PostgreSQL, beside tantivy.

The corpus is written straight into the index tables (bulk inserts: ``executemany`` on SQLite,
``COPY`` on PostgreSQL, the GIN index built after the load), through the real migrations, so the
queries run against exactly the schema and full-text setup the archive uses. Text is Zipf-
distributed over a 30,000-word vocabulary with the department's own words at fixed ranks and some
set phrases; 85 % of items have one version, the rest two or three. Each query goes through
``hp_archive.index.search.search`` (parse, exact count, rank, top 100 with snippet, thread,
events and holds) — what ``hp-archive search`` does — in a fresh process, whose peak RSS is
reported.

The peer is tantivy (PyPI ``tantivy``) over the same version texts, read back from the loaded
index: one document per version, BM25, the same queries translated from the parsed query, top
100 with the count and a snippet per hit. Its documents are versions, not items, so its counts
run a little higher (items with several versions); the work per query is the same kind.

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
import re
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

from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy.engine import make_url

from benchmarks.common import peak_rss_mb, timed_child
from hp_archive.index.db import make_engine, session_factory, upgrade
from hp_archive.index.search import search
from hp_archive.query.ast import And, DateBound, Flag, Match, Node, Not, Or, Text
from hp_archive.query.parser import parse

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

# the classes of issue 7 (single term incl. terms on 10 %+ of items, two-term AND, phrase, term +
# 30-day range, field filter) and issue 5 (Boolean with a field filter, date range)
QUERIES = {
    "single-term": ["police", "speeding", "walnut", "towed", "ontarioville"],
    "two-term AND": ["police officer", "speeding ticket", "walnut lake", "towed parking"],
    "phrase": ['"speeding ticket"', '"walnut street"', '"never mind"', '"lake street"'],
    "term+30-day range": [
        "speeding after:2024-01-01 before:2024-01-31",
        "police after:2023-06-01 before:2023-07-01",
        "walnut after:2025-03-01 before:2025-03-31",
    ],
    "field filter": ["speeding kind:comment", "police platform:x", "walnut deleted:true", "towed kind:post"],
    "boolean+field": [
        "(speeding OR parking) ticket kind:comment",
        "police NOT officer platform:facebook",
        "(walnut OR lake) street NOT deleted:true",
        "towed* OR scam kind:comment|reply",
    ],
    "date-range": [
        "after:2024-01-01 before:2024-02-01",
        "after:2023-06-01 before:2023-06-08",
        "platform:x after:2025-03-01 before:2025-03-15",
    ],
}
LIMIT = 100  # top-100, as issue 7 asks


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


def summarize(per_query_timings: dict[str, tuple[int, list[float], list[float]]]) -> dict[str, Any]:
    """p50 / p95 per query class (all runs of its queries together) and per query.

    ``cpu_p50_ms`` is this process's CPU per query: on SQLite and tantivy that is the whole search
    (load-independent, for comparing runs on a busy machine); on PostgreSQL only the client's part.
    """
    out: dict[str, Any] = {}
    for kind, queries in QUERIES.items():
        timings = [t for q in queries for t in per_query_timings[q][1]]
        out[kind] = {
            "p50_ms": round(statistics.median(timings), 1),
            "p95_ms": round(percentile(timings, 95), 1),
            "cpu_p50_ms": round(statistics.median([t for q in queries for t in per_query_timings[q][2]]), 1),
            "queries": {
                q: {
                    "matches": per_query_timings[q][0],
                    "p50_ms": round(statistics.median(per_query_timings[q][1]), 1),
                    "p95_ms": round(percentile(per_query_timings[q][1], 95), 1),
                    "cpu_p50_ms": round(statistics.median(per_query_timings[q][2]), 1),
                }
                for q in queries
            },
        }
    return out


def measure(url: str, runs: int) -> dict[str, Any]:
    """Each query through ``search()`` (parse, count, rank, top 100 with snippet, thread, events, holds)."""
    engine = make_engine(url)
    sessions = session_factory(engine)
    found: dict[str, tuple[int, list[float], list[float]]] = {}
    cpu_started = time.process_time()
    try:
        for queries in QUERIES.values():
            for query in queries:
                with sessions() as session:
                    total = search(session, query, limit=LIMIT).total  # warm-up
                mine, cpu = [], []
                for _ in range(runs):
                    with sessions() as session:
                        started, cpu_started = time.perf_counter(), time.process_time()
                        search(session, query, limit=LIMIT)
                        mine.append((time.perf_counter() - started) * 1000)
                        cpu.append((time.process_time() - cpu_started) * 1000)
                found[query] = (total, mine, cpu)
    finally:
        engine.dispose()
    return {
        **summarize(found),
        "client_cpu_s": round(time.process_time() - cpu_started, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }


# -- the peer: tantivy over the same version texts ---------------------------------------------------------


def tantivy_schema() -> Any:
    import tantivy

    builder = tantivy.SchemaBuilder()
    builder.add_text_field("text", stored=True)  # default tokenizer: the texts are normalized already
    builder.add_integer_field("item", stored=True, indexed=False, fast=True)
    builder.add_text_field("kind", tokenizer_name="raw")
    builder.add_text_field("platform", tokenizer_name="raw")
    builder.add_text_field("account", tokenizer_name="raw")
    builder.add_integer_field("deleted", indexed=True)
    builder.add_integer_field("time", indexed=True, fast=True)  # the item time, epoch seconds
    return builder.build()


def build_tantivy(url: str, directory: Path) -> None:
    """One tantivy document per item version, read back from the loaded index (the same texts)."""
    import tantivy

    from hp_archive.index import models as m
    from hp_archive.query.sql import item_time

    index = tantivy.Index(tantivy_schema(), path=str(directory))
    writer = index.writer(heap_size=256_000_000, num_threads=1)
    engine = make_engine(url)
    columns = (
        m.ItemVersion.item_id,
        m.ItemVersion.search_text,
        m.Item.kind,
        m.Item.platform,
        m.Item.account_id,
        m.Item.is_deleted,
        item_time(),
    )
    statement = select(*columns).join(m.Item, m.Item.id == m.ItemVersion.item_id)
    try:
        with engine.connect() as conn:
            for item, body, kind, platform, account, deleted, moment in conn.execution_options(
                yield_per=20_000
            ).execute(statement):
                writer.add_document(
                    tantivy.Document(
                        text=body,
                        item=item,
                        kind=kind,
                        platform=platform,
                        account=account,
                        deleted=int(bool(deleted)),
                        time=_epoch(moment),
                    )
                )
    finally:
        engine.dispose()
    writer.commit()
    writer.wait_merging_threads()


def _epoch(moment: datetime | str) -> int:
    if isinstance(moment, str):  # a coalesce() on SQLite may come back as the stored text
        moment = datetime.fromisoformat(moment).replace(tzinfo=UTC)
    return int(moment.timestamp())


def tantivy_query(node: Node, schema: Any) -> Any:
    """The same query for tantivy (per version: a document is one version's text)."""
    import tantivy

    occur = tantivy.Occur
    if isinstance(node, Text):
        words = list(node.tokens)
        if len(words) == 1:
            if node.prefix:
                return tantivy.Query.regex_query(schema, "text", re.escape(words[0]) + ".*")
            return tantivy.Query.term_query(schema, "text", words[0])
        if node.prefix:
            return tantivy.Query.phrase_prefix_query(schema, "text", words)
        return tantivy.Query.phrase_query(schema, "text", words)
    if isinstance(node, And | Or):
        clauses = []
        for child in node.children:
            if isinstance(child, Not):
                clauses.append((occur.MustNot, tantivy_query(child.child, schema)))
            else:
                must = occur.Must if isinstance(node, And) else occur.Should
                clauses.append((must, tantivy_query(child, schema)))
        if all(o == occur.MustNot for o, _ in clauses):
            clauses.append((occur.Must, tantivy.Query.all_query()))
        return tantivy.Query.boolean_query(clauses)
    if isinstance(node, Not):
        return tantivy.Query.boolean_query(
            [(occur.Must, tantivy.Query.all_query()), (occur.MustNot, tantivy_query(node.child, schema))]
        )
    if isinstance(node, Match):
        return tantivy.Query.boolean_query(
            [(occur.Should, tantivy.Query.term_query(schema, node.name, v)) for v in node.values]
        )
    if isinstance(node, Flag) and node.name == "deleted":
        return tantivy.Query.term_query(schema, "deleted", int(node.value))
    if isinstance(node, DateBound) and not node.captured:
        at = int(node.at.timestamp())
        if node.lower:
            return tantivy.Query.range_query(schema, "time", tantivy.FieldType.Integer, at, None, True, True)
        return tantivy.Query.range_query(schema, "time", tantivy.FieldType.Integer, None, at, True, False)
    raise ValueError(f"no tantivy equivalent for {node!r} in the benchmark")


def measure_tantivy(directory: Path, runs: int) -> dict[str, Any]:
    """Each query on tantivy: translate, top 100 by BM25 with the count, and a snippet for each hit."""
    import tantivy

    schema = tantivy_schema()
    index = tantivy.Index(schema, path=str(directory))
    index.reload()
    searcher = index.searcher()

    def run(text_query: str) -> int:
        query = tantivy_query(parse(text_query).root, schema)
        found = searcher.search(query, LIMIT, count=True)
        snippets = tantivy.SnippetGenerator.create(searcher, query, schema, "text")
        for _, address in found.hits:
            snippets.snippet_from_doc(searcher.doc(address)).to_html()
        return int(found.count or 0)

    found: dict[str, tuple[int, list[float], list[float]]] = {}
    cpu_started = time.process_time()
    for queries in QUERIES.values():
        for query in queries:
            total = run(query)  # warm-up
            mine, cpu = [], []
            for _ in range(runs):
                started, cpu_started = time.perf_counter(), time.process_time()
                run(query)
                mine.append((time.perf_counter() - started) * 1000)
                cpu.append((time.process_time() - cpu_started) * 1000)
            found[query] = (total, mine, cpu)
    return {
        **summarize(found),
        "client_cpu_s": round(time.process_time() - cpu_started, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "documents": searcher.num_docs,
    }


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


def child(mode: str, target: str, runs: int, workdir: Path) -> dict[str, Any]:
    """Run one measuring step in a fresh process, so its peak RSS is the search's alone."""
    out = workdir / f"{mode}-{uuid.uuid4().hex[:8]}.json"
    argv = [sys.executable, "-m", "benchmarks.search", f"--{mode}", target, "--runs", str(runs)]
    seconds, _ = timed_child([*argv, "--out", str(out)])
    result: dict[str, Any] = json.loads(out.read_text())  # with the child's own peak RSS (VmHWM)
    result["seconds"] = round(seconds, 1)
    return result


def bench_backend(
    backend: str, items: int, runs: int, pg: str | None, workdir: Path, peer: dict[str, Any]
) -> dict[str, Any]:
    @contextmanager
    def database() -> Iterator[str]:
        if backend == "sqlite":
            path = workdir / f"search-{items}.sqlite"
            path.unlink(missing_ok=True)
            yield f"sqlite:///{path}"
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
        finally:
            engine.dispose()
        print(f"{backend}: loaded {items} items in {load_seconds:.0f}s", file=sys.stderr, flush=True)
        if not peer:
            directory = workdir / "tantivy"
            directory.mkdir(exist_ok=True)
            started = time.perf_counter()
            timed_child(
                [sys.executable, "-m", "benchmarks.search", "--tantivy-build", url, "--out", str(directory)]
            )
            build_seconds = time.perf_counter() - started
            print(f"tantivy: indexed the same texts in {build_seconds:.0f}s", file=sys.stderr, flush=True)
            peer.update(
                child("tantivy-measure", str(directory), runs, workdir), build_seconds=round(build_seconds, 1)
            )
        result = {"load_seconds": round(load_seconds, 1), **child("measure", url, runs, workdir)}
    return result


def print_table(items: int, results: dict[str, dict[str, Any]]) -> None:
    peer = results.get("tantivy")
    print(f"search latency over {items:,} items (ms; top {LIMIT} with snippets; p95 ratio to tantivy)")
    header = f"{'query class':20}"
    for backend in results:
        header += f"{backend + ' p50':>16}{backend + ' p95':>16}"
        if peer and backend != "tantivy":
            header += f"{'x tantivy':>10}"
    print(header)
    for kind in QUERIES:
        row = f"{kind:20}"
        for backend, data in results.items():
            row += f"{data[kind]['p50_ms']:>16}{data[kind]['p95_ms']:>16}"
            if peer and backend != "tantivy":
                ratio = data[kind]["p95_ms"] / max(peer[kind]["p95_ms"], 0.01)
                row += f"{ratio:>10.1f}"
        print(row)
    print(
        "\npeak RSS of the search process (MB): "
        + ", ".join(f"{b} {d['peak_rss_mb']}" for b, d in results.items())
    )
    for backend, data in results.items():
        loaded = (
            f"load {data['load_seconds']}s"
            if "load_seconds" in data
            else f"build {data.get('build_seconds')}s"
        )
        print(f"\n{backend} ({loaded}): per query p50 / p95 ms, this process's CPU p50 ms, matches")
        for kind in QUERIES:
            for query, figures in data[kind]["queries"].items():
                print(
                    f"  {query:48} {figures['p50_ms']:>8} {figures['p95_ms']:>8} "
                    f"{figures.get('cpu_p50_ms', ''):>8} {figures['matches']:>9}"
                )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="search latency p50/p95 on SQLite and PostgreSQL")
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=15, help="timed runs of each query (after one warm-up)")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--pg", default=os.environ.get("HP_ARCHIVE_TEST_DATABASE_URL"))
    parser.add_argument("--workdir", type=Path, help="where the SQLite file goes (default: a temp dir)")
    parser.add_argument("--out", type=Path, help="also write the figures as JSON here")
    # the measuring steps, each run in its own process by the parent
    parser.add_argument("--measure", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--tantivy-build", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--tantivy-measure", metavar="DIR", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        args.out.write_text(json.dumps(measure(args.measure, args.runs)))
        return 0
    if args.tantivy_build:
        build_tantivy(args.tantivy_build, args.out)
        return 0
    if args.tantivy_measure:
        args.out.write_text(json.dumps(measure_tantivy(Path(args.tantivy_measure), args.runs)))
        return 0
    backends = [b for b in args.backends.split(",") if b]
    results: dict[str, dict[str, Any]] = {}
    peer: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="hp-bench-search-") as tmp:
        workdir = args.workdir or Path(tmp)
        for backend in backends:
            if backend == "postgresql" and not args.pg:
                print("postgresql: skipped (no --pg URL or HP_ARCHIVE_TEST_DATABASE_URL)", file=sys.stderr)
                continue
            results[backend] = bench_backend(backend, args.items, args.runs, args.pg, workdir, peer)
    if peer:
        results["tantivy"] = peer
    print_table(args.items, results)
    if args.out:
        args.out.write_text(
            json.dumps({"items": args.items, "runs": args.runs, "limit": LIMIT, "results": results}, indent=2)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
