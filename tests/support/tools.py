"""The independent WARC tools the tests run on what the project writes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent


def warcio_check(paths: list[str]) -> subprocess.CompletedProcess[str]:
    """``warcio check -v`` (exit 0 only when every digest of every record verifies)."""
    return subprocess.run([str(BIN / "warcio"), "check", "-v", *paths], capture_output=True, text=True)


def cdxj_index(paths: list[str]) -> subprocess.CompletedProcess[str]:
    """``cdxj-indexer`` over the files (pywb's indexer; fails on records it cannot parse)."""
    return subprocess.run([str(BIN / "cdxj-indexer"), *paths], capture_output=True, text=True)
