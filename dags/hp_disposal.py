"""hp_disposal: the records officer's disposal procedure, one step per triggered run.

Manual only. The trigger form's ``action`` picks the step — propose, submit, approve, execute,
verify — and the task calls the same functions as ``hp-archive disposal <action>``, then logs the
certificate's summary. ``execute`` always judges by the real clock at run time; ``dry_run`` is on
by default so nothing is destroyed until the officer turns it off. Only the RecordsOfficer role
(and Admin) may trigger or edit it (``access_control``).
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Param, dag, task

DATE = {"type": ["null", "string"], "format": "date"}


@dag(
    dag_id="hp_disposal",
    description="Illinois Local Records Act disposal: propose, submit, approve, execute, verify",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="America/Chicago"),
    catchup=False,
    max_active_runs=1,
    allowed_run_types=["manual"],
    access_control={"RecordsOfficer": {"DAGs": {"can_read", "can_edit"}, "DAG Runs": {"can_create"}}},
    params={
        "action": Param(
            "propose",
            type="string",
            enum=["propose", "submit", "approve", "execute", "verify"],
            description="the step of the procedure this run performs",
        ),
        "as_of": Param(None, **DATE, description="propose: records eligible as of this date (default today)"),
        "series": Param(None, type=["null", "string"], description="propose: only this schedule item number"),
        "certificate_id": Param(
            None, type=["null", "string"], description="submit/approve/execute/verify: the certificate"
        ),
        "submitted_on": Param(
            None, **DATE, description="submit: the date it was sent to the Commission (default today)"
        ),
        "approval_reference": Param(None, type=["null", "string"], description="approve: the reference"),
        "approved_on": Param(None, **DATE, description="approve: the approval date (not in the future)"),
        "approved_by": Param(None, type=["null", "string"], description="approve: who approved it"),
        "remove": Param(
            [],
            type="array",
            items={"type": "string"},
            description="approve: records the Commission struck (approved as amended)",
        ),
        "dry_run": Param(True, type="boolean", description="execute: plan and report, destroy nothing"),
    },
    tags=["hp_archive", "retention"],
)
def hp_disposal():
    @task(retries=0)
    def disposal_step(params=None, dag_run=None) -> dict:
        import pendulum as clock
        from hp_archive_airflow import actor_for, disposal

        return disposal(params, actor=actor_for({"dag_run": dag_run}, "hp_disposal"), now=clock.now("UTC"))

    disposal_step()


hp_disposal()
