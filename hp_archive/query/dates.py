"""Date values of ``after:`` ``before:`` ``captured_after:`` ``captured_before:``.

An ISO date (``2024-01-31``) means midnight at the start of that day in the department's time
zone (``Settings.timezone``, America/Chicago by default); an ISO time without an offset
(``2024-01-31T14:30``) is a wall-clock time there; a time with ``Z`` or an offset is that instant.
A wall-clock time that happens twice when clocks go back is read as the first of the two; one that
does not exist when clocks go forward is read with the offset in force before the change.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hp_archive.errors import ConfigError

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})?$")


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name``; ConfigError naming the setting if it is unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"time zone {name!r} is unknown: set HP_ARCHIVE_TIMEZONE to an IANA name like America/Chicago"
        ) from None


def parse_instant(value: str, timezone: str) -> datetime | None:
    """The aware UTC instant ``value`` names in ``timezone``, or None if it is not ISO-8601."""
    local = zone(timezone)
    if _DATE.match(value):
        try:
            day = date.fromisoformat(value)
        except ValueError:
            return None
        return datetime.combine(day, time(0, 0), tzinfo=local).astimezone(UTC)
    if _DATETIME.match(value):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=local, fold=0)
        return parsed.astimezone(UTC)
    return None
