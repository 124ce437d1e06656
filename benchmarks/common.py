"""What the benchmark modules share: timing a child process, peak RSS, one result row."""

from __future__ import annotations

import os
import platform
import resource
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

BIN = Path(sys.executable).parent


@dataclass
class Row:
    """One line of the table: ``ratio`` is ours / the peer's records/s (or as the goal says)."""

    operation: str
    records: int
    seconds: float
    mb: float
    peak_rss_mb: float
    peer: str = ""
    ratio: float | None = None
    goal: str = ""
    met: bool | None = None
    note: str = ""
    cpu_seconds: float | None = None  # user + system CPU of the run (its processes), load-independent
    suite: str = ""  # the benchmark module that measured it

    @property
    def records_per_s(self) -> float:
        return self.records / self.seconds if self.seconds else 0.0

    @property
    def mb_per_s(self) -> float:
        return self.mb / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["records_per_s"] = round(self.records_per_s, 1)
        out["mb_per_s"] = round(self.mb_per_s, 1)
        return out


LAST_CPU: list[float] = [0.0]


def timed_child(
    argv: list[str], *, stdout: Any = subprocess.DEVNULL, env: dict[str, str] | None = None
) -> tuple[float, float]:
    """(wall seconds, peak RSS MiB of its largest process) of one child command.

    Read with ``wait4`` for that child alone (its own processes included); its CPU seconds (user +
    system) are left in ``LAST_CPU[0]``.
    """
    start = time.perf_counter()
    child = subprocess.Popen(argv, stdout=stdout, env={**os.environ, **(env or {})})
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise subprocess.CalledProcessError(child.returncode, argv)
    LAST_CPU[0] = usage.ru_utime + usage.ru_stime
    return seconds, usage.ru_maxrss / 1024.0


def peak_rss_mb() -> float:
    """Peak RSS of this process so far (MiB): VmHWM, which starts afresh at exec.

    (``ru_maxrss`` does not: a child forked from a large parent reports the parent's size.)
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def machine() -> dict[str, Any]:
    """What the figures were measured on (and how busy it was)."""
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = int(line.split()[1]) // 1024
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "memory_mb": mem,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "sqlite": __import__("sqlite3").sqlite_version,
        "load_average_at_end": os.getloadavg(),
    }


def directory_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
