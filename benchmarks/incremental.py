"""Incremental nightly capture of an unchanged account, beside its first full capture.

The real capture path against the Facebook Graph simulator: night 1 captures everything; night 2
(same content, window one day later) re-lists the posts inside the look-back window and their
comment threads, and writes revisits for unchanged payloads. Reported: bytes written to the store
and API requests of each night, the request bound — listing pages + threads in the window — and
what each night wrote, by record type.

The first night is a department's whole history: by default two years of posts, one a day, with
~40 comments and replies each. Night 2 cannot write nothing: every thread re-listed inside the
look-back window leaves a revisit record (the new HTTP head, refers-to the archived response) and
its redacted request record, ~1.9 KB together, plus the post listing page (whose payload changes
with the window), the warcinfo and the capture report. So the ratio is, roughly,
threads in the window x 1.9 KB / (the whole history's bytes): 3.6 % for 60 posts over 120 days,
0.4 % for two years. No full response is written for an unchanged payload.

    python -m benchmarks.incremental [--posts 730 --days 730 --comments 40 --lookback 30]
"""

from __future__ import annotations

import argparse
import math
import shutil
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

from benchmarks.common import Row, peak_rss_mb


def breakdown(store: Any, keys: list[str]) -> dict[str, dict[str, int]]:
    """Stored bytes and record counts of a night's files by WARC-Type (``response`` split by
    whether the target is a listing of comments, a post listing, media or other)."""
    from warcio.archiveiterator import ArchiveIterator

    size: Counter[str] = Counter()
    count: Counter[str] = Counter()
    for key in keys:
        with store.open(key) as stream:
            records = ArchiveIterator(stream)
            for record in records:
                kind = record.rec_type
                uri = record.rec_headers.get_header("WARC-Target-URI") or ""
                if kind in ("response", "revisit", "request"):
                    kind += " " + _target_kind(uri)
                record.content_stream().read()
                size[kind] += records.get_record_length()
                count[kind] += 1
    return {kind: {"bytes": size[kind], "records": count[kind]} for kind in sorted(size)}


def _target_kind(uri: str) -> str:
    path = uri.split("?", 1)[0]
    if path.endswith("/comments"):
        return "(comment listing)"
    if path.endswith(("/posts", "/feed", "/published_posts")):
        return "(post listing)"
    if "/v25.0/" not in uri:
        return "(media)"
    return "(other)"


def run(
    posts: int = 730,
    comments: int = 40,
    days: int = 730,
    lookback: int = 30,
    details: dict[str, Any] | None = None,
) -> list[Row]:
    """Night 1 and night 2 rows; ``details`` (if given) receives each night's byte breakdown."""
    from hp_archive.archive import Archive
    from hp_archive.capture import capture_account
    from hp_archive.index.db import make_engine, upgrade
    from hp_archive.settings import Account
    from hp_archive.sources.simulators.base import SimulatorServer
    from hp_archive.sources.simulators.facebook import FacebookGraphSimulator
    from hp_archive.sources.simulators.scenario import Scenario
    from hp_archive.storage import LocalObjectStore

    token = "EAAGbenchTOKEN0123456789abcdefSECRET"
    root = Path(tempfile.mkdtemp(prefix="hp-bench-incr-"))
    scenario = Scenario.department(posts=posts, comments_per_post=comments, days=days)
    now = scenario.now()
    clock_value = [now]
    try:
        with SimulatorServer(FacebookGraphSimulator(scenario, valid_tokens={token})) as server:
            engine = make_engine(f"sqlite:///{root / 'index.sqlite'}")
            upgrade(engine)
            archive = Archive(
                store=LocalObjectStore(root / "store"),
                engine=engine,
                spool_dir=root / "spool",
                clock=lambda: clock_value[0],
                environ={"BENCH_TOKEN": token},
                signing_key_path=root / "key.pem",
            )
            account = Account(
                id="bench-facebook",
                platform="facebook",
                handle=scenario.account.id,
                base_url=f"{server.url}/v25.0",
                token_env="BENCH_TOKEN",
                series="social-media",
                lookback_days=lookback,
            )
            rows = []
            first_requests = 0
            first_bytes = 0
            for night in (1, 2):
                end = now + timedelta(days=night - 1)
                clock_value[0] = end
                start, cpu = time.perf_counter(), time.process_time()
                result = capture_account(archive, account, window_end=end)
                seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
                written = sum(f["size"] for f in result.files)
                if details is not None:
                    details[f"night {night}"] = {
                        "files": len(result.files),
                        "bytes": written,
                        "requests": result.report.get("counts", {}).get("requests", 0),
                        "by_record_type": breakdown(archive.store, [f["key"] for f in result.files]),
                    }
                requests = result.report.get("counts", {}).get("requests", 0)
                records = sum(f["record_count"] for f in result.files)
                row = Row(
                    f"capture night {night} ({'first, full' if night == 1 else 'unchanged, incremental'})",
                    records,
                    seconds,
                    written / 1e6,
                    peak_rss_mb(),
                    cpu_seconds=cpu,  # this process's: the simulator's threads serve from it too
                )
                if night == 1:
                    first_requests, first_bytes = requests, written
                    row.note = f"{requests} API requests, {written} bytes written"
                else:
                    # The listing starts at the end of the last complete one (night 1's window
                    # end) less the look-back window: posts created since then are re-listed,
                    # and each one's comment thread (comments and replies, 100 a page).
                    cutoff = now - timedelta(days=lookback)  # night 1 ended at now
                    in_window = [p for p in scenario.account.live_posts() if cutoff <= p.created <= end]
                    threads = sum(
                        max(1, math.ceil(sum(1 + len(c.replies) for c in p.comments) / 100))
                        for p in in_window
                    )
                    bound = 1 + max(1, math.ceil(len(in_window) / 100)) + threads
                    share = written / first_bytes
                    row.peer = "night 1"
                    row.ratio = round(share, 4)
                    row.goal = "bytes ≤ 1% of night 1; requests ≤ listing pages + threads in window"
                    row.met = share <= 0.01 and requests <= bound
                    row.note = (
                        f"{requests} API requests (bound {bound}: profile + post pages + "
                        f"{len(in_window)} threads in the {lookback}-day window), {written} bytes = "
                        f"{share:.1%} of night 1 ({first_requests} requests)"
                    )
                rows.append(row)
            archive.close()
            return rows
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="incremental capture of an unchanged account")
    parser.add_argument("--posts", type=int, default=730, help="posts in the account's history")
    parser.add_argument("--comments", type=int, default=40, help="comments per post (± half)")
    parser.add_argument("--days", type=int, default=730, help="days of history the posts spread over")
    parser.add_argument("--lookback", type=int, default=30, help="the account's look-back window (days)")
    args = parser.parse_args(argv)
    from benchmarks.run import print_rows

    details: dict[str, Any] = {}
    print_rows(run(args.posts, args.comments, args.days, args.lookback, details))
    for night, figures in details.items():
        print(
            f"\n{night}: {figures['bytes']} bytes in {figures['files']} files, {figures['requests']} requests"
        )
        for kind, part in figures["by_record_type"].items():
            print(f"  {kind:32} {part['records']:7} records {part['bytes']:11} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
