"""A disposal certificate as the database holds it: loading it, its dates, its transition facts."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Executable
from sqlalchemy.orm import Session

from hp_archive.errors import NotFoundError
from hp_archive.index import models as m
from hp_archive.retention.certificates import CertificateFacts


def local_day(moment: datetime, timezone: str) -> date:
    return moment.astimezone(ZoneInfo(timezone)).date()


def certificate_facts(cert: m.DisposalCertificate, timezone: str) -> CertificateFacts:
    return CertificateFacts(
        id=cert.id,
        state=cert.state,
        proposed_on=local_day(cert.proposed_at, timezone),
        submitted_on=cert.submitted_on,
        approved_on=cert.approved_on,
        waiting_days=cert.waiting_days,
    )


def load_certificate(session: Session, certificate_id: str, *, lock: bool = False) -> m.DisposalCertificate:
    """The certificate's row; ``lock`` holds it (SELECT … FOR UPDATE) until the transaction ends,
    so two processes cannot take the same step at once (PostgreSQL; SQLite has one writer)."""
    cert = session.get(m.DisposalCertificate, certificate_id, with_for_update=lock)
    if cert is None:
        raise NotFoundError(
            f"disposal certificate {certificate_id!r} does not exist: see 'hp-archive disposal list'"
        )
    return cert


def execute(session: Session, statement: Executable, params: Any = None) -> None:
    """Run a bulk UPDATE/DELETE/INSERT without synchronizing objects loaded in the session.

    These statements touch up to hundreds of thousands of rows; the ORM's default would evaluate
    every loaded object against them (quadratic). Callers do not reuse objects they changed this way.
    """
    session.execute(statement, params, execution_options={"synchronize_session": False})
