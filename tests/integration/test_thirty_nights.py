"""Thirty simulated nights on every platform with random faults lose nothing and invent nothing.

The same deterministic department is captured twice: once with every simulator answering
cleanly (the reference), once with faults injected at random (429, 500, dropped connections,
malformed and cut bodies, an expired token). Then, for every platform and night:

* on a night the faulty run captured completely, every item the reference saw that night is in
  the faulty index, with the version (content digest) the reference saw;
* the faulty index has no version the reference never saw, and no deletion the reference did not
  also observe — a fault never makes anything look deleted.
"""

from __future__ import annotations

import random
import socket
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import select

from hp_archive.archive import Archive
from hp_archive.capture import capture_accounts
from hp_archive.index import models as m
from hp_archive.sources.simulators import simulator_platforms
from hp_archive.sources.simulators.base import Fault
from hp_archive.sources.simulators.world import SimulatedDepartment
from hp_archive.storage import LocalObjectStore
from tests.support.clock import FakeClock
from tests.support.pipeline import make_archive

NIGHTS = 30
FAULTS = ("429", "500", "503", "drop", "malformed", "truncated", "invalid-utf8", "expired-token")
# A web server that answers 200 with a mangled HTML page has served that page: nothing in HTTP
# tells it from a real edit, so for the web only protocol-visible faults are injected.
CONTENT_FAULTS = ("malformed", "invalid-utf8")


@dataclass
class Observed:
    """Per (platform, night): the outcome, and each item seen with its current digest."""

    outcome: dict[tuple[str, int], str] = field(default_factory=dict)
    seen: dict[tuple[str, int], dict[str, str]] = field(default_factory=lambda: defaultdict(dict))


def free_ports(count: int) -> list[int]:
    """Ports both runs reuse, so web and feed item ids (which contain the URL) match."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def run_nights(
    tmp: Path, ports: dict[str, int], *, faults: bool, seed: int = 2026
) -> tuple[Archive, Observed]:
    clock = FakeClock()
    archive = make_archive(
        LocalObjectStore(tmp / "store"), f"sqlite:///{tmp / 'index.sqlite'}", tmp / "spool", clock
    )
    observed = Observed()
    rng = random.Random(seed)
    with SimulatedDepartment(posts=6, comments_per_post=3, ports=ports) as dept:
        archive.environ = {**archive.environ, **dept.environ}
        for night in range(NIGHTS):
            if night:
                dept.advance()
            injected = {}
            for platform, world in dept.worlds.items():
                world.server.clear_faults()
                if faults and rng.random() < 0.5:
                    kind = rng.choice(FAULTS)
                    if platform == "web" and kind in CONTENT_FAULTS:
                        kind = "500"
                    world.server.inject(Fault(kind, path=".*", times=rng.randint(1, 6), retry_after=1))
                    injected[platform] = kind
            clock.set(dept.now())
            for result in capture_accounts(archive, dept.accounts, window_end=dept.now()):
                observed.outcome[(result.platform, night)] = result.outcome or "failed"
                with archive.sessions() as session:
                    rows = session.execute(
                        select(m.Item.uid, m.ItemVersion.content_digest)
                        .join(m.ItemVersion, m.ItemVersion.id == m.Item.current_version_id)
                        .where(m.Item.last_seen_run == result.run_id)
                    ).all()
                observed.seen[(result.platform, night)] = dict(rows)
    return archive, observed


def versions(archive: Archive) -> dict[str, set[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    with archive.sessions() as session:
        for uid, digest in session.execute(
            select(m.Item.uid, m.ItemVersion.content_digest).join(
                m.ItemVersion, m.ItemVersion.item_id == m.Item.id
            )
        ):
            out[uid].add(digest)
    return out


def deleted(archive: Archive) -> set[str]:
    with archive.sessions() as session:
        return set(
            session.scalars(
                select(m.Item.uid)
                .join(m.ChangeEvent, m.ChangeEvent.item_id == m.Item.id)
                .where(m.ChangeEvent.kind == "deleted-observed")
            )
        )


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Archive, Observed, Archive, Observed]]:
    platforms = simulator_platforms()
    ports = dict(zip(platforms, free_ports(len(platforms)), strict=True))
    reference, ref_seen = run_nights(tmp_path_factory.mktemp("reference"), ports, faults=False)
    faulty, faulty_seen = run_nights(tmp_path_factory.mktemp("faulty"), ports, faults=True)
    yield reference, ref_seen, faulty, faulty_seen
    reference.close()
    faulty.close()


@pytest.mark.slow
def test_the_reference_run_is_clean_and_the_faulty_run_was_really_disturbed(runs) -> None:  # type: ignore[no-untyped-def]
    _, ref_seen, _, faulty_seen = runs
    assert set(ref_seen.outcome.values()) == {"complete"}
    disturbed = [key for key, outcome in faulty_seen.outcome.items() if outcome != "complete"]
    assert len(disturbed) >= 10, "the random faults should make several nights partial or failed"
    platforms = {platform for platform, _ in ref_seen.outcome}
    assert len(platforms) == 8


@pytest.mark.slow
def test_every_item_of_a_completely_answered_night_is_kept_with_its_version(runs) -> None:  # type: ignore[no-untyped-def]
    _, ref_seen, faulty, faulty_seen = runs
    kept = versions(faulty)
    checked = 0
    for key, outcome in faulty_seen.outcome.items():
        if outcome != "complete":
            continue
        for uid, digest in ref_seen.seen[key].items():
            assert uid in kept, f"{uid} (seen by the reference on {key}) is missing"
            assert digest in kept[uid], f"{uid}: the version the reference saw on {key} is missing"
            checked += 1
    assert checked > 1000


@pytest.mark.slow
def test_no_invented_version_and_no_deletion_that_did_not_happen(runs) -> None:  # type: ignore[no-untyped-def]
    reference, _, faulty, _ = runs
    truth = versions(reference)
    for uid, digests in versions(faulty).items():
        assert uid in truth, f"{uid} exists only in the faulty run"
        assert digests <= truth[uid], f"{uid} has a version the platform never served"
    assert deleted(faulty) <= deleted(reference)
    assert deleted(reference)  # deletions did happen, and the reference saw them
