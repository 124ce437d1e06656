"""A captured archive with an installed (non-example) schedule, and the disposal steps as helpers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hp_archive.archive import Archive
from hp_archive.capture import capture_account
from hp_archive.index import models as m
from hp_archive.retention import disposal
from hp_archive.retention.schedule import EXAMPLE_PATH
from hp_archive.storage import LocalObjectStore
from tests.support.clock import FakeClock
from tests.support.pipeline import FacebookWorld, facebook_world, make_archive

# The department's "approved" schedule in these tests: the example's items, marked not an example.
APPROVED = EXAMPLE_PATH.read_text().replace("example: true", "example: false")
NOW = datetime(2029, 2, 1, 15, 0, tzinfo=UTC)  # everything created in 2026 is due under P2Y


def install_schedule(home: Path, text: str = APPROVED) -> Path:
    path = home / "retention-schedule.yaml"
    path.write_text(text)
    return path


@pytest.fixture
def world() -> Iterator[FacebookWorld]:
    with facebook_world(posts=4, comments_per_post=3) as w:
        yield w


@pytest.fixture
def archive(tmp_path: Path, database_url: str, clock: FakeClock) -> Iterator[Archive]:
    install_schedule(tmp_path)
    arch = make_archive(LocalObjectStore(tmp_path / "store"), database_url, tmp_path / "spool", clock)
    yield arch
    arch.close()


def capture(archive: Archive, world: FacebookWorld, clock: FakeClock, nights: int = 3) -> None:
    for night in range(nights):
        if night:
            world.scenario.advance()
        clock.set(world.scenario.now())
        result = capture_account(archive, world.account, window_end=world.scenario.now())
        assert result.outcome == "complete", result.error


def approved_certificate(
    archive: Archive,
    clock: FakeClock,
    *,
    as_of: date | None = None,
    remove: tuple[str, ...] = (),
    series: str | None = None,
) -> str:
    """Propose (as of NOW), submit on NOW's date, approve nine days later."""
    clock.set(NOW)
    proposal = disposal.propose(archive, as_of=as_of or NOW.date(), now=NOW, series=series)
    disposal.submit(archive, proposal.certificate_id, on=NOW.date(), now=NOW)
    later = NOW + timedelta(days=9)
    clock.set(later)
    disposal.approve(
        archive,
        proposal.certificate_id,
        reference="LRC-29-114",
        approved_on=later.date(),
        approver="Local Records Commission",
        now=later,
        remove=remove,
    )
    return proposal.certificate_id


def on_day(day: int, hours: int = 0) -> datetime:
    """NOW plus ``day`` days: day 30 is the first day execution is allowed."""
    return NOW + timedelta(days=day, hours=hours)


def texts(archive: Archive, uids: set[str]) -> dict[str, str]:
    with archive.sessions() as session:
        return {
            uid: text
            for uid, text in session.execute(
                select(m.Item.uid, m.ItemVersion.text)
                .join(m.ItemVersion, m.ItemVersion.id == m.Item.current_version_id)
                .where(m.Item.uid.in_(sorted(uids)))
            )
        }


def indexed_uids(archive: Archive) -> set[str]:
    with archive.sessions() as session:
        return set(session.scalars(select(m.Item.uid)))


def stored_warcs(archive: Archive) -> set[str]:
    return {info.key for info in archive.store.list("warcs/")}


def thread_without_media(archive: Archive) -> tuple[str, set[str]]:
    """A public comment (and its thread's items) on a post whose thread holds no media."""
    with archive.sessions() as session:
        items = list(session.scalars(select(m.Item)))
    by_root: dict[str, list[Any]] = {}
    for item in items:
        if item.kind in ("comment", "reply", "media") and item.root_uid:
            by_root.setdefault(item.root_uid, []).append(item)
    for _root, members in sorted(by_root.items()):
        if any(i.kind == "media" for i in members) or any(i.author_is_agency for i in members):
            continue
        comments = sorted(i.uid for i in members if i.kind == "comment")
        if comments:
            return comments[0], {i.uid for i in members}
    raise AssertionError("the scenario has no thread without media")
