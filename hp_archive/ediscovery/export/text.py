"""TEXT: the extracted text of each document, UTF-8 (no byte-order mark), LF line ends.

The file opens with a short header (Bates range, platform, account, kind, author, times, status,
URL), then the current text, then every earlier version with when it was observed, so a reviewer
searching the text finds words that were later edited away. The platform's text is written as it
is: a text file cannot execute anything, and nothing in it is interpreted. Pure functions.
"""

from __future__ import annotations

from datetime import datetime

from .selection import NumberedDocument


def _when(moment: datetime | None) -> str:
    return moment.isoformat().replace("+00:00", "Z") if moment else "unknown"


def document_text(doc: NumberedDocument, *, begin: str, end: str) -> str:
    """The extracted text of one document (``begin``/``end``: its Bates labels)."""
    item = doc.item
    lines = [
        f"Bates: {begin}" + (f" - {end}" if end != begin else ""),
        f"Item: {item.uid}",
        f"Platform: {item.platform}  Account: {item.account}  Kind: {item.kind}",
        f"Author: {item.author_name or 'unknown'}" + (f" ({item.author_id})" if item.author_id else ""),
        f"Created: {_when(item.created_at)}",
        f"First captured: {_when(item.first_seen_at)}  Last seen: {_when(item.last_seen_at)}",
        f"Status: {item.status}"
        + (f" (deletion observed {_when(item.deleted_observed_at)})" if item.deleted_observed_at else ""),
    ]
    if item.url:
        lines.append(f"URL: {item.url}")
    if doc.planned.context:
        parent = doc.planned.context[-1]
        lines.append(f"In reply to: {parent.uid}")
    lines.append("")
    current = item.current
    lines.append(current.text if current else "")
    earlier = item.versions[:-1]
    for version in reversed(earlier):
        lines.append("")
        lines.append(
            f"--- version {version.number} of {len(item.versions)}, observed {_when(version.observed_at)} ---"
        )
        lines.append(version.text)
    for media in doc.planned.media:
        if media.current and media.current.text:
            lines.append("")
            lines.append(f"--- attached media {media.uid} ---")
            lines.append(media.current.text)
    return "\n".join(lines).replace("\r\n", "\n") + "\n"
