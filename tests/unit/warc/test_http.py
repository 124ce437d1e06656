"""Splitting stored HTTP messages and removing transfer and content codings."""

from __future__ import annotations

import gzip

import pytest

from hp_archive.errors import WarcError
from hp_archive.warc.http import split_http_message


def test_split_keeps_header_order_and_spelling() -> None:
    msg = split_http_message(b"HTTP/1.1 404 Not Found\r\nX-B: 2\r\nx-a:  1 \r\n\r\nbody")
    assert msg.status == 404
    assert msg.headers == (("X-B", "2"), ("x-a", "1"))
    assert msg.header("X-A") == "1"
    assert msg.raw_body == b"body"


def test_chunked_and_gzip_bodies_are_decoded() -> None:
    payload = gzip.compress(b'{"data": []}')
    chunked = b"%x\r\n" % len(payload) + payload + b"\r\n0\r\n\r\n"
    block = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n\r\n" + chunked
    msg = split_http_message(block)
    assert msg.body() == b'{"data": []}'
    assert msg.json() == {"data": []}


def test_cut_message_is_refused() -> None:
    with pytest.raises(WarcError, match="no end of headers"):
        split_http_message(b"HTTP/1.1 200 OK\r\nContent-Length: 5")


def test_lying_content_encoding_falls_back_to_the_bytes_like_replay_tools() -> None:
    msg = split_http_message(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n\r\nnot gzip")
    assert msg.body() == b"not gzip"
