"""``hp-archive import``: foreign WARCs stored unmodified, verified, indexed, searchable, rebuilt."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from hp_archive.archive import Archive
from hp_archive.cli import main
from hp_archive.errors import WarcError
from hp_archive.importer import import_warcs
from hp_archive.index import models as m
from hp_archive.index.reindex import reindex
from hp_archive.index.search import search
from hp_archive.storage import LocalObjectStore
from hp_archive.warc.members import iter_file, read_stored_record
from tests.support import foreign_warcs as fw
from tests.support.clock import FakeClock
from tests.support.pipeline import make_archive, snapshot


@pytest.fixture
def archive(tmp_path: Path, database_url: str, clock: FakeClock) -> Any:
    arch = make_archive(LocalObjectStore(tmp_path / "store"), database_url, tmp_path / "spool", clock)
    yield arch
    arch.close()


def tools(tmp_path: Path) -> dict[str, Path]:
    folder = tmp_path / "in"
    folder.mkdir(exist_ok=True)
    wget = fw.wget_style(folder / "wget-crawl.warc")
    return {
        "warcprox": fw.warcprox_style(folder / "WARCPROX-20250602100000-00001-host.warc.gz"),
        "wget": wget,
        "browsertrix": fw.browsertrix_style(folder / "rec-20250604120000-crawler.warc.gz"),
        "gzip-file": fw.whole_file_gzip(wget, folder / "old-crawl.warc.gz"),
    }


def found(archive: Archive, query: str) -> set[str]:
    with archive.sessions() as session:
        return {r["id"] for r in search(session, query).results}


def test_files_of_every_tool_are_stored_unmodified_verified_and_searchable(
    archive: Archive, tmp_path: Path
) -> None:
    files = tools(tmp_path)
    results = import_warcs(
        archive, [files["warcprox"], files["wget"], files["browsertrix"]], account="city-web"
    )
    assert [r.status for r in results] == ["imported"] * 3
    assert [r.layout for r in results] == ["gzip-members", "plain", "gzip-members"]
    for result, path in zip(results, [files["warcprox"], files["wget"], files["browsertrix"]], strict=True):
        first_date = next(iter_file(path.open("rb"))).date
        assert result.key == f"warcs/city-web/imported/{first_date:%Y/%m/%d}/{path.name}"
        assert archive.store.get_bytes(result.key) == path.read_bytes()  # evidence kept byte for byte
    with archive.sessions() as session:
        stored = session.scalar(select(func.count()).select_from(m.WarcRecord))
        items = {i.uid: i for i in session.scalars(select(m.Item))}
    assert stored == sum(sum(1 for _ in iter_file(p.open("rb"))) for p in
                         (files["warcprox"], files["wget"], files["browsertrix"]))  # fmt: skip
    # Graph API responses are recognized and parsed as Facebook comments, thread and author kept
    comment = items["facebook:5550001_1"]
    assert (
        comment.kind == "comment" and comment.author_name == "Ana Peña" and comment.account_id == "city-web"
    )
    assert "facebook:5550001_1" in found(archive, "quick response")
    # every other HTML page is a page item with its visible text (not its scripts)
    assert found(archive, "detour ontarioville") == {f"imported:{fw.HTML_URL}"}
    assert found(archive, "coffee station lobby") == {
        "imported:https://www.hpil.example.gov/events/coffee-with-a-cop"
    }
    assert not found_any(archive, "zzzhidden")
    # the dedup revisit (no WARC-Refers-To) resolved by payload digest: a second observation
    with archive.sessions() as session:
        revisit = session.scalars(select(m.WarcRecord).where(m.WarcRecord.rec_type == "revisit")).one()
    assert revisit.parse_error is None and revisit.http_status == 200
    assert items[f"imported:{fw.HTML_URL}"].version_count == 1
    assert "metadata://gnu.org/software/wget/warc/MANIFEST.txt" not in {i.url for i in items.values()}


def found_any(archive: Archive, query: str) -> bool:
    with archive.sessions() as session:
        return search(session, query).total > 0


def test_import_is_idempotent_and_refuses_another_file_under_the_same_name(
    archive: Archive, tmp_path: Path
) -> None:
    files = tools(tmp_path)
    [first] = import_warcs(archive, [files["browsertrix"]])
    with archive.sessions() as session:
        before = session.scalar(select(func.count()).select_from(m.WarcRecord))
    [again] = import_warcs(archive, [files["browsertrix"]])
    assert again.status == "already-imported" and again.key == first.key
    with archive.sessions() as session:
        assert session.scalar(select(func.count()).select_from(m.WarcRecord)) == before
        assert (
            session.scalar(
                select(func.count()).select_from(m.AuditEntry).where(m.AuditEntry.action == "warc.import")
            )
            == 1
        )
    other = tmp_path / "other" / files["browsertrix"].name
    other.parent.mkdir()
    other.write_bytes(files["warcprox"].read_bytes())  # the Browsertrix file's name, other bytes
    with pytest.raises(WarcError, match=r"different file named rec-20250604120000-crawler\.warc\.gz"):
        import_warcs(archive, [other])


def test_a_damaged_file_is_refused_with_the_offset_and_nothing_is_kept(
    archive: Archive, tmp_path: Path
) -> None:
    files = tools(tmp_path)
    plain = files["wget"].read_bytes()
    cut = plain.index(b"About the department")
    bad = tmp_path / "damaged.warc"
    bad.write_bytes(plain[:cut] + b"Xbout" + plain[cut + 5 :])  # one changed byte in the second record
    second_record = plain.index(b"WARC/1.0", 10)
    with pytest.raises(WarcError, match=rf"offset {second_record}\b.*block digest"):
        import_warcs(archive, [bad])
    truncated = tmp_path / "cut.warc.gz"
    truncated.write_bytes(files["browsertrix"].read_bytes()[:-40])
    with pytest.raises(WarcError, match=r"offset \d+.*cut short"):
        import_warcs(archive, [truncated])
    assert list(archive.store.list("warcs/")) == []
    with archive.sessions() as session:
        assert session.scalar(select(func.count()).select_from(m.WarcFile)) == 0


def test_whole_file_gzip_is_indexed_and_its_records_read_back(archive: Archive, tmp_path: Path) -> None:
    files = tools(tmp_path)
    [result] = import_warcs(archive, [files["gzip-file"]])
    with pytest.raises(WarcError, match=r"already archived in warcs/imported/imported/.*old-crawl\.warc\.gz"):
        import_warcs(archive, [files["wget"]])  # the same records, uncompressed: another copy
    assert result.layout == "gzip-file" and result.records == 4
    assert found(archive, "about department") == {"imported:https://www.hpil.example.gov/about"}
    with archive.sessions() as session:
        warc = session.scalar(select(m.WarcFile))
        rows = list(session.scalars(select(m.WarcRecord).order_by(m.WarcRecord.offset)))
    assert warc is not None and warc.layout == "gzip-file"
    for row in rows:
        record = read_stored_record(
            warc.layout, row.offset, row.length,
            read_range=lambda o, n: archive.store.get_range(warc.key, o, n),
            open_stream=lambda: archive.store.open(warc.key),
        )  # fmt: skip
        assert record.record_id == row.record_id


def test_reindex_rebuilds_imported_files_like_the_import_did(archive: Archive, tmp_path: Path) -> None:
    files = tools(tmp_path)
    import_warcs(archive, [files["warcprox"], files["browsertrix"], files["gzip-file"]])
    before = snapshot(archive)
    assert before["items"]
    stats = reindex(archive)
    assert stats.files == 3
    assert snapshot(archive) == before


def test_import_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    files = tools(tmp_path)
    monkeypatch.setenv("HP_ARCHIVE_HOME", str(tmp_path / "home"))
    assert main(["import", str(files["browsertrix"]), "--account", "city-web", "--json"]) == 0
    assert '"status": "imported"' in capsys.readouterr().out
    assert main(["import", str(files["browsertrix"]), "--account", "city-web"]) == 0
    assert "already-imported" in capsys.readouterr().out
    assert main(["import", str(files["wget"]), "--account", "Bad Name"]) == 1
    assert "--account 'Bad Name' is not a valid name" in capsys.readouterr().err


def test_digests_of_stored_records_match_what_the_file_said(archive: Archive, tmp_path: Path) -> None:
    files = tools(tmp_path)
    [result] = import_warcs(archive, [files["warcprox"]])
    with archive.sessions() as session:
        digests = {r.record_id: r.block_digest for r in session.scalars(select(m.WarcRecord))}
    originals = {
        r.record_id: r.get("WARC-Block-Digest") for r in iter_file(io.BytesIO(files["warcprox"].read_bytes()))
    }
    assert digests == originals and result.records == len(originals)
