"""Platform sources and their registry.

The registry is the one place that knows which platforms exist; everything else looks a source
up by the ``platform`` name stored in the accounts file and in each WARC's warcinfo record.
"""

from __future__ import annotations

from importlib import import_module

from hp_archive.errors import ConfigError
from hp_archive.platforms import SOURCES, platform_names
from hp_archive.sources.base import (
    ArchivedResponse,
    CaptureContext,
    Fetched,
    Listing,
    ParsedItem,
    ParseResult,
    Source,
    Verdict,
)

_REGISTRY = SOURCES  # the one registry lives in hp_archive.platforms (import-free for DAGs)


def source_class(platform: str) -> type[Source]:
    """The :class:`Source` subclass for ``platform``; ConfigError if unknown."""
    try:
        target = _REGISTRY[platform]
    except KeyError:
        raise ConfigError(
            f"unknown platform {platform!r}; this build supports {', '.join(platform_names())}"
        ) from None
    module_name, _, class_name = target.partition(":")
    cls = getattr(import_module(module_name), class_name)
    if not (isinstance(cls, type) and issubclass(cls, Source)):
        raise ConfigError(f"registry entry for {platform!r} is not a Source subclass")
    return cls


__all__ = [
    "ArchivedResponse",
    "CaptureContext",
    "Fetched",
    "Listing",
    "ParseResult",
    "ParsedItem",
    "Source",
    "Verdict",
    "platform_names",
    "source_class",
]
