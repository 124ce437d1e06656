"""The recording client keeps the exact wire bytes of each exchange over a real socket."""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from hp_archive.errors import TransportError
from hp_archive.sources.http import RecordingHTTPClient


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        return

    def do_GET(self) -> None:
        if self.path.startswith("/chunked"):
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (b'{"a":', b"1}"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
            return
        if self.path.startswith("/big"):
            body = b"x" * 5000
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if self.path.startswith("/drop"):
            self.close_connection = True
            self.connection.shutdown(2)
            return
        body = gzip.compress(b'{"hello": "w\xc3\xb6rld"}')
        self.send_response(200)
        self.send_header("Content-Encoding", "gzip")
        self.send_header("X-Spaced", "  odd  ")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_exact_bytes_of_compressed_response_and_request(server: str, clock) -> None:
    with RecordingHTTPClient(clock=clock) as client:
        exchange = client.get(server + "/x", params={"limit": 5}, headers={"Authorization": "OAuth tok"})
    assert exchange.request_bytes.startswith(b"GET /x?limit=5 HTTP/1.1\r\n")
    assert b"Authorization: OAuth tok\r\n" in exchange.request_bytes
    assert b"X-Spaced:   odd  \r\n" in exchange.response_bytes  # header bytes as sent
    assert exchange.response_bytes.endswith(gzip.compress(b'{"hello": "w\xc3\xb6rld"}')[-8:])
    assert exchange.response.json() == {"hello": "wörld"}
    assert exchange.remote_ip == "127.0.0.1"
    assert exchange.date == clock.now


def test_chunked_transfer_coding_is_kept_on_a_reused_connection(server: str) -> None:
    with RecordingHTTPClient() as client:
        first = client.get(server + "/chunked")
        second = client.get(server + "/chunked")
    assert first.response_bytes.endswith(b'5\r\n{"a":\r\n2\r\n1}\r\n0\r\n\r\n')
    assert first.response_bytes == second.response_bytes.replace(
        second.response_bytes.split(b"\r\n")[2], first.response_bytes.split(b"\r\n")[2]
    )
    assert first.response.body() == b'{"a":1}'


def test_dropped_connection_and_oversize_body_are_transport_errors(server: str) -> None:
    with RecordingHTTPClient() as client, pytest.raises(TransportError, match="/drop"):
        client.get(server + "/drop?access_token=SECRET")
    with (
        RecordingHTTPClient(max_bytes=1000) as client,
        pytest.raises(TransportError, match="larger than 1000 bytes"),
    ):
        client.get(server + "/big")


def test_errors_never_show_query_strings(server: str) -> None:
    with RecordingHTTPClient() as client:
        try:
            client.get("http://127.0.0.1:9/x?access_token=SECRET")
        except TransportError as exc:
            assert "SECRET" not in str(exc)
        else:
            pytest.fail("expected a TransportError")
