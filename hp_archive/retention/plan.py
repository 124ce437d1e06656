"""What destroying a set of approved records does to the stored WARCs (pure).

A WARC record is indivisible evidence: its bytes are kept exactly as received (DESIGN invariant
1), so a capture showing five comments cannot lose one of them. The rules, given every record of
the candidate files with the items it evidences:

1. A capture (response or revisit) is destroyed only when **every** item it evidences is approved
   for destruction. A request goes with its response (``WARC-Concurrent-To``).
2. A file's own records — warcinfo, capture report, error pages, unparseable responses — go only
   when the whole file goes; otherwise they stay in the rewritten file.
3. A file whose records all go is deleted whole; one that keeps some is rewritten: the survivors
   copied byte for byte into a new object (DESIGN invariant 4). A file that is not ours (imported)
   or not range-readable is never split: all of it goes, or none of it.
4. A revisit that survives while the record it refers to is destroyed becomes a full response,
   its payload copied from the original before the original goes: nothing left dangles.
5. An approved item is **destroyed** when all of its evidence goes. When some of its evidence
   must stay (it also shows a record that is not approved — not yet due, held, or not on the
   certificate), the item is **retained**: its remaining captures still hold it, so it stays
   indexed and searchable, and a later certificate disposes of it when the other records are due.
   If some of its captures did go, it is *partially* destroyed and the index is rebuilt for it.

So nothing that is not approved ever loses a byte of evidence, and nothing counted destroyed
leaves a byte behind.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class CaptureRecord:
    """One WARC record of a candidate file and the items (uids) it evidences."""

    record_id: str
    rec_type: str
    evidence: frozenset[str] = frozenset()
    concurrent_to: str | None = None  # a request: its response
    refers_to: str | None = None  # a revisit: its original


@dataclass(frozen=True)
class FileContents:
    """A candidate file's records in file order; ``splittable`` when survivors can be rewritten."""

    key: str
    records: tuple[CaptureRecord, ...]
    splittable: bool = True
    keep_reason: str | None = None  # set: the file is kept whole (e.g. under legal hold)


@dataclass
class FilePlan:
    key: str
    action: str  # delete | rewrite | keep
    keep: list[str] = field(default_factory=list)  # record ids kept, in file order
    destroy: list[str] = field(default_factory=list)
    convert: dict[str, str] = field(default_factory=dict)  # revisit id -> original id


@dataclass
class DestructionPlan:
    """Which records, files and items go; which items stay and why."""

    files: dict[str, FilePlan] = field(default_factory=dict)
    destroyed_records: set[str] = field(default_factory=set)
    record_file: dict[str, str] = field(default_factory=dict)  # record id -> key (candidate files)
    evidence: dict[str, list[str]] = field(default_factory=dict)  # uid -> its record ids
    destroyed: set[str] = field(default_factory=set)
    partial: dict[str, str] = field(default_factory=dict)  # uid -> reason
    retained: dict[str, str] = field(default_factory=dict)  # uid -> reason

    @property
    def rewrites(self) -> list[FilePlan]:
        return [f for f in self.files.values() if f.action == "rewrite"]

    @property
    def deletes(self) -> list[FilePlan]:
        return [f for f in self.files.values() if f.action == "delete"]

    def add_conversions(
        self, revisits: Iterable[tuple[str, str, str]], evidence_of: Mapping[str, Iterable[str]]
    ) -> None:
        """Surviving revisits elsewhere — (key, revisit id, original id) — become full responses.

        Their payload is the original's, so the items the original evidences survive in them:
        such items are not destroyed after all (``evidence_of`` maps original id -> uids).
        """
        for key, revisit_id, original_id in revisits:
            if original_id not in self.destroyed_records or revisit_id in self.destroyed_records:
                continue
            plan = self.files.get(key)
            if plan is None:
                plan = self.files[key] = FilePlan(key, "rewrite")
                plan.keep = []  # filled by the caller from the file (every record is kept)
            elif plan.action == "keep":
                plan.action = "rewrite"
            plan.convert[revisit_id] = original_id
            for uid in evidence_of.get(original_id, ()):
                if uid in self.destroyed:
                    self.destroyed.discard(uid)
                    self.partial[uid] = f"its content survives in revisit {revisit_id}, made a full record"


def plan_destruction(files: Sequence[FileContents], approved: set[str]) -> DestructionPlan:
    """Apply the rules above to the candidate files for the approved uids."""
    out = DestructionPlan()
    for contents in files:
        out.files[contents.key] = _plan_file(contents, approved, out)
    kept_evidence: dict[str, list[str]] = {}  # uid -> surviving record ids that show it
    for contents in files:
        for record in contents.records:
            out.record_file[record.record_id] = contents.key
            for uid in record.evidence:
                if uid in approved:
                    out.evidence.setdefault(uid, []).append(record.record_id)
                if record.record_id not in out.destroyed_records:
                    kept_evidence.setdefault(uid, []).append(record.record_id)
    # revisits that stay while their original goes are converted (same file or another candidate)
    for contents in files:
        plan = out.files[contents.key]
        for record in contents.records:
            if (
                record.rec_type == "revisit"
                and record.refers_to in out.destroyed_records
                and record.record_id not in out.destroyed_records
            ):
                if plan.action == "keep":
                    plan.action = "rewrite"
                    plan.keep = [r.record_id for r in contents.records]
                plan.convert[record.record_id] = record.refers_to
    blockers = _blockers(files, approved, out)
    for uid in sorted(approved):
        records = out.evidence.get(uid, [])
        if not records:
            out.retained[uid] = "no stored capture shows it: run 'hp-archive reindex', then propose again"
            continue
        gone = [r for r in records if r in out.destroyed_records]
        if len(gone) == len(records):
            out.destroyed.add(uid)
            continue
        reason = blockers.get(uid) or "some of its captures must stay"
        if gone:
            out.partial[uid] = f"{len(gone)} of {len(records)} captures destroyed; {reason}"
        else:
            out.retained[uid] = reason
    return out


def _plan_file(contents: FileContents, approved: set[str], out: DestructionPlan) -> FilePlan:
    records = contents.records
    bearing = [r for r in records if r.evidence]
    goes = {r.record_id for r in bearing if r.evidence <= approved}
    unsplittable = not contents.splittable and len(goes) != len(bearing)
    if contents.keep_reason is not None or not bearing or unsplittable:
        goes = set()
    whole = bool(bearing) and len(goes) == len(bearing)
    destroy: list[str] = []
    keep: list[str] = []
    for record in records:
        if record.evidence:
            gone = record.record_id in goes
        elif (
            record.rec_type == "request"
            and record.concurrent_to is not None
            and any(r.record_id == record.concurrent_to for r in bearing)
        ):
            gone = record.concurrent_to in goes
        else:
            gone = whole
        (destroy if gone else keep).append(record.record_id)
    out.destroyed_records.update(destroy)
    if not destroy:
        return FilePlan(contents.key, "keep", keep=keep)
    if not keep:
        return FilePlan(contents.key, "delete", destroy=destroy)
    return FilePlan(contents.key, "rewrite", keep=keep, destroy=destroy)


def _blockers(files: Sequence[FileContents], approved: set[str], out: DestructionPlan) -> dict[str, str]:
    """For each approved uid with a surviving capture: why that capture stays."""
    reasons: dict[str, str] = {}
    for contents in files:
        for record in contents.records:
            if record.record_id in out.destroyed_records or not record.evidence:
                continue
            others = sorted(record.evidence - approved)
            if contents.keep_reason is not None:
                why = contents.keep_reason
            elif others:
                more = f" and {len(others) - 1} more" if len(others) > 1 else ""
                why = f"a capture also shows {others[0]}{more}, which is not approved for destruction"
            elif not contents.splittable:
                why = f"{contents.key} cannot be split and holds records that stay"
            else:
                why = "a capture of it must stay"
            for uid in record.evidence & approved:
                reasons.setdefault(uid, why)
    return reasons
