"""Export throughput: documents per second for a ~10,000-document production, against ``cp``.

A simulated department Page (posts with comments and replies, a third of the posts with photos)
is captured once through the real pipeline (simulator → WARC → store → index) and held whole;
then it is produced

* with every format (natives, text, page images + searchable PDFs, DAT/OPT/EDRM, WACZ, manifest,
  signed custody record) — the court-ready production;
* with natives, text and the DAT only — what the load files need without renderings;

and the natives folder of the first production is copied with ``cp -r``, the floor for writing
the same native files. Each export's time is split by phase (wrapping the functions that do the
work) so the report says where the time goes. Rasterizing runs in worker processes beside the
layout, so it shows as the time the export waited for them, and is also timed alone on a sample
of pages.

    python -m benchmarks.export [--documents 10000] [--keep DIR] [--json]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.common import Row, directory_bytes, peak_rss_mb

TOKEN = "EAAGbenchTOKEN0123456789"
COMMENTS_PER_POST = 8
DOCUMENTS_PER_POST = 14.7  # measured: a post, ~8 comments, ~5.7 replies


def build_archive(root: Path, documents: int) -> tuple[Any, int, float]:
    """A captured and fully held archive of about ``documents`` documents; (archive, n, seconds)."""
    from sqlalchemy import func, select

    from hp_archive.archive import Archive
    from hp_archive.capture import capture_account
    from hp_archive.ediscovery.holds import place_hold
    from hp_archive.index import models as m
    from hp_archive.index.db import make_engine, upgrade
    from hp_archive.settings import Account
    from hp_archive.sources.context import RetryPolicy
    from hp_archive.sources.simulators.base import SimulatorServer
    from hp_archive.sources.simulators.facebook import FacebookGraphSimulator
    from hp_archive.sources.simulators.scenario import Scenario
    from hp_archive.storage import LocalObjectStore

    scenario = Scenario.department(
        posts=max(1, round(documents / DOCUMENTS_PER_POST)), comments_per_post=COMMENTS_PER_POST, days=120
    )
    started = time.perf_counter()
    with SimulatorServer(FacebookGraphSimulator(scenario, valid_tokens={TOKEN})) as server:
        account = Account(
            id="hppd-facebook",
            platform="facebook",
            handle=scenario.account.id,
            base_url=f"{server.url}/v25.0",
            token_env="HP_BENCH_TOKEN",
            series="social-media",
            lookback_days=200,
        )
        engine = make_engine(f"sqlite:///{root / 'index.sqlite'}")
        upgrade(engine)
        archive = Archive(
            store=LocalObjectStore(root / "store"),
            engine=engine,
            spool_dir=root / "spool",
            clock=scenario.now,
            sleep=lambda _s: None,
            environ={"HP_BENCH_TOKEN": TOKEN},
            retry=RetryPolicy(max_attempts=2, base_delay=0.0),
        )
        result = capture_account(archive, account, window_end=scenario.now())
        if result.outcome != "complete":
            raise RuntimeError(f"benchmark capture failed: {result.error}")
    place_hold(archive, "BENCH-1", reason="benchmark", query="kind:post OR kind:comment OR kind:reply")
    with archive.sessions() as session:
        count = session.scalar(select(func.count()).select_from(m.Item).where(m.Item.kind != "media")) or 0
    return archive, int(count), time.perf_counter() - started


@contextmanager
def phases() -> Iterator[dict[str, float]]:
    """Wall time spent in each phase of an export, by wrapping the functions that do it."""
    from hp_archive.ediscovery.export import evidence, loadfiles, natives, produce, service, text, wacz

    spent: dict[str, float] = defaultdict(float)
    targets: list[tuple[Any, str, str]] = [
        (produce, "render_document", "layout PDF (ReportLab)"),
        (produce.Rasterizer, "_collect", "waiting for page images (rasterizer workers behind)"),
        (produce.Rasterizer, "_write", "write page images"),
        (evidence.EvidenceReader, "file", "download + verify source WARCs"),
        (evidence.EvidenceReader, "record", "read + verify WARC records"),
        (evidence.EvidenceReader, "body", "decode HTTP bodies"),
        (natives, "index_objects", "locate item objects in JSON"),
        (produce.ProductionFolder, "write", "write files + MD5/SHA-1/SHA-256"),
        (text, "document_text", "extracted text"),
        (loadfiles, "dat_file", "DAT"),
        (loadfiles, "opt_file", "OPT"),
        (loadfiles, "edrm_xml", "EDRM XML"),
        (wacz, "write_wacz", "WACZ (copy records, CDXJ, sign)"),
        (service, "_zip", "zip"),
        (service, "load_items", "select items from the index"),
    ]
    originals = [(owner, name, getattr(owner, name)) for owner, name, _ in targets]

    def wrap(function: Callable[..., Any], label: str) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent[label] += time.perf_counter() - start

        return timed

    for (owner, name, label), (_, _, function) in zip(targets, originals, strict=True):
        setattr(owner, name, wrap(function, label))
    try:
        yield spent
    finally:
        for owner, name, function in originals:
            setattr(owner, name, function)


def cpu_split() -> tuple[float, float]:
    """User + system CPU of this process, and of its waited-for children (rasterizer workers, cp)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def cpu_seconds() -> float:
    return sum(cpu_split())


def children_peak_rss_mb() -> float:
    """The largest peak RSS (MiB) of the children waited for so far (the rasterizer workers)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0


def timed_export(archive: Any, out: Path, formats: list[str]) -> tuple[Any, float, dict[str, float]]:
    """(result, wall seconds, phases); ``phases["cpu seconds"]`` is the CPU of the export and its workers."""
    from hp_archive.ediscovery.export import export_matter

    with phases() as spent:
        own, children = cpu_split()
        started = time.perf_counter()
        result = export_matter(
            archive,
            "BENCH-1",
            out,
            formats=formats,
            actor="benchmark",
            as_of=datetime(2026, 12, 1, tzinfo=UTC),
        )
        seconds = time.perf_counter() - started
    timing = dict(spent)
    own_after, children_after = cpu_split()
    timing["cpu seconds"] = own_after - own + children_after - children
    timing["cpu seconds, workers"] = children_after - children
    return result, seconds, timing


def raster_sample(folder: Path, pages: int = 40) -> dict[str, float]:
    """Milliseconds per page to rasterize produced PDFs in this process (PDFium + encoders)."""
    from hp_archive.ediscovery.export.render import rasterize

    pdfs = sorted(folder.rglob("*.pdf"))[:pages]
    started = time.perf_counter()
    count = sum(len(rasterize(pdf.read_bytes(), colour=False)) for pdf in pdfs)
    return {
        "pages": count,
        "ms_per_page_tiff": round(1000 * (time.perf_counter() - started) / max(count, 1), 1),
    }


def run(documents: int = 10_000, keep: Path | None = None) -> list[Row]:
    """The rows for ``benchmarks.run`` (also printed with the phase split by :func:`main`)."""
    rows, _ = measure(documents, keep)
    return rows


def measure(documents: int, keep: Path | None) -> tuple[list[Row], dict[str, Any]]:
    root = Path(tempfile.mkdtemp(prefix="hp-bench-export-", dir=keep))
    details: dict[str, Any] = {}
    try:
        archive, count, built = build_archive(root / "archive", documents)
        details["documents"] = count
        details["capture_seconds"] = round(built, 1)
        rows: list[Row] = []
        try:
            full, seconds, spent = timed_export(
                archive, root / "full", ["wacz", "dat", "edrm", "pdf", "native"]
            )
            cpu = spent.pop("cpu seconds")
            details["full"] = {
                "seconds": round(seconds, 1),
                "cpu_seconds": round(cpu, 1),
                "cpu_seconds_rasterizer_workers": round(spent.pop("cpu seconds, workers"), 1),
                "peak_rss_mb": round(peak_rss_mb(), 1),
                "rasterizer_peak_rss_mb": round(children_peak_rss_mb(), 1),
                "phases": {k: round(v, 1) for k, v in spent.items()},
            }
            details["raster_sample"] = raster_sample(full.folder / "IMAGES")
            rows.append(
                Row(
                    "export, every format",
                    full.documents,
                    seconds,
                    directory_bytes(full.folder) / 1e6,
                    max(peak_rss_mb(), children_peak_rss_mb()),
                    note=f"{full.pages} pages",
                    cpu_seconds=cpu,
                )
            )
            lean, seconds, spent = timed_export(archive, root / "lean", ["native", "dat"])
            cpu = spent.pop("cpu seconds")
            spent.pop("cpu seconds, workers")
            details["natives_dat"] = {
                "seconds": round(seconds, 1),
                "cpu_seconds": round(cpu, 1),
                "phases": {k: round(v, 1) for k, v in spent.items()},
            }
            rows.append(
                Row(
                    "export, natives + text + DAT",
                    lean.documents,
                    seconds,
                    directory_bytes(lean.folder) / 1e6,
                    max(peak_rss_mb(), children_peak_rss_mb()),
                    cpu_seconds=cpu,
                )
            )
        finally:
            archive.close()
        natives = full.folder / "NATIVES"
        started, cpu = time.perf_counter(), cpu_seconds()
        subprocess.run(["cp", "-r", str(natives), str(root / "cp-natives")], check=True)
        seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu
        rows.append(
            Row(
                "cp -r of the same NATIVES/",
                full.documents,
                seconds,
                directory_bytes(natives) / 1e6,
                peak_rss_mb(),
                cpu_seconds=cpu,
            )
        )
        for row in rows[:2]:
            row.peer, row.ratio = "cp", round(row.records_per_s / rows[2].records_per_s, 4)
        return rows, details
    finally:
        if keep is None:
            shutil.rmtree(root, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="export throughput against cp")
    parser.add_argument("--documents", type=int, default=10_000)
    parser.add_argument("--keep", type=Path, help="keep the archive and productions under this folder")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    rows, details = measure(args.documents, args.keep)
    if args.json:
        json.dump({"rows": [r.as_dict() for r in rows], "details": details}, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    print(f"{details['documents']} documents (captured in {details['capture_seconds']} s)")
    for row in rows:
        ratio = f"  ({row.ratio:g} x cp)" if row.ratio is not None else ""
        print(
            f"{row.operation:32} {row.seconds:8.1f} s  {row.cpu_seconds or 0:8.1f} CPU s  "
            f"{row.records_per_s:10.1f} documents/s  {row.mb:8.1f} MB  peak RSS {row.peak_rss_mb:6.0f} MB"
            f"{ratio}"
        )
    sample = details["raster_sample"]
    print(
        f"\nrasterizing alone: {sample['ms_per_page_tiff']} ms per Group IV TIFF page "
        f"({sample['pages']} pages)"
    )
    for name in ("full", "natives_dat"):
        print(
            f"\nwhere the time goes ({name}, wall {details[name]['seconds']} s, "
            f"CPU {details[name]['cpu_seconds']} s incl. workers"
            + (
                f" of which rasterizer workers {details[name]['cpu_seconds_rasterizer_workers']} s"
                if "cpu_seconds_rasterizer_workers" in details[name]
                else ""
            )
            + "):"
        )
        for label, seconds in sorted(details[name]["phases"].items(), key=lambda kv: -kv[1]):
            print(f"  {label:40} {seconds:8.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
