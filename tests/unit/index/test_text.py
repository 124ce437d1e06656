"""Search normalization is the same for indexing and querying on every backend."""

from __future__ import annotations

from hp_archive.index.text import search_text, tokens


def test_case_accents_and_punctuation() -> None:
    assert tokens("Officer María José PEÑA!") == ["officer", "maria", "jose", "pena"]
    assert search_text("Ça, c'est — merci") == "ca c est merci"


def test_non_latin_scripts_are_kept_and_html_is_just_text() -> None:
    assert tokens("שלום תודה") == ["שלום", "תודה"]
    assert tokens("مرحبا بكم") == ["مرحبا", "بكم"]
    assert tokens("<script>alert('x')</script>") == ["script", "alert", "x", "script"]
    assert tokens("🚓🚓") == []


def test_underscores_split_words() -> None:
    assert tokens("snake_case") == ["snake", "case"]
