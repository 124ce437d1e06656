"""The fast index path (streaming, bulk writes, parallel parsing) builds exactly the index the
reference path builds: same items, versions, events, text and media links, on both backends —
and the same full-text index (its terms and positions), author keys and normalized JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from benchmarks.corpus import Spec, write_ours
from hp_archive.archive import Archive
from hp_archive.capture import capture_account
from hp_archive.index import models as m
from hp_archive.index.db import transaction
from hp_archive.index.reindex import capture_order, reindex
from hp_archive.storage import LocalObjectStore, ObjectStore
from hp_archive.storage.base import sha256_file
from tests.support import reference_ingest
from tests.support.clock import FakeClock
from tests.support.pipeline import counts, facebook_world, make_archive, snapshot


def derived(archive: Archive) -> dict[str, Any]:
    """What the snapshot leaves out: author keys, normalized JSON and the full-text index itself
    (SQLite: every term at every position of every version; PostgreSQL: each version's tsvector)."""
    with archive.sessions() as session:
        authors = dict(session.execute(select(m.Item.uid, m.Item.author_key)).all())
        versions = {
            row_id: (uid, version_no, normalized)
            for row_id, uid, version_no, normalized in session.execute(
                select(m.ItemVersion.id, m.Item.uid, m.ItemVersion.version_no, m.ItemVersion.normalized).join(
                    m.Item, m.Item.id == m.ItemVersion.item_id
                )
            )
        }
        if session.get_bind().dialect.name == "sqlite":
            session.execute(
                text(
                    "CREATE VIRTUAL TABLE IF NOT EXISTS temp.fts_terms USING fts5vocab(main, version_fts, instance)"
                )
            )
            postings = sorted(
                (term, *versions[doc][:2], offset)
                for term, doc, offset in session.execute(text("SELECT term, doc, offset FROM temp.fts_terms"))
            )
        else:
            postings = sorted(
                (*versions[row_id][:2], tsv)
                for row_id, tsv in session.execute(text("SELECT id, search_tsv::text FROM item_versions"))
            )
        dialect = session.get_bind().dialect.name
    return {"authors": authors, "normalized": sorted(versions.values()), "postings": {dialect: postings}}


def assert_same_derived(found: dict[str, Any], expected: dict[str, Any]) -> None:
    """Equal author keys and JSON; equal full text where both indexes are on the same backend."""
    assert found["authors"] == expected["authors"]
    assert found["normalized"] == expected["normalized"]
    shared = found["postings"].keys() & expected["postings"].keys()
    for dialect in shared:
        assert found["postings"][dialect] == expected["postings"][dialect], f"{dialect} full text differs"


def reference_index(store: ObjectStore, database_url: str, tmp_path: Path) -> dict[str, Any]:
    """The index the original ORM ingest builds from the same stored files, in capture order."""
    archive = make_archive(store, database_url, tmp_path / "ref-spool", FakeClock())
    try:
        for info in capture_order(archive):
            with (
                archive.store.downloaded(info.key) as (path, stored),
                transaction(archive.sessions) as session,
            ):
                reference_ingest.ingest_file(
                    session, key=info.key, path=path, sha256=stored.sha256 or "", size=stored.size,
                    read_range=archive.store.get_range, indexed_at=archive.clock(),
                )  # fmt: skip
        return {"snapshot": snapshot(archive), "counts": counts(archive), "derived": derived(archive)}
    finally:
        archive.close()


def copy_store(source: Path, target: Path) -> LocalObjectStore:
    store = LocalObjectStore(target)
    origin = LocalObjectStore(source)
    for info in origin.list("warcs/"):
        path = origin.local_path(info.key)
        assert path is not None
        store.put_file(info.key, path, sha256=info.sha256 or "")
    return store


@pytest.mark.slow
def test_three_nights_with_edits_hides_deletions_and_revisits(
    tmp_path: Path, database_url: str, clock: FakeClock
) -> None:
    archive = make_archive(LocalObjectStore(tmp_path / "store"), database_url, tmp_path / "spool", clock)
    with facebook_world(posts=10, comments_per_post=5) as world:
        for night in range(3):
            if night:
                world.scenario.advance()
            clock.set(world.scenario.now())
            result = capture_account(archive, world.account, window_end=world.scenario.now())
            assert result.outcome == "complete", result.error
    captured = snapshot(archive)
    assert {e[1] for e in captured["events"]} >= {"created", "edited", "hidden", "deleted-observed"}
    captured_derived = derived(archive)
    assert all(captured_derived["postings"].values()) and any(captured_derived["authors"].values())
    for workers in (1, 2):
        reindex(archive, workers=workers)
        assert snapshot(archive) == captured, f"reindex with {workers} worker(s) differs from capture"
        assert_same_derived(derived(archive), captured_derived)
    archive.close()
    reference_db = f"sqlite:///{tmp_path / 'reference.sqlite'}"
    reference = reference_index(
        copy_store(tmp_path / "store", tmp_path / "ref-store"), reference_db, tmp_path
    )
    assert reference["snapshot"] == captured
    assert_same_derived(reference["derived"], captured_derived)


def test_generated_corpus_fast_parallel_equals_reference(tmp_path: Path, database_url: str) -> None:
    base = tmp_path / "base"
    store = LocalObjectStore(base)
    for path, key in write_ours(Spec(accounts=2, posts=12, comments=8, seed=3), tmp_path / "corpus"):
        store.put_file(key, path, sha256=sha256_file(path))
    reference = reference_index(
        copy_store(base, tmp_path / "ref"), f"sqlite:///{tmp_path / 'r.sqlite'}", tmp_path
    )
    archive: Archive = make_archive(
        copy_store(base, tmp_path / "fast"), database_url, tmp_path / "sp", FakeClock()
    )
    try:
        stats = reindex(archive, workers=2)
        assert stats.records == reference["counts"]["warc_records"]
        assert counts(archive) == reference["counts"]
        assert snapshot(archive) == reference["snapshot"]
        assert_same_derived(derived(archive), reference["derived"])
    finally:
        archive.close()
