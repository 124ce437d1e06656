"""hp_ediscovery_export: counsel's production of a matter, written to the object store.

Manual only. The trigger form names the matter, an optional query narrowing its held items, the
formats, and the object-store prefix; the task runs the same production as ``hp-archive export``
and logs where it was stored and the manifest's SHA-256.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Param, dag, task

FORMATS = ["wacz", "dat", "edrm", "pdf", "native"]


@dag(
    dag_id="hp_ediscovery_export",
    description="Court-ready production of a matter (natives, text, images, DAT/OPT/EDRM, WACZ)",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="America/Chicago"),
    catchup=False,
    allowed_run_types=["manual"],
    params={
        "matter": Param(
            "", type="string", minLength=1, description="the matter whose held items are produced"
        ),
        "query": Param(
            None, type=["null", "string"], description="narrow the matter's items (docs/query-language.md)"
        ),
        "formats": Param(
            FORMATS,
            type="array",
            items={"type": "string", "enum": FORMATS},
            description="formats to produce (TEXT/, the manifest and chain of custody are always written)",
        ),
        "destination": Param(
            "productions", type="string", minLength=1, description="object-store prefix to store it under"
        ),
    },
    tags=["hp_archive", "ediscovery"],
)
def hp_ediscovery_export():
    @task(retries=0)
    def produce(params=None, dag_run=None) -> dict:
        import pendulum as clock
        from hp_archive_airflow import actor_for, export_production

        return export_production(
            matter=params["matter"],
            query=params.get("query"),
            formats=params["formats"],
            destination=params["destination"],
            actor=actor_for({"dag_run": dag_run}, "hp_ediscovery_export"),
            now=clock.now("UTC"),
        )

    produce()


hp_ediscovery_export()
