"""Text normalization shared by indexing and querying, identical for every full-text backend.

Both SQLite FTS5 and PostgreSQL's ``simple`` configuration receive text that is already split
into tokens: case-folded, accents removed, any run of non-word characters collapsed to one
space. So "Peña", "PENA" and "pena" match alike on both backends, and a query token can never
be split differently by the two engines.
"""

from __future__ import annotations

import functools
import re
import sys
import unicodedata

_WORD = re.compile(r"\w+", re.UNICODE)
MAX_TOKEN = 64


def tokens(text: str) -> list[str]:
    """The searchable tokens of ``text`` in order."""
    if text.isascii():  # the common case, and the same result: NFKD and casefold are plain lower()
        stripped = text.lower()
    else:
        stripped = _combining().sub("", unicodedata.normalize("NFKD", text.casefold()))
    return [tok[:MAX_TOKEN] for tok in _WORD.findall(stripped.replace("_", " "))]


@functools.cache
def _combining() -> re.Pattern[str]:
    """Every combining mark (``unicodedata.combining`` > 0), as one character class."""
    marks = "".join(chr(c) for c in range(sys.maxunicode + 1) if unicodedata.combining(chr(c)))
    return re.compile(f"[{re.escape(marks)}]")


def search_text(text: str) -> str:
    """Space-joined tokens, the value stored in ``item_versions.search_text``."""
    return " ".join(tokens(text))
