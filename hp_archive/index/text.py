"""Text normalization shared by indexing and querying, identical for every full-text backend.

Both SQLite FTS5 and PostgreSQL's ``simple`` configuration receive text that is already split
into tokens: case-folded, accents removed, any run of non-word characters collapsed to one
space. So "Peña", "PENA" and "pena" match alike on both backends, and a query token can never
be split differently by the two engines.
"""

from __future__ import annotations

import re
import unicodedata

_WORD = re.compile(r"\w+", re.UNICODE)
MAX_TOKEN = 64


def tokens(text: str) -> list[str]:
    """The searchable tokens of ``text`` in order."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return [tok[:MAX_TOKEN] for tok in _WORD.findall(stripped.replace("_", " "))]


def search_text(text: str) -> str:
    """Space-joined tokens, the value stored in ``item_versions.search_text``."""
    return " ".join(tokens(text))
