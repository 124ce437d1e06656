"""The archive's adapters wired together from :class:`~hp_archive.settings.Settings`.

CLI commands, Airflow tasks and tests build one :class:`Archive` and pass it to the service
functions (capture, reindex, search). Clock and sleep are injected here so that library code never
reads the real clock itself (DESIGN invariant 7): only the entry points pass the real ones.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from hp_archive import audit
from hp_archive.audit import SigningKey
from hp_archive.index.db import make_engine, session_factory, transaction, upgrade
from hp_archive.settings import Settings
from hp_archive.sources.context import RetryPolicy
from hp_archive.storage import ObjectStore, store_from_url
from hp_archive.warc.naming import host_label

Clock = Callable[[], datetime]
Sleep = Callable[[float], None]


def system_clock() -> datetime:
    """The real clock; only entry points (CLI, DAGs) pass this in."""
    return datetime.now(UTC)


@dataclass
class Archive:
    """Object store + index + spool + the injected clock, sleep and environment."""

    store: ObjectStore
    engine: Engine
    spool_dir: Path
    clock: Clock
    sleep: Sleep = time.sleep
    environ: Mapping[str, str] = field(default_factory=dict)
    operator: str = "hp-archive"
    host: str = field(default_factory=host_label)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    http_timeout: float = 60.0
    timezone: str = "America/Chicago"
    signing_key_path: Path | None = None
    _signing_key: SigningKey | None = field(default=None, init=False, repr=False)

    @property
    def sessions(self) -> sessionmaker[Session]:
        return session_factory(self.engine)

    @property
    def signing_key(self) -> SigningKey:
        """The archive's Ed25519 key (created on first use; its public half is published)."""
        if self._signing_key is None:
            path = self.signing_key_path or self.spool_dir.parent / "keys" / "archive-ed25519.pem"
            self._signing_key = SigningKey.load_or_create(path)
            self._signing_key.publish(self.store)
        return self._signing_key

    def record(
        self,
        action: str,
        *,
        target: str = "",
        params: Mapping[str, Any] | None = None,
        actor: str | None = None,
        session: Session | None = None,
    ) -> int:
        """Append an audit entry (in ``session``'s transaction if given) and mirror it signed.

        Returns the entry's sequence number. With ``session`` the caller commits, then calls
        :meth:`mirror_audit`; without, the entry commits and is mirrored here.
        """
        if session is not None:
            return audit.append(
                session,
                at=self.clock(),
                actor=actor or self.operator,
                action=action,
                target=target,
                params=params,
            ).seq
        with transaction(self.sessions) as own:
            seq = audit.append(
                own,
                at=self.clock(),
                actor=actor or self.operator,
                action=action,
                target=target,
                params=params,
            ).seq
        self.mirror_audit()
        return seq

    def mirror_audit(self) -> None:
        """Write signed copies of committed, not yet mirrored audit entries to the store."""
        with transaction(self.sessions) as session:
            audit.mirror_pending(session, self.store, self.signing_key)

    @classmethod
    def open(
        cls,
        settings: Settings,
        *,
        clock: Clock,
        sleep: Sleep = time.sleep,
        environ: Mapping[str, str] | None = None,
        migrate: bool = True,
    ) -> Archive:
        """Connect to the store and the index (creating the schema when ``migrate``)."""
        import os

        store = store_from_url(
            settings.storage_url,
            endpoint_url=settings.s3_endpoint_url,
            require_object_lock=settings.require_object_lock,
        )
        engine = make_engine(settings.database_url)
        if migrate:
            upgrade(engine)
        return cls(
            store=store,
            engine=engine,
            spool_dir=settings.spool_dir,
            clock=clock,
            sleep=sleep,
            environ=dict(os.environ if environ is None else environ),
            operator=settings.operator,
            timezone=settings.timezone,
            signing_key_path=settings.signing_key_path,
        )

    def close(self) -> None:
        self.engine.dispose()
