"""``hp-archive hold …`` and ``search`` / ``show`` as counsel runs them (in-process, real archive)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hp_archive.capture import capture_account
from hp_archive.cli import main
from hp_archive.storage import LocalObjectStore
from tests.support.clock import FakeClock
from tests.support.pipeline import facebook_world, make_archive


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An archive at HP_ARCHIVE_HOME's embedded layout, with one night captured."""
    home = tmp_path / "home"
    for name in ("HP_ARCHIVE_STORAGE_URL", "HP_ARCHIVE_DATABASE_URL", "HP_ARCHIVE_TIMEZONE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HP_ARCHIVE_HOME", str(home))
    monkeypatch.setenv("HP_ARCHIVE_OPERATOR", "counsel@hanoverpark.example")
    clock = FakeClock()
    archive = make_archive(
        LocalObjectStore(home / "store"), f"sqlite:///{home / 'index.sqlite'}", home / "spool", clock
    )
    with facebook_world(posts=6, comments_per_post=4) as world:
        clock.set(world.scenario.now())
        assert capture_account(archive, world.account, window_end=world.scenario.now()).outcome == "complete"
    archive.close()
    yield home


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    code, out, err = run(capsys, *argv, "--json")
    assert code == 0, err
    return json.loads(out)


def test_create_list_show_release_with_json(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    created = run_json(
        capsys,
        "hold",
        "create",
        "2026-CV-0142",
        "--query",
        "speeding after:2026-01-01",
        "--reason",
        "Doe v. Village",
    )
    assert created["matter"] == "2026-CV-0142" and created["items"] > 0 and created["objects"]
    assert created["timezone"] == "America/Chicago"
    assert created["dates"][0]["local"] == "2026-01-01T00:00:00-06:00"
    [listed] = run_json(capsys, "hold", "list")["holds"]
    assert listed["created_by"] == "counsel@hanoverpark.example"
    assert (listed["status"], listed["reason"], listed["items"]) == (
        "active",
        "Doe v. Village",
        created["items"],
    )
    shown = run_json(capsys, "hold", "show", "2026-CV-0142")
    assert len(shown["items"]) == created["items"]
    assert all(o["legal_hold"] for o in shown["objects"])
    held_id = next(i["id"] for i in shown["items"] if i["basis"] == "query")
    found = run_json(capsys, "search", "speeding")
    assert any(r["holds"] for r in found["results"])
    item = run_json(capsys, "show", held_id)
    assert item["holds"][0]["matter"] == "2026-CV-0142"
    released = run_json(
        capsys, "hold", "release", "2026-CV-0142", "--reason", "settled", "--by", "J. Counsel"
    )
    assert sorted(released["objects"]) == sorted(created["objects"])
    assert run_json(capsys, "hold", "list")["holds"][0]["released_by"] == "J. Counsel"
    assert run_json(capsys, "show", held_id)["holds"] == []


def test_text_output_states_the_time_zone_and_the_hold(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "hold", "create", "M-1", "--query", "speeding", "--reason", "litigation")
    assert code == 0 and "hold 1 placed" in out and "stored objects flagged" in out
    code, out, _ = run(capsys, "search", "speeding before:2030-01-01")
    assert code == 0
    assert "before:2030-01-01 read in America/Chicago: until (exclusive) 2030-01-01T00:00:00-06:00" in out
    assert "HELD: M-1" in out and "[[speeding]]" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["search", "speeding AND"], "query: at position 13: expected a word"),
        (["search", 'author:"J Doe'], "query: at position 8: unclosed quote"),
        (["hold", "create", "M", "--query", "kind:tweet", "--reason", "r"], "kind:tweet is not a kind"),
        (["hold", "create", "M", "--reason", "r"], "holds nothing"),
        (["hold", "release", "M", "--reason", "r"], "no unreleased hold"),
        (["hold", "show", "nope"], "matter 'nope' does not exist"),
        (["show", "facebook:nope"], "not in the index"),
    ],
)
def test_errors_exit_non_zero_with_one_line(
    home: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, _, err = run(capsys, *argv)
    assert code == 1
    assert err.count("\n") == 1 and message in err, err
