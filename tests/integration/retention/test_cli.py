"""The records officer's command line on the demo archive, with the system clock moved by libfaketime.

Every ``hp-archive`` here runs in a subprocess whose clock libfaketime sets (``FAKETIME=@…``), so
``disposal execute`` — which takes no time override — is judged by the (faked) real clock, exactly
as in production. The tests skip, saying why, when libfaketime is not installed (``.ci/run``
installs the Debian package ``faketime``).
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hp_archive.audit import verify_document
from hp_archive.capture import capture_account
from hp_archive.index.text import tokens
from hp_archive.storage import S3ObjectStore
from tests.integration.retention.conftest import APPROVED, install_schedule
from tests.support.clock import FakeClock
from tests.support.pipeline import facebook_world, make_archive

LIBFAKETIME = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1")
pytestmark = pytest.mark.skipif(
    not LIBFAKETIME.exists(),
    reason=f"libfaketime is not installed ({LIBFAKETIME}): apt-get install faketime (.ci/run does)",
)
OFFICER = "records.officer"


def hp(
    home: Path, *args: str, at: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    base = {
        k: v for k, v in os.environ.items() if not k.startswith(("HP_ARCHIVE_", "FAKETIME", "LD_PRELOAD"))
    }
    full = {**base, "HP_ARCHIVE_HOME": str(home), "HP_ARCHIVE_OPERATOR": OFFICER, "TZ": "UTC", **(env or {})}
    if at is not None:
        full |= {"LD_PRELOAD": str(LIBFAKETIME), "FAKETIME": f"@{at}"}
    return subprocess.run(
        [sys.executable, "-m", "hp_archive.cli", *args], capture_output=True, text=True, env=full, timeout=300
    )


def texts(database: Path, uids: set[str]) -> dict[str, str]:
    """Current texts of indexed items, read straight from the demo's SQLite index."""
    with contextlib.closing(sqlite3.connect(database)) as db:
        rows = db.execute(
            "SELECT i.uid, v.text FROM items i JOIN item_versions v ON v.id = i.current_version_id"
        ).fetchall()
    return {uid: text for uid, text in rows if uid in uids and tokens(text)}


def ok(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout) if result.stdout.lstrip().startswith("{") else result.stdout


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("home")
    ok(hp(home, "demo", "--json"))
    archive_home = home / "demo"
    install_schedule(archive_home)
    return archive_home


def test_the_clock_really_moves_in_the_subprocess(tmp_path: Path) -> None:
    result = hp(tmp_path, "--version", at="2029-03-03 12:00:00")
    assert result.returncode == 0
    probe = subprocess.run(
        [sys.executable, "-c", "from hp_archive.commands.common import now; print(now().isoformat())"],
        capture_output=True,
        text=True,
        env={**os.environ, "LD_PRELOAD": str(LIBFAKETIME), "FAKETIME": "@2029-03-03 12:00:00", "TZ": "UTC"},
    )
    assert probe.stdout.startswith("2029-03-03T12:00"), probe.stdout + probe.stderr


def test_two_step_disposal_on_the_demo_archive(demo: Path) -> None:
    home = demo
    eligible = ok(hp(home, "retention", "eligible", "--as-of", "2029-02-01", "--json"))
    records = [uid for item in eligible["items"] for uid in item["records"]]
    held = next(uid for uid in sorted(records) if uid.startswith("facebook:") and uid.count("_") == 1)
    ok(hp(home, "hold", "create", "2029-CV-0001", "--item", held, "--reason", "pending litigation"))

    proposal = ok(hp(home, "disposal", "propose", "--json", at="2029-02-01 15:00:00"))
    cert = proposal["certificate_id"]
    shown = ok(hp(home, "disposal", "show", cert, "--json"))
    assert shown["proposed_at"].startswith("2029-02-01T15:00")  # the faked clock, not the real one
    listed = {r["id"] for r in shown["record_list"]}
    assert held not in listed and len(listed) > 10
    before = texts(home / "index.sqlite", listed)

    future = hp(home, "disposal", "submit", cert, "--on", "2029-02-02", at="2029-02-01 15:00:00")
    assert future.returncode == 1 and "in the future" in future.stderr and future.stderr.count("\n") == 1
    ok(hp(home, "disposal", "submit", cert, "--on", "2029-02-01", at="2029-02-01 15:05:00"))
    early = hp(home, "disposal", "execute", cert, at="2029-02-05 10:00:00")
    assert early.returncode == 1 and "not approved" in early.stderr
    ok(hp(home, "disposal", "approve", cert, "--reference", "LRC-29-114", "--approved-on", "2029-02-10",
          "--by", "Local Records Commission", at="2029-02-10 16:00:00"))  # fmt: skip

    override = hp(home, "disposal", "execute", cert, "--as-of", "2029-03-03", at="2029-03-02 12:00:00")
    assert override.returncode == 2 and "--as-of" in override.stderr  # execute takes no time override
    day29 = hp(home, "disposal", "execute", cert, at="2029-03-02 12:00:00")
    assert day29.returncode == 1
    assert "day 29 of the 30-day waiting period: execute on or after 2029-03-03" in day29.stderr
    report = ok(hp(home, "disposal", "execute", cert, "--json", at="2029-03-03 12:00:00"))
    assert report["destroyed"] > 0 and report["state"] == "executed"
    verified = ok(hp(home, "disposal", "verify", cert, "--json", at="2029-03-04 09:00:00"))
    assert verified["ok"] and verified["state"] == "verified"

    final = ok(hp(home, "disposal", "show", cert, "--json"))
    destroyed = {r["id"] for r in final["record_list"] if r["status"] == "destroyed"}
    assert final["stubs"] == len(destroyed) == report["destroyed"]
    assert final["executed_at"].startswith("2029-03-03T12:00") and final["executed_by"] == OFFICER
    assert final["verified_at"].startswith("2029-03-04T09:00")

    # held items survive; destroyed ones are gone from the index and from search
    assert ok(hp(home, "show", held, "--json"))["id"] == held
    assert not set(texts(home / "index.sqlite", destroyed)) and set(texts(home / "index.sqlite", {held}))
    gone = sorted(destroyed & set(before))
    assert "not in the index" in hp(home, "show", gone[0]).stderr
    for uid in gone[:3]:
        words = " ".join(tokens(before[uid])[:3])
        found = ok(hp(home, "search", "--json", words))
        assert not {r["id"] for r in found["results"]} & destroyed
    # the destroyed objects are absent from the store; the rewritten ones are there
    objects = home / "store" / "objects"
    for key in report["objects_deleted"] + [r["key"] for r in report["objects_rewritten"]]:
        assert not (objects / key).exists(), key
    for entry in report["objects_rewritten"]:
        assert (objects / entry["new_key"]).exists()
    # the certificate of destruction verifies with the public key alone
    document = json.loads((objects / f"certificates/{cert}/certificate-of-destruction.json").read_bytes())
    [public] = list((objects / "keys").glob("*.pem"))
    assert verify_document(document, public.read_bytes())
    assert document["records_destroyed"] == len(destroyed) and document["verified_by"] == OFFICER
    assert (objects / f"certificates/{cert}/certificate-of-destruction.pdf").read_bytes().startswith(b"%PDF")
    assert ok(hp(home, "audit", "verify", "--json"))["ok"]


def test_retention_check_and_eligible_speak_plainly(demo: Path, tmp_path: Path) -> None:
    check = hp(demo, "retention", "check")
    assert check.returncode == 0 and "valid" in check.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text(APPROVED.replace("retention: P5Y", "retention: five years", 1))
    result = hp(demo, "retention", "check", str(bad))
    assert result.returncode == 1
    assert "item 3 (number 'EX-3'), field 'retention'" in result.stderr
    fallback = hp(tmp_path, "retention", "check")
    assert fallback.returncode == 0 and "warning:" in fallback.stderr and "EXAMPLE" in fallback.stderr


def test_disposal_on_s3_under_object_lock(
    tmp_path: Path, moto_endpoint: str, make_bucket: Callable[..., str], s3_client: Any
) -> None:
    bucket = make_bucket(object_lock=True)
    store = S3ObjectStore(bucket, "hp", endpoint_url=moto_endpoint, lock_mode="GOVERNANCE")
    install_schedule(tmp_path)
    clock = FakeClock()
    archive = make_archive(store, f"sqlite:///{tmp_path / 'index.sqlite'}", tmp_path / "spool", clock)
    with facebook_world(posts=3, comments_per_post=2) as world:
        for night in range(2):
            if night:
                world.scenario.advance()
            clock.set(world.scenario.now())
            capture_account(archive, world.account, window_end=world.scenario.now())
    archive.close()
    env = {
        "HP_ARCHIVE_STORAGE_URL": f"s3://{bucket}/hp",
        "HP_ARCHIVE_S3_ENDPOINT_URL": moto_endpoint,
        "HP_ARCHIVE_DATABASE_URL": f"sqlite:///{tmp_path / 'index.sqlite'}",
    }
    cert = ok(hp(tmp_path, "disposal", "propose", "--json", at="2029-02-01 15:00:00", env=env))[
        "certificate_id"
    ]
    ok(hp(tmp_path, "disposal", "submit", cert, "--on", "2029-02-01", at="2029-02-01 15:00:00", env=env))
    ok(hp(tmp_path, "disposal", "approve", cert, "--reference", "R", "--approved-on", "2029-02-02", "--by", "LRC",
          at="2029-02-02 15:00:00", env=env))  # fmt: skip
    # moto's server keeps the real clock, so its Object Lock still holds the objects: bypass, audited
    report = ok(hp(tmp_path, "disposal", "execute", cert, "--json", "--bypass-governance",
                   at="2029-03-03 12:00:00", env=env))  # fmt: skip
    gone = report["objects_deleted"] + [r["key"] for r in report["objects_rewritten"]]
    assert gone and report["bypass_governance"]
    for key in gone:
        answer = s3_client.list_object_versions(Bucket=bucket, Prefix=f"hp/{key}")
        assert not answer.get("Versions") and not answer.get("DeleteMarkers")
    assert ok(hp(tmp_path, "disposal", "verify", cert, "--json", at="2029-03-04 09:00:00", env=env))["ok"]


@pytest.mark.parametrize(
    ("tamper", "named"),
    [
        (
            "UPDATE audit_log SET actor = 'mallory' WHERE seq = 2",
            "entry 2: content does not match its hash (edited)",
        ),
        ("DELETE FROM audit_log WHERE seq = 2", "entry 3: entries 2..2 are missing (deleted)"),
        ("UPDATE audit_log SET id = id + 100 WHERE seq = 2", "entry 3"),
    ],
)
def test_audit_verify_names_the_entry_after_the_database_is_tampered_with(
    tmp_path: Path, tamper: str, named: str
) -> None:
    ok(hp(tmp_path, "init"))
    install_schedule(tmp_path)
    for _ in range(3):
        ok(hp(tmp_path, "retention", "reclassify"))  # each one an audit entry
    assert ok(hp(tmp_path, "audit", "verify", "--json"))["ok"]
    with contextlib.closing(sqlite3.connect(tmp_path / "index.sqlite")) as db:
        db.execute(tamper)
        db.commit()
    result = hp(tmp_path, "audit", "verify", "--json")
    assert result.returncode == 1
    problems = json.loads(result.stdout)["problems"]
    assert any(p.startswith(named) for p in problems), problems
