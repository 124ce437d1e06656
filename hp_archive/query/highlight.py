"""Highlighted snippets: the words of a text that a query's words and phrases matched, in [[ ]]."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from hp_archive.index.text import tokens
from hp_archive.query.ast import Text
from hp_archive.query.evaluate import occurrences

MARK_OPEN, MARK_CLOSE = "[[", "]]"


@lru_cache(maxsize=65_536)
def normalize(word: str) -> tuple[str, ...]:
    """A word's normalized tokens (cached: a page of results repeats most of its words)."""
    return tuple(tokens(word))


def marked_words(text: str, atoms: Sequence[Text]) -> tuple[list[str], list[bool]]:
    """The whitespace-separated words of ``text`` and, for each, whether an atom matched it."""
    words = text.split()
    flat: list[str] = []
    owner: list[int] = []
    for index, word in enumerate(words):
        for token in normalize(word):
            flat.append(token)
            owner.append(index)
    marked = [False] * len(words)
    for atom in atoms:
        for start in occurrences(flat, atom):
            for offset in range(len(atom.tokens)):
                marked[owner[start + offset]] = True
    return words, marked


def snippet(text: str, atoms: Sequence[Text], width: int = 160) -> str:
    """A window of ``text`` from a little before the first match, matched words wrapped in [[ ]]."""
    words, marked = marked_words(text, atoms)
    first = next((i for i, hit in enumerate(marked) if hit), 0)
    start = max(0, first - 8)
    pieces: list[str] = []
    used = 0
    for word, hit in zip(words[start:], marked[start:], strict=True):
        piece = f"{MARK_OPEN}{word}{MARK_CLOSE}" if hit else word
        if pieces and used + 1 + len(piece) > width:
            pieces.append("…")
            break
        pieces.append(piece)
        used += len(piece) + (1 if len(pieces) > 1 else 0)
    return ("… " if start else "") + " ".join(pieces)
