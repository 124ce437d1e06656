"""Fixity re-hashes stored objects, names every mismatch and missing object, and is audited."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hp_archive.capture import capture_account
from hp_archive.fixity import check_fixity, rotation_slot, slots_for
from hp_archive.index.models import AuditEntry
from hp_archive.storage import LocalObjectStore
from tests.support.clock import FakeClock
from tests.support.pipeline import facebook_world, make_archive


@pytest.fixture
def archive(tmp_path: Path, clock: FakeClock) -> Iterator[Any]:
    arch = make_archive(
        LocalObjectStore(tmp_path / "store"), f"sqlite:///{tmp_path / 'i.sqlite'}", tmp_path / "spool", clock
    )
    with facebook_world(posts=4, comments_per_post=2) as world:
        for _ in range(4):
            clock.set(world.scenario.now())
            capture_account(arch, world.account, window_end=world.scenario.now())
            world.scenario.advance()
    yield arch
    arch.close()


def test_clean_store_passes_and_is_audited(archive: Any, clock: FakeClock) -> None:
    report = check_fixity(archive, as_of=clock())
    assert report.ok and report.checked == report.total_objects == 4
    with archive.sessions() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "fixity.check")).one()
    assert entry.params["checked"] == 4 and entry.params["problems"] == []


def test_flipped_byte_and_missing_object_are_named(archive: Any, clock: FakeClock, tmp_path: Path) -> None:
    files = sorted((tmp_path / "store" / "objects").rglob("*.warc.gz"))
    victim, gone = files[0], files[1]
    os.chmod(victim, 0o644)
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0xFF
    victim.write_bytes(bytes(data))
    os.chmod(gone, 0o644)
    gone.unlink()
    report = check_fixity(archive, as_of=clock())
    kinds = sorted((p.key.rsplit("/", 1)[-1], p.problem) for p in report.problems)
    assert kinds == sorted([(victim.name, "mismatch"), (gone.name, "missing")])
    with archive.sessions() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "fixity.check")).one()
    assert len(entry.params["problems"]) == 2


def test_rotating_slices_cover_every_object_within_the_period(archive: Any, clock: FakeClock) -> None:
    slots = slots_for(28, 7)
    assert slots == 4
    seen: set[str] = set()
    start = clock.now
    for week in range(slots):
        report = check_fixity(
            archive, as_of=start + timedelta(days=7 * week), period_days=28, interval_days=7
        )
        assert report.ok
        with archive.sessions() as session:
            from hp_archive.index.models import WarcFile

            keys = [
                k for k in session.scalars(select(WarcFile.key)) if rotation_slot(k, slots) == report.slot
            ]
        seen.update(keys)
        assert report.checked == len(keys)
    assert len(seen) == 4
