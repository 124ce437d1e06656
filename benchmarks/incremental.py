"""Incremental nightly capture of an unchanged account, beside its first full capture.

The real capture path against the Facebook Graph simulator: night 1 captures everything; night 2
(same content, window one day later) re-lists the posts inside the look-back window and their
comment threads, and writes revisits for unchanged payloads. Reported: bytes written to the store
and API requests of each night, and the request bound — listing pages + threads in the window.

    python -m benchmarks.incremental --posts 300 --comments 40
"""

from __future__ import annotations

import argparse
import math
import shutil
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from benchmarks.common import Row, peak_rss_mb


def run(posts: int = 300, comments: int = 40, days: int = 120, lookback: int = 30) -> list[Row]:
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
                start = time.perf_counter()
                result = capture_account(archive, account, window_end=end)
                seconds = time.perf_counter() - start
                written = sum(f["size"] for f in result.files)
                requests = result.report.get("counts", {}).get("requests", 0)
                records = sum(f["record_count"] for f in result.files)
                row = Row(
                    f"capture night {night} ({'first, full' if night == 1 else 'unchanged, incremental'})",
                    records,
                    seconds,
                    written / 1e6,
                    peak_rss_mb(),
                )
                if night == 1:
                    first_requests, first_bytes = requests, written
                    row.note = f"{requests} API requests, {written} bytes written"
                else:
                    cutoff = end - timedelta(days=lookback)
                    in_window = [p for p in scenario.account.live_posts() if p.created >= cutoff]
                    threads = sum(max(1, math.ceil(len(p.comments) * 2 / 100)) for p in in_window)
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
    parser.add_argument("--posts", type=int, default=300)
    parser.add_argument("--comments", type=int, default=40)
    args = parser.parse_args(argv)
    from benchmarks.run import print_rows

    print_rows(run(args.posts, args.comments))
    return 0


if __name__ == "__main__":
    sys.exit(main())
