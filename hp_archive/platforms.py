"""The registry of platforms this build can capture: name -> "module:Class" of its source.

Kept free of imports so that Airflow can read it while parsing DAG files (DAG files must load
in well under two seconds and without touching the network or a database). Everything else
reaches sources through :func:`hp_archive.sources.source_class`.
"""

from __future__ import annotations

SOURCES: dict[str, str] = {
    "facebook": "hp_archive.sources.facebook:FacebookPagesSource",
    "instagram": "hp_archive.sources.instagram:InstagramSource",
    "youtube": "hp_archive.sources.youtube:YouTubeSource",
    "x": "hp_archive.sources.x:XSource",
    "bluesky": "hp_archive.sources.bluesky:BlueskySource",
    "mastodon": "hp_archive.sources.mastodon:MastodonSource",
    "feed": "hp_archive.sources.feed:FeedSource",
    "web": "hp_archive.sources.web:WebPageSource",
}


def platform_names() -> list[str]:
    """The platforms this build can capture, sorted."""
    return sorted(SOURCES)
