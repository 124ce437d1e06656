"""WARC writing: byte-exact golden records, round trips, and the independent tools' verdicts."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import zlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hp_archive.warc.http import split_http_message
from hp_archive.warc.reader import iter_records
from hp_archive.warc.records import (
    REVISIT_PROFILE,
    metadata_record,
    request_record,
    response_record,
    revisit_record,
    warcinfo_record,
)
from hp_archive.warc.writer import WarcWriter
from tests.support.tools import cdxj_index, warcio_check

DATE = datetime(2026, 11, 25, 8, 0, 0, 123456, tzinfo=UTC)
RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=UTF-8\r\n"
    b"X-Odd-Spacing:   kept  \r\nContent-Length: 20\r\n\r\n"
    b'{"message":"caf\xc3\xa9"}'
)
REQUEST = b"GET /v25.0/1/posts HTTP/1.1\r\nHost: graph.example\r\nAuthorization: OAuth REDACTED\r\n\r\n"
GOLDEN = Path(__file__).parents[2] / "data" / "warc" / "golden-response.warc"


def ids(*values: str):
    it = iter(values)
    return lambda: next(it)


def write_sample(out: io.BufferedIOBase | io.BytesIO, *, gzip_records: bool = True) -> list:
    writer = WarcWriter(out, gzip=gzip_records)
    info = warcinfo_record(
        filename="sample.warc.gz",
        info={"software": "hp-archive/test"},
        record_id="<urn:uuid:00000000-0000-4000-8000-000000000001>",
        date=DATE,
    )
    head = split_http_message(RESPONSE).head_length
    response = response_record(
        uri="https://graph.example/v25.0/1/posts",
        block=RESPONSE,
        head_length=head,
        record_id="<urn:uuid:00000000-0000-4000-8000-000000000002>",
        date=DATE,
        warcinfo_id=info.record_id,
        ip="127.0.0.1",
    )
    written = [writer.write(info), writer.write(response)]
    written.append(
        writer.write(
            request_record(
                uri="https://graph.example/v25.0/1/posts",
                block=REQUEST,
                record_id="<urn:uuid:00000000-0000-4000-8000-000000000003>",
                date=DATE,
                concurrent_to=response.record_id,
                warcinfo_id=info.record_id,
                redaction_note="header Authorization",
            )
        )
    )
    written.append(
        writer.write(
            revisit_record(
                uri="https://graph.example/v25.0/1/posts",
                http_head=RESPONSE[:head],
                payload_digest=written[1].payload_digest,
                refers_to=response.record_id,
                refers_to_uri=response.target_uri,
                refers_to_date=DATE,
                record_id="<urn:uuid:00000000-0000-4000-8000-000000000004>",
                date=DATE,
                warcinfo_id=info.record_id,
            )
        )
    )
    written.append(
        writer.write(
            metadata_record(
                uri="urn:hp-archive:capture-report:run:social-media",
                body=json.dumps({"outcome": "complete"}).encode(),
                record_id="<urn:uuid:00000000-0000-4000-8000-000000000005>",
                date=DATE,
                warcinfo_id=info.record_id,
            )
        )
    )
    return written


def test_response_record_is_byte_exact_against_golden() -> None:
    out = io.BytesIO()
    write_sample(out, gzip_records=False)
    records = out.getvalue().split(b"\r\n\r\nWARC/1.1\r\n")
    response = b"WARC/1.1\r\n" + records[1] + b"\r\n\r\n"
    assert response == GOLDEN.read_bytes()


def test_http_head_is_kept_exactly_as_received() -> None:
    out = io.BytesIO()
    write_sample(out)
    out.seek(0)
    response = next(r for r in iter_records(out) if r.rec_type == "response")
    assert response.block == RESPONSE  # odd header spacing and order survive
    assert response.get("WARC-Block-Digest") == "sha256:" + hashlib.sha256(RESPONSE).hexdigest()
    body = RESPONSE[split_http_message(RESPONSE).head_length :]
    assert response.get("WARC-Payload-Digest") == "sha256:" + hashlib.sha256(body).hexdigest()


def test_round_trip_read_then_rewrite_is_identical() -> None:
    first = io.BytesIO()
    written = write_sample(first)
    first.seek(0)
    records = list(iter_records(first, check_digests=True))
    assert [r.rec_type for r in records] == [
        "warcinfo",
        "response",
        "request",
        "revisit",
        "metadata",
    ]
    assert [r.offset for r in records] == [w.offset for w in written]
    assert [r.length for r in records] == [w.length for w in written]
    second = io.BytesIO()
    write_sample(second)
    assert first.getvalue() == second.getvalue()


def test_each_record_is_its_own_gzip_member() -> None:
    out = io.BytesIO()
    written = write_sample(out)
    data = out.getvalue()
    for record in written:
        member = data[record.offset : record.offset + record.length]
        raw = gzip.decompress(member)
        assert raw.startswith(b"WARC/1.1\r\n")
        inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
        inflater.decompress(member)
        assert inflater.eof and inflater.unused_data == b""


def test_warc_1_1_headers() -> None:
    out = io.BytesIO()
    write_sample(out)
    out.seek(0)
    records = list(iter_records(out))
    assert all(r.get("WARC-Date") == "2026-11-25T08:00:00.123456Z" for r in records)
    revisit = records[3]
    assert revisit.get("WARC-Profile") == REVISIT_PROFILE
    assert revisit.get("WARC-Refers-To") == records[1].record_id
    assert revisit.get("WARC-Refers-To-Target-URI") == "https://graph.example/v25.0/1/posts"
    assert revisit.get("WARC-Refers-To-Date") == "2026-11-25T08:00:00.123456Z"
    assert revisit.get("WARC-Payload-Digest") == records[1].get("WARC-Payload-Digest")
    request = records[2]
    assert request.get("WARC-Concurrent-To") == records[1].record_id
    assert request.get("HP-Archive-Redacted") == "header Authorization"
    assert all(r.get("WARC-Warcinfo-ID") == records[0].record_id for r in records[1:])


def test_damaged_byte_is_detected_with_its_offset() -> None:
    out = io.BytesIO()
    written = write_sample(out, gzip_records=False)
    data = bytearray(out.getvalue())
    position = written[1].offset + written[1].length - 10  # inside the response body
    data[position] ^= 0x01
    from hp_archive.errors import WarcError

    with pytest.raises(WarcError, match=f"offset {written[1].offset}"):
        list(iter_records(io.BytesIO(bytes(data)), check_digests=True))


def test_warcio_check_and_cdxj_indexer_accept_the_file(tmp_path: Path) -> None:
    path = tmp_path / "sample.warc.gz"
    with path.open("wb") as fh:
        write_sample(fh)
    check = warcio_check([str(path)])
    assert check.returncode == 0, check.stdout + check.stderr
    assert "digest pass" in check.stdout
    assert "fail" not in check.stdout
    index = cdxj_index([str(path)])
    assert index.returncode == 0 and not index.stderr, index.stderr
    lines = [line for line in index.stdout.splitlines() if line.strip()]
    assert len(lines) == 3  # response, revisit and metadata are indexed; requests are not
    assert '"mime": "warc/revisit"' in lines[1] or '"mime": "warc/revisit"' in lines[0]
