"""Injected time for tests: nothing here sleeps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class FakeClock:
    """A clock that moves only when told to (and a little on every reading, like real time)."""

    def __init__(self, start: datetime | None = None, tick: timedelta = timedelta(milliseconds=1)) -> None:
        self.now = start or datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
        self.tick = tick
        self.slept: list[float] = []

    def __call__(self) -> datetime:
        self.now += self.tick
        return self.now

    def set(self, moment: datetime) -> None:
        self.now = moment

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)

    def sleep(self, seconds: float) -> None:
        """Record the wait and move the clock instead of sleeping."""
        self.slept.append(seconds)
        self.now += timedelta(seconds=seconds)
