"""The audit log: append-only, hash-chained, signed; and the archive's Ed25519 signing key.

Each entry carries the SHA-256 of the previous entry, so editing, deleting, inserting or
reordering any row breaks the chain at a place :func:`verify_chain` names. Every entry is also
mirrored into the object store as signed JSON under ``audit/log/`` (write-once), and the chain's
head is mirrored under ``audit/heads/<date>.json`` — so the database alone cannot rewrite history
(DESIGN invariant 5: the audit log is authoritative and mirrored).

The signing key is an Ed25519 key in ``<home>/keys/archive-ed25519.pem`` (created on first use,
mode 0600) or the file ``HP_ARCHIVE_SIGNING_KEY_FILE`` names; its public half is published in the
store under ``keys/`` so anyone can verify signatures with the public key alone.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from hp_archive.errors import ConfigError, HPArchiveError, ObjectExistsError
from hp_archive.index.models import AuditEntry
from hp_archive.storage import ObjectStore

GENESIS = "0" * 64
AUDIT_LOG_PREFIX = "audit/log/"
AUDIT_HEADS_PREFIX = "audit/heads/"
PUBLIC_KEY_PREFIX = "keys/"


class AuditError(HPArchiveError):
    """The audit chain is broken or an entry cannot be written."""


def canonical_json(data: Any) -> bytes:
    """The one JSON serialization hashed and signed everywhere (sorted keys, no spaces, UTF-8)."""
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str).encode()


# -- signing key ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SigningKey:
    """The archive's Ed25519 key. ``key_id`` is the first 16 hex digits of the public key's SHA-256."""

    private: Ed25519PrivateKey

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    @property
    def public_pem(self) -> bytes:
        return self.public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    @property
    def key_id(self) -> str:
        raw = self.public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return hashlib.sha256(raw).hexdigest()[:16]

    def sign(self, data: bytes) -> str:
        """Base64 Ed25519 signature of ``data``."""
        return base64.b64encode(self.private.sign(data)).decode()

    def sign_document(self, document: Mapping[str, Any]) -> dict[str, Any]:
        """``document`` plus a ``signature`` block over its canonical JSON."""
        body = {k: v for k, v in document.items() if k != "signature"}
        return {
            **body,
            "signature": {
                "algorithm": "Ed25519",
                "key_id": self.key_id,
                "public_key": self.public_pem.decode(),
                "value": self.sign(canonical_json(body)),
            },
        }

    @classmethod
    def load_or_create(cls, path: Path) -> SigningKey:
        """Read the PEM private key at ``path``, creating it (mode 0600) if absent."""
        if path.exists():
            try:
                key = serialization.load_pem_private_key(path.read_bytes(), password=None)
            except (ValueError, TypeError) as exc:
                raise ConfigError(
                    f"signing key {path} is not an unencrypted PEM private key: {exc}"
                ) from None
            if not isinstance(key, Ed25519PrivateKey):
                raise ConfigError(
                    f"signing key {path} is not an Ed25519 key: generate one with 'hp-archive init'"
                )
            return cls(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        private = Ed25519PrivateKey.generate()
        pem = private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
        return cls(private)

    def publish(self, store: ObjectStore) -> str:
        """Write the public key to the store (idempotent); returns its key."""
        key = f"{PUBLIC_KEY_PREFIX}archive-ed25519-{self.key_id}.pem"
        store.put_bytes(key, self.public_pem, content_type="application/x-pem-file")
        return key


def verify_document(document: Mapping[str, Any], public_pem: bytes | None = None) -> bool:
    """True if the document's signature verifies (with ``public_pem``, or the embedded key)."""
    signature = document.get("signature")
    if not isinstance(signature, Mapping) or signature.get("algorithm") != "Ed25519":
        return False
    pem = public_pem or str(signature.get("public_key", "")).encode()
    try:
        public = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError):
        return False
    if not isinstance(public, Ed25519PublicKey):
        return False
    body = {k: v for k, v in document.items() if k != "signature"}
    try:
        public.verify(base64.b64decode(str(signature.get("value", ""))), canonical_json(body))
    except (InvalidSignature, ValueError):
        return False
    return True


# -- the chain -----------------------------------------------------------------------------------


def entry_hash(
    *, seq: int, at: datetime, actor: str, action: str, target: str, params: Any, prev_hash: str
) -> str:
    """SHA-256 (hex) of an entry's canonical content, including the previous entry's hash."""
    return hashlib.sha256(
        canonical_json(
            {
                "seq": seq,
                "at": at.isoformat(),
                "actor": actor,
                "action": action,
                "target": target,
                "params": params,
                "prev_hash": prev_hash,
            }
        )
    ).hexdigest()


def _lock_chain(session: Session) -> None:
    """Serialize appenders: PostgreSQL advisory lock; SQLite takes its write lock at the insert."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(724215)"))


def append(
    session: Session,
    *,
    at: datetime,
    actor: str,
    action: str,
    target: str = "",
    params: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry in the caller's transaction (commit together with what it records)."""
    _lock_chain(session)
    head = session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).first()
    seq = (head.seq + 1) if head else 1
    prev = head.hash if head else GENESIS
    clean = json.loads(canonical_json(dict(params or {})))
    entry = AuditEntry(
        seq=seq,
        at=at,
        actor=actor,
        action=action,
        target=target,
        params=clean,
        prev_hash=prev,
        hash=entry_hash(
            seq=seq, at=at, actor=actor, action=action, target=target, params=clean, prev_hash=prev
        ),
        mirrored=False,
    )
    session.add(entry)
    session.flush()
    return entry


def entry_document(entry: AuditEntry) -> dict[str, Any]:
    return {
        "profile": "hp-archive/audit-entry/1",
        "seq": entry.seq,
        "at": entry.at.isoformat(),
        "actor": entry.actor,
        "action": entry.action,
        "target": entry.target,
        "params": entry.params,
        "prev_hash": entry.prev_hash,
        "hash": entry.hash,
    }


def mirror_pending(session: Session, store: ObjectStore, key: SigningKey) -> int:
    """Write signed copies of not-yet-mirrored entries to ``audit/log/`` (idempotent)."""
    count = 0
    for entry in session.scalars(
        select(AuditEntry).where(AuditEntry.mirrored.is_(False)).order_by(AuditEntry.seq)
    ):
        document = key.sign_document(entry_document(entry))
        object_key = f"{AUDIT_LOG_PREFIX}{entry.seq:012d}.json"
        try:
            store.put_bytes(object_key, canonical_json(document), content_type="application/json")
        except ObjectExistsError:
            existing = json.loads(store.get_bytes(object_key))
            if existing.get("hash") != entry.hash:
                raise AuditError(
                    f"audit entry {entry.seq} differs from its signed mirror {object_key}: "
                    "the database copy was altered; run 'hp-archive audit verify'"
                ) from None
        entry.mirrored = True
        count += 1
    return count


def mirror_head(
    session: Session, store: ObjectStore, key: SigningKey, *, day: date, at: datetime
) -> str | None:
    """Write the chain's head for ``day`` (once per day) signed; returns the object key."""
    head = session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).first()
    if head is None:
        return None
    object_key = f"{AUDIT_HEADS_PREFIX}{day.isoformat()}.json"
    if store.head(object_key) is not None:
        return object_key
    document = key.sign_document(
        {
            "profile": "hp-archive/audit-head/1",
            "day": day.isoformat(),
            "written_at": at.isoformat(),
            "seq": head.seq,
            "hash": head.hash,
        }
    )
    store.put_bytes(object_key, canonical_json(document), content_type="application/json")
    return object_key


@dataclass(frozen=True)
class ChainProblem:
    """One break in the chain, naming the entry."""

    seq: int
    problem: str

    def __str__(self) -> str:
        return f"entry {self.seq}: {self.problem}"


def verify_entries(entries: Iterable[AuditEntry]) -> list[ChainProblem]:
    """Walk entries in row order and name every edited, deleted, inserted or reordered entry."""
    problems: list[ChainProblem] = []
    expected_prev = GENESIS
    expected_seq = 1
    for entry in entries:
        recomputed = entry_hash(
            seq=entry.seq,
            at=entry.at,
            actor=entry.actor,
            action=entry.action,
            target=entry.target,
            params=entry.params,
            prev_hash=entry.prev_hash,
        )
        if recomputed != entry.hash:
            problems.append(ChainProblem(entry.seq, "content does not match its hash (edited)"))
        if entry.seq != expected_seq:
            if entry.seq > expected_seq:
                problems.append(
                    ChainProblem(entry.seq, f"entries {expected_seq}..{entry.seq - 1} are missing (deleted)")
                )
            else:
                problems.append(
                    ChainProblem(
                        entry.seq, f"out of order after entry {expected_seq - 1} (reordered or inserted)"
                    )
                )
        elif entry.prev_hash != expected_prev:
            problems.append(
                ChainProblem(
                    entry.seq, "does not chain to the previous entry (inserted, deleted or reordered)"
                )
            )
        expected_prev = entry.hash
        expected_seq = entry.seq + 1
    return problems


def verify_chain(session: Session) -> list[ChainProblem]:
    """Problems in the stored chain, in the order the database returns rows by ``id``."""
    return verify_entries(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def verify_against_mirror(session: Session, store: ObjectStore) -> list[ChainProblem]:
    """Entries whose mirrored signed copy is missing, unsigned, or differs from the database."""
    problems: list[ChainProblem] = []
    mirrored = {info.key for info in store.list(AUDIT_LOG_PREFIX)}
    db_seqs: set[int] = set()
    for entry in session.scalars(
        select(AuditEntry).where(AuditEntry.mirrored.is_(True)).order_by(AuditEntry.seq)
    ):
        db_seqs.add(entry.seq)
        key = f"{AUDIT_LOG_PREFIX}{entry.seq:012d}.json"
        if key not in mirrored:
            problems.append(ChainProblem(entry.seq, f"signed mirror {key} is missing"))
            continue
        document = json.loads(store.get_bytes(key))
        if not verify_document(document):
            problems.append(ChainProblem(entry.seq, f"signed mirror {key} has a bad signature"))
        elif document.get("hash") != entry.hash:
            problems.append(ChainProblem(entry.seq, f"differs from its signed mirror {key}"))
    for key in sorted(mirrored):
        seq = int(key.rsplit("/", 1)[-1].split(".")[0])
        if seq not in db_seqs and session.scalar(select(AuditEntry.id).where(AuditEntry.seq == seq)) is None:
            problems.append(
                ChainProblem(seq, f"is in the signed mirror {key} but not in the database (deleted)")
            )
    return problems
