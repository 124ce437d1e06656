"""Capture: source → spool (fsync) → object store (SHA-256 verified) → index, in that order.

A run's progress is written ahead in ``capture_runs`` (DESIGN invariant 2):

``capturing``  the source is walking the platform; WARC files are ``.open`` in the spool
``spooled``    files are closed and fsynced; their keys and SHA-256 are recorded
``stored``     every file is in the object store and verified
``indexed``    every file is ingested (one transaction per file); the spool is removed

A crash at any point is repaired by running again: :func:`repair_runs` finishes ``spooled`` and
``stored`` runs from the spool or, if the spool is gone (another worker), from the store; a run
that died while ``capturing`` is abandoned (nothing of it was stored) and the window is captured
afresh. A window already captured completely is not captured again.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import traceback
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from hp_archive.archive import Archive
from hp_archive.errors import (
    AuthenticationError,
    CaptureError,
    HPArchiveError,
    RateLimitedError,
    SourceError,
)
from hp_archive.index import models as m
from hp_archive.index.db import transaction
from hp_archive.index.hooks import run_index_hooks
from hp_archive.index.ingest import (
    IngestStats,
    ingest_file,
    run_archived_counts,
    run_event_counts,
    uid_for,
)
from hp_archive.settings import Account
from hp_archive.sources import source_class
from hp_archive.sources.context import RunContext
from hp_archive.sources.http import RecordingHTTPClient
from hp_archive.warc.runinfo import REPORT_PROFILE, RunInfo
from hp_archive.warc.spool import PriorRecord, SpoolWriter

log = logging.getLogger(__name__)

RUN_NAMESPACE = uuid.UUID("5b0d3c4e-6a51-4f57-9a55-68705f617263")
Checkpoint = Callable[[str], None]


@dataclass
class RunResult:
    """The outcome of capturing one account for one window."""

    run_id: str
    account_id: str
    platform: str
    status: str
    outcome: str | None
    error: str | None = None
    already_done: bool = False
    files: list[dict[str, Any]] = field(default_factory=list)
    report: dict[str, Any] = field(default_factory=dict)
    events: Counter[str] = field(default_factory=Counter)
    archived: Counter[str] = field(default_factory=Counter)

    @property
    def ok(self) -> bool:
        return self.outcome == "complete"

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "account": self.account_id,
            "platform": self.platform,
            "status": self.status,
            "outcome": self.outcome,
            "error": self.error,
            "already_done": self.already_done,
            "files": self.files,
            "listed": self.report.get("listed", {}),
            "archived": dict(self.archived),
            "listings_complete": self.report.get("listings_complete"),
            "listings_total": self.report.get("listings_total"),
            "media": self.report.get("media", {}),
            "failures": self.report.get("failures", []),
            "events": dict(self.events),
        }


def run_id_for(account_id: str, window_start: datetime | None, window_end: datetime, attempt: int = 1) -> str:
    """Deterministic run id: the same account and window always name the same run."""
    start = window_start.isoformat() if window_start else "-"
    name = f"{account_id}|{start}|{window_end.isoformat()}"
    if attempt > 1:
        name += f"|attempt-{attempt}"
    return str(uuid.uuid5(RUN_NAMESPACE, name))


def capture_accounts(
    archive: Archive,
    accounts: Iterable[Account],
    *,
    window_end: datetime,
    window_start: datetime | None = None,
) -> list[RunResult]:
    """Capture each account in turn; one account's failure never stops another's."""
    results = []
    for account in accounts:
        try:
            results.append(
                capture_account(archive, account, window_end=window_end, window_start=window_start)
            )
        except HPArchiveError as exc:  # reported in the result; the caller decides how to show it
            results.append(
                RunResult(
                    run_id="",
                    account_id=account.id,
                    platform=account.platform,
                    status="failed",
                    outcome="failed",
                    error=str(exc),
                )
            )
    return results


def capture_account(
    archive: Archive,
    account: Account,
    *,
    window_end: datetime,
    window_start: datetime | None = None,
    checkpoint: Checkpoint | None = None,
) -> RunResult:
    """Capture one account for the window ending ``window_end`` (idempotent for the window)."""
    checkpoint = checkpoint or (lambda _step: None)
    repair_runs(archive, account_id=account.id)
    attempt = 1
    with transaction(archive.sessions) as session:
        while True:
            run_id = run_id_for(account.id, window_start, window_end, attempt)
            existing = session.get(m.CaptureRun, run_id)
            if existing is None:
                break
            if existing.status == "indexed" and existing.outcome == "complete":
                return _result_from_row(existing, already_done=True)
            attempt += 1  # an earlier attempt failed or was partial: capture again
        previous_state = _previous_state(session, account.id)
    return _run_capture(archive, account, run_id, window_start, window_end, previous_state, checkpoint)


def _previous_state(session: Any, account_id: str) -> dict[str, Any]:
    row = session.scalars(
        select(m.CaptureRun)
        .where(m.CaptureRun.account_id == account_id, m.CaptureRun.status == "indexed")
        .order_by(m.CaptureRun.started_at.desc())
        .limit(1)
    ).first()
    return dict(row.source_state) if row is not None and row.source_state else {}


def _run_capture(
    archive: Archive,
    account: Account,
    run_id: str,
    window_start: datetime | None,
    window_end: datetime,
    previous_state: dict[str, Any],
    checkpoint: Checkpoint,
) -> RunResult:
    started = archive.clock()
    source_cls = source_class(account.platform)
    source = source_cls(account)
    # a missing token is refused before anything is recorded, naming the variable to set
    token = None
    if account.token_key and (source_cls.needs_token or archive.environ.get(account.token_key)):
        token = account.read_token(archive.environ)
    with transaction(archive.sessions) as session:
        if session.get(m.Account, account.id) is None:
            session.add(
                m.Account(
                    id=account.id,
                    platform=account.platform,
                    handle=account.handle,
                    first_seen_at=started,
                )
            )
            session.flush()
        session.add(
            m.CaptureRun(
                id=run_id,
                account_id=account.id,
                platform=account.platform,
                window_start=window_start,
                window_end=window_end,
                started_at=started,
                finished_at=None,
                status="capturing",
                outcome=None,
                files=[],
                report={},
                source_state={},
                error=None,
            )
        )
    info = RunInfo(
        run_id=run_id,
        account_id=account.id,
        platform=account.platform,
        handle=account.handle,
        series=account.series,
        window_start=window_start,
        window_end=window_end,
        started_at=started,
        operator=archive.operator,
        hostname=archive.host,
    )
    spool_dir = archive.spool_dir / run_id
    if spool_dir.exists():
        shutil.rmtree(spool_dir)
    spool = SpoolWriter(
        spool_dir,
        run_id=run_id,
        account_id=account.id,
        warcinfo=info.warc_fields(),
        host=archive.host,
        revisit_lookup=_revisit_lookup(archive, account.id),
        secrets=[token.reveal()] if token else [],
    )
    outcome = "complete"
    error: str | None = None
    with RecordingHTTPClient(clock=archive.clock, timeout=archive.http_timeout) as http:
        ctx = RunContext(
            source=source,
            account=account,
            as_of=window_end,
            state=previous_state,
            token=token,
            http=http,
            spool=spool,
            sleep=archive.sleep,
            media_known=_media_lookup(archive, account),
            retry=archive.retry,
        )
        try:
            source.capture(ctx)
        except AuthenticationError as exc:
            outcome, error = "failed", str(exc)
        except RateLimitedError as exc:
            outcome, error = "partial", str(exc)
        except SourceError as exc:
            outcome, error = "partial", ctx.scrub(str(exc))
        except Exception as exc:  # a bug must not lose what was captured: seal, store, index
            outcome = "failed"
            error = ctx.scrub(f"internal error {type(exc).__name__}: {exc}")
            log.error("capture of %s crashed: %s", account.id, ctx.scrub(traceback.format_exc()))
        if outcome == "complete" and not ctx.complete():
            outcome = "partial"
        if error:
            ctx.note_failure("run", error)
    finished = archive.clock()
    report_base = _report(info, ctx, outcome, error, started, finished, previous_state)
    files = spool.close(
        lambda series: {**report_base, "series": series, "listings": ctx.listings_for(series)},
        finished,
    )
    with transaction(archive.sessions) as session:
        run = session.get(m.CaptureRun, run_id)
        assert run is not None
        run.files = [f.as_dict() for f in files]
        run.report = report_base
        run.outcome = outcome
        run.error = error
        run.status = "spooled" if files else "indexed"
        run.finished_at = finished
        run.source_state = report_base["source_state"]
    checkpoint("spooled")
    if not files:
        shutil.rmtree(spool_dir, ignore_errors=True)
        result = RunResult(
            run_id, account.id, account.platform, "indexed", outcome, error, report=report_base
        )
        with transaction(archive.sessions) as session:
            _audit_run(archive, session, result)
        archive.mirror_audit()
        return result
    return _finish(archive, run_id, checkpoint)


def _report(
    info: RunInfo,
    ctx: RunContext,
    outcome: str,
    error: str | None,
    started: datetime,
    finished: datetime,
    previous_state: dict[str, Any],
) -> dict[str, Any]:
    listed: Counter[str] = Counter()
    for state in ctx.listings:
        listed.update(state.items)
    return {
        "profile": REPORT_PROFILE,
        "run_id": info.run_id,
        "account": info.account_id,
        "platform": info.platform,
        "handle": info.handle,
        "window_start": info.window_start.isoformat() if info.window_start else None,
        "window_end": info.window_end.isoformat(),
        "started_at": started.isoformat(),
        "finished_at": finished.isoformat(),
        "outcome": outcome,
        "error": error,
        "listings_total": len(ctx.listings),
        "listings_complete": sum(1 for s in ctx.listings if s.complete),
        "listed": dict(sorted(listed.items())),
        "media": dict(sorted(ctx.media.items())),
        "counts": dict(sorted(ctx.counts.items())),
        "waited_seconds": round(ctx.waited, 3),
        "failures": list(ctx.failures),
        "source_state": {**previous_state, **ctx.new_state},
    }


def _revisit_lookup(archive: Archive, account_id: str) -> Callable[[str, str], PriorRecord | None]:
    def lookup(series: str, payload_digest: str) -> PriorRecord | None:
        with archive.sessions() as session:
            row = session.execute(
                select(m.WarcRecord.record_id, m.WarcRecord.target_uri, m.WarcRecord.date)
                .join(m.WarcFile, m.WarcFile.id == m.WarcRecord.file_id)
                .where(
                    m.WarcRecord.payload_digest == payload_digest,
                    m.WarcRecord.rec_type == "response",
                    m.WarcFile.account_id == account_id,
                    m.WarcFile.series == series,
                )
                .order_by(m.WarcRecord.id)
                .limit(1)
            ).first()
        if row is None:
            return None
        return PriorRecord(record_id=row.record_id, target_uri=row.target_uri or "", date=row.date)

    return lookup


def _media_lookup(archive: Archive, account: Account) -> Callable[[str], bool]:
    def known(media_key: str) -> bool:
        with archive.sessions() as session:
            found = session.scalar(
                select(m.Item.id).where(
                    m.Item.uid == uid_for(account.platform, media_key),
                    m.Item.media_record_id.is_not(None),
                )
            )
        return found is not None

    return known


def _finish(archive: Archive, run_id: str, checkpoint: Checkpoint) -> RunResult:
    """Store and index a spooled run; safe to call again after a crash at any point."""
    with archive.sessions() as session:
        run = session.get(m.CaptureRun, run_id)
        if run is None:
            raise CaptureError(f"capture run {run_id} is not in the index")
        files = [dict(f) for f in run.files]
        status = run.status
    spool_dir = archive.spool_dir / run_id
    if status == "spooled":
        lost = []
        for entry in files:
            info = archive.store.head(entry["key"])
            if info is not None and info.sha256 == entry["sha256"]:
                continue
            path = spool_dir / entry["filename"]
            if not path.exists():
                lost.append(entry["filename"])
                continue
            archive.store.put_file(
                entry["key"], path, sha256=entry["sha256"], content_type="application/warc"
            )
        if lost:
            # Neither stored nor in this worker's spool: the evidence of those files is gone.
            # Record it loudly; the next run of the window captures afresh.
            with transaction(archive.sessions) as session:
                run = session.get(m.CaptureRun, run_id)
                assert run is not None
                run.status = "failed"
                run.outcome = "failed"
                run.error = f"spooled files lost before upload: {', '.join(lost)}; capture again"
            raise CaptureError(
                f"run {run_id}: spooled files lost before upload ({', '.join(lost)}); re-run the capture"
            )
        with transaction(archive.sessions) as session:
            run = session.get(m.CaptureRun, run_id)
            assert run is not None
            run.status = "stored"
        checkpoint("stored")
    for entry in sorted(files, key=lambda f: f["filename"]):
        _index_one(archive, entry, spool_dir, checkpoint)
    with transaction(archive.sessions) as session:
        run = session.get(m.CaptureRun, run_id)
        assert run is not None
        run.status = "indexed"
        report = dict(run.report)
        report["archived"] = run_archived_counts(session, run_id)
        report["events"] = run_event_counts(session, run_id)
        run.report = report
        result = _result_from_row(run)
        _audit_run(archive, session, result)
    archive.mirror_audit()
    shutil.rmtree(spool_dir, ignore_errors=True)
    return result


def _audit_run(archive: Archive, session: Any, result: RunResult) -> None:
    """Every capture run leaves an audit entry naming its files and their SHA-256."""
    archive.record(
        "capture.run",
        target=result.run_id,
        params={
            "account": result.account_id,
            "platform": result.platform,
            "outcome": result.outcome,
            "error": result.error,
            "files": [{"key": f["key"], "sha256": f["sha256"], "size": f["size"]} for f in result.files],
            "events": dict(result.events),
        },
        session=session,
    )


def _index_one(
    archive: Archive, entry: dict[str, Any], spool_dir: Path, checkpoint: Checkpoint
) -> IngestStats:
    """Ingest one file of a run, from the spool if it is here, else from the store."""
    path = spool_dir / entry["filename"]
    with contextlib.ExitStack() as stack:
        if not path.exists():
            path, _ = stack.enter_context(archive.store.downloaded(entry["key"]))
        with transaction(archive.sessions) as session:
            stats = ingest_file(
                session,
                key=entry["key"],
                path=path,
                sha256=entry["sha256"],
                size=entry["size"],
                read_range=archive.store.get_range,
                indexed_at=archive.clock(),
                run_status="stored",
            )
            run_index_hooks(archive, session, stats)
            checkpoint("indexing")
    return stats


def _result_from_row(run: m.CaptureRun, *, already_done: bool = False) -> RunResult:
    report = dict(run.report or {})
    return RunResult(
        run_id=run.id,
        account_id=run.account_id,
        platform=run.platform,
        status=run.status,
        outcome=run.outcome,
        error=run.error,
        already_done=already_done,
        files=list(run.files or []),
        report=report,
        events=Counter(report.get("events", {})),
        archived=Counter(report.get("archived", {})),
    )


def repair_runs(archive: Archive, *, account_id: str | None = None) -> list[RunResult]:
    """Finish or abandon runs a crash left behind (all accounts, or one)."""
    with archive.sessions() as session:
        query = select(m.CaptureRun.id, m.CaptureRun.status).where(
            m.CaptureRun.status.in_(("capturing", "spooled", "stored"))
        )
        if account_id is not None:
            query = query.where(m.CaptureRun.account_id == account_id)
        pending = session.execute(query.order_by(m.CaptureRun.started_at)).all()
    results = []
    for run_id, status in pending:
        if status == "capturing":
            shutil.rmtree(archive.spool_dir / run_id, ignore_errors=True)
            with transaction(archive.sessions) as session:
                run = session.get(m.CaptureRun, run_id)
                assert run is not None
                run.status = "failed"
                run.outcome = "failed"
                run.error = "interrupted while capturing; nothing was stored; the window is captured again"
            log.warning("capture run %s was interrupted while capturing; abandoned", run_id)
            continue
        log.warning("finishing capture run %s left %s by an earlier crash", run_id, status)
        results.append(_finish(archive, run_id, lambda _step: None))
    return results
