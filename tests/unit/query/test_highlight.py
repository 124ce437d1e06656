"""Snippets mark the words a query matched — phrases and prefixes included — and nothing else."""

from __future__ import annotations

from hp_archive.query.highlight import snippet
from hp_archive.query.parser import parse


def mark(text: str, query: str, width: int = 160) -> str:
    return snippet(text, parse(query).text_atoms(positive=True), width)


def test_words_prefixes_and_phrases_are_marked() -> None:
    text = "Officer Peña said: never mind, the speeding on Walnut stopped."
    assert mark(text, "pena") == "Officer [[Peña]] said: never mind, the speeding on Walnut stopped."
    assert mark(text, "speed*") == "Officer Peña said: never mind, the [[speeding]] on Walnut stopped."
    assert (
        mark(text, '"never mind"') == "Officer Peña said: [[never]] [[mind,]] the speeding on Walnut stopped."
    )


def test_a_phrase_is_marked_only_where_its_words_are_adjacent() -> None:
    text = "mind the gap, never mind"
    assert mark(text, '"never mind"') == "mind the gap, [[never]] [[mind]]"


def test_negated_words_are_not_marked() -> None:
    text = "speeding and parking"
    assert mark(text, "speeding NOT parking") == "[[speeding]] and parking"


def test_a_long_text_is_cut_around_the_first_match_without_breaking_a_mark() -> None:
    text = " ".join(f"w{i}" for i in range(100)) + " target " + " ".join(f"v{i}" for i in range(100))
    out = mark(text, "target", width=60)
    assert out.startswith("… w92 ")
    assert "[[target]]" in out
    assert out.endswith(" …")
    assert len(out) < 80


def test_no_match_shows_the_start_of_the_text() -> None:
    assert mark("hello world", "platform:facebook") == "hello world"
