"""The DAGs: offline import, and dag.test() runs against the simulators with S3 on moto."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pendulum
import pytest
from sqlalchemy import create_engine, func, select

from hp_archive.index import models as m
from tests.dags.conftest import AIRFLOW_ENV, ROOT
from tests.support.pipeline import TOKEN, facebook_world
from tests.support.s3 import ACCESS_KEY, SECRET_KEY

DAG_IDS = ("hp_capture", "hp_disposal", "hp_ediscovery_export", "hp_fixity")

OFFLINE_IMPORT = r"""
import importlib.util, json, socket, sys, time
def refuse(*args, **kwargs):
    raise OSError("network access at DAG import time")
socket.socket.connect = refuse
socket.create_connection = refuse
import sqlalchemy
real_create_engine = sqlalchemy.create_engine
# the DAG processor has Airflow's SDK loaded before it parses a file: time the DAG files, not that
import airflow.sdk, pendulum
timings = {}
for path in sys.argv[1:]:
    started = time.perf_counter()
    spec = importlib.util.spec_from_file_location(path.rsplit("/", 1)[-1][:-3], path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    timings[path.rsplit("/", 1)[-1]] = time.perf_counter() - started
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1].rsplit("/", 1)[0])
print(json.dumps({"timings": timings, "errors": {k: str(v) for k, v in bag.import_errors.items()}, "dags": sorted(bag.dag_ids)}))
"""


def test_dags_import_offline_quickly_and_without_errors(tmp_path: Path) -> None:
    pytest.importorskip("airflow")
    env = {
        **os.environ,
        **AIRFLOW_ENV,
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{tmp_path / 'missing' / 'no.db'}",  # DB unavailable
        "HP_ARCHIVE_DATABASE_URL": "postgresql+psycopg://nobody@203.0.113.1:1/none",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "plugins"), str(ROOT)]),
    }
    files = sorted(str(p) for p in (ROOT / "dags").glob("hp_*.py"))
    result = subprocess.run(
        [sys.executable, "-c", OFFLINE_IMPORT, *files], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["errors"] == {}
    assert set(DAG_IDS) <= set(report["dags"])
    for name, seconds in report["timings"].items():
        assert seconds < 2.0, f"{name} took {seconds:.2f}s to import"


def _dag(dag_id: str) -> Any:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert bag.import_errors == {}
    return bag.get_dag(dag_id)


def test_capture_dag_shape(airflow_db: Path) -> None:
    pytest.importorskip("airflow")
    dag = _dag("hp_capture")
    assert dag.max_active_runs == 1 and dag.catchup is False
    assert dag.timetable.expression == "0 2 * * *"
    assert "America/Chicago" in str(dag.timetable.timezone)
    capture_tasks = [t for t in dag.tasks if t.task_id.startswith("capture_")]
    assert {t.pool for t in capture_tasks} == {
        f"hp_{t.task_id.removeprefix('capture_')}" for t in capture_tasks
    }
    report = dag.get_task("completeness_report")
    assert report.trigger_rule == "all_done"
    assert [a.uri.rstrip("/") for a in report.outlets] == ["hp-archive://index"]
    assert all(t.retries >= 1 and t.retry_exponential_backoff for t in capture_tasks)


@pytest.fixture
def deployment(
    tmp_path: Path, airflow_db: Path, moto_endpoint: str, make_bucket: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, Any]]:
    """Accounts, tokens in Airflow connections, S3 on moto through the AWS connection."""
    bucket = make_bucket(object_lock=True)
    with facebook_world(posts=6, comments_per_post=3) as world:
        accounts = tmp_path / "accounts.yaml"
        accounts.write_text(
            "accounts:\n"
            f"  - {{id: hppd-facebook, platform: facebook, handle: '{world.account.handle}', base_url: '{world.account.base_url}', token_conn: hp_fb_main}}\n"
            f"  - {{id: hppd-old-page, platform: facebook, handle: '{world.account.handle}', base_url: '{world.account.base_url}', token_conn: hp_fb_old}}\n"
        )
        database = tmp_path / "index.sqlite"
        env = {
            "HP_ARCHIVE_HOME": str(tmp_path / "home"),
            "HP_ARCHIVE_ACCOUNTS": str(accounts),
            "HP_ARCHIVE_DATABASE_URL": f"sqlite:///{database}",
            "HP_ARCHIVE_STORAGE_URL": f"s3://{bucket}/hp",
            "AIRFLOW_CONN_HP_FB_MAIN": json.dumps({"conn_type": "generic", "password": TOKEN}),
            "AIRFLOW_CONN_HP_FB_OLD": json.dumps(
                {"conn_type": "generic", "password": "EAAGexpiredTOKENxyz0123456789"}
            ),
            "AIRFLOW_CONN_HP_ARCHIVE_AWS": json.dumps(
                {
                    "conn_type": "aws",
                    "login": ACCESS_KEY,
                    "password": SECRET_KEY,
                    "extra": {"endpoint_url": moto_endpoint, "region_name": "us-east-1"},
                }
            ),
        }
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        yield {"world": world, "database": database, "bucket": bucket, "env": env}


def _counts(database: Path) -> dict[str, int]:
    engine = create_engine(f"sqlite:///{database}")
    try:
        with engine.connect() as conn:
            return {
                t.__tablename__: conn.scalar(select(func.count()).select_from(t)) or 0
                for t in (m.Item, m.ItemVersion, m.ChangeEvent, m.WarcFile)
            }
    finally:
        engine.dispose()


def test_capture_dag_two_nights_one_account_failing(
    deployment: dict[str, Any], s3_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    world = deployment["world"]
    dag = _dag("hp_capture")
    first = dag.test(logical_date=pendulum.instance(world.scenario.now()))
    states = {(ti.task_id, ti.map_index): ti.state for ti in first.get_task_instances()}
    assert states[("capture_facebook", 0)] == "success"
    assert states[("capture_facebook", 1)] == "failed"  # the expired token
    assert states[("completeness_report", -1)] == "failed"  # the run fails visibly, after the others
    assert first.state == "failed"
    assert "hppd-old-page" in caplog.text
    night1 = _counts(deployment["database"])
    assert night1["items"] > 0

    changes = world.scenario.advance()
    second = dag.test(logical_date=pendulum.instance(world.scenario.now()))
    assert {ti.task_id: ti.state for ti in second.get_task_instances() if ti.map_index == 0}[
        "capture_facebook"
    ] == "success"
    engine = create_engine(f"sqlite:///{deployment['database']}")
    with engine.connect() as conn:
        kinds = dict(
            conn.execute(select(m.ChangeEvent.kind, func.count()).group_by(m.ChangeEvent.kind)).all()
        )
    engine.dispose()
    assert kinds.get("edited", 0) == sum(1 for c in changes if c.startswith(("edit comment", "edit post")))
    assert kinds.get("deleted-observed", 0) >= sum(1 for c in changes if c.startswith("delete"))
    objects = [o["Key"] for o in s3_client.list_objects_v2(Bucket=deployment["bucket"])["Contents"]]
    assert any(k.startswith("hp/warcs/hppd-facebook/") for k in objects)
    assert any(k.startswith("hp/reports/capture/") for k in objects)
    for key in objects:
        body = s3_client.get_object(Bucket=deployment["bucket"], Key=key)["Body"].read()
        if key.endswith(".gz"):
            import gzip

            body = gzip.decompress(body)
        assert TOKEN.encode() not in body and b"EAAGexpiredTOKEN" not in body, key
    assert TOKEN not in caplog.text

    # clearing and re-running a capture task for the same interval captures nothing twice
    from hp_archive_airflow import capture

    before = _counts(deployment["database"])
    keys_before = sorted(objects)
    summary = capture("hppd-facebook", window_start=world.scenario.now(), window_end=world.scenario.now())
    assert summary["already_done"] is True
    assert _counts(deployment["database"]) == before
    after = [o["Key"] for o in s3_client.list_objects_v2(Bucket=deployment["bucket"])["Contents"]]
    assert sorted(k for k in after if "/warcs/" in k) == sorted(k for k in keys_before if "/warcs/" in k)


def test_fixity_dag_passes_then_names_a_missing_object(deployment: dict[str, Any], s3_client: Any) -> None:
    world = deployment["world"]
    _dag("hp_capture").test(logical_date=pendulum.instance(world.scenario.now()))
    fixity = _dag("hp_fixity")
    ok = fixity.test(logical_date=pendulum.datetime(2026, 11, 8, 10, tz="UTC"), run_conf={"period_days": 0})
    assert ok.state == "success"
    key = next(
        o["Key"]
        for o in s3_client.list_objects_v2(Bucket=deployment["bucket"])["Contents"]
        if "/warcs/" in o["Key"]
    )
    versions = s3_client.list_object_versions(Bucket=deployment["bucket"], Prefix=key)
    for version in versions.get("Versions", []):
        s3_client.delete_object(
            Bucket=deployment["bucket"],
            Key=key,
            VersionId=version["VersionId"],
            BypassGovernanceRetention=True,
        )
    bad = fixity.test(logical_date=pendulum.datetime(2026, 11, 15, 10, tz="UTC"), run_conf={"period_days": 0})
    assert bad.state == "failed"


def _schedule_due_today() -> str:
    """The example's items, approved, every period zero and no waiting: all captured is due now."""
    from hp_archive.retention.schedule import EXAMPLE_PATH

    text = EXAMPLE_PATH.read_text().replace("example: true", "example: false")
    text = re.sub(r"retention: P[0-9YMD]+", "retention: P0D", text)
    text = re.sub(r"cutoff: [a-z-]+", "cutoff: none", text)
    return re.sub(r"waiting_period_days: [0-9]+", "waiting_period_days: 0", text)


def _captured(deployment: dict[str, Any]) -> None:
    from hp_archive_airflow import capture

    now = deployment["world"].scenario.now()
    summary = capture("hppd-facebook", window_start=now - timedelta(days=1), window_end=now)
    assert summary["outcome"] == "complete"


def _held_comment(matter: str) -> str:
    from hp_archive_airflow import open_archive

    from hp_archive.ediscovery.holds import place_hold

    archive = open_archive()
    try:
        with archive.sessions() as session:
            uid = session.scalars(
                select(m.Item.uid).where(m.Item.kind == "comment").order_by(m.Item.uid)
            ).first()
        assert uid is not None
        place_hold(archive, matter, reason="notice of claim", items=[uid], actor="counsel")
    finally:
        archive.close()
    return uid


def test_disposal_dag_propose_submit_approve_execute_verify(
    deployment: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hp_archive_airflow import open_archive

    from hp_archive.retention.disposal import list_certificates

    monkeypatch.setenv("HP_ARCHIVE_STORAGE_URL", str(tmp_path / "store"))
    home = Path(deployment["env"]["HP_ARCHIVE_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    (home / "retention-schedule.yaml").write_text(_schedule_due_today())
    _captured(deployment)
    held = _held_comment("M-2026-001")
    dag = _dag("hp_disposal")
    assert dag.access_control and "RecordsOfficer" in dag.access_control
    assert dag.params["dry_run"] is True

    def run(**conf: Any) -> Any:
        # a fresh DAG object per run, as the scheduler gives each run: dag.test() keeps the
        # previous run's conf in the DAG's params, which would carry dry_run=False over
        return _dag("hp_disposal").test(run_conf=conf).state

    assert run(action="propose") == "success"
    archive = open_archive()
    try:
        (certificate,) = [c["certificate_id"] for c in list_certificates(archive)]
    finally:
        archive.close()
    today = pendulum.now("America/Chicago").date().isoformat()
    # not submitted, not approved: refused
    assert run(action="execute", certificate_id=certificate, dry_run=False) == "failed"
    assert run(action="submit", certificate_id=certificate, submitted_on=today) == "success"
    # the form left incomplete: a clear failure, nothing recorded
    assert run(action="approve", certificate_id=certificate, approval_reference="LRC-26-0042") == "failed"
    approval = {"approved_on": today, "approved_by": "Local Records Commission"}
    assert run(
        action="approve", certificate_id=certificate, approval_reference="LRC-26-0042", **approval
    ) == ("success")
    before = _counts(deployment["database"])
    assert run(action="execute", certificate_id=certificate) == "success"  # dry run by default
    assert _counts(deployment["database"]) == before
    assert run(action="execute", certificate_id=certificate, dry_run=False) == "success"
    assert _counts(deployment["database"])["items"] < before["items"]
    assert run(action="verify", certificate_id=certificate) == "success"

    archive = open_archive()
    try:
        (row,) = [c for c in list_certificates(archive) if c["certificate_id"] == certificate]
        assert row["state"] == "verified"
        with archive.sessions() as session:
            remaining = set(session.scalars(select(m.Item.uid)))
            actors = set(
                session.scalars(select(m.AuditEntry.actor).where(m.AuditEntry.action.like("disposal.%")))
            )
    finally:
        archive.close()
    assert held in remaining  # the held comment survived the destruction
    assert actors == {"airflow:dag_test"}
    documents = [
        k for k in _local_keys(tmp_path / "store" / "objects") if k.startswith(f"certificates/{certificate}/")
    ]
    assert any("certificate-of-destruction" in k for k in documents), documents


def _local_keys(root: Path) -> list[str]:
    return [p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()]


def test_ediscovery_export_dag_stores_a_production_that_verifies(
    deployment: dict[str, Any], s3_client: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from hp_archive_airflow import open_archive

    from hp_archive.ediscovery.export import verify_export

    _captured(deployment)
    archive = open_archive()
    try:
        from hp_archive.ediscovery.holds import place_hold

        place_hold(
            archive, "M-2026-002", reason="records request", query="kind:post OR kind:comment", actor="c"
        )
    finally:
        archive.close()
    dag = _dag("hp_ediscovery_export")
    run = dag.test(run_conf={"matter": "M-2026-002", "destination": "productions/2026"})
    assert run.state == "success"
    bucket = deployment["bucket"]
    keys = [
        o["Key"]
        for page in s3_client.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix="hp/productions/"
        )
        for o in page.get("Contents", [])
    ]
    assert keys and all(k.startswith("hp/productions/2026/PROD0001/") for k in keys)
    folder = tmp_path / "download" / "PROD0001"
    for key in keys:
        target = folder / key.removeprefix("hp/productions/2026/PROD0001/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(s3_client.get_object(Bucket=bucket, Key=key)["Body"].read())
    report = verify_export(folder)
    assert report.ok, report.problems
    manifest = hashlib.sha256((folder / "MANIFEST.tsv").read_bytes()).hexdigest()
    assert f"manifest SHA-256 {manifest}" in caplog.text and "productions/2026/PROD0001" in caplog.text

    # an empty matter is a one-line error in the task, and nothing is stored
    assert (
        dag.test(run_conf={"matter": "NO-SUCH-MATTER", "destination": "productions/2026"}).state == "failed"
    )
