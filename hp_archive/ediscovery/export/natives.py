"""NATIVES: each item's platform JSON exactly as captured, cut from the archived response body.

A platform answers with one JSON document holding many items (a page of posts, a post with its
comments). The native of an item is the exact byte span of its own object in that body — not a
re-serialization — found by the object's identifier: the largest object whose ``id`` (or
``id_str``, ``uri``, ``rest_id``, ``pk``) equals the item's native id. The largest, because a
reference to an item (``{"parent": {"id": …}}``, a strong ref ``{"uri", "cid"}``) is a smaller
object carrying the same id. When no object is found (HTML, XML, or an id the body does not
spell out) the native is the whole response body. Pure functions; no I/O.
"""

from __future__ import annotations

import json
import json.decoder
import json.scanner
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

# keys that name an object's own identifier, in order of preference
ID_KEYS = ("id", "id_str", "uri", "rest_id", "pk")

EXTENSIONS = {
    "application/json": ".json",
    "application/activity+json": ".json",
    "application/ld+json": ".json",
    "text/html": ".html",
    "application/xhtml+xml": ".html",
    "application/rss+xml": ".xml",
    "application/atom+xml": ".xml",
    "application/xml": ".xml",
    "text/xml": ".xml",
    "text/plain": ".txt",
    "text/csv": ".csv",
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "image/heic": ".heic",
    "image/avif": ".avif",
    "video/mp4": ".mp4",
    "video/quicktime": ".mov",
    "video/webm": ".webm",
    "audio/mpeg": ".mp3",
    "application/pdf": ".pdf",
}


def extension_for(content_type: str) -> str:
    """A file extension for a media type (never taken from a URL or from the platform's text)."""
    base = content_type.split(";", 1)[0].strip().lower()
    if base in EXTENSIONS:
        return EXTENSIONS[base]
    if base.endswith("+json"):
        return ".json"
    if base.endswith("+xml"):
        return ".xml"
    return ".bin"


@dataclass(frozen=True)
class ObjectIndex:
    """Byte spans of the objects in one JSON body, by identifier (see the module docstring)."""

    spans: dict[str, tuple[int, int]]

    def find(self, native_id: str) -> tuple[int, int] | None:
        return self.spans.get(native_id)


def index_objects(body: bytes) -> ObjectIndex | None:
    """The objects of a JSON body by identifier, or None when the body is not JSON."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    skip = 1 if text.startswith("\ufeff") else 0
    found: list[tuple[dict[str, Any], int, int]] = []
    try:
        _span_decoder(found).decode(text[skip:])
    except (ValueError, RecursionError):
        return None
    best: dict[tuple[int, str], tuple[int, int]] = {}
    for obj, start, end in found:
        for rank, key in enumerate(ID_KEYS):
            value = obj.get(key)
            if isinstance(value, bool) or not isinstance(value, str | int):
                continue
            ranked = (rank, str(value))
            span = (start + skip, end + skip)
            known = best.get(ranked)
            if known is None or span[1] - span[0] > known[1] - known[0]:
                best[ranked] = span
    spans: dict[str, tuple[int, int]] = {}
    for (_rank, ident), span in sorted(best.items(), key=lambda pair: pair[0][0], reverse=True):
        spans[ident] = span  # a better-ranked key overwrites a worse one
    # character offsets to byte offsets (the body is UTF-8)
    to_byte = _byte_offsets(text, {pos for span in spans.values() for pos in span})
    return ObjectIndex({ident: (to_byte[a], to_byte[b]) for ident, (a, b) in spans.items()})


def item_object(body: bytes, index: ObjectIndex | None, native_id: str) -> bytes | None:
    """The exact bytes of the item's own object in ``body``, or None when it cannot be told."""
    if index is None:
        return None
    span = index.find(native_id)
    if span is None:
        return None
    return body[span[0] : span[1]]


def _byte_offsets(text: str, positions: set[int]) -> dict[int, int]:
    """Byte offset in the UTF-8 encoding of ``text`` of each character position (one pass)."""
    if len(text.encode("utf-8")) == len(text):
        return {pos: pos for pos in positions}
    out: dict[int, int] = {}
    previous, offset = 0, 0
    for pos in sorted(positions):
        offset += len(text[previous:pos].encode("utf-8"))
        out[pos] = offset
        previous = pos
    return out


def _span_decoder(found: list[tuple[dict[str, Any], int, int]]) -> json.JSONDecoder:
    """A JSONDecoder that records where every object starts and ends (the pure-Python scanner)."""
    decoder: Any = json.JSONDecoder()
    plain: Callable[..., tuple[Any, int]] = getattr(json.decoder, "JSONObject")  # noqa: B009 - untyped

    def parse_object(s_and_end: tuple[str, int], *args: Any, **kwargs: Any) -> tuple[Any, int]:
        start = s_and_end[1] - 1  # the scanner passes the index just past '{'
        obj, end = plain(s_and_end, *args, **kwargs)
        if isinstance(obj, dict):
            found.append((obj, start, end))
        return obj, end

    decoder.parse_object = parse_object
    # the pure-Python scanner calls parse_object; the C one would not
    decoder.scan_once = getattr(json.scanner, "py_make_scanner")(decoder)  # noqa: B009 - untyped
    return cast(json.JSONDecoder, decoder)
