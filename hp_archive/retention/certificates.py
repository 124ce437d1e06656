"""The disposal certificate's states and the rules for moving between them (pure).

``proposed`` → ``submitted`` → ``approved`` → ``executed`` → ``verified``

* **proposed** — the records eligible as of a date, grouped by item number (the Local Records
  Disposal Certificate, ready to send to the Commission).
* **submitted** — the date it was sent. It may lie in the past, never in the future, and not
  before the proposal.
* **approved** — the Commission's reference, the approval date (not in the future, not before
  submission) and the approver; "approved as amended" removes the records the Commission struck.
* **executed** — only when approved and only from the day ``submitted_on + waiting_days`` (30 by
  default: the certificate is filed at least 30 days before the disposal date). Execution itself
  re-checks each record (:mod:`hp_archive.retention.destruction`).
* **verified** — the destruction was checked complete and the certificate of destruction issued.

Every transition is audited with its actor by the service functions in
:mod:`hp_archive.retention.disposal`; this module only decides.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from hp_archive.errors import HPArchiveError

STATES = ("proposed", "submitted", "approved", "executed", "verified")
CERTIFICATE_ID = re.compile(r"^DC-(\d{4})-(\d{4,})$")


class DisposalError(HPArchiveError):
    """A disposal step is refused (wrong state, a date in the future, the waiting period, a hold)."""


@dataclass(frozen=True)
class CertificateFacts:
    """The parts of a certificate its transitions depend on."""

    id: str
    state: str
    proposed_on: date
    submitted_on: date | None = None
    approved_on: date | None = None
    waiting_days: int = 30


def certificate_id(year: int, number: int) -> str:
    """``DC-<year>-<number>``, e.g. DC-2029-0001."""
    return f"DC-{year:04d}-{number:04d}"


def _require(facts: CertificateFacts, *states: str, doing: str) -> None:
    if facts.state not in states:
        hint = {
            "proposed": f"submit it first: hp-archive disposal submit {facts.id} --on DATE",
            "submitted": f"record the approval first: hp-archive disposal approve {facts.id} ...",
            "approved": f"execute it first: hp-archive disposal execute {facts.id}",
            "executed": f"verify it: hp-archive disposal verify {facts.id}",
            "verified": "it is complete",
        }.get(facts.state, "")
        raise DisposalError(f"certificate {facts.id} is {facts.state}, so it cannot be {doing}: {hint}")


def _not_future(value: date, today: date, what: str) -> None:
    if value > today:
        raise DisposalError(
            f"{what} {value.isoformat()} is in the future (today is {today.isoformat()}): "
            "record it on or after the day it happens"
        )


def check_submit(facts: CertificateFacts, on: date, *, today: date) -> None:
    """Submission date: not in the future, not before the proposal."""
    _require(facts, "proposed", doing="submitted")
    _not_future(on, today, "submission date")
    if on < facts.proposed_on:
        raise DisposalError(
            f"certificate {facts.id} was proposed on {facts.proposed_on.isoformat()}, so it cannot "
            f"have been sent on {on.isoformat()}: give the date it was sent"
        )


def check_approve(
    facts: CertificateFacts, approved_on: date, *, today: date, reference: str, approver: str
) -> None:
    """Approval: a reference and an approver, dated not in the future and not before submission."""
    _require(facts, "submitted", doing="approved")
    if not reference.strip():
        raise DisposalError(f"approving {facts.id} needs the Commission's reference: give --reference REF")
    if not approver.strip():
        raise DisposalError(f"approving {facts.id} needs who approved it: give --by NAME")
    _not_future(approved_on, today, "approval date")
    assert facts.submitted_on is not None
    if approved_on < facts.submitted_on:
        raise DisposalError(
            f"certificate {facts.id} was sent on {facts.submitted_on.isoformat()}, so it cannot have "
            f"been approved on {approved_on.isoformat()}: check --approved-on"
        )


def earliest_execution(facts: CertificateFacts) -> date | None:
    """The first day destruction may happen: submission plus the waiting period."""
    if facts.submitted_on is None:
        return None
    return facts.submitted_on + timedelta(days=facts.waiting_days)


def check_execute(facts: CertificateFacts, *, today: date) -> None:
    """Approved, and the waiting period since submission has passed (day ``waiting_days`` counts)."""
    if facts.state in ("proposed", "submitted"):
        raise DisposalError(
            f"certificate {facts.id} is {facts.state}, not approved: nothing is destroyed before the "
            f"Commission's approval is recorded (hp-archive disposal approve {facts.id} ...)"
        )
    _require(facts, "approved", doing="executed")
    earliest = earliest_execution(facts)
    assert earliest is not None
    if today < earliest:
        assert facts.submitted_on is not None
        days = (today - facts.submitted_on).days
        raise DisposalError(
            f"certificate {facts.id} was sent on {facts.submitted_on.isoformat()}; today is day {days} "
            f"of the {facts.waiting_days}-day waiting period: execute on or after {earliest.isoformat()}"
        )


def check_verify(facts: CertificateFacts) -> None:
    _require(facts, "executed", "verified", doing="verified")
