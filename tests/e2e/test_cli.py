"""The hp-archive command as a person or a script uses it (in a subprocess, like a shell)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hp_archive.sources.simulators import simulator_platforms
from tests.support.pipeline import decompressed
from tests.support.tools import cdxj_index, warcio_check


def run(home: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in ("HP_ARCHIVE_STORAGE_URL", "HP_ARCHIVE_DATABASE_URL", "HP_ARCHIVE_ACCOUNTS")
    }
    full_env = {**base, "HP_ARCHIVE_HOME": str(home), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "hp_archive.cli", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=300,
    )


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, float, str]:
    home = tmp_path_factory.mktemp("home")
    started = time.monotonic()
    result = run(home, "-vv", "demo", "--json")  # debug logging: every log line is checked for the token
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    return home / "demo", json.loads(result.stdout), elapsed, result.stderr


def test_demo_completes_quickly_with_every_kind_of_event(
    demo: tuple[Path, dict, float, str],
) -> None:
    _, summary, elapsed, _ = demo
    assert elapsed < 120
    platforms = simulator_platforms()
    assert len(platforms) == 8
    assert [n["outcome"] for n in summary["nights"]] == ["complete"] * 3 * len(platforms)
    assert {n["platform"] for n in summary["nights"]} == set(platforms)
    for kind in ("created", "edited", "hidden", "deleted-observed"):
        assert summary["events"].get(kind, 0) > 0, kind
    assert summary["warc_files"] == 3 * len(platforms)  # one file per account and night


def test_demo_warcs_pass_warcio_check_and_cdxj_indexer(demo: tuple[Path, dict, float, str]) -> None:
    home, *_ = demo
    warcs = sorted(str(p) for p in (home / "store").rglob("*.warc.gz"))
    assert len(warcs) == 3 * len(simulator_platforms())
    check = warcio_check(warcs)
    assert check.returncode == 0, check.stdout
    assert "digest pass" in check.stdout
    index = cdxj_index(warcs)
    assert index.returncode == 0 and index.stderr == "", index.stderr


def test_demo_token_never_lands_anywhere(demo: tuple[Path, dict, float, str]) -> None:
    home, _, _, log = demo
    # the simulated tokens are random per run: "sim-<platform>-" and 40 hex digits
    import re

    candidates = set(
        re.findall(
            rb"sim-[a-z]+-[0-9a-f]{40}",
            b"".join(decompressed(p.read_bytes()) for p in (home / "store").rglob("*.warc.gz")),
        )
    )
    assert candidates == set()
    assert re.search(r"sim-[a-z]+-[0-9a-f]{40}", log) is None
    db = (home / "index.sqlite").read_bytes()
    assert re.search(rb"sim-[a-z]+-[0-9a-f]{40}", db) is None


def test_search_json_contract_and_show(demo: tuple[Path, dict, float, str]) -> None:
    home, *_ = demo
    found = run(home, "search", "--json", "never mind")
    assert found.returncode == 0, found.stderr
    data = json.loads(found.stdout)
    assert {"total", "results"} <= set(data) and data["total"] >= 1
    first = data["results"][0]
    for key in (
        "id",
        "platform",
        "account",
        "kind",
        "author",
        "created_at",
        "first_captured_at",
        "status",
        "text",
    ):
        assert key in first
    assert first["status"] in ("edited", "hidden", "deleted")
    shown = run(home, "show", first["id"], "--versions", "--json")
    assert shown.returncode == 0, shown.stderr
    detail = json.loads(shown.stdout)
    assert len(detail["versions"]) >= 2 and detail["events"][0]["kind"] == "created"
    human = run(home, "show", first["id"], "--versions")
    assert "versions:" in human.stdout and "events:" in human.stdout


def test_sources_lists_the_platforms(tmp_path: Path) -> None:
    result = run(tmp_path, "sources", "--json")
    assert result.returncode == 0
    platforms = [s["platform"] for s in json.loads(result.stdout)["sources"]]
    assert "facebook" in platforms


def test_init_then_capture_with_an_empty_accounts_file(tmp_path: Path) -> None:
    init = run(tmp_path, "init", "--json")
    assert init.returncode == 0, init.stderr
    info = json.loads(init.stdout)
    assert info["accounts_created"] and Path(info["accounts"]).exists()
    assert (tmp_path / "index.sqlite").exists()
    capture = run(tmp_path, "capture")
    assert capture.returncode == 1
    assert capture.stderr.strip().count("\n") == 0
    assert "no accounts to capture" in capture.stderr


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["show", "facebook:nope"], {}, "not in the index"),
        (["search", "!!!"], {}, "no searchable words"),
        (["capture"], {"HP_ARCHIVE_DATABASE_URL": "mysql://x/y"}, "not supported"),
        (["capture"], {"HP_ARCHIVE_STORAGE_URL": "ftp://x/y"}, "ftp"),
        (["capture", "--account", "ghost"], {}, "ghost"),
    ],
)
def test_bad_input_is_one_actionable_line(
    tmp_path: Path, args: list[str], env: dict[str, str], message: str
) -> None:
    run(tmp_path, "init")
    (tmp_path / "accounts.yaml").write_text(
        "accounts:\n  - {id: a, platform: facebook, handle: '1', token_env: HP_T}\n"
    )
    result = run(tmp_path, *args, env=env)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert message in lines[0]
    assert "Traceback" not in result.stderr


def test_missing_token_names_the_variable(tmp_path: Path) -> None:
    run(tmp_path, "init")
    (tmp_path / "accounts.yaml").write_text(
        "accounts:\n  - {id: hppd, platform: facebook, handle: '1', token_env: HP_FB_TOKEN, base_url: 'http://127.0.0.1:9'}\n"
    )
    result = run(tmp_path, "capture", env={"HP_FB_TOKEN": ""})
    assert result.returncode == 1
    assert "no token in environment variable HP_FB_TOKEN" in result.stderr
