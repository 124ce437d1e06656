"""Disposal on S3 with Object Lock (moto's server over HTTP): every version deleted, locks respected."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hp_archive.archive import Archive
from hp_archive.ediscovery.holds import place_hold
from hp_archive.index import models as m
from hp_archive.retention import disposal
from hp_archive.retention.certificates import DisposalError
from hp_archive.retention.classify import reclassify
from hp_archive.storage import S3ObjectStore
from tests.integration.retention.conftest import APPROVED, capture, install_schedule
from tests.support.clock import FakeClock
from tests.support.pipeline import FacebookWorld, make_archive

# periods that have passed by the (real) clock of the S3 server, and no waiting period
SHORT = (
    APPROVED.replace("retention: P2Y", "retention: P1D")
    .replace("retention: P5Y", "retention: P1D")
    .replace("cutoff: calendar-year", "cutoff: none")
    .replace("waiting_period_days: 30", "waiting_period_days: 0")
)
LONG = APPROVED.replace("retention: P2Y", "retention: P5Y")


@pytest.fixture
def s3_archive(
    tmp_path: Path, clock: FakeClock, moto_endpoint: str, make_bucket: Callable[..., str]
) -> Iterator[tuple[Archive, str]]:
    bucket = make_bucket(object_lock=True)
    store = S3ObjectStore(bucket, "hp", endpoint_url=moto_endpoint, lock_mode="GOVERNANCE")
    arch = make_archive(store, f"sqlite:///{tmp_path / 'index.sqlite'}", tmp_path / "spool", clock)
    yield arch, bucket
    arch.close()


def versions(s3_client: Any, bucket: str, key: str) -> list[str]:
    answer = s3_client.list_object_versions(Bucket=bucket, Prefix=f"hp/{key}")
    found = [v["VersionId"] for v in answer.get("Versions", []) if v["Key"] == f"hp/{key}"]
    return found + [d["VersionId"] for d in answer.get("DeleteMarkers", []) if d["Key"] == f"hp/{key}"]


def approve(archive: Archive, now: datetime) -> str:
    cert = disposal.propose(archive, as_of=now.date(), now=now).certificate_id
    disposal.submit(archive, cert, on=now.date(), now=now)
    disposal.approve(archive, cert, reference="LRC-1", approved_on=now.date(), approver="LRC", now=now)
    return cert


def test_every_version_of_each_destroyed_object_is_gone_and_holds_move_with_the_rewrite(
    s3_archive: tuple[Archive, str], world: FacebookWorld, clock: FakeClock, tmp_path: Path, s3_client: Any
) -> None:
    archive, bucket = s3_archive
    install_schedule(tmp_path, SHORT)
    capture(archive, world, clock)
    with archive.sessions() as session:
        held = session.scalars(
            select(m.Item.uid).where(m.Item.kind == "comment").order_by(m.Item.uid)
        ).first()
        keys = [f.key for f in session.scalars(select(m.WarcFile))]
    assert held is not None
    for key in keys:  # the lock is the earliest due date: already past by the server's clock
        info = archive.store.head(key)
        assert info is not None and info.retain_until is not None
    place_hold(archive, "2026-CV-0009", reason="litigation", items=[held])
    now = datetime.now(UTC).replace(microsecond=0)  # the S3 server judges locks by its own clock
    clock.set(now)
    cert = approve(archive, now)
    flagged = {key for key in keys if (info := archive.store.head(key)) is not None and info.legal_hold}
    assert flagged  # the hold's objects carry the S3 legal-hold flag
    report = disposal.execute(archive, cert, as_of=now)
    assert report.rewritten_objects
    for entry in report.rewritten_objects:
        assert versions(s3_client, bucket, entry["key"]) == []
        new = archive.store.head(entry["new_key"])
        assert new is not None
        assert new.legal_hold == (entry["key"] in flagged)  # the flag moved with the survivors
    for key in report.deleted_objects:
        assert versions(s3_client, bucket, key) == []
    assert disposal.verify(archive, cert, as_of=now).ok


def test_an_object_still_under_object_lock_refuses_execution_unless_bypass_is_asked(
    s3_archive: tuple[Archive, str], world: FacebookWorld, clock: FakeClock, tmp_path: Path, s3_client: Any
) -> None:
    archive, bucket = s3_archive
    install_schedule(tmp_path, LONG)  # captured under a 5-year schedule: locked until 2032
    capture(archive, world, clock)
    install_schedule(tmp_path, APPROVED)  # the approved application shortens it to 2 years
    reclassify(archive)
    now = datetime(2029, 2, 1, 15, tzinfo=UTC)
    clock.set(now)
    cert = approve(archive, now)
    as_of = now + timedelta(days=30)
    with pytest.raises(DisposalError, match=r"retained by Object Lock until 2032-01-01.*--bypass-governance"):
        disposal.execute(archive, cert, as_of=as_of)
    assert disposal.show_certificate(archive, cert)["execution_phase"] is None  # nothing happened
    report = disposal.execute(archive, cert, as_of=as_of, bypass_governance=True)
    gone = report.deleted_objects + [entry["key"] for entry in report.rewritten_objects]
    assert report.bypass_governance and gone
    for key in gone:
        assert versions(s3_client, bucket, key) == []
    with archive.sessions() as session:
        plan = session.scalar(select(m.AuditEntry).where(m.AuditEntry.action == "disposal.execute.plan"))
    assert plan is not None and plan.params["bypass_governance"] is True
    document = json.loads(archive.store.get_bytes(f"certificates/{cert}/destruction-report.json"))
    assert "governance retention bypassed" in document["method"]
    assert date.fromisoformat(document["executed_at"][:10]) == as_of.date()
