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
    return [tok[:MAX_TOKEN] for tok in _WORD.findall(_folded(text).replace("_", " "))]


def _folded(text: str) -> str:
    """``text`` case-folded with accents removed (what tokens are cut from)."""
    if text.isascii():  # the common case, and the same result: NFKD and casefold are plain lower()
        return text.lower()
    return _combining().sub("", unicodedata.normalize("NFKD", text.casefold()))


@functools.cache
def _combining() -> re.Pattern[str]:
    """Every combining mark (``unicodedata.combining`` > 0), as one character class."""
    marks = "".join(filter(unicodedata.combining, map(chr, range(sys.maxunicode + 1))))
    return re.compile(f"[{re.escape(marks)}]")


_SEPARATORS = re.compile(r"[\W_]+", re.UNICODE)
_LONG_TOKEN = re.compile(rf"[^\W_]{{{MAX_TOKEN + 1},}}", re.UNICODE)


def _ascii_table() -> bytes:
    table = bytearray(b" " * 256)  # every byte that is not a letter or digit separates tokens
    for c in b"abcdefghijklmnopqrstuvwxyz0123456789":
        table[c] = c
    for c in b"ABCDEFGHIJKLMNOPQRSTUVWXYZ":
        table[c] = c + 32
    return bytes(table)


_ASCII_TOKENS = _ascii_table()


def search_text(text: str) -> str:
    """Space-joined tokens, the value stored in ``item_versions.search_text``."""
    if text.isascii():
        # the common case, in C: for ASCII, \w is [A-Za-z0-9_] and case-folding is lower()
        parts = text.encode("ascii").translate(_ASCII_TOKENS).split()
        if not parts or max(map(len, parts)) <= MAX_TOKEN:
            return b" ".join(parts).decode("ascii")
    # the same string as joining tokens(): every run of separators becomes one space
    joined = _SEPARATORS.sub(" ", _folded(text)).strip(" ")
    if _LONG_TOKEN.search(joined) is None:
        return joined
    return " ".join(tokens(text))  # a token longer than MAX_TOKEN is cut
