"""The audit log detects edited, deleted, inserted and reordered entries, on both backends."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select, text

from hp_archive.archive import Archive
from hp_archive.audit import (
    AuditError,
    SigningKey,
    mirror_head,
    mirror_pending,
    verify_against_mirror,
    verify_chain,
    verify_document,
)
from hp_archive.index.models import AuditEntry
from hp_archive.storage import LocalObjectStore
from tests.support.clock import FakeClock
from tests.support.pipeline import make_archive


@pytest.fixture
def archive(tmp_path: Path, database_url: str, clock: FakeClock) -> Archive:
    arch = make_archive(LocalObjectStore(tmp_path / "store"), database_url, tmp_path / "spool", clock)
    for n in range(5):
        arch.record(
            "hold.create", target=f"matter-{n}", params={"query": f"speeding {n}", "reason": "litigation"}
        )
    return arch


def problems(archive: Archive) -> list[str]:
    with archive.sessions() as session:
        return [str(p) for p in verify_chain(session)]


def test_a_clean_chain_verifies_and_is_mirrored_signed(archive: Archive) -> None:
    assert problems(archive) == []
    with archive.sessions() as session:
        assert verify_against_mirror(session, archive.store) == []
    keys = [i.key for i in archive.store.list("audit/log/")]
    assert len(keys) == 5
    document = json.loads(archive.store.get_bytes(keys[2]))
    assert document["seq"] == 3 and document["action"] == "hold.create"
    public = archive.store.get_bytes(next(archive.store.list("keys/")).key)
    assert verify_document(document, public)
    document["params"]["query"] = "tampered"
    assert not verify_document(document, public)


def test_edited_row_is_named(archive: Archive) -> None:
    with archive.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET actor = 'mallory' WHERE seq = 3"))
    assert problems(archive) == ["entry 3: content does not match its hash (edited)"]


def test_a_rewritten_entry_cannot_replace_its_signed_mirror(archive: Archive) -> None:
    """Re-hashing an edited row hides it from the chain walk, but not from the mirror."""
    with archive.sessions() as session:
        row = session.scalar(select(AuditEntry).where(AuditEntry.seq == 5))
        assert row is not None
        row.hash = "f" * 64
        session.commit()
        assert [str(p) for p in verify_against_mirror(session, archive.store)] == [
            "entry 5: differs from its signed mirror audit/log/000000000005.json"
        ]
        row.mirrored = False
        with pytest.raises(AuditError, match="differs from its signed mirror"):
            mirror_pending(session, archive.store, archive.signing_key)


def test_deleted_row_is_named(archive: Archive) -> None:
    with archive.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq = 2"))
    assert problems(archive) == ["entry 3: entries 2..2 are missing (deleted)"]
    with archive.sessions() as session:
        assert [str(p) for p in verify_against_mirror(session, archive.store)] == [
            "entry 2: is in the signed mirror audit/log/000000000002.json but not in the database (deleted)"
        ]


def test_deleted_last_row_is_caught_by_the_mirror(archive: Archive) -> None:
    with archive.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq = 5"))
    assert problems(archive) == []  # a truncated chain still chains...
    with archive.sessions() as session:  # ...but the signed mirror remembers
        assert "entry 5" in str(verify_against_mirror(session, archive.store)[0])


def test_reordered_rows_are_named(archive: Archive) -> None:
    with archive.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET id = id + 100 WHERE seq = 2"))
    found = problems(archive)
    assert (
        found[0] == "entry 3: does not chain to the previous entry (inserted, deleted or reordered)"
        or "entry 3" in found[0]
    )
    assert any("entry 2" in p for p in found)


def test_inserted_row_is_named(archive: Archive, clock: FakeClock) -> None:
    with archive.sessions() as session:
        forged = AuditEntry(
            id=1000,
            seq=6,
            at=clock(),
            actor="mallory",
            action="hold.release",
            target="matter-1",
            params={},
            prev_hash="0" * 64,
            hash="0" * 64,
            mirrored=True,
        )
        session.add(forged)
        session.commit()
    found = problems(archive)
    assert any(p.startswith("entry 6") for p in found)


def test_daily_head_is_written_once(archive: Archive, clock: FakeClock) -> None:
    with archive.sessions() as session:
        key = mirror_head(session, archive.store, archive.signing_key, day=clock.now.date(), at=clock())
        again = mirror_head(session, archive.store, archive.signing_key, day=clock.now.date(), at=clock())
    assert key == again == f"audit/heads/{clock.now.date().isoformat()}.json"
    head = json.loads(archive.store.get_bytes(key))
    assert head["seq"] == 5 and verify_document(head)


def test_signing_key_is_private_and_stable(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "k.pem"
    first = SigningKey.load_or_create(path)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert SigningKey.load_or_create(path).key_id == first.key_id
    (tmp_path / "bad.pem").write_text("not a key")
    from hp_archive.errors import ConfigError

    with pytest.raises(ConfigError, match="not an unencrypted PEM"):
        SigningKey.load_or_create(tmp_path / "bad.pem")
