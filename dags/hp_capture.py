"""hp_capture: the nightly capture of every account, one mapped task per account.

Wiring only (DESIGN invariant 8): the tasks call plugins/hp_archive_airflow.py, which calls
hp_archive. One mapped task group per platform, each in its own pool (``hp_<platform>``) so a
platform's API is never hit by more than the pool's slots at once; one account's failure never
stops another's. After all captures, the completeness report names every account that was not
captured and fails the run visibly; on success it updates the index Asset for data-aware DAGs.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Asset, dag, task

from hp_archive.platforms import platform_names

INDEX = Asset("hp-archive://index")


def _on_failure(context):
    from hp_archive_airflow import log_failure

    log_failure(context)


@dag(
    dag_id="hp_capture",
    description="Nightly capture of the department's accounts into WARC, store and index",
    schedule="0 2 * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="America/Chicago"),
    catchup=False,
    max_active_runs=1,
    default_args={
        "retries": 3,
        "retry_delay": timedelta(minutes=5),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(hours=1),
        "on_failure_callback": _on_failure,
    },
    on_failure_callback=_on_failure,
    tags=["hp_archive", "capture"],
)
def hp_capture():
    @task(retries=1)
    def list_accounts(platform: str) -> list[str]:
        from hp_archive_airflow import accounts_for_platform

        return accounts_for_platform(platform)

    @task(map_index_template="{{ account_id }}")
    def capture(account_id: str, data_interval_start=None, data_interval_end=None) -> dict:
        from hp_archive_airflow import capture as capture_one

        return capture_one(account_id, window_start=data_interval_start, window_end=data_interval_end)

    @task(trigger_rule="all_done", retries=0, outlets=[INDEX])
    def completeness_report(
        results: list, data_interval_start=None, data_interval_end=None, run_id=None
    ) -> dict:
        from hp_archive_airflow import completeness_report as report

        flat = [r for group in results for r in (group or [])]
        return report(flat, window_start=data_interval_start, window_end=data_interval_end, dag_run_id=run_id)

    results = []
    for platform in platform_names():
        ids = list_accounts.override(task_id=f"accounts_{platform}")(platform)
        results.append(
            capture.override(task_id=f"capture_{platform}", pool=f"hp_{platform}").expand(account_id=ids)
        )
    completeness_report(results)


hp_capture()
