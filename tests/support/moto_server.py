"""moto's S3 server on loopback, reached over real HTTP (never in-process patching).

Usage from any test package::

    endpoint_url, stop = start_moto_server()
    try:
        ...  # boto3.client("s3", endpoint_url=endpoint_url, ...)
    finally:
        stop()

The server keeps its state for its lifetime, so give every test its own bucket. Clients need
some credentials (moto accepts any): set AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

LOOPBACK = "127.0.0.1"


def start_moto_server() -> tuple[str, Callable[[], None]]:
    """Start moto's threaded server on a free loopback port; return (endpoint URL, stop)."""
    from moto.server import ThreadedMotoServer

    # One access-log line per request would drown test output.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    # Port 0: the OS picks a free port when the socket binds, so there is no race for it.
    server = ThreadedMotoServer(ip_address=LOOPBACK, port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()

    def stop() -> None:
        server.stop()
        # stop() shuts the loop down but leaves the listening socket open.
        inner = getattr(server, "_server", None)
        if inner is not None:
            inner.server_close()

    return f"http://{host}:{port}", stop
