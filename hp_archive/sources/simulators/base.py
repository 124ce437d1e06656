"""A loopback HTTP server that platform simulators plug into, with fault injection.

A simulator is a :class:`SimulatorApp`: it turns a :class:`SimRequest` into a :class:`SimResponse`
following one platform's published API reference. :class:`SimulatorServer` serves any app on
127.0.0.1 and applies injected faults first (429 with Retry-After, 500, slow responses, dropped
connections, an expired token, malformed bodies). Faults can be injected in-process
(:meth:`SimulatorServer.inject`) or over HTTP (``POST /__sim__/faults`` with a JSON body), so a
demo or another process can drive them too.
"""

from __future__ import annotations

import json
import re
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

FAULT_KINDS = (
    "429",
    "500",
    "503",
    "slow",
    "drop",
    "expired-token",
    "malformed",
    "invalid-utf8",
    "truncated",
)


@dataclass(frozen=True)
class SimRequest:
    """A request as the app sees it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names

    @property
    def host(self) -> str:
        """The ``Host`` the client asked for: links in a response point back at it."""
        return self.headers.get("host", "127.0.0.1")

    @property
    def bearer_token(self) -> str | None:
        value = self.headers.get("authorization", "")
        for scheme in ("bearer ", "oauth "):
            if value.lower().startswith(scheme):
                return value[len(scheme) :].strip()
        return None


@dataclass
class SimResponse:
    """A response the server writes (Content-Length is added by the server)."""

    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def json(cls, status: int, payload: Any, headers: list[tuple[str, str]] | None = None) -> SimResponse:
        body = json_bytes(payload)
        return cls(status, body, [("Content-Type", "application/json; charset=UTF-8"), *(headers or [])])


def json_bytes(payload: Any) -> bytes:
    """Compact UTF-8 JSON, as the platforms send it (the same value always gives the same bytes)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


@dataclass
class Fault:
    """An injected fault: applies to requests whose path matches ``path`` (a regex), ``times`` times."""

    kind: str
    path: str = ".*"
    times: int = 1
    retry_after: int = 1
    delay: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {self.kind!r}; use one of {', '.join(FAULT_KINDS)}")


class SimulatorApp(ABC):
    """One platform's API. ``render_error`` shapes injected errors like the platform does."""

    #: tokens the app accepts; an "expired-token" fault or any other token gets an auth error
    valid_tokens: set[str]

    def __init__(self) -> None:
        self.valid_tokens = set()
        self.requests: list[SimRequest] = []
        self.lock = threading.RLock()

    @abstractmethod
    def handle(self, request: SimRequest) -> SimResponse:
        """Answer a request per the platform's API reference."""

    @abstractmethod
    def auth_error(self, request: SimRequest) -> SimResponse:
        """The platform's response to an expired or revoked token."""

    def rate_limit_error(self, request: SimRequest, retry_after: int) -> SimResponse:
        return SimResponse.json(429, {"error": "rate limited"}, [("Retry-After", str(retry_after))])

    def server_error(self, request: SimRequest, status: int) -> SimResponse:
        return SimResponse.json(status, {"error": "internal error"})


class SimulatorServer:
    """Serves a :class:`SimulatorApp` on loopback in a background thread."""

    def __init__(self, app: SimulatorApp, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self.faults: list[Fault] = []
        self._lock = threading.Lock()
        self._sleep: Callable[[float], None] = time.sleep
        handler = _make_handler(self)
        self._httpd = ThreadingHTTPServer((host, port), handler)
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.socket.getsockname()[:2]
        return f"http://{host}:{port}"

    def start(self) -> SimulatorServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="simulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def inject(self, fault: Fault) -> None:
        with self._lock:
            self.faults.append(fault)

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()

    def take_fault(self, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.times > 0 and re.search(fault.path, path):
                    fault.times -= 1
                    if fault.times == 0:
                        self.faults.remove(fault)
                    return fault
        return None


def _make_handler(server: SimulatorServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "hp-archive-simulator/1"
        # headers and body go out in separate writes; without this, Nagle + delayed ACK add
        # ~40 ms to every keep-alive request
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_POST(self) -> None:
            split = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            if split.path == "/__sim__/faults":
                try:
                    server.inject(Fault(**json.loads(raw or b"{}")))
                except (ValueError, TypeError) as exc:
                    self._write(SimResponse.json(400, {"error": str(exc)}))
                    return
                self._write(SimResponse.json(200, {"ok": True}))
                return
            self._write(SimResponse.json(405, {"error": "method not allowed"}))

        def do_GET(self) -> None:
            split = urlsplit(self.path)
            request = SimRequest(
                method="GET",
                path=split.path,
                query=dict(parse_qsl(split.query, keep_blank_values=True)),
                headers={k.lower(): v for k, v in self.headers.items()},
            )
            with server.app.lock:
                server.app.requests.append(request)
            fault = server.take_fault(split.path + ("?" + split.query if split.query else ""))
            if fault is not None:
                if fault.kind == "drop":
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                if fault.kind == "slow":
                    server._sleep(fault.delay or 2.0)
                elif fault.kind == "429":
                    self._write(server.app.rate_limit_error(request, fault.retry_after))
                    return
                elif fault.kind in ("500", "503"):
                    self._write(server.app.server_error(request, int(fault.kind)))
                    return
                elif fault.kind == "expired-token":
                    self._write(server.app.auth_error(request))
                    return
            with server.app.lock:
                response = server.app.handle(request)
            if fault is not None and fault.kind == "malformed":
                response = SimResponse(
                    response.status,
                    response.body[: max(1, len(response.body) // 2)] + b",,}",
                    response.headers,
                )
            elif fault is not None and fault.kind == "invalid-utf8":
                response = SimResponse(
                    response.status, response.body.replace(b'"', b'"\xff\xfe', 1), response.headers
                )
            elif fault is not None and fault.kind == "truncated":
                self._write(response, truncate=True)
                return
            self._write(response)

        def _write(self, response: SimResponse, *, truncate: bool = False) -> None:
            self.send_response(response.status)
            for name, value in response.headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            body = response.body[: len(response.body) // 2] if truncate else response.body
            self.wfile.write(body)
            if truncate:
                self.close_connection = True
                self.wfile.flush()
                self.connection.shutdown(2)

    return Handler
