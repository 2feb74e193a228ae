"""Hostile answers of the local CloudMonitor (`Scenario.body`): a huge body, an endless chunked
body, an HTML page, and the real answer dripped one byte at a time.

Each writer stops when the client closes the connection (a write fails) or after `MAX_S`, so a
test never leaves a thread writing forever; `Drips` counts the answers being written, so a test
can assert the client closed them.
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler

MAX_S = 60.0
CHUNK = b'"' + b"x" * (64 * 1024 - 2) + b'"'
HTML = (
    b"<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway"
    b"</h1></center><hr><center>nginx</center></body></html>\n"
)


class Drips:
    """How many hostile answers are being written right now, and how many were started."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.active = 0
        self.started = 0

    def enter(self) -> None:
        """One more answer being written."""
        with self._lock:
            self.active += 1
            self.started += 1

    def leave(self) -> None:
        """An answer ended (finished, or the client went away)."""
        with self._lock:
            self.active -= 1


def write_hostile(
    handler: BaseHTTPRequestHandler, kind: str, data: bytes, drips: Drips, *, huge_bytes: int,
    drip_s: float,
) -> None:  # fmt: skip
    """Answer with the hostile body `kind` (`huge`, `chunked`, `html` or `drip`)."""
    handler.close_connection = True
    drips.enter()
    deadline = time.monotonic() + MAX_S
    try:
        if kind == "html":
            _head(handler, 200, "text/html", {"Content-Length": str(len(HTML))})
            handler.wfile.write(HTML)
        elif kind == "huge":
            _head(handler, 200, "application/json", {"Content-Length": str(huge_bytes)})
            handler.wfile.write(b'{"Datapoints": ')
            sent = 15
            while sent + len(CHUNK) < huge_bytes and time.monotonic() < deadline:
                handler.wfile.write(CHUNK)
                sent += len(CHUNK)
        elif kind == "chunked":
            _head(handler, 200, "application/json", {"Transfer-Encoding": "chunked"})
            while time.monotonic() < deadline:
                handler.wfile.write(b"%x\r\n%s\r\n" % (len(CHUNK), CHUNK))
        elif kind == "drip":
            head = (
                f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n"
            ).encode()
            for byte in head + data:
                if time.monotonic() > deadline:
                    break
                handler.wfile.write(bytes([byte]))
                handler.wfile.flush()
                time.sleep(drip_s)
        else:
            raise ValueError(f"unknown hostile body {kind!r}")
        handler.wfile.flush()
    except (BrokenPipeError, ConnectionResetError):
        pass  # the client closed the connection: what a bounded client does
    finally:
        drips.leave()


def _head(handler: BaseHTTPRequestHandler, status: int, ctype: str, extra: dict[str, str]) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", ctype)
    for name, value in extra.items():
        handler.send_header(name, value)
    handler.send_header("Connection", "close")
    handler.end_headers()
