"""Concordance DAT, Opticon OPT and EDRM XML written from document records (pure)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest

from hp_archive.ediscovery.export.loadfiles import (
    DAT_HEADER,
    DocumentRecord,
    dat_cell,
    dat_file,
    edrm_xml,
    opt_file,
    parse_dat,
)
from hp_archive.ediscovery.export.manifest import FileDigests

T0 = datetime(2026, 11, 1, 8, 0, 12, tzinfo=UTC)
D = FileDigests(10, "m" * 32, "s" * 40, "h" * 64)


def record(begin: str, end: str, *, author: str = "Jane", pages: tuple[str, ...] = ()) -> DocumentRecord:
    return DocumentRecord(
        begbates=begin,
        endbates=end,
        begattach="HPPD0000001",
        endattach="HPPD0000003",
        parentbates="" if begin == "HPPD0000001" else "HPPD0000001",
        custodian="hppd-facebook",
        platform="facebook",
        kind="post" if begin == "HPPD0000001" else "comment",
        author=author,
        author_id="9",
        item_id="facebook:1_2",
        date_created=T0,
        date_captured=T0,
        date_last_seen=T0,
        date_deleted=None,
        status="deleted",
        url="https://example.test/p?a=1&b=<2>",
        versions=2,
        pages=len(pages) or 1,
        selected=True,
        native_path="NATIVES/0001/HPPD0000001.json",
        native_type="object",
        native=D,
        mime_type="application/json",
        text_path="TEXT/0001/HPPD0000001.txt",
        text=D,
        image_paths=tuple(f"IMAGES/0001/{p}.tif" for p in pages),
        images=tuple(D for _ in pages),
    )


@pytest.mark.parametrize("value", ['=HYPERLINK("http://x")', "+1", "-2+3", "@SUM(A1)", "\tx"])
def test_cells_that_a_spreadsheet_would_run_are_defused(value: str) -> None:
    cell = dat_cell(value)
    assert cell[1] == "'"


def test_cells_keep_delimiters_out_and_write_newlines_as_the_registered_sign() -> None:
    assert dat_cell("a\r\nb\nc") == "\u00fea\u00aeb\u00aec\u00fe"
    assert dat_cell("\r=1") == "\u00fe\u00ae=1\u00fe"  # a leading line break cannot start a formula
    assert dat_cell("x\x14y\u00fez") == "\u00fex y[U+00FE]z\u00fe"


def test_the_dat_is_plain_utf8_crlf_header_and_parses_back() -> None:
    docs = [
        record("HPPD0000001", "HPPD0000001", author="=cmd|' /C calc'!A0"),
        record("HPPD0000002", "HPPD0000003", author="محمد \U0001f499\nsecond line"),
    ]
    data = dat_file(docs)
    assert data.startswith(b"\xc3\xbeBEGBATES\xc3\xbe\x14")  # no byte-order mark
    assert data.count(b"\r\n") == 3 and data.endswith(b"\r\n")
    rows = parse_dat(data)
    assert list(rows[0]) == list(DAT_HEADER)
    assert [r["BEGBATES"] for r in rows] == ["HPPD0000001", "HPPD0000002"]
    assert rows[0]["AUTHOR"].startswith("'=")
    assert rows[1]["AUTHOR"] == "محمد \U0001f499\nsecond line"
    assert rows[0]["NATIVEPATH"] == "NATIVES\\0001\\HPPD0000001.json"
    assert rows[0]["DATECREATED"] == "2026-11-01T08:00:12Z"
    for name in (
        "BEGATTACH",
        "ENDATTACH",
        "CUSTODIAN",
        "STATUS",
        "URL",
        "TEXTPATH",
        "MD5HASH",
        "SHA1HASH",
        "SHA256HASH",
    ):
        assert name in rows[0]


def test_the_opt_has_one_line_per_page_with_breaks_and_counts_on_first_pages() -> None:
    docs = [
        record("HPPD0000001", "HPPD0000001", pages=("HPPD0000001",)),
        record("HPPD0000002", "HPPD0000003", pages=("HPPD0000002", "HPPD0000003")),
    ]
    lines = opt_file(docs, "PROD0001").decode().split("\r\n")
    assert lines == [
        "HPPD0000001,PROD0001,IMAGES\\0001\\HPPD0000001.tif,Y,,,1",
        "HPPD0000002,PROD0001,IMAGES\\0001\\HPPD0000002.tif,Y,,,2",
        "HPPD0000003,PROD0001,IMAGES\\0001\\HPPD0000003.tif,,,,",
        "",
    ]


def test_edrm_xml_parses_even_with_hostile_text_and_names_the_same_documents() -> None:
    docs = [
        record("HPPD0000001", "HPPD0000001", author="<script>alert(1)</script> & \x00\x07 \ufffe"),
        record("HPPD0000002", "HPPD0000002"),
    ]
    root = ET.fromstring(edrm_xml(docs, production="PROD0001", matter="M&1"))
    assert (root.tag, root.get("MajorVersion"), root.get("MinorVersion")) == ("Root", "1", "2")
    documents = root.findall("./Batch/Documents/Document")
    assert [d.get("DocID") for d in documents] == ["HPPD0000001", "HPPD0000002"]
    author = documents[0].find("./Tags/Tag[@TagName='#Author']")
    assert author is not None and author.get("TagValue") == "<script>alert(1)</script> &  "
    native = documents[0].find("./Files/File[@FileType='Native']/ExternalFile")
    assert native is not None and (native.get("FilePath"), native.get("FileName")) == (
        "NATIVES\\0001",
        "HPPD0000001.json",
    )
    relation = root.find("./Batch/Relationships/Relationship")
    assert relation is not None
    assert (relation.get("ParentDocId"), relation.get("ChildDocId")) == ("HPPD0000001", "HPPD0000002")
