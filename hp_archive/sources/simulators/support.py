"""What several simulators render the same way: time stamps in the formats APIs use, headlines."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime

from hp_archive.sources.simulators.scenario import SimPost


def iso_seconds(moment: datetime) -> str:
    """RFC 3339 in UTC to the second: ``2026-11-01T08:00:00Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_millis(moment: datetime) -> str:
    """RFC 3339 in UTC to the millisecond: ``2026-11-01T08:00:00.000Z``."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def http_date(moment: datetime) -> str:
    """An HTTP date (RFC 9110 IMF-fixdate, also RSS's RFC 822 date): ``Sun, 01 Nov 2026 08:00:00 GMT``."""
    return format_datetime(moment.astimezone(UTC).replace(microsecond=0), usegmt=True)


def news_headline(post: SimPost) -> str:
    """A news item's headline: its text up to the first colon or full stop, at most 60 characters."""
    text = post.text
    for mark in (":", ". "):
        if mark in text:
            text = text.split(mark, 1)[0]
            break
    return text[:60].strip()
