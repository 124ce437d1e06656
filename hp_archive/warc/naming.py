"""WARC file names (IIPC recommendation) and object keys partitioned for disposal."""

from __future__ import annotations

import re
import socket
from datetime import UTC, datetime

WARC_PREFIX = "warcs"
_UNSAFE = re.compile(r"[^A-Za-z0-9.-]+")


def host_label(hostname: str | None = None) -> str:
    """The crawl host part of a file name: the short host name with unsafe characters removed."""
    name = (hostname or socket.gethostname()).split(".")[0]
    return _UNSAFE.sub("-", name).strip("-") or "host"


def warc_filename(prefix: str, moment: datetime, serial: int, host: str) -> str:
    """``Prefix-Timestamp-Serial-Crawlhost.warc.gz`` with a 17-digit UTC timestamp.

    Example: ``hp-hppd-facebook-20261125080000123-00000-worker1.warc.gz``.
    """
    stamp = moment.astimezone(UTC).strftime("%Y%m%d%H%M%S%f")[:17]
    safe_prefix = _UNSAFE.sub("-", prefix).strip("-")
    return f"{safe_prefix}-{stamp}-{serial:05d}-{host}.warc.gz"


def warc_object_key(account_id: str, series: str, capture_date: datetime, filename: str) -> str:
    """``warcs/<account>/<series>/<YYYY>/<MM>/<DD>/<file>``: a series is a prefix to dispose of."""
    day = capture_date.astimezone(UTC)
    return f"{WARC_PREFIX}/{account_id}/{series}/{day:%Y/%m/%d}/{filename}"


def parse_object_key(key: str) -> tuple[str, str] | None:
    """(account, series) of a WARC object key, or None if the key is not one of ours."""
    parts = key.split("/")
    if len(parts) == 7 and parts[0] == WARC_PREFIX and parts[-1].endswith((".warc.gz", ".warc")):
        return parts[1], parts[2]
    return None
