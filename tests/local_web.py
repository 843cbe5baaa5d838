"""A real local web server for the tests that fetch: a handler class served on a free port of
127.0.0.1 from a daemon thread. Each test file keeps its own routes; this is what they share."""

from __future__ import annotations

import http.server
import threading


class QuietHandler(http.server.BaseHTTPRequestHandler):
    """A request handler that keeps the test output clean (no access log on stderr)."""

    def log_message(self, *args: object) -> None:
        pass


def start(handler: type[http.server.BaseHTTPRequestHandler]) -> tuple[http.server.ThreadingHTTPServer, str]:
    """The running server and its base URL ("http://127.0.0.1:PORT"); stop it with ``shutdown()``."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"
