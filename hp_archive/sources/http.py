"""An HTTP client that keeps the exact bytes of every exchange.

``requests`` and urllib3 parse and re-assemble what the server sent; a WARC ``response`` record
must hold what was received. :class:`RecordingHTTPClient` installs connection classes whose socket
is wrapped so that every byte written and read is copied, per exchange, into buffers. The copy is
taken below http.client's parser, so status line, header spelling and order, chunked transfer
coding and compressed bodies are kept as they were on the wire.
"""

from __future__ import annotations

import contextlib
import io
import socket
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from hp_archive import __version__
from hp_archive.errors import TransportError
from hp_archive.warc.http import HttpMessage, split_http_message

Clock = Callable[[], datetime]

DEFAULT_USER_AGENT = f"hp-archive/{__version__} (public-records capture)"
DEFAULT_MAX_BYTES = 256 * 1024 * 1024

_local = threading.local()


class _Recorder:
    """Per-exchange buffers the wrapped sockets write into."""

    def __init__(self, max_bytes: int) -> None:
        self.request = io.BytesIO()
        self.response = io.BytesIO()
        self.remote_ip: str | None = None
        self.max_bytes = max_bytes
        self.overflow = False

    def wrote(self, data: bytes) -> None:
        self.request.write(data)

    def read(self, data: bytes) -> None:
        if self.response.tell() + len(data) > self.max_bytes:
            self.overflow = True
            raise ResponseTooLargeError(self.max_bytes)
        self.response.write(data)


class ResponseTooLargeError(IOError):
    """The response exceeded the client's byte limit; the exchange is abandoned."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"response larger than {limit} bytes")
        self.limit = limit


class _TeeRawReader(io.RawIOBase):
    """A raw reader that copies every byte read from the socket into the current recorder."""

    def __init__(self, raw: Any) -> None:
        super().__init__()
        self._raw = raw

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        count = self._raw.readinto(buffer)
        recorder: _Recorder | None = getattr(_local, "recorder", None)
        if count and recorder is not None:
            recorder.read(bytes(memoryview(buffer)[:count]))
        return int(count or 0)

    def close(self) -> None:
        self._raw.close()
        super().close()


class _RecordingSocket:
    """Socket proxy: copies sendall() data and wraps makefile('rb') readers."""

    def __init__(self, sock: Any) -> None:
        self._sock = sock

    def sendall(self, data: Any, *args: Any) -> Any:
        recorder: _Recorder | None = getattr(_local, "recorder", None)
        if recorder is not None:
            recorder.wrote(bytes(data))
            if recorder.remote_ip is None:
                with contextlib.suppress(OSError):
                    recorder.remote_ip = str(self._sock.getpeername()[0])
        return self._sock.sendall(data, *args)

    def makefile(self, mode: str = "r", buffering: int | None = None, **kwargs: Any) -> Any:
        if "r" in mode and "b" in mode:
            raw = self._sock.makefile("rb", buffering=0)
            return io.BufferedReader(_TeeRawReader(raw), buffer_size=65536)
        return self._sock.makefile(mode, buffering, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class _RecordingHTTPConnection(HTTPConnection):
    def connect(self) -> None:
        super().connect()
        self.sock = _RecordingSocket(self.sock)


class _RecordingHTTPSConnection(HTTPSConnection):
    def connect(self) -> None:
        super().connect()
        self.sock = _RecordingSocket(self.sock)


class _RecordingHTTPPool(HTTPConnectionPool):
    ConnectionCls = _RecordingHTTPConnection


class _RecordingHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _RecordingHTTPSConnection


class _RecordingAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _RecordingHTTPPool,
            "https": _RecordingHTTPSPool,
        }


@dataclass(frozen=True)
class Exchange:
    """One HTTP exchange as it crossed the wire (request bytes not yet redacted)."""

    url: str
    method: str
    request_bytes: bytes = field(repr=False)
    response_bytes: bytes = field(repr=False)
    date: datetime
    remote_ip: str | None = None

    @property
    def response(self) -> HttpMessage:
        return split_http_message(self.response_bytes)


class RecordingHTTPClient:
    """Performs GET requests and returns each :class:`Exchange` with its raw bytes.

    ``clock`` stamps each exchange (the WARC-Date); tests inject a fake one. The client never
    retries: retry and backoff decisions belong to the capture context, which archives every
    attempt.
    """

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        timeout: float = 60.0,
        max_bytes: int = DEFAULT_MAX_BYTES,
        user_agent: str = DEFAULT_USER_AGENT,
    ) -> None:
        self._clock = clock or (lambda: datetime.now(UTC))
        self._timeout = timeout
        self._max_bytes = max_bytes
        self._session = requests.Session()
        self._session.trust_env = False  # no proxies or .netrc credentials sneaking in
        adapter = _RecordingAdapter(max_retries=0)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        self._session.headers.clear()
        self._session.headers.update(
            {"User-Agent": user_agent, "Accept-Encoding": "gzip, deflate", "Accept": "*/*"}
        )

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> RecordingHTTPClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(
        self,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Exchange:
        """GET ``url`` (with ``params`` appended) and return the exchange; raises TransportError."""
        full_url = with_params(url, params)
        recorder = _Recorder(self._max_bytes)
        date = self._clock()
        _local.recorder = recorder
        try:
            response = self._session.get(
                full_url,
                headers=dict(headers or {}),
                stream=True,
                timeout=self._timeout,
                allow_redirects=False,
            )
            try:
                for _ in response.raw.stream(65536, decode_content=False):
                    pass
            finally:
                response.close()
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            cause: BaseException = exc
            while cause.__context__ is not None and not isinstance(cause, ResponseTooLargeError):
                cause = cause.__context__
            if isinstance(cause, ResponseTooLargeError) or recorder.overflow:
                raise TransportError(
                    f"GET {strip_query(full_url)}: response larger than {self._max_bytes} bytes"
                ) from None
            kind = "timed out" if isinstance(exc, requests.Timeout | socket.timeout) else "failed"
            raise TransportError(f"GET {strip_query(full_url)} {kind}: {type(exc).__name__}") from None
        finally:
            _local.recorder = None
        data = recorder.response.getvalue()
        if not data:
            raise TransportError(f"GET {strip_query(full_url)}: connection closed with no response")
        return Exchange(
            url=full_url,
            method="GET",
            request_bytes=recorder.request.getvalue(),
            response_bytes=data,
            date=date,
            remote_ip=recorder.remote_ip,
        )


def with_params(url: str, params: Mapping[str, Any] | None) -> str:
    """Append query parameters to a URL that may already have some."""
    if not params:
        return url
    parts = urlsplit(url)
    extra = urlencode([(k, v) for k, v in params.items() if v is not None], doseq=True)
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def strip_query(url: str) -> str:
    """A URL without its query string, for messages (queries may carry tokens)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
