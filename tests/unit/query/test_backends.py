"""The text each full-text engine receives for words, prefixes and phrases."""

from __future__ import annotations

from hp_archive.query import fts5, tsquery
from hp_archive.query.ast import Text


def test_fts5_strings_are_quoted_phrases_with_prefix_marks() -> None:
    atoms = [Text(("police",)), Text(("polic",), prefix=True), Text(("o", "brie"), prefix=True)]
    assert fts5.expression(atoms) == '"police" OR "polic" * OR "o brie" *'


def test_fts5_keywords_are_only_words_inside_quotes() -> None:
    assert fts5.expression([Text(("and",)), Text(("near",))]) == '"and" OR "near"'


def test_tsquery_strings_use_adjacency_and_prefix_marks() -> None:
    atoms = [Text(("police",)), Text(("o", "brie"), prefix=True)]
    assert tsquery.expression(atoms) == "('police') | ('o' <-> 'brie':*)"
