"""Change detection: pure decisions over plain values.

* a new item → a version and ``created`` (plus ``hidden`` if it is already hidden);
* a changed content digest → a new version and ``edited``;
* the platform's hidden flag turning on/off → ``hidden`` / ``unhidden``;
* an item seen again after it was observed deleted → ``restored``;
* an item absent from a listing that **completed normally** → ``deleted-observed``. A listing that
  ended in an error, a rate limit or a timeout never marks anything deleted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class KnownState:
    """What the index knows of an item before an observation."""

    content_digest: str | None
    is_hidden: bool
    is_deleted: bool


@dataclass(frozen=True)
class Decision:
    """What one observation changes: whether it makes a version, and which events."""

    new_version: bool
    events: tuple[str, ...]


def observe(known: KnownState | None, *, content_digest: str, hidden: bool | None) -> Decision:
    """Compare an observation with the item's known state."""
    if known is None:
        return Decision(True, ("created", "hidden") if hidden else ("created",))
    events: list[str] = []
    if known.is_deleted:
        events.append("restored")
    new_version = content_digest != known.content_digest
    if new_version:
        events.append("edited")
    if hidden is True and not known.is_hidden:
        events.append("hidden")
    elif hidden is False and known.is_hidden:
        events.append("unhidden")
    return Decision(new_version, tuple(events))


@dataclass(frozen=True)
class ListingWindow:
    """A completed listing: which scope, and which creation times it covered."""

    scope: str
    since: datetime | None
    until: datetime | None


@dataclass(frozen=True)
class Candidate:
    """A live item the index attributes to a listing's scope."""

    uid: str
    created_at: datetime | None


def missing_from_listing(window: ListingWindow, candidates: Iterable[Candidate], seen: set[str]) -> list[str]:
    """Uids of live items in the scope and time window that a complete listing did not show.

    Items without a creation time are only judged by listings with no time bounds.
    """
    gone: list[str] = []
    for item in candidates:
        if item.uid in seen:
            continue
        if window.since is not None or window.until is not None:
            if item.created_at is None:
                continue
            if window.since is not None and item.created_at < window.since:
                continue
            if window.until is not None and item.created_at > window.until:
                continue
        gone.append(item.uid)
    return sorted(gone)
