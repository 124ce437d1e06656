"""Platform simulators: loopback HTTP servers serving each platform's documented API.

The registry below is the one place that knows how to point an account at each simulator
(its API path prefix and what the account's ``handle`` is on that platform).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import Any


@dataclass(frozen=True)
class SimulatorEntry:
    """How to start one platform's simulator and describe its account.

    ``handle`` and ``base_path`` are format strings over ``account_id`` (the scenario account's
    platform id), ``username`` (its handle) and ``server`` (the simulator's URL).
    """

    target: str  # "module:Class", constructed as Class(scenario, valid_tokens=...)
    base_path: str = ""
    handle: str = "{account_id}"
    needs_token: bool = True

    def load(self) -> Any:
        module_name, _, name = self.target.partition(":")
        return getattr(import_module(module_name), name)


SIMULATORS: dict[str, SimulatorEntry] = {
    "facebook": SimulatorEntry(
        "hp_archive.sources.simulators.facebook:FacebookGraphSimulator", base_path="/v25.0"
    ),
    "x": SimulatorEntry("hp_archive.sources.simulators.x:XApiSimulator", handle="{username}"),
    "mastodon": SimulatorEntry(
        "hp_archive.sources.simulators.mastodon:MastodonSimulator", handle="{username}"
    ),
    "feed": SimulatorEntry(
        "hp_archive.sources.simulators.feed:FeedSimulator", handle="{server}/feed.rss", needs_token=False
    ),
    "web": SimulatorEntry(
        "hp_archive.sources.simulators.web:WebSiteSimulator", handle="{server}/", needs_token=False
    ),
    "instagram": SimulatorEntry(
        "hp_archive.sources.simulators.instagram:InstagramGraphSimulator", base_path="/v25.0"
    ),
    "youtube": SimulatorEntry(
        "hp_archive.sources.simulators.youtube:YouTubeDataSimulator", base_path="/youtube/v3", handle="mine"
    ),
    "bluesky": SimulatorEntry(
        "hp_archive.sources.simulators.bluesky:BlueskyAppViewSimulator",
        handle="{username}.bsky.social",
        needs_token=False,
    ),
}


def simulator_platforms() -> list[str]:
    return sorted(SIMULATORS)
