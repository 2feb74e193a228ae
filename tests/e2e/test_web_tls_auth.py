"""TLS, mTLS and basic auth through the CLI with certificates generated here, and a real
Prometheus (Debian package) scraping over TLS with basic auth. The guard itself in front of a
bare aiohttp app: tests/e2e/test_web_guard.py."""

from __future__ import annotations

import ssl
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.support.basic_auth import HASH, PASSWORD, basic
from tests.support.exporter_process import ExporterProcess, parse_metrics, value, wait_for
from tests.support.prometheus_server import PrometheusServer
from tests.support.tls_certs import Authority, Issued

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
