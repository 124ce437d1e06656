"""docker-compose.yml describes a real deployment: Airflow 3.3, PostgreSQL, MinIO with Object Lock."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_services_are_the_airflow_3_components_and_their_backends() -> None:
    services = compose()["services"]
    commands = {name: str(spec.get("command", "")) for name, spec in services.items()}
    for component in ("api-server", "scheduler", "dag-processor", "triggerer", "celery worker"):
        assert component in commands.values(), component
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["minio"]["image"].startswith("minio/minio")
    assert "FROM apache/airflow:3.3." in (ROOT / "Dockerfile").read_text()


def test_bucket_is_created_with_object_lock() -> None:
    init = str(compose()["services"]["minio-init"]["entrypoint"])
    assert "mc mb" in init and "--with-lock" in init
    env = compose()["services"]["airflow-scheduler"]["environment"]
    assert env["HP_ARCHIVE_REQUIRE_OBJECT_LOCK"] == "1"
    assert env["HP_ARCHIVE_STORAGE_URL"].startswith("s3://")
    assert env["HP_ARCHIVE_DATABASE_URL"].startswith("postgresql+psycopg://")


def test_dags_plugins_and_schedules_are_mounted() -> None:
    for name in ("airflow-scheduler", "airflow-worker", "airflow-dag-processor", "airflow-apiserver"):
        volumes = compose()["services"][name]["volumes"]
        targets = {v.split(":")[0]: v.split(":")[1] for v in volumes if v.startswith("./")}
        assert targets["./dags"] == "/opt/airflow/dags"
        assert targets["./plugins"] == "/opt/airflow/plugins"
        assert targets["./retention_schedules"].endswith("retention_schedules")


def test_pools_exist_for_every_platform_and_no_secret_is_in_the_repository() -> None:
    from hp_archive.sources import platform_names

    init = str(compose()["services"]["airflow-init"]["command"])
    for platform in platform_names():
        assert platform in init
    text = (ROOT / "docker-compose.yml").read_text() + (
        ROOT / "deploy" / "config" / "accounts.yaml"
    ).read_text()
    assert "password:" not in (ROOT / "deploy" / "config" / "accounts.yaml").read_text()
    assert "EAA" not in text  # no Graph API token pasted anywhere
