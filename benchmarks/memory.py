"""Peak memory as work grows: capture of one post with 100,000 comments (reindex memory is
measured by :mod:`benchmarks.reindex`, each run in its own process).

A minimal Graph API endpoint (one page, one post, N comments in pages of 100, generated on the
fly so the server holds nothing) runs in a child process; the capture runs here through the real
path — spool, store, index — and this process's peak RSS is reported, with a baseline capture of
1,000 comments to show it stays flat.

    python -m benchmarks.memory --comments 100000
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from benchmarks.common import Row, peak_rss_mb

PAGE = "104857600000042"
POST = f"{PAGE}_7000001"
TOKEN = "EAAGmemoryTOKEN0123456789abcdefSECRET"


def _serve(port_out: multiprocessing.Queue, total: int) -> None:  # type: ignore[type-arg]
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_args: object) -> None:
            return

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            address = self.server.server_address
            assert isinstance(address, tuple)
            host = f"http://127.0.0.1:{address[1]}"
            if parts.path.endswith("/comments"):
                after = int(query.get("after", ["0"])[0])
                data = [
                    {
                        "id": f"7000001_{n}",
                        "created_time": "2026-10-01T12:00:00+0000",
                        "from": {"id": f"{300000 + n % 5000}", "name": f"Resident {n % 5000}"},
                        "message": f"comment number {n} about the parade and the road closure",
                        "permalink_url": f"https://www.facebook.com/{PAGE}/posts/7000001/?comment_id={n}",
                        "is_hidden": False,
                        "like_count": n % 7,
                        "comment_count": 0,
                    }
                    for n in range(after, min(total, after + 100))
                ]
                body: dict[str, object] = {"data": data, "summary": {"total_count": total}}
                if after + 100 < total:
                    body["paging"] = {"next": f"{host}/v25.0/{POST}/comments?limit=100&after={after + 100}"}
            elif parts.path.endswith("/posts"):
                body = {
                    "data": [
                        {
                            "id": POST,
                            "created_time": "2026-10-01T10:00:00+0000",
                            "message": "Parade on Saturday",
                            "from": {"id": PAGE, "name": "PD"},
                            "permalink_url": f"https://www.facebook.com/{PAGE}/posts/7000001/",
                        }
                    ]
                }
            else:
                body = {"id": PAGE, "name": "PD", "username": "pd", "link": "https://www.facebook.com/pd"}
            payload = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port_out.put(server.server_address[1])
    server.serve_forever()


def capture_with_comments(total: int) -> tuple[float, int]:
    """(seconds, records) of capturing one post with ``total`` comments, through the real path."""
    from hp_archive.archive import Archive
    from hp_archive.capture import capture_account
    from hp_archive.index.db import make_engine, upgrade
    from hp_archive.settings import Account
    from hp_archive.storage import LocalObjectStore

    ctx = multiprocessing.get_context("spawn")
    ports: multiprocessing.Queue[int] = ctx.Queue()
    server = ctx.Process(target=_serve, args=(ports, total), daemon=True)
    server.start()
    root = Path(tempfile.mkdtemp(prefix="hp-bench-memory-"))
    try:
        port = ports.get(timeout=30)
        engine = make_engine(f"sqlite:///{root / 'index.sqlite'}")
        upgrade(engine)
        moment = datetime(2026, 10, 2, 8, 0, tzinfo=UTC)
        archive = Archive(
            store=LocalObjectStore(root / "store"),
            engine=engine,
            spool_dir=root / "spool",
            clock=lambda: moment,
            environ={"MEM_TOKEN": TOKEN},
            signing_key_path=root / "key.pem",
        )
        account = Account(
            id="memory-facebook",
            platform="facebook",
            handle=PAGE,
            base_url=f"http://127.0.0.1:{port}/v25.0",
            token_env="MEM_TOKEN",
        )
        start = time.perf_counter()
        result = capture_account(archive, account, window_end=moment)
        seconds = time.perf_counter() - start
        archive.close()
        if result.outcome != "complete":
            raise RuntimeError(f"capture did not complete: {result.error}")
        return seconds, sum(f["record_count"] for f in result.files)
    finally:
        server.terminate()
        shutil.rmtree(root, ignore_errors=True)


def child(total: int) -> None:
    seconds, records = capture_with_comments(total)
    cpu = time.process_time()  # this process's CPU: the capture (the endpoint runs in its own)
    print(json.dumps({"seconds": seconds, "records": records, "rss": peak_rss_mb(), "cpu": cpu}))


def run(comments: int = 100_000) -> list[Row]:
    import subprocess

    rows = []
    for total in (1_000, comments):
        done = subprocess.run(
            [sys.executable, "-c", f"from benchmarks.memory import child; child({total})"],
            capture_output=True,
            text=True,
            check=True,
        )
        data = json.loads(done.stdout.strip().splitlines()[-1])
        row = Row(
            f"capture of one post with {total:,} comments",
            data["records"],
            data["seconds"],
            0.0,
            data["rss"],
            cpu_seconds=data["cpu"],
        )
        if total == comments:
            row.goal, row.met = "peak RSS ≤ 300 MB", data["rss"] <= 300
        rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="peak RSS of a capture of one huge thread")
    parser.add_argument("--comments", type=int, default=100_000)
    args = parser.parse_args(argv)
    from benchmarks.run import print_rows

    print_rows(run(args.comments))
    return 0


if __name__ == "__main__":
    sys.exit(main())
