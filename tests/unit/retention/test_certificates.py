"""The certificate's transitions: dates never in the future, approval first, the waiting period."""

from __future__ import annotations

from datetime import date

import pytest

from hp_archive.retention.certificates import (
    CertificateFacts,
    DisposalError,
    check_approve,
    check_execute,
    check_submit,
    check_verify,
    earliest_execution,
)

PROPOSED = CertificateFacts(id="DC-2029-0001", state="proposed", proposed_on=date(2029, 2, 1))
SUBMITTED = CertificateFacts(
    id="DC-2029-0001", state="submitted", proposed_on=date(2029, 2, 1), submitted_on=date(2029, 2, 1)
)
APPROVED = CertificateFacts(
    id="DC-2029-0001",
    state="approved",
    proposed_on=date(2029, 2, 1),
    submitted_on=date(2029, 2, 1),
    approved_on=date(2029, 2, 10),
)


def test_submission_may_be_dated_in_the_past_never_in_the_future() -> None:
    check_submit(PROPOSED, date(2029, 2, 1), today=date(2029, 2, 5))
    with pytest.raises(DisposalError, match="2029-02-06 is in the future"):
        check_submit(PROPOSED, date(2029, 2, 6), today=date(2029, 2, 5))
    with pytest.raises(DisposalError, match="proposed on 2029-02-01"):
        check_submit(PROPOSED, date(2029, 1, 31), today=date(2029, 2, 5))
    with pytest.raises(DisposalError, match="is submitted, so it cannot be submitted"):
        check_submit(SUBMITTED, date(2029, 2, 1), today=date(2029, 2, 5))


def test_approval_needs_reference_approver_and_a_sane_date() -> None:
    check_approve(
        SUBMITTED, date(2029, 2, 10), today=date(2029, 2, 10), reference="LRC 29-14", approver="A. Chair"
    )
    with pytest.raises(DisposalError, match="--reference"):
        check_approve(SUBMITTED, date(2029, 2, 10), today=date(2029, 2, 10), reference=" ", approver="A")
    with pytest.raises(DisposalError, match="--by"):
        check_approve(SUBMITTED, date(2029, 2, 10), today=date(2029, 2, 10), reference="R", approver="")
    with pytest.raises(DisposalError, match="in the future"):
        check_approve(SUBMITTED, date(2029, 2, 11), today=date(2029, 2, 10), reference="R", approver="A")
    with pytest.raises(DisposalError, match="sent on 2029-02-01"):
        check_approve(SUBMITTED, date(2029, 1, 20), today=date(2029, 2, 10), reference="R", approver="A")
    with pytest.raises(DisposalError, match="submit it first"):
        check_approve(PROPOSED, date(2029, 2, 1), today=date(2029, 2, 10), reference="R", approver="A")


def test_nothing_is_executed_before_approval() -> None:
    for facts in (PROPOSED, SUBMITTED):
        with pytest.raises(DisposalError, match="not approved"):
            check_execute(facts, today=date(2030, 1, 1))


def test_execution_waits_thirty_days_after_submission() -> None:
    assert earliest_execution(APPROVED) == date(2029, 3, 3)
    with pytest.raises(
        DisposalError, match="day 29 of the 30-day waiting period: execute on or after 2029-03-03"
    ):
        check_execute(APPROVED, today=date(2029, 3, 2))
    check_execute(APPROVED, today=date(2029, 3, 3))


@pytest.mark.parametrize(("days", "first_day"), [(0, date(2029, 2, 1)), (45, date(2029, 3, 18))])
def test_the_waiting_period_is_configurable(days: int, first_day: date) -> None:
    facts = CertificateFacts(**{**APPROVED.__dict__, "waiting_days": days})
    check_execute(facts, today=first_day)
    if days:
        with pytest.raises(DisposalError, match=f"{days}-day waiting period"):
            check_execute(facts, today=date.fromordinal(first_day.toordinal() - 1))


def test_done_certificates_are_not_executed_again_but_can_be_verified() -> None:
    executed = CertificateFacts(**{**APPROVED.__dict__, "state": "executed"})
    with pytest.raises(DisposalError, match="is executed, so it cannot be executed: verify it"):
        check_execute(executed, today=date(2030, 1, 1))
    check_verify(executed)
    with pytest.raises(DisposalError, match="cannot be verified"):
        check_verify(APPROVED)
