"""TLS, mTLS and basic auth through the CLI with certificates generated here, and a real
Prometheus (Debian package) scraping over TLS with basic auth."""

from __future__ import annotations

import base64
import ssl
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import bcrypt
import pytest
from aiohttp import web

from exporter.cli.demo.broker import free_port
from exporter.exposition.self_metrics import DaemonCounters
from exporter.web.auth import WebGuard, parse_basic
from exporter.web.config import WebSettings, parse_web_config
from tests.support.exporter_process import ExporterProcess, parse_metrics, value, wait_for
from tests.support.prometheus_server import PrometheusServer
from tests.support.tls_certs import Authority, Issued

PASSWORD = "scrape-me-7Qx"
HASH = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(6)).decode()
CONFIG = """
collectors:
  - {name: nowhere, type: kafka, bootstrap_servers: "127.0.0.1:1", interval: 2s, timeout: 1s}
"""


class Pki:
    """A CA, a server certificate for 127.0.0.1, a client of that CA and one of another CA."""

    def __init__(self, directory: Path) -> None:
        self.ca = Authority(directory)
        self.server = self.ca.issue("server", server=True, dns=("localhost",), ips=("127.0.0.1",))
        self.client = self.ca.issue("prometheus", server=False, dns=("prometheus.monitoring",))
        self.other_client = self.ca.issue("intruder", server=False, dns=("intruder.example",))
        self.stranger = Authority(directory, "stranger-ca").issue(
            "stranger", server=False, dns=("prometheus.monitoring",)
        )


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return Pki(tmp_path_factory.mktemp("pki"))


class HttpsExporter(ExporterProcess):
    """ExporterProcess over https, with an optional client certificate and basic auth."""

    def __init__(self, *args: Any, ca: Path, client: Issued | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ca, self.client = ca, client
        self.auth: tuple[str, str] | None = None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def context(self, client: Issued | None = None) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.ca))
        chosen = client or self.client
        if chosen is not None:
            context.load_cert_chain(chosen.cert, chosen.key)
        return context

    def get(
        self,
        path: str,
        headers: dict[str, str] | None = None,
        timeout: float = 5.0,
        client: Issued | None = None,
        method: str = "GET",
    ) -> tuple[int, bytes]:
        headers = dict(headers or {})
        if self.auth is not None and "Authorization" not in headers:
            headers["Authorization"] = basic(*self.auth)
        request = urllib.request.Request(self.url + path, headers=headers, method=method)
        try:
            with urllib.request.urlopen(
                request, timeout=timeout, context=self.context(client)
            ) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            self.last_headers = exc.headers
            return exc.code, exc.read()


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _web_config(tmp_path: Path, pki: Pki, extra: str = "", auth: bool = True) -> Path:
    path = tmp_path / "web-config.yml"
    users = f"basic_auth_users:\n  prometheus: '{HASH}'\n" if auth else ""
    path.write_text(
        f"tls_server_config:\n  cert_file: {pki.server.cert}\n  key_file: {pki.server.key}\n"
        f"{extra}{users}"
        "http_server_config:\n  headers:\n    X-Frame-Options: deny\n"
    )
    return path


def test_tls_with_basic_auth(pki: Pki, tmp_path: Path) -> None:
    web = _web_config(tmp_path, pki)
    exporter = HttpsExporter(
        CONFIG, tmp_path, ca=pki.ca.ca.cert, extra_args=["--web.config.file", str(web)]
    )
    with exporter:
        # probes are open; everything else needs the password
        assert exporter.get("/live")[0] == 200
        assert exporter.get("/ready")[0] == 503  # open, and honest: the collector is down
        status, _ = exporter.get("/metrics")
        assert status == 401
        assert exporter.last_headers["WWW-Authenticate"].startswith("Basic")
        assert exporter.last_headers["X-Frame-Options"] == "deny"
        wrong = {"Authorization": basic("prometheus", "guess")}
        assert exporter.get("/metrics", wrong)[0] == 401
        unknown = {"Authorization": basic("nobody", PASSWORD)}
        assert exporter.get("/metrics", unknown)[0] == 401
        assert exporter.get("/health", {"Authorization": "Bearer abc"})[0] == 401
        assert exporter.get("/", {"Authorization": "Basic !!notbase64"})[0] == 401
        assert exporter.get("/-/reload", method="POST")[0] == 401

        exporter.auth = ("prometheus", PASSWORD)
        status, body = exporter.get("/metrics")
        assert status == 200
        samples = parse_metrics(body.decode())
        failures = "kafka_health_exporter_http_auth_failures_total"
        assert value(samples, failures, reason="missing") == 4  # none x2, Bearer, undecodable
        assert value(samples, failures, reason="wrong") == 2  # wrong password, unknown user
        assert value(samples, failures, reason="client_certificate") == 0
        assert exporter.get("/health")[0] == 200

        # plain HTTP on the TLS port is refused
        with pytest.raises((urllib.error.URLError, ConnectionError)):
            urllib.request.urlopen(f"http://127.0.0.1:{exporter.port}/live", timeout=5)
    assert "serving on https://" in exporter.log()


def test_mtls_required_and_refused(pki: Pki, tmp_path: Path) -> None:
    extra = (
        f"  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: {pki.ca.ca.cert}\n"
        "  client_allowed_sans: [prometheus.monitoring]\n"
    )
    web = _web_config(tmp_path, pki, extra, auth=False)
    exporter = HttpsExporter(
        CONFIG,
        tmp_path,
        ca=pki.ca.ca.cert,
        client=pki.client,
        extra_args=["--web.config.file", str(web)],
    )
    with exporter:
        assert exporter.get("/metrics")[0] == 200
        # no client certificate: the handshake fails
        no_cert = urllib.request.Request(exporter.url + "/live")
        bare = ssl.create_default_context(cafile=str(pki.ca.ca.cert))
        with pytest.raises((urllib.error.URLError, ssl.SSLError, ConnectionError)):
            urllib.request.urlopen(no_cert, timeout=5, context=bare).read()
        # a certificate from another CA: the handshake fails too
        with pytest.raises((urllib.error.URLError, ssl.SSLError, ConnectionError)):
            exporter.get("/live", client=pki.stranger)
        # the right CA but a SAN that is not allowed: 403 on protected paths, probes stay open
        assert exporter.get("/metrics", client=pki.other_client)[0] == 403
        assert exporter.get("/live", client=pki.other_client)[0] == 200
        samples = parse_metrics(exporter.get("/metrics")[1].decode())
        assert (
            value(
                samples,
                "kafka_health_exporter_http_auth_failures_total",
                reason="client_certificate",
            )
            == 1
        )


def test_unauthenticated_paths_are_configurable(pki: Pki, tmp_path: Path) -> None:
    web = _web_config(tmp_path, pki)
    config = "server: {unauthenticated_paths: [/live, /metrics]}\n" + CONFIG
    exporter = HttpsExporter(
        config, tmp_path, ca=pki.ca.ca.cert, extra_args=["--web.config.file", str(web)]
    )
    with exporter:
        assert exporter.get("/metrics")[0] == 200
        assert exporter.get("/ready")[0] == 401


def test_prometheus_scrapes_over_tls_with_basic_auth(pki: Pki, tmp_path: Path) -> None:
    extra = f"  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: {pki.ca.ca.cert}\n"
    web = _web_config(tmp_path, pki, extra)
    config = f"server: {{web_config_file: {web}}}\n" + CONFIG
    exporter = HttpsExporter(config, tmp_path, ca=pki.ca.ca.cert, client=pki.client)
    jobs = [
        {
            "job_name": name,
            "scheme": "https",
            "tls_config": {
                "ca_file": str(pki.ca.ca.cert),
                "cert_file": str(pki.client.cert),
                "key_file": str(pki.client.key),
                "server_name": "localhost",
            },
            "basic_auth": {"username": "prometheus", "password": password},
            "static_configs": [{"targets": [f"127.0.0.1:{exporter.port}"]}],
        }
        for name, password in (("khe", PASSWORD), ("khe-wrong", "nope"))
    ]
    with exporter, PrometheusServer(tmp_path, jobs) as prometheus:

        def scraped() -> bool:
            up = {r["metric"]["job"]: r["value"] for r in prometheus.query("up")}
            build = prometheus.query('kafka_health_exporter_build_info{job="khe"}')
            return up == {"khe": 1.0, "khe-wrong": 0.0} and bool(build)

        wait_for(scraped, 30, interval=0.5, what=f"prometheus scrapes; {prometheus.log()}")
        # the refused job's attempts show up in what the accepted job scrapes
        wait_for(
            lambda: prometheus.query(
                'kafka_health_exporter_http_auth_failures_total{job="khe",reason="wrong"} >= 1'
            ),
            15,
            interval=0.5,
            what="refused scrapes counted",
        )


@pytest.fixture
async def guarded() -> AsyncIterator[tuple[str, WebGuard, DaemonCounters]]:
    """A real aiohttp server on 127.0.0.1 behind a WebGuard with users and a rate limit."""
    text = (
        f"basic_auth_users: {{prometheus: '{HASH}'}}\n"
        "rate_limit: {interval: 1h, burst: 3}\n"
        "http_server_config: {headers: {X-Content-Type-Options: nosniff}}\n"
    )
    counters = DaemonCounters()
    guard = WebGuard(
        WebSettings("web.yml", parse_web_config(text, "web.yml"), None), ["/live"], counters
    )
    app = web.Application(middlewares=[guard.middleware])

    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app.router.add_get("/live", ok)
    app.router.add_get("/metrics", ok)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}", guard, counters
    finally:
        await runner.cleanup()


async def test_rate_limit_headers_and_open_paths(
    guarded: tuple[str, WebGuard, DaemonCounters],
) -> None:
    url, guard, counters = guarded
    auth = {"Authorization": basic("prometheus", PASSWORD)}
    async with aiohttp.ClientSession() as session:
        for _ in range(3):
            async with session.get(url + "/metrics", headers=auth) as response:
                assert response.status == 200
                assert response.headers["X-Content-Type-Options"] == "nosniff"
        async with session.get(url + "/metrics", headers=auth) as response:
            assert response.status == 429  # the bucket of 3 is empty, refilled once an hour
        for _ in range(5):  # probes are neither limited nor authenticated
            async with session.get(url + "/live") as response:
                assert response.status == 200
        async with session.get(url + "/nothing-here") as response:
            assert response.status == 429
            assert response.headers["X-Content-Type-Options"] == "nosniff"
    # a reload swaps users and limits
    guard.update(WebSettings("web.yml", parse_web_config("", "web.yml"), None), ["/live"])
    async with aiohttp.ClientSession() as session, session.get(url + "/metrics") as response:
        assert response.status == 200
    async with aiohttp.ClientSession() as session, session.get(url + "/nothing-here") as response:
        assert response.status == 404
        assert "X-Content-Type-Options" not in response.headers
    assert sum(counters.auth_failures.values()) == 0


async def test_unknown_user_pays_bcrypt_like_a_known_one(
    guarded: tuple[str, WebGuard, DaemonCounters],
) -> None:
    """No user enumeration: an unknown user is checked against a decoy hash, not skipped."""
    _, guard, _ = guarded
    assert await guard._authenticate(basic("nobody", PASSWORD)) == "wrong"
    assert await guard._authenticate(basic("prometheus", "nope")) == "wrong"
    assert await guard._authenticate(basic("prometheus", PASSWORD)) is None
    assert await guard._authenticate(basic("prometheus", "x" * 100)) == "wrong"  # > 72 bytes
    assert len(guard._cache) == 4  # every outcome went through bcrypt once and was cached
    assert parse_basic("Basic " + base64.b64encode(b"no-colon").decode()) is None
    assert parse_basic("Digest abc") is None
