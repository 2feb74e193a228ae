"""The HTTP server against hostile clients: `python -m exporter run` as a subprocess, real
sockets on 127.0.0.1. Each test asserts the bound and that `/live` keeps answering meanwhile.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import socket
import ssl
import time
import urllib.request
from pathlib import Path
from typing import Any

from tests.support.exporter_process import ExporterProcess, run_cli, wait_for
from tests.support.tls_certs import Authority

CONFIG = """
collectors:
  - {name: down, type: kafka, bootstrap_servers: "127.0.0.1:1", interval: 1s, timeout: 800ms}
"""
IDLE_SOCKETS = 2000
HEADER_TIMEOUT_S = 10.0  # exporter/web/server.py ServerLimits.header_timeout_s


def _timed_get(exporter: ExporterProcess, path: str, **headers: str) -> tuple[int, float]:
    started = time.monotonic()
    status, _ = exporter.get(path, headers=headers, timeout=3)
    return status, time.monotonic() - started


def _fds(exporter: ExporterProcess) -> int:
    assert exporter.process is not None
    return len(os.listdir(f"/proc/{exporter.process.pid}/fd"))


def _accept_queue(port: int) -> int:
    """Connections the kernel has completed on the listening socket of `port` that the server has
    not accepted yet (rx_queue of a LISTEN row in /proc/net/tcp)."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, state = fields[1], fields[3]
        if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
            return int(fields[4].split(":")[1], 16)
    raise AssertionError(f"no listening socket on port {port}")


def _raw(port: int, request: bytes, timeout: float = 5.0) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_idle_and_slowloris_sockets_are_capped_and_closed(tmp_path: Path) -> None:
    with ExporterProcess(CONFIG, tmp_path) as exporter:
        fds_before = _fds(exporter)
        socks: list[socket.socket] = []
        try:
            for i in range(IDLE_SOCKETS):  # half silent, half a slowloris' first byte
                sock = socket.create_connection(("127.0.0.1", exporter.port), timeout=5)
                if i % 2:
                    sock.sendall(b"G")
                socks.append(sock)
            opened = time.monotonic()
            # A burst of 2000 connects overflows the listen backlog: until the server has taken
            # every queued one, the kernel drops a new handshake and the client retries it 1 s
            # later. Timed requests start once the queue is empty, so they time the server.
            queued = _accept_queue(exporter.port)
            wait_for(lambda: _accept_queue(exporter.port) == 0, 10, 0.05, "the accept queue")
            worst = 0.0
            for path in ("/live", "/metrics", "/health", "/live"):
                status, took = _timed_get(exporter, path)
                assert status in (200, 503), path  # /health: 503 while `down` is stale
                worst = max(worst, took)
            peak_fds = _fds(exporter)
            deadline = opened + HEADER_TIMEOUT_S + 6
            open_socks = set(socks)
            with selectors.DefaultSelector() as watch:
                for sock in socks:
                    watch.register(sock, selectors.EVENT_READ)
                while open_socks and time.monotonic() < deadline:  # closed = readable, EOF
                    for key, _ in watch.select(0.5):
                        sock = key.fileobj
                        assert isinstance(sock, socket.socket)
                        if sock.recv(1) == b"":
                            open_socks.discard(sock)
                            watch.unregister(sock)
            closed_after = time.monotonic() - opened
        finally:
            for sock in socks:
                sock.close()
        log = exporter.log()
        print(
            f"{IDLE_SOCKETS} idle sockets ({queued} queued after the burst): /live,/metrics "
            f"worst {worst * 1000:.0f} ms, exporter "
            f"fds {fds_before} -> {peak_fds}, all closed after {closed_after:.1f}s, "
            f"log {len(log.splitlines())} lines"
        )
        assert not open_socks, f"{len(open_socks)} sockets still open"
        assert worst < 1.0
        assert peak_fds < fds_before + 1100  # the cap (1000) plus a few
        assert "out of system resource" not in log
        assert log.count("HTTP connections open (the limit)") <= 3
        assert len(log.splitlines()) < 100
        assert _timed_get(exporter, "/live")[0] == 200


def test_malformed_requests_are_one_line_and_never_echoed(tmp_path: Path) -> None:
    secret = "Q" * 100 + "-credentials"
    big_auth = b"Authorization: Basic " + secret.encode() + b"A" * 100_000 + b"\r\n"
    with ExporterProcess(CONFIG, tmp_path, extra_args=["--web.enable-lifecycle"]) as exporter:
        answer = _raw(exporter.port, b"GET /metrics HTTP/1.1\r\nHost: x\r\n" + big_auth + b"\r\n")
        assert answer.split(b"\r\n")[0].endswith(b" 400 Bad Request"), answer[:200]
        assert b"QQQQ" not in answer and len(answer) < 1000
        for _ in range(50):  # a burst of garbage: rate-limited lines
            _raw(exporter.port, b"GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n")
            assert _timed_get(exporter, "/live")[1] < 1.0
        om = {"Accept": "application/openmetrics-text;version=1.0.0;q=0,text/plain;q=0.5"}
        request = urllib.request.Request(exporter.url + "/metrics", headers=om)
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.headers["Content-Type"].startswith("text/plain")
        body = b"x" * (1024 * 1024)
        reload = b"POST /-/reload HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body)
        with socket.create_connection(("127.0.0.1", exporter.port), timeout=5) as sock:
            sock.sendall(reload + body[:65536])
            assert b" 413 " in sock.recv(200).split(b"\r\n")[0]
        time.sleep(0.5)
        log = exporter.log()
        bad = [line for line in log.splitlines() if "bad HTTP request" in line]
        print(
            f"51 malformed requests -> {len(bad)} log lines; 100 KB header answer {len(answer)} B"
        )
        assert "QQQQ" not in log and "Traceback" not in log
        assert 1 <= len(bad) <= 10
        assert all(len(line) < 300 for line in bad)


def test_a_busy_port_exits_with_one_line(tmp_path: Path) -> None:
    with ExporterProcess(CONFIG, tmp_path) as exporter:
        config = tmp_path / "second.yaml"
        config.write_text(CONFIG)
        result = run_cli("run", "-c", str(config), "--listen", f"127.0.0.1:{exporter.port}")
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 1, result.stderr
        assert "Traceback" not in result.stderr
        assert lines[-1] == f"kafka-health-exporter: cannot listen on 127.0.0.1:{exporter.port}: " \
            "Address already in use", lines  # fmt: skip
        assert sum("cannot listen" in x for x in lines) == 1
        wait_for(lambda: exporter.get("/live")[0] == 200, 2)


class _TlsExporter(ExporterProcess):
    """ExporterProcess over https, trusting `ca`."""

    def __init__(self, *args: Any, ca: Path, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ca = ca

    def get(
        self, path: str, headers: dict[str, str] | None = None, timeout: float = 5.0
    ) -> tuple[int, bytes]:
        context = ssl.create_default_context(cafile=str(self.ca))
        request = urllib.request.Request(f"https://127.0.0.1:{self.port}{path}")
        with urllib.request.urlopen(request, timeout=timeout, context=context) as response:
            return response.status, response.read()


def test_silent_tls_sockets_are_closed_at_the_handshake_timeout(tmp_path: Path) -> None:
    ca = Authority(tmp_path)
    server = ca.issue("server", server=True, dns=("localhost",), ips=("127.0.0.1",))
    web = tmp_path / "web.yml"
    web.write_text(f"tls_server_config: {{cert_file: {server.cert}, key_file: {server.key}}}\n")
    args = ["--web.config.file", str(web)]
    with _TlsExporter(CONFIG, tmp_path, ca=ca.ca.cert, extra_args=args) as exporter:
        socks = [socket.create_connection(("127.0.0.1", exporter.port)) for _ in range(300)]
        try:
            opened = time.monotonic()
            assert exporter.get("/live")[0] == 200  # a real handshake still gets through
            for sock in socks:  # each is closed by the server: EOF (or a reset)
                sock.settimeout(max(0.1, opened + HEADER_TIMEOUT_S + 5 - time.monotonic()))
                with contextlib.suppress(ConnectionResetError):
                    assert sock.recv(1) == b""
            took = time.monotonic() - opened
        finally:
            for sock in socks:
                sock.close()
        print(f"300 silent TLS sockets closed after {took:.1f}s")
        assert took < HEADER_TIMEOUT_S + 5
        assert exporter.get("/live")[0] == 200
