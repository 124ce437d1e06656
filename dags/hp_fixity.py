"""hp_fixity: weekly re-hash of stored WARCs against their recorded SHA-256.

Reads the rotating slice due this week so that every object is checked within the period the
Variable ``hp_archive_fixity_period_days`` sets (default 28; 0 = everything every week). The
result is audited; a mismatch or a missing object fails the run naming every one.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Param, dag, task


@dag(
    dag_id="hp_fixity",
    description="Weekly fixity check of the stored WARC objects",
    schedule="0 4 * * 0",
    start_date=pendulum.datetime(2026, 1, 1, tz="America/Chicago"),
    catchup=False,
    max_active_runs=1,
    params={
        "period_days": Param(
            28,
            type="integer",
            minimum=0,
            description="every object is read within this many days; 0 = all now",
        ),
    },
    tags=["hp_archive", "fixity"],
)
def hp_fixity():
    @task(retries=0)
    def check(params=None, data_interval_end=None) -> dict:
        from hp_archive_airflow import fixity

        period = int(params["period_days"]) if params else 28
        return fixity(as_of=data_interval_end, period_days=period or None, interval_days=7)

    check()


hp_fixity()
