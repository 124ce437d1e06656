"""Productions of a real captured archive (SQLite and PostgreSQL): what is in them, that the
independent tools accept them, that they are audited and signed, and that verification finds
every change.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from warcio.archiveiterator import ArchiveIterator

from hp_archive.archive import Archive
from hp_archive.audit import verify_chain
from hp_archive.capture import capture_account
from hp_archive.ediscovery.export import ProductionResult, export_matter, verify_export
from hp_archive.ediscovery.export.loadfiles import parse_dat, posix_path
from hp_archive.ediscovery.holds import place_hold
from hp_archive.errors import ConfigError, NotFoundError
from hp_archive.index import models as m
from hp_archive.sources.simulators.scenario import SimComment
from hp_archive.storage import LocalObjectStore, S3ObjectStore
from hp_archive.warc.reader import read_record_at
from tests.support.clock import FakeClock
from tests.support.pipeline import FacebookWorld, facebook_world, make_archive
from tests.support.tools import BIN, warcio_check

AS_OF = datetime(2026, 11, 26, 15, 30, tzinfo=UTC)
EVERYTHING = "kind:post OR kind:comment OR kind:reply"


@pytest.fixture
def world() -> Iterator[FacebookWorld]:
    with facebook_world(posts=6, comments_per_post=3) as w:
        yield w


def captured(archive: Archive, world: FacebookWorld, clock: FakeClock) -> Archive:
    """Two nights with edits, hides and deletions between them, then a hold on everything."""
    for night in range(2):
        if night:
            world.scenario.advance()
        clock.set(world.scenario.now())
        result = capture_account(archive, world.account, window_end=world.scenario.now())
        assert result.outcome == "complete", result.error
    place_hold(
        archive,
        "2026-CV-0142",
        reason="lawsuit over a road closure",
        query=EVERYTHING,
        title="Doe v. Village",
    )
    return archive


@pytest.fixture
def archive(tmp_path: Path, database_url: str, clock: FakeClock, world: FacebookWorld) -> Iterator[Archive]:
    arch = make_archive(LocalObjectStore(tmp_path / "store"), database_url, tmp_path / "spool", clock)
    yield captured(arch, world, clock)
    arch.close()


def export(archive: Archive, out: Path, **kwargs: Any) -> ProductionResult:
    return export_matter(archive, "2026-CV-0142", out, actor="counsel@village.test", as_of=AS_OF, **kwargs)


def dat_rows(folder: Path) -> list[dict[str, str]]:
    (dat,) = (folder / "DATA").glob("*.dat")
    return parse_dat(dat.read_bytes())


def test_production_holds_every_document_with_natives_text_images_and_load_files(
    archive: Archive, tmp_path: Path
) -> None:
    result = export(archive, tmp_path / "out")
    folder = result.folder
    assert folder == tmp_path / "out" / "PROD0001" and folder.is_dir()
    assert not list((tmp_path / "out").glob(".PROD*"))  # nothing half-built left behind
    rows = dat_rows(folder)
    assert len(rows) == result.documents > 10
    with archive.sessions() as session:
        held = set(session.scalars(select(m.HoldItem.item_uid)))
        documents = {i.uid for i in session.scalars(select(m.Item).where(m.Item.kind != "media"))}
    assert {r["ITEMID"] for r in rows} == held & documents  # one row per held post/comment/reply
    assert [r["BEGBATES"] for r in rows][:2] == ["HPPD0000001", "HPPD0000002"]
    assert rows[0]["KIND"] == "post" and rows[0]["BEGATTACH"] == "HPPD0000001"
    for row in rows:
        for name in ("NATIVEPATH", "TEXTPATH", "PDFPATH"):
            assert (folder / posix_path(row[name])).is_file(), (name, row[name])
        for name in ("VERSIONPATHS", "MEDIAPATHS", "RESPONSEPATHS"):
            for part in filter(None, row[name].split("; ")):
                assert (folder / posix_path(part)).is_file()
        assert row["STATUS"] in ("live", "edited", "hidden", "deleted")
        text = (folder / posix_path(row["TEXTPATH"])).read_text(encoding="utf-8")
        assert text.startswith(f"Bates: {row['BEGBATES']}")
    statuses = {r["STATUS"] for r in rows}
    assert {"edited", "deleted", "hidden"} <= statuses
    edited = next(r for r in rows if r["STATUS"] == "edited")
    assert (
        edited["VERSIONPATHS"]
        and "--- version 1 of 2" in (folder / posix_path(edited["TEXTPATH"])).read_text()
    )
    opt = (folder / "DATA" / "PROD0001.opt").read_text().splitlines()
    assert len(opt) == result.pages
    for line in opt:
        key, volume, path, *_ = line.split(",")
        assert volume == "PROD0001" and (folder / posix_path(path)).is_file()
        assert posix_path(path).rsplit("/", 1)[-1].startswith(key)
    from xml.etree import ElementTree as ET

    xml = ET.parse(folder / "DATA" / "PROD0001.xml").getroot()
    assert [d.get("DocID") for d in xml.iter("Document")] == [r["BEGBATES"] for r in rows]


def test_natives_are_the_item_objects_exactly_as_the_platform_sent_them(
    archive: Archive, tmp_path: Path
) -> None:
    result = export(archive, tmp_path / "out", formats=["native", "dat"])
    rows = dat_rows(result.folder)
    with archive.sessions() as session:
        for row in rows:
            item = session.scalar(select(m.Item).where(m.Item.uid == row["ITEMID"]))
            assert item is not None
            record, key = session.execute(
                select(m.WarcRecord, m.WarcFile.key)
                .join(m.WarcFile, m.WarcFile.id == m.WarcRecord.file_id)
                .join(m.ItemVersion, m.ItemVersion.record_id == m.WarcRecord.id)
                .where(m.ItemVersion.id == item.current_version_id)
            ).one()
            if record.rec_type == "revisit":
                continue  # the body lives in the original record (checked through the WACZ test)
            stored = read_record_at(archive.store.get_range(key, record.offset, record.length))
            body = stored.http().body()
            native = (result.folder / posix_path(row["NATIVEPATH"])).read_bytes()
            assert row["NATIVETYPE"] == "object"
            assert native in body  # a byte-exact slice of what was archived
            assert str(json.loads(native)["id"]) == item.native_id
    assert not (result.folder / "IMAGES").exists() and not (result.folder / "WACZ").exists()


def test_the_wacz_passes_wacz_validate_and_its_warcs_pass_warcio_check(
    archive: Archive, tmp_path: Path
) -> None:
    result = export(archive, tmp_path / "out", formats=["wacz", "dat"])
    wacz = result.folder / "WACZ" / "PROD0001.wacz"
    check = subprocess.run([str(BIN / "wacz"), "validate", "-f", str(wacz)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "Validation succeeded" in check.stdout
    unpacked = tmp_path / "unpacked"
    with zipfile.ZipFile(wacz) as z:
        z.extractall(unpacked)
        assert (
            z.getinfo(next(n for n in z.namelist() if n.startswith("archive/"))).compress_type
            == zipfile.ZIP_STORED
        )
    warcs = sorted(str(p) for p in (unpacked / "archive").iterdir())
    checked = warcio_check(warcs)
    assert checked.returncode == 0, checked.stdout
    types = []
    for path in warcs:
        with open(path, "rb") as stream:
            types += [record.rec_type for record in ArchiveIterator(stream)]
    assert "revisit" not in types and types.count("warcinfo") == len(warcs) and "response" in types
    pages = (unpacked / "pages" / "pages.jsonl").read_text().splitlines()
    assert json.loads(pages[0])["format"] == "json-pages-1.0"
    posts = [r for r in dat_rows(result.folder) if r["KIND"] == "post"]
    assert len(pages) - 1 == len(posts)
    index = (unpacked / "indexes" / "index.cdxj").read_text()
    for line in pages[1:]:
        assert json.loads(line)["url"] in index
    # every record is a stored record, byte for byte (the gzip member as archived)
    stored = b"".join(archive.store.get_bytes(info.key) for info in archive.store.list("warcs/"))
    for path in warcs:
        data = Path(path).read_bytes()
        with open(path, "rb") as stream:
            records = ArchiveIterator(stream)
            for record in records:
                records.read_to_end(record)
                start, length = records.get_record_offset(), records.get_record_length()
                assert data[start : start + length] in stored


def test_export_is_audited_and_the_custody_record_names_the_entry(archive: Archive, tmp_path: Path) -> None:
    result = export(archive, tmp_path / "out", formats=["dat", "native"])
    custody = json.loads((result.folder / "CHAIN_OF_CUSTODY.json").read_bytes())
    with archive.sessions() as session:
        entry = session.scalar(select(m.AuditEntry).where(m.AuditEntry.seq == result.audit_seq))
        production = session.scalar(select(m.Production))
        assert verify_chain(session) == []
    assert entry is not None and entry.action == "export" and entry.actor == "counsel@village.test"
    assert custody["audit_entry"]["seq"] == entry.seq and custody["audit_entry"]["hash"] == entry.hash
    assert entry.params["manifest_sha256"] == custody["manifest"]["sha256"] == result.manifest_sha256
    assert custody["matter"] == {"id": "2026-CV-0142", "title": "Doe v. Village"}
    assert custody["exported_by"] == "counsel@village.test"
    assert custody["exported_at"] == AS_OF.isoformat()
    assert custody["software"]["name"] == "hp-archive"
    assert custody["counts"]["documents"] == result.documents
    assert production is not None and (production.name, production.audit_seq) == ("PROD0001", entry.seq)
    assert archive.store.head(f"audit/log/{entry.seq:012d}.json") is not None  # mirrored, signed
    report = verify_export(result.folder, public_key_pem=archive.signing_key.public_pem)
    assert report.ok, report.problems
    assert report.trusted_key and report.key_id == archive.signing_key.key_id


def test_bates_numbers_continue_across_productions_and_a_query_narrows(
    archive: Archive, tmp_path: Path
) -> None:
    first = export(archive, tmp_path / "out", formats=["dat"])
    second = export(archive, tmp_path / "out", formats=["dat"], query="kind:post")
    assert second.name == "PROD0002"
    last = int(first.bates_last.removeprefix("HPPD"))
    assert second.bates_first == f"HPPD{last + 1:07d}"
    rows = dat_rows(second.folder)
    assert {r["KIND"] for r in rows} == {"post"} and len(rows) < first.documents
    with pytest.raises(ConfigError, match="overlaps PROD0001"):
        export(archive, tmp_path / "out", formats=["dat"], bates_start=3)
    third = export(archive, tmp_path / "other", formats=["dat"], bates_prefix="VHP", width=5, bates_start=100)
    assert (third.bates_first, third.name) == ("VHP00100", "PROD0003")
    assert verify_export(third.folder).ok


def test_unknown_matters_and_empty_selections_fail_with_one_actionable_line(
    archive: Archive, tmp_path: Path
) -> None:
    with pytest.raises(NotFoundError, match="hold create") as error:
        export_matter(archive, "no-such-matter", tmp_path, actor="x", as_of=AS_OF)
    assert "\n" not in str(error.value)
    with pytest.raises(Exception, match="no items to produce"):
        export(archive, tmp_path / "out", query="zzzunmatchedwordzzz")
    with pytest.raises(ConfigError, match="not known"):
        export(archive, tmp_path / "out", formats=["tiff"])
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def copy_of(folder: Path, tmp_path: Path, name: str) -> Path:
    target = tmp_path / name / folder.name
    shutil.copytree(folder, target)
    return target


def flip(path: Path, at: int) -> None:
    data = bytearray(path.read_bytes())
    data[at % len(data)] ^= 0x01
    path.write_bytes(bytes(data))


def test_verification_passes_then_fails_on_one_changed_byte_anywhere(
    tmp_path: Path, clock: FakeClock, world: FacebookWorld
) -> None:
    arch = make_archive(
        LocalObjectStore(tmp_path / "store"), f"sqlite:///{tmp_path / 'i.sqlite'}", tmp_path / "spool", clock
    )
    try:
        result = export(captured(arch, world, clock), tmp_path / "out", make_zip=True)
    finally:
        arch.close()
    assert verify_export(result.folder).ok
    assert result.zip_path is not None and verify_export(result.zip_path).ok
    rows = dat_rows(result.folder)
    targets = [
        posix_path(rows[1]["NATIVEPATH"]),
        posix_path(rows[0]["TEXTPATH"]),
        posix_path(rows[2]["PDFPATH"]),
        next(p.relative_to(result.folder).as_posix() for p in (result.folder / "IMAGES").rglob("*.tif")),
        "DATA/PROD0001.dat",
        "DATA/PROD0001.opt",
        "DATA/PROD0001.xml",
        "WACZ/PROD0001.wacz",
        "MANIFEST.tsv",
        "CHAIN_OF_CUSTODY.json",
    ]
    for index, relative in enumerate(targets):
        copy = copy_of(result.folder, tmp_path, f"flip{index}")
        flip(copy / relative, at=index * 7919 + 100)
        report = verify_export(copy)
        assert not report.ok, relative
        assert any(relative in problem for problem in report.problems), (relative, report.problems)
    copy = copy_of(result.folder, tmp_path, "extra")
    (copy / "NATIVES" / "0001" / "smuggled.json").write_text("{}")
    assert any("smuggled.json: present but not in the manifest" in p for p in verify_export(copy).problems)
    copy = copy_of(result.folder, tmp_path, "missing")
    (copy / posix_path(rows[0]["TEXTPATH"])).unlink()
    assert any("missing" in p for p in verify_export(copy).problems)
    damaged = tmp_path / "damaged.zip"
    shutil.copy(result.zip_path, damaged)
    with zipfile.ZipFile(damaged) as z:
        name = next(n for n in z.namelist() if n.endswith(".txt"))
        info = z.getinfo(name)
    flip(damaged, info.header_offset + len(info.FileHeader()) + 3)
    assert not verify_export(damaged).ok


def test_a_production_from_an_s3_store_over_http(
    tmp_path: Path, clock: FakeClock, world: FacebookWorld, moto_endpoint: str, make_bucket: Any
) -> None:
    store = S3ObjectStore(
        make_bucket(object_lock=True), "hp", endpoint_url=moto_endpoint, lock_mode="GOVERNANCE"
    )
    arch = make_archive(store, f"sqlite:///{tmp_path / 'i.sqlite'}", tmp_path / "spool", clock)
    try:
        result = export(captured(arch, world, clock), tmp_path / "out")
        report = verify_export(result.folder, public_key_pem=arch.signing_key.public_pem)
    finally:
        arch.close()
    assert report.ok, report.problems
    custody = json.loads((result.folder / "CHAIN_OF_CUSTODY.json").read_bytes())
    assert custody["store"].startswith("s3://") and custody["sources"]


def test_rasterizing_in_worker_processes_gives_the_same_production(
    tmp_path: Path, clock: FakeClock, world: FacebookWorld
) -> None:
    arch = make_archive(
        LocalObjectStore(tmp_path / "store"), f"sqlite:///{tmp_path / 'i.sqlite'}", tmp_path / "spool", clock
    )
    try:
        captured(arch, world, clock)
        inline = export(arch, tmp_path / "a", formats=["pdf", "dat"], workers=0)
        forked = export(arch, tmp_path / "b", formats=["pdf", "dat"], workers=2, bates_prefix="HPPE")
    finally:
        arch.close()
    assert verify_export(forked.folder).ok
    assert (forked.documents, forked.pages) == (inline.documents, inline.pages)

    def images(folder: Path) -> list[tuple[str, int]]:
        return sorted((p.suffix, len(p.name)) for p in (folder / "IMAGES").rglob("*") if p.suffix != ".pdf")

    assert images(forked.folder) == images(inline.folder)
    opt = (forked.folder / "DATA" / "PROD0002.opt").read_text().splitlines()
    assert [line.split(",")[0] for line in opt] == [f"HPPE{n:07d}" for n in range(1, forked.pages + 1)]


HOSTILE = 'Call me <script>alert("x")</script> & =cmd שלום עולם 💙\nsecond line'


def test_hostile_public_text_is_shown_as_typed_and_never_runs(
    tmp_path: Path, clock: FakeClock, world: FacebookWorld
) -> None:
    import pypdfium2

    post = world.scenario.account.posts[-1]
    post.comments.append(
        SimComment(id="666", author_id="66", author_name="=HYPERLINK(\"http://evil\")", text=HOSTILE,
                   created=post.created)
    )  # fmt: skip
    arch = make_archive(
        LocalObjectStore(tmp_path / "store"), f"sqlite:///{tmp_path / 'i.sqlite'}", tmp_path / "spool", clock
    )
    try:
        result = export(
            captured(arch, world, clock), tmp_path / "out", formats=["pdf", "dat", "native", "edrm"]
        )
    finally:
        arch.close()
    row = next(r for r in dat_rows(result.folder) if r["ITEMID"].endswith("_666"))
    assert row["AUTHOR"] == '\'=HYPERLINK("http://evil")'  # a spreadsheet shows it, does not run it
    assert "_666" not in row["NATIVEPATH"] and row["NATIVEPATH"].startswith("NATIVES\\")  # names are Bates
    native = json.loads((result.folder / posix_path(row["NATIVEPATH"])).read_bytes())
    assert native["message"] == HOSTILE  # the native keeps the exact text
    assert HOSTILE in (result.folder / posix_path(row["TEXTPATH"])).read_text(encoding="utf-8")
    document = pypdfium2.PdfDocument(result.folder / posix_path(row["PDFPATH"]))
    try:
        text = " ".join(document[0].get_textpage().get_text_range().split())
    finally:
        document.close()
    assert 'Call me <script>alert("x")</script> & =cmd' in text and "U+1F499 BLUE HEART" in text
    assert verify_export(result.folder).ok
