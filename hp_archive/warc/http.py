"""Reading raw HTTP/1.x messages as they are stored in WARC request/response blocks.

A block holds the status line, headers and body exactly as they crossed the wire, so the body
may still carry a transfer coding (chunked) and a content coding (gzip, deflate, br). These pure
functions split a block and decode its body with warcio's readers, the same code path whether the
bytes come from a live capture or from a stored WARC.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from typing import Any

from warcio.bufferedreaders import ChunkedDataReader, DecompressingBufferedReader

from hp_archive.errors import WarcError

_CODINGS = {"gzip": "gzip", "x-gzip": "gzip", "deflate": "deflate", "br": "br"}


@dataclass(frozen=True)
class HttpMessage:
    """A parsed HTTP message: the first line, ordered headers, and the body as transferred."""

    first_line: str
    headers: tuple[tuple[str, str], ...]
    head_length: int  # bytes of first line + headers + blank line
    raw_body: bytes = field(repr=False)

    def header(self, name: str) -> str | None:
        """The last value of a header (case-insensitive), or None."""
        lname = name.lower()
        found = None
        for key, value in self.headers:
            if key.lower() == lname:
                found = value
        return found

    @property
    def status(self) -> int:
        """Status code of a response (0 when the first line is not a status line)."""
        parts = self.first_line.split(" ", 2)
        if len(parts) >= 2 and parts[0].startswith("HTTP/") and parts[1].isdigit():
            return int(parts[1])
        return 0

    @property
    def content_type(self) -> str:
        value = self.header("Content-Type") or ""
        return value.split(";", 1)[0].strip().lower()

    def body(self, *, max_bytes: int | None = None) -> bytes:
        """The entity body with transfer and content codings removed."""
        return decode_body(self, max_bytes=max_bytes)

    def json(self) -> Any:
        """The decoded body parsed as JSON; raises ValueError on malformed JSON."""
        return json.loads(self.body())


def split_http_message(block: bytes) -> HttpMessage:
    """Split a raw HTTP/1.x message block into first line, headers and transferred body."""
    end = block.find(b"\r\n\r\n")
    sep = 4
    if end < 0:
        end = block.find(b"\n\n")
        sep = 2
    if end < 0:
        raise WarcError("HTTP message has no end of headers (no blank line): the block is cut")
    head = block[:end].decode("iso-8859-1")
    lines = head.replace("\r\n", "\n").split("\n")
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and headers:  # obsolete line folding
            name, value = headers[-1]
            headers[-1] = (name, value + " " + line.strip())
            continue
        name, _, value = line.partition(":")
        headers.append((name.strip(), value.strip()))
    return HttpMessage(
        first_line=lines[0].strip(),
        headers=tuple(headers),
        head_length=end + sep,
        raw_body=block[end + sep :],
    )


def decode_body(message: HttpMessage, *, max_bytes: int | None = None) -> bytes:
    """Remove chunked transfer coding and gzip/deflate/br content coding from a body."""
    data = message.raw_body
    if "chunked" in (message.header("Transfer-Encoding") or "").lower():
        reader = ChunkedDataReader(io.BytesIO(data), raise_exceptions=False)
        data = _read_all(reader, max_bytes)
    coding = (message.header("Content-Encoding") or "").strip().lower()
    decomp = _CODINGS.get(coding)
    if decomp and data:
        try:
            reader = DecompressingBufferedReader(io.BytesIO(data), decomp_type=decomp)
            data = _read_all(reader, max_bytes)
        except Exception as exc:  # a lying Content-Encoding must not hide the bytes
            raise WarcError(f"body declares Content-Encoding {coding} but does not decode: {exc}") from exc
    if max_bytes is not None and len(data) > max_bytes:
        data = data[:max_bytes]
    return data


def _read_all(reader: Any, max_bytes: int | None) -> bytes:
    out = io.BytesIO()
    while True:
        chunk = reader.read(65536)
        if not chunk:
            break
        out.write(chunk)
        if max_bytes is not None and out.tell() > max_bytes:
            break
    return out.getvalue()
