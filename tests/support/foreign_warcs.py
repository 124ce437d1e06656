"""Small WARCs as other tools write them, built byte by byte (for ``hp-archive import`` tests).

* warcprox / pywb: warcio's own writer (WARC/1.0, gzip per record, SHA-1 base32 digests), a
  Graph API comments page, an HTML page and a revisit that names its original only by URL and
  payload digest (pywb's dedup does that);
* wget 1.21: an uncompressed WARC/1.0 with ``WARC-Type: resource`` for its manifest and log;
* Browsertrix Crawler: WARC/1.1, gzip per record, SHA-256 digests, ``WARC-Page-ID`` and a
  ``resource`` record ``urn:text:<url>`` holding the page's extracted text.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

PAGE_ID = "104857600000009"
POST = f"{PAGE_ID}_5550001"
COMMENTS_URL = f"https://graph.facebook.com/v19.0/{POST}/comments?filter=stream&limit=25"
HTML_URL = "https://www.hpil.example.gov/news/road-closure"
HTML = (
    b"<!DOCTYPE html><html><head><title>Road closure on Lake Street</title>"
    b"<script>var tracking = 'zzzhidden';</script><style>p{color:red}</style></head>"
    b"<body><h1>Road closure</h1><p>Lake Street is closed for the parade on Saturday.</p>"
    b"<p>Detour via Ontarioville Road.</p></body></html>"
)


def comments_page() -> bytes:
    return json.dumps(
        {
            "data": [
                {
                    "id": f"5550001_{n}",
                    "created_time": f"2025-06-0{n}T10:00:00+0000",
                    "from": {"id": f"3000{n}", "name": name},
                    "message": text,
                    "permalink_url": f"https://www.facebook.com/{PAGE_ID}/posts/5550001/?comment_id={n}",
                    "is_hidden": False,
                    "like_count": n,
                }
                for n, name, text in (
                    (1, "Ana Peña", "Thank you officers for the quick response"),
                    (2, "Sam Lee", "Which streets are closed for the parade"),
                )
            ],
            "paging": {"cursors": {"before": "QVFI", "after": "QVFJ"}},
        }
    ).encode()


def _http(body: bytes, content_type: str) -> tuple[StatusAndHeaders, bytes]:
    headers = StatusAndHeaders(
        "200 OK", [("Content-Type", content_type), ("Content-Length", str(len(body)))], protocol="HTTP/1.1"
    )
    return headers, body


def warcprox_style(path: Path) -> Path:
    """warcio's writer, as warcprox and pywb use it."""
    with path.open("wb") as fh:
        writer = WARCWriter(fh, gzip=True, warc_version="WARC/1.0")
        writer.write_record(writer.create_warcinfo_record(path.name, {"software": "warcprox 2.4.31"}))
        for url, body, ctype in ((COMMENTS_URL, comments_page(), "application/json; charset=UTF-8"),
                                 (HTML_URL, HTML, "text/html; charset=utf-8")):  # fmt: skip
            headers, payload = _http(body, ctype)
            record = writer.create_warc_record(
                url, "response", payload=io.BytesIO(payload), http_headers=headers
            )
            writer.write_record(record)
            request = writer.create_warc_record(
                url, "request", payload=io.BytesIO(b""),
                http_headers=StatusAndHeaders(f"GET {url} HTTP/1.1", [("Host", "x")], is_http_request=True),
            )  # fmt: skip
            writer.write_record(request)
        # a dedup revisit naming its original by URL and payload digest only (no WARC-Refers-To)
        headers, payload = _http(HTML, "text/html; charset=utf-8")
        digest = "sha1:" + base64.b32encode(hashlib.sha1(HTML).digest()).decode()
        revisit = writer.create_revisit_record(HTML_URL, digest, HTML_URL, "2025-06-02T10:00:00Z",
                                               http_headers=headers)  # fmt: skip
        writer.write_record(revisit)
    return path


def _record(version: str, fields: list[tuple[str, str]], block: bytes, algo: str = "sha1") -> bytes:
    digest = hashlib.new(algo, block).digest()
    label = base64.b32encode(digest).decode() if algo == "sha1" else digest.hex()
    head = f"{version}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields)
    head += f"WARC-Block-Digest: {algo}:{label}\r\nContent-Length: {len(block)}\r\n\r\n"
    return head.encode() + block + b"\r\n\r\n"


def _about(response: bytes) -> bytes:
    for old, new in ((b"Road closure on Lake Street", b"About the department"), (b"Road closure", b"About us"),
                     (b"Lake Street is closed for the parade on Saturday.", b"The department serves the village."),
                     (b"Detour via Ontarioville Road.", b"Call 630-555-0100.")):  # fmt: skip
        response = response.replace(old, new)
    return response


def wget_style(path: Path) -> Path:
    """wget --warc-file --no-warc-compression: plain WARC/1.0 with resource records."""
    response = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n" + HTML
    records = [
        _record("WARC/1.0", [("WARC-Type", "warcinfo"), ("WARC-Record-ID", "<urn:uuid:11111111-0000-4000-8000-000000000001>"),
                             ("WARC-Date", "2025-06-03T09:00:00Z"), ("WARC-Filename", path.name),
                             ("Content-Type", "application/warc-fields")],
                b"software: Wget/1.21.3 (linux-gnu)\r\nformat: WARC File Format 1.0\r\n"),
        _record("WARC/1.0", [("WARC-Type", "response"), ("WARC-Record-ID", "<urn:uuid:11111111-0000-4000-8000-000000000002>"),
                             ("WARC-Date", "2025-06-03T09:00:01Z"), ("WARC-Target-URI", "https://www.hpil.example.gov/about"),
                             ("Content-Type", "application/http;msgtype=response")],
                _about(response)),
        _record("WARC/1.0", [("WARC-Type", "resource"), ("WARC-Record-ID", "<urn:uuid:11111111-0000-4000-8000-000000000003>"),
                             ("WARC-Date", "2025-06-03T09:00:02Z"),
                             ("WARC-Target-URI", "metadata://gnu.org/software/wget/warc/MANIFEST.txt"),
                             ("Content-Type", "text/plain")], b"<urn:uuid:11111111-0000-4000-8000-000000000001>\n"),
        _record("WARC/1.0", [("WARC-Type", "resource"), ("WARC-Record-ID", "<urn:uuid:11111111-0000-4000-8000-000000000004>"),
                             ("WARC-Date", "2025-06-03T09:00:03Z"),
                             ("WARC-Target-URI", "metadata://gnu.org/software/wget/warc/wget.log"),
                             ("Content-Type", "text/plain")], b"FINISHED --2025-06-03 09:00:03--\n"),
    ]  # fmt: skip
    path.write_bytes(b"".join(records))
    return path


def browsertrix_style(path: Path) -> Path:
    """Browsertrix Crawler 1.x: WARC/1.1, gzip per record, sha256, page ids, urn:text resources."""
    url = "https://www.hpil.example.gov/events/coffee-with-a-cop"
    html = (
        HTML.replace(b"Road closure on Lake Street", b"Coffee with a Cop")
        .replace(
            b"Lake Street is closed for the parade on Saturday.",
            b"Join officers for coffee at the station lobby.",
        )
        .replace(b"Detour via Ontarioville Road.", b"All welcome.")
    )
    response = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + html
    common = [("WARC-Page-ID", "0b4e7c9a-page"), ("WARC-Resource-Type", "document")]
    records = [
        _record("WARC/1.1", [("WARC-Type", "warcinfo"), ("WARC-Record-ID", "<urn:uuid:22222222-0000-4000-8000-000000000001>"),
                             ("WARC-Date", "2025-06-04T12:00:00.000Z"), ("WARC-Filename", path.name),
                             ("Content-Type", "application/warc-fields")],
                b"software: Browsertrix-Crawler 1.4.2 (with warcio.js 2.3.1)\r\nformat: WARC File Format 1.1\r\n",
                "sha256"),
        _record("WARC/1.1", [("WARC-Type", "response"), ("WARC-Record-ID", "<urn:uuid:22222222-0000-4000-8000-000000000002>"),
                             ("WARC-Date", "2025-06-04T12:00:01.000Z"), ("WARC-Target-URI", url), *common,
                             ("Content-Type", "application/http; msgtype=response")], response, "sha256"),
        _record("WARC/1.1", [("WARC-Type", "resource"), ("WARC-Record-ID", "<urn:uuid:22222222-0000-4000-8000-000000000003>"),
                             ("WARC-Date", "2025-06-04T12:00:02.000Z"), ("WARC-Target-URI", f"urn:text:{url}"),
                             ("WARC-Page-ID", "0b4e7c9a-page"), ("Content-Type", "text/plain")],
                b"Coffee with a Cop Join officers for coffee", "sha256"),
    ]  # fmt: skip
    path.write_bytes(b"".join(gzip.compress(r) for r in records))
    return path


def whole_file_gzip(source: Path, path: Path) -> Path:
    """A plain WARC passed through ``gzip`` (one gzip stream for the whole file)."""
    path.write_bytes(gzip.compress(source.read_bytes()))
    return path
