"""Airflow glue for hp_archive: Connections and Variables in, hp_archive service calls out.

DAG files only wire tasks; the functions here turn Airflow's world (Connections, Variables, the
task context's data interval) into hp_archive settings and call hp_archive's own functions, which
never import Airflow (DESIGN invariant 8).

* Platform tokens: one Airflow Connection per account, named by the account's ``token_conn`` in
  the accounts file; its password is the token. It is handed to the capture in memory only.
* S3: the AWS connection ``hp_archive_aws`` (Variable ``hp_archive_aws_conn_id`` overrides),
  read through the Amazon provider's hook; its extra ``endpoint_url`` points at MinIO/Ceph.
* Database and storage URLs: Variables ``hp_archive_database_url`` / ``hp_archive_storage_url``,
  else the ``HP_ARCHIVE_*`` environment variables.

Nothing secret is returned to XCom, logged, or rendered in templates.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

log = logging.getLogger("hp_archive.airflow")

INDEX_ASSET_URI = "hp-archive://index"
DEFAULT_AWS_CONN_ID = "hp_archive_aws"


def _variable(name: str) -> str | None:
    from airflow.sdk import Variable

    try:
        value = Variable.get(name, default=None)
    except Exception:  # no metadata DB / variable backend during a local run: fall back to env
        value = None
    return str(value) if value else None


def _connection(conn_id: str) -> Any | None:
    from airflow.sdk import BaseHook

    try:
        return BaseHook.get_connection(conn_id)
    except Exception:  # AirflowNotFoundException and friends: the caller decides what to say
        return None


def settings() -> Any:
    """hp_archive Settings from the environment, with Airflow Variables taking precedence."""
    from hp_archive.settings import Settings

    env = dict(os.environ)
    for variable, name in (
        ("hp_archive_database_url", "HP_ARCHIVE_DATABASE_URL"),
        ("hp_archive_storage_url", "HP_ARCHIVE_STORAGE_URL"),
        ("hp_archive_accounts", "HP_ARCHIVE_ACCOUNTS"),
    ):
        value = _variable(variable)
        if value:
            env[name] = value
    return Settings.from_env(env)


def _s3_store(config: Any) -> Any:
    """The S3 store built on the Amazon provider's hook (credentials from the AWS connection)."""
    from urllib.parse import urlsplit

    from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

    from hp_archive.storage import S3ObjectStore

    conn_id = _variable("hp_archive_aws_conn_id") or DEFAULT_AWS_CONN_ID
    connection = _connection(conn_id)
    endpoint = config.s3_endpoint_url
    if connection is not None:
        extra = connection.extra_dejson or {}
        endpoint = extra.get("endpoint_url") or endpoint
    hook = AwsBaseHook(aws_conn_id=conn_id if connection is not None else None, client_type="s3")
    client = hook.get_session().client("s3", endpoint_url=endpoint)
    parts = urlsplit(config.storage_url)
    return S3ObjectStore(parts.netloc, parts.path.strip("/"), endpoint_url=endpoint, client=client)


def token_environ(accounts: Iterable[Any]) -> dict[str, str]:
    """Each account's token from its Airflow Connection (password), keyed as hp_archive reads it."""
    environ = dict(os.environ)
    for account in accounts:
        if not account.token_conn:
            continue
        connection = _connection(account.token_conn)
        if connection is not None and connection.password:
            environ[account.token_key] = connection.password
    return environ


def open_archive(accounts: Iterable[Any] = (), *, clock: Any = None) -> Any:
    """An hp_archive Archive configured from Airflow; tokens for ``accounts`` in memory."""
    from hp_archive.archive import Archive, system_clock

    config = settings()
    archive = Archive.open(config, clock=clock or system_clock, environ=token_environ(accounts))
    if config.storage_url.startswith("s3://"):
        archive.store = _s3_store(config)  # credentials from the Airflow connection, not the env
    return archive


def load_accounts() -> list[Any]:
    from hp_archive.settings import load_accounts as load

    return load(settings().accounts_path)


def accounts_for_platform(platform: str) -> list[str]:
    """Ids of the accounts of one platform (what a mapped capture task expands over)."""
    return [a.id for a in load_accounts() if a.platform == platform]


def capture(account_id: str, *, window_start: datetime, window_end: datetime) -> dict[str, Any]:
    """Capture one account for the DAG run's data interval; raises when the account failed.

    Idempotent for the interval: a cleared and re-run task finds the run complete and returns it.
    """
    from hp_archive.capture import capture_account

    accounts = {a.id: a for a in load_accounts()}
    if account_id not in accounts:
        raise ValueError(f"account '{account_id}' is no longer in the accounts file")
    account = accounts[account_id]
    archive = open_archive([account])
    try:
        result = capture_account(archive, account, window_end=window_end, window_start=window_start)
    finally:
        archive.close()
    summary = result.as_dict()
    log.info(
        "capture of %s (%s): %s; listed %s archived %s; events %s",
        account.id,
        account.platform,
        result.outcome,
        summary["listed"],
        summary["archived"],
        summary["events"],
    )
    if result.outcome == "failed":
        message = f"capture of account '{account.id}' ({account.platform}) failed: {result.error}"
        log.error(message)
        # what was captured is stored and indexed; retrying will not renew a token
        from airflow.sdk.exceptions import AirflowFailException

        raise AirflowFailException(message)
    if result.outcome == "partial":
        log.warning("capture of %s is partial: %s", account.id, result.error or summary["failures"])
    return summary


class CaptureFailed(RuntimeError):
    """An account's capture failed; the message names the account and the reason."""


def completeness_report(
    results: Iterable[Mapping[str, Any] | None],
    *,
    window_start: datetime,
    window_end: datetime,
    dag_run_id: str,
) -> dict[str, Any]:
    """Write the run's completeness report (signed, in the store) and audit it; fail loudly.

    Accounts without a complete capture for the window are named with the reason the index
    recorded (or 'no capture recorded' when the task failed before capturing).
    """
    from sqlalchemy import select

    from hp_archive.audit import canonical_json
    from hp_archive.capture import run_id_for
    from hp_archive.index.models import CaptureRun

    accounts = load_accounts()
    archive = open_archive()
    try:
        by_account: dict[str, dict[str, Any]] = {}
        with archive.sessions() as session:
            for account in accounts:
                run = session.scalars(
                    select(CaptureRun)
                    .where(CaptureRun.account_id == account.id, CaptureRun.window_end == window_end)
                    .order_by(CaptureRun.started_at.desc())
                    .limit(1)
                ).first()
                expected = run_id_for(account.id, window_start, window_end)
                if run is None:
                    by_account[account.id] = {
                        "platform": account.platform,
                        "outcome": "missing",
                        "error": "no capture recorded for this window (see the task log)",
                    }
                else:
                    report = dict(run.report or {})
                    by_account[account.id] = {
                        "platform": account.platform,
                        "run_id": run.id,
                        "first_attempt_run_id": expected,
                        "outcome": run.outcome,
                        "status": run.status,
                        "error": run.error,
                        "listed": report.get("listed", {}),
                        "archived": report.get("archived", {}),
                        "events": report.get("events", {}),
                        "failures": report.get("failures", []),
                    }
        document = archive.signing_key.sign_document(
            {
                "profile": "hp-archive/completeness-report/1",
                "dag_run_id": dag_run_id,
                "window_start": window_start.isoformat(),
                "window_end": window_end.isoformat(),
                "accounts": by_account,
                "results_received": sum(1 for r in results if r),
            }
        )
        key = f"reports/capture/{window_end:%Y/%m/%d}/{_safe(dag_run_id)}.json"
        if archive.store.head(key) is None:
            archive.store.put_bytes(key, canonical_json(document), content_type="application/json")
        failed = {k: v for k, v in by_account.items() if v["outcome"] not in ("complete", "partial")}
        archive.record(
            "capture.report",
            target=key,
            params={"failed": sorted(failed), "window_end": window_end.isoformat()},
        )
    finally:
        archive.close()
    for account_id, entry in sorted(by_account.items()):
        log.info("completeness: %s (%s) %s", account_id, entry["platform"], entry["outcome"])
    if failed:
        names = "; ".join(f"{k}: {v['error']}" for k, v in sorted(failed.items()))
        raise CaptureFailed(f"{len(failed)} account(s) not captured for this window: {names}")
    return {"report": key, "accounts": len(by_account)}


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)


def fixity(*, as_of: datetime, period_days: int | None, interval_days: int) -> dict[str, Any]:
    """Weekly fixity check; raises naming every mismatch or missing object."""
    from hp_archive.fixity import check_fixity

    archive = open_archive()
    try:
        report = check_fixity(
            archive,
            as_of=as_of,
            period_days=period_days,
            interval_days=interval_days,
            actor="airflow:hp_fixity",
        )
    finally:
        archive.close()
    log.info(
        "fixity: checked %d of %d objects, %d problem(s)",
        report.checked,
        report.total_objects,
        len(report.problems),
    )
    if not report.ok:
        raise FixityFailed("fixity check failed: " + "; ".join(str(p) for p in report.problems))
    return report.as_dict()


class FixityFailed(RuntimeError):
    """Stored objects do not match their recorded SHA-256 or are missing."""


DISPOSAL_ACTIONS = ("propose", "submit", "approve", "execute", "verify")


def actor_for(context: Mapping[str, Any], dag_id: str) -> str:
    """Who did it, for the audit log: the user who triggered the run in the Airflow UI or API."""
    dag_run = context.get("dag_run")
    user = getattr(dag_run, "triggering_user_name", None) if dag_run is not None else None
    return f"airflow:{user}" if user else f"airflow:{dag_id}"


def _param_date(params: Mapping[str, Any], name: str) -> Any:
    from hp_archive.commands.common import parse_date

    value = params.get(name)
    return parse_date(str(value).strip(), f"param '{name}'") if value not in (None, "") else None


def _param_text(params: Mapping[str, Any], name: str, action: str) -> str:
    value = str(params.get(name) or "").strip()
    if not value:
        from hp_archive.errors import ConfigError

        raise ConfigError(f"the '{action}' action needs the param '{name}': fill it in the trigger form")
    return value


def disposal(params: Mapping[str, Any], *, actor: str, now: datetime) -> dict[str, Any]:
    """One step of the disposal procedure, exactly as ``hp-archive disposal <action>`` does it.

    ``now`` is the real clock at the moment the task runs (execute accepts no other); the summary
    of the certificate is logged and returned (to XCom: identifiers and counts, nothing secret).
    """
    from hp_archive.errors import ConfigError
    from hp_archive.retention import disposal as procedure
    from hp_archive.retention.rows import local_day

    action = str(params.get("action") or "").strip()
    if action not in DISPOSAL_ACTIONS:
        raise ConfigError(f"param 'action' must be one of {', '.join(DISPOSAL_ACTIONS)}, not {action!r}")
    archive = open_archive()
    try:
        today = local_day(now, archive.timezone)
        if action == "propose":
            series = str(params.get("series") or "").strip() or None
            proposal = procedure.propose(
                archive, as_of=_param_date(params, "as_of") or today, now=now, series=series, actor=actor
            )
            certificate = proposal.certificate_id
        else:
            certificate = _param_text(params, "certificate_id", action)
        if action == "submit":
            on = _param_date(params, "submitted_on") or today
            procedure.submit(archive, certificate, on=on, now=now, actor=actor)
        elif action == "approve":
            approved_on = _param_date(params, "approved_on")
            if approved_on is None:
                raise ConfigError("the 'approve' action needs the param 'approved_on' (the approval date)")
            procedure.approve(
                archive,
                certificate,
                reference=_param_text(params, "approval_reference", action),
                approved_on=approved_on,
                approver=_param_text(params, "approved_by", action),
                now=now,
                remove=[str(r) for r in (params.get("remove") or []) if str(r).strip()],
                actor=actor,
            )
        elif action == "execute":
            dry_run = bool(params.get("dry_run", True))
            report = procedure.execute(archive, certificate, as_of=now, actor=actor, dry_run=dry_run)
            data = report.as_dict()
            log.info(
                "disposal %s %s: %s %d record(s) %s; objects deleted %d, rewritten %d",
                certificate,
                "dry run" if dry_run else "execution",
                "would destroy" if dry_run else "destroyed",
                data["destroyed"],
                data["destroyed_by_item"],
                len(data["objects_deleted"]),
                len(data["objects_rewritten"]),
            )
            for entry in data["retained"] + data["skipped"]:
                log.info("  not destroyed %s: %s", entry["id"], entry["reason"])
            if dry_run:
                return {"certificate_id": certificate, "action": action, "dry_run": True, **_counts(data)}
        elif action == "verify":
            verification = procedure.verify(archive, certificate, as_of=now, actor=actor)
            for check in verification.as_dict()["checks"]:
                log.info("  %s %s: %s", "ok  " if check["ok"] else "FAIL", check["check"], check["detail"])
            if not verification.ok:
                raise DisposalFailed(
                    f"certificate {certificate} did not verify: " + "; ".join(verification.problems)
                )
        summary = procedure.show_certificate(archive, certificate)
    finally:
        archive.close()
    _log_certificate(summary)
    return {
        "certificate_id": certificate,
        "action": action,
        "state": summary["state"],
        "records": summary["records"],
        "stubs": summary["stubs"],
        "documents": {
            name: ref["key"]
            for name, ref in sorted(summary["documents"].items())
            if isinstance(ref, dict) and "key" in ref
        },
    }


def _counts(data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "destroyed": data["destroyed"],
        "destroyed_by_item": data["destroyed_by_item"],
        "objects_deleted": len(data["objects_deleted"]),
        "objects_rewritten": len(data["objects_rewritten"]),
        "not_destroyed": len(data["retained"]) + len(data["skipped"]),
    }


def _log_certificate(summary: Mapping[str, Any]) -> None:
    """The certificate's summary in the task log, as 'hp-archive disposal show' prints it."""
    log.info(
        "certificate %s: %s (as of %s, %s)",
        summary["certificate_id"],
        summary["state"],
        summary["as_of"],
        summary["schedule"]["agency"],
    )
    for name in (
        "submitted_on", "earliest_destruction", "approval_reference", "approved_on", "approver",
        "executed_at", "executed_by", "verified_at", "verified_by",
    ):  # fmt: skip
        if summary.get(name):
            log.info("  %-22s %s", name.replace("_", " "), summary[name])
    log.info("  records: %s; stubs %s", summary["records"], summary["stubs"])
    for group in summary["items"]:
        log.info("  %-8s %s: %s record(s)", group["item_number"], group["series_title"], group["quantity"])
    for name, ref in sorted(summary["documents"].items()):
        if isinstance(ref, dict) and "key" in ref:
            log.info("  document %-30s %s", name, ref["key"])


class DisposalFailed(RuntimeError):
    """A disposal step did not hold up (verification found a problem)."""


def export_production(
    *,
    matter: str,
    query: str | None,
    formats: Iterable[str] | str,
    destination: str,
    actor: str,
    now: datetime,
) -> dict[str, Any]:
    """Produce a matter and store the production under ``destination`` in the object store.

    The production is built in a temporary folder (the same code as ``hp-archive export``), then
    copied write-once into the store; the task log says where it is and its manifest digest.
    """
    import tempfile
    from pathlib import Path

    from hp_archive.ediscovery.export import export_matter, parse_formats, publish_production
    from hp_archive.errors import ConfigError

    matter = (matter or "").strip()
    if not matter:
        raise ConfigError("param 'matter' is empty: give the matter whose held items are produced")
    chosen = parse_formats(formats)
    archive = open_archive()
    try:
        with tempfile.TemporaryDirectory(prefix="hp-archive-export-") as scratch:
            result = export_matter(
                archive,
                matter,
                Path(scratch),
                query=(query or "").strip() or None,
                formats=chosen,
                actor=actor,
                as_of=now,
            )
            published = publish_production(archive.store, result, destination)
            archive.record(
                "export.publish",
                target=f"{archive.store.url}/{published['prefix']}",
                actor=actor,
                params={
                    "production": result.name,
                    "matter": matter,
                    "manifest_sha256": result.manifest_sha256,
                    "files": published["files"],
                },
            )
    finally:
        archive.close()
    log.info(
        "production %s of matter %s: %d document(s), Bates %s-%s, stored at %s/%s (%d files)",
        result.name,
        matter,
        result.documents,
        result.bates_first,
        result.bates_last,
        archive.store.url,
        published["prefix"],
        published["files"],
    )
    log.info("manifest SHA-256 %s; audit entry %s", result.manifest_sha256, result.audit_seq)
    for warning in result.warnings:
        log.warning("export: %s", warning)
    return {
        "production": result.name,
        "prefix": published["prefix"],
        "manifest_sha256": result.manifest_sha256,
        "documents": result.documents,
        "bates": [result.bates_first, result.bates_last],
        "audit_seq": result.audit_seq,
    }


def log_failure(context: Mapping[str, Any]) -> None:
    """on_failure_callback: one line naming the DAG, task (and mapped account) and the reason."""
    ti = context.get("task_instance") or context.get("ti")
    exception = context.get("exception")
    task = getattr(ti, "task_id", "?")
    index = getattr(ti, "map_index", -1)
    log.error(
        "hp_archive: %s failed%s: %s",
        task,
        f" (map index {index})" if index is not None and index >= 0 else "",
        exception,
    )


__all__ = [
    "INDEX_ASSET_URI",
    "CaptureFailed",
    "DisposalFailed",
    "FixityFailed",
    "accounts_for_platform",
    "actor_for",
    "capture",
    "completeness_report",
    "disposal",
    "export_production",
    "fixity",
    "log_failure",
    "open_archive",
    "settings",
    "token_environ",
]
