"""Rewriting a WARC without its destroyed records: survivors byte for byte, revisits made whole."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hp_archive.errors import WarcError
from hp_archive.retention.rewrite import CONVERTED_HEADER, rewrite_file, rewritten_filename
from hp_archive.warc.members import iter_file
from hp_archive.warc.reader import StoredRecord
from hp_archive.warc.records import (
    metadata_record,
    request_record,
    response_record,
    revisit_record,
    warcinfo_record,
)
from hp_archive.warc.writer import WarcWriter
from tests.support.tools import warcio_check

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
T1 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
BODY = b'{"data": [{"id": "1001_1003", "message": "Is the road closed?"}]}'
HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(BODY)
INFO = {"software": "hp-archive/test", "isPartOf": "run-1", "hp-account": "hppd", "hp-series": "social-media"}


def build(path: Path) -> dict[str, tuple[int, int]]:
    """A file: warcinfo, response+request, a revisit of that response (+request), report."""
    where = {}
    with path.open("wb") as out:
        writer = WarcWriter(out)
        for record in (
            warcinfo_record(filename=path.name, info=INFO, record_id="<urn:uuid:info>", date=T0),
            response_record(uri="https://graph/1/comments", block=HEAD + BODY, head_length=len(HEAD),
                            record_id="<urn:uuid:orig>", date=T0, warcinfo_id="<urn:uuid:info>"),
            request_record(uri="https://graph/1/comments", block=b"GET /1/comments HTTP/1.1\r\n\r\n",
                           record_id="<urn:uuid:req1>", date=T0, concurrent_to="<urn:uuid:orig>"),
            revisit_record(uri="https://graph/1/comments?x=2", http_head=HEAD.replace(b"200 OK", b"200 Fine"),
                           payload_digest="sha256:" + hashlib.sha256(BODY).hexdigest(),
                           refers_to="<urn:uuid:orig>", refers_to_uri="https://graph/1/comments",
                           refers_to_date=T0, record_id="<urn:uuid:rev>", date=T1),
            request_record(uri="https://graph/1/comments?x=2", block=b"GET /1/comments?x=2 HTTP/1.1\r\n\r\n",
                           record_id="<urn:uuid:req2>", date=T1, concurrent_to="<urn:uuid:rev>"),
            metadata_record(uri="urn:hp-archive:capture-report:run-1:social-media", body=b"{}",
                            record_id="<urn:uuid:report>", date=T1),
        ):  # fmt: skip
            written = writer.write(record)
            where[written.record_id] = (written.offset, written.length)
    return where


def members(path: Path, where: dict[str, tuple[int, int]]) -> dict[str, bytes]:
    data = path.read_bytes()
    return {rid: data[o : o + n] for rid, (o, n) in where.items()}


def rewrite(source: Path, out: Path, keep: list[str], convert: dict[str, str]):  # type: ignore[no-untyped-def]
    def no_other_file(record_id: str) -> StoredRecord:
        raise AssertionError(f"{record_id} should be read from the same file")

    return rewrite_file(
        source,
        out,
        old_key="warcs/hppd/social-media/2026/11/01/old.warc.gz",
        old_sha256=hashlib.sha256(source.read_bytes()).hexdigest(),
        new_filename="hp-new.warc.gz",
        keep=keep,
        convert=convert,
        original=no_other_file,
        warcinfo_id="<urn:uuid:new-info>",
        date=T1,
        certificate_id="DC-2029-0001",
    )


def test_survivors_are_copied_byte_for_byte_after_a_new_warcinfo(tmp_path: Path) -> None:
    source = tmp_path / "old.warc.gz"
    where = build(source)
    out = tmp_path / "new.warc.gz"
    keep = ["<urn:uuid:info>", "<urn:uuid:req2>", "<urn:uuid:report>"]
    result = rewrite(source, out, keep, {})
    assert [r.record_id for r in result.records] == ["<urn:uuid:new-info>", *keep]
    old, new = members(source, where), out.read_bytes()
    for written in result.records[1:]:
        assert new[written.offset : written.offset + written.length] == old[written.record_id]
    with out.open("rb") as stream:
        first = next(iter_file(stream, check_digests=True))
    fields = first.warc_fields()
    assert fields["hp-account"] == "hppd" and fields["isPartOf"] == "run-1"
    assert fields["hp-rewrite-of"].endswith("old.warc.gz")
    assert fields["hp-rewrite-certificate"] == "DC-2029-0001"
    assert result.sha256 == hashlib.sha256(new).hexdigest() and result.size == len(new)
    check = warcio_check([str(out)])
    assert check.returncode == 0, check.stdout


def test_a_revisit_whose_original_goes_becomes_a_full_response(tmp_path: Path) -> None:
    source = tmp_path / "old.warc.gz"
    build(source)
    out = tmp_path / "new.warc.gz"
    keep = ["<urn:uuid:info>", "<urn:uuid:rev>", "<urn:uuid:req2>", "<urn:uuid:report>"]
    result = rewrite(source, out, keep, {"<urn:uuid:rev>": "<urn:uuid:orig>"})
    converted = next(r for r in result.records if r.record_id == "<urn:uuid:rev>")
    assert converted.converted and converted.rec_type == "response"
    with out.open("rb") as stream:
        records = {r.record_id: r for r in iter_file(stream, check_digests=True)}
    full = records["<urn:uuid:rev>"]
    assert full.rec_type == "response"
    assert full.http().first_line == "HTTP/1.1 200 Fine"  # its own head, as received that night
    assert full.block.endswith(BODY)
    assert full.get("WARC-Payload-Digest") == "sha256:" + hashlib.sha256(BODY).hexdigest()
    assert full.get("WARC-Refers-To") is None
    assert "before its destruction under certificate DC-2029-0001" in (full.get(CONVERTED_HEADER) or "")
    assert warcio_check([str(out)]).returncode == 0
    again = tmp_path / "again.warc.gz"
    rewrite(source, again, keep, {"<urn:uuid:rev>": "<urn:uuid:orig>"})
    assert again.read_bytes() == out.read_bytes()  # a resumed rewrite writes the same object


def test_a_revisit_is_not_made_whole_from_bytes_that_do_not_match(tmp_path: Path) -> None:
    source = tmp_path / "old.warc.gz"
    build(source)
    with source.open("rb") as stream:
        records = {r.record_id: r for r in iter_file(stream)}
    forged = StoredRecord(0, 0, records["<urn:uuid:orig>"].fields, HEAD + b'{"data": []}')

    def other(record_id: str) -> StoredRecord:
        return forged

    with pytest.raises(WarcError, match="holds other bytes"):
        rewrite_file(
            source, tmp_path / "n.warc.gz", old_key="k", old_sha256="0" * 64, new_filename="n.warc.gz",
            keep=["<urn:uuid:info>", "<urn:uuid:rev>"], convert={"<urn:uuid:rev>": "<urn:uuid:elsewhere>"},
            original=other, warcinfo_id="<urn:uuid:n>", date=T1, certificate_id="DC-2029-0001",
        )  # fmt: skip


def test_rewritten_names_keep_the_capture_order() -> None:
    name = "hp-hppd-social-media-20261101080000002-00003-host.warc.gz"
    once = rewritten_filename(name, "DC-2029-0001")
    assert once == "hp-hppd-social-media-20261101080000002-00003-host-DC-2029-0001.warc.gz"
    assert rewritten_filename(once, "DC-2030-0007") == name.replace(".warc.gz", "-DC-2030-0007.warc.gz")
