"""Fixity: re-hash stored WARC objects against the SHA-256 recorded when they were stored.

Every check is audited. A full check reads every object; a rotating check reads the slice of
objects whose turn it is, so that with one check every ``interval_days`` each object is read at
least once per ``period_days`` (the slice depends only on ``as_of`` and the key, never on chance).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from hp_archive.archive import Archive
from hp_archive.errors import StorageError
from hp_archive.index import models as m
from hp_archive.storage.base import CHUNK


@dataclass(frozen=True)
class FixityProblem:
    key: str
    problem: str  # "missing" | "mismatch" | "unreadable"
    detail: str

    def __str__(self) -> str:
        return f"{self.key}: {self.problem} ({self.detail})"


@dataclass
class FixityReport:
    as_of: datetime
    total_objects: int
    checked: int = 0
    bytes_read: int = 0
    slot: int = 0
    slots: int = 1
    problems: list[FixityProblem] = field(default_factory=list)
    audit_seq: int | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "total_objects": self.total_objects,
            "checked": self.checked,
            "bytes_read": self.bytes_read,
            "slice": f"{self.slot + 1}/{self.slots}",
            "ok": self.ok,
            "problems": [{"key": p.key, "problem": p.problem, "detail": p.detail} for p in self.problems],
            "audit_seq": self.audit_seq,
        }


def rotation_slot(key: str, slots: int) -> int:
    """The slice (0..slots-1) an object key belongs to; stable across runs and machines."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") % slots


def slots_for(period_days: int, interval_days: int) -> int:
    """How many slices a period is cut into so each run reads one."""
    return max(1, math.floor(period_days / max(1, interval_days)))


def check_fixity(
    archive: Archive,
    *,
    as_of: datetime,
    period_days: int | None = None,
    interval_days: int = 7,
    sample: int | None = None,
    actor: str | None = None,
) -> FixityReport:
    """Re-hash stored WARC objects; all of them, this run's rotating slice, or ``sample`` of them."""
    with archive.sessions() as session:
        rows = session.execute(
            select(m.WarcFile.key, m.WarcFile.sha256, m.WarcFile.size).order_by(m.WarcFile.key)
        ).all()
    report = FixityReport(as_of=as_of, total_objects=len(rows))
    chosen = list(rows)
    if period_days is not None:
        report.slots = slots_for(period_days, interval_days)
        report.slot = (as_of.toordinal() // max(1, interval_days)) % report.slots
        chosen = [r for r in rows if rotation_slot(r.key, report.slots) == report.slot]
    if sample is not None and sample < len(chosen):
        start = (as_of.toordinal() * sample) % max(1, len(chosen))
        chosen = (chosen[start:] + chosen[:start])[:sample]
    for key, recorded, size in chosen:
        report.checked += 1
        try:
            info = archive.store.head(key)
            if info is None:
                report.problems.append(FixityProblem(key, "missing", "not in the object store"))
                continue
            digest = hashlib.sha256()
            read = 0
            with archive.store.open(key) as stream:
                while block := stream.read(CHUNK):
                    digest.update(block)
                    read += len(block)
            report.bytes_read += read
        except StorageError as exc:
            report.problems.append(FixityProblem(key, "unreadable", str(exc)))
            continue
        if digest.hexdigest() != recorded or read != size:
            report.problems.append(
                FixityProblem(
                    key,
                    "mismatch",
                    f"SHA-256 {digest.hexdigest()} ({read} bytes), recorded {recorded} ({size} bytes)",
                )
            )
    report.audit_seq = archive.record(
        "fixity.check",
        params={
            "checked": report.checked,
            "total_objects": report.total_objects,
            "slice": f"{report.slot + 1}/{report.slots}",
            "bytes_read": report.bytes_read,
            "problems": [str(p) for p in report.problems],
        },
        actor=actor,
    )
    return report
