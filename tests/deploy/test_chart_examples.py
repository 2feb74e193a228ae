"""The deployment examples: the Kafka Streams sidecar manifest, the standalone Alibaba Cloud values
and the Alertmanager route to a DingTalk webhook (amtool, and a real Alertmanager delivering to a
local webhook receiver)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from exporter.cli.demo.processes import free_port, stop_process
from exporter.config.loader import load_config
from tests.support.chart_render import CHART, KUBE_VERSION, ROOT, load_values, of_kind, render
from tests.support.exporter_process import wait_for

SIDECAR = ROOT / "examples" / "streams-sidecar.yaml"
STANDALONE = ROOT / "examples" / "standalone-aliyun-values.yaml"
ALERTMANAGER = CHART / "alertmanager" / "alertmanager.yaml"


def sidecar_docs() -> dict[str, dict[str, Any]]:
    """The sidecar example's objects by kind."""
    return {d["kind"]: d for d in yaml.safe_load_all(SIDECAR.read_text()) if d}


def test_sidecar_example_is_valid_and_wired(tmp_path: Path) -> None:
    docs = sidecar_docs()
    assert set(docs) == {"ConfigMap", "Deployment", "PodMonitor"}
    for kind in ("ConfigMap", "Deployment"):
        kubernetes_validate.validate(docs[kind], KUBE_VERSION, strict=True)
    monitor = docs["PodMonitor"]
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["spec"]["podMetricsEndpoints"][0]["port"] == "health"

    config_file = tmp_path / "config.yaml"
    config_file.write_text(docs["ConfigMap"]["data"]["config.yaml"])
    (collector,) = load_config(config_file, env={}).collectors
    assert collector.type == "jmx" and collector.health is True

    pod = docs["Deployment"]["spec"]["template"]["spec"]
    app, sidecar = pod["containers"]
    assert sidecar["image"].startswith("kafka-health-exporter")
    (port,) = sidecar["ports"]
    assert port["containerPort"] == 9876
    probe = app["livenessProbe"]["httpGet"]
    assert probe == {"path": f"/health?collector={collector.name}", "port": 9876}
    flags = app["env"][0]["value"]
    assert app["env"][0]["name"] == "JAVA_TOOL_OPTIONS"
    assert f"-Dcom.sun.management.jmxremote.port={collector.port}" in flags  # type: ignore[attr-defined]
    assert "-Dcom.sun.management.jmxremote.host=127.0.0.1" in flags, "JMX must stay on localhost"
    assert sidecar["securityContext"]["runAsNonRoot"] is True
    assert sidecar["securityContext"]["readOnlyRootFilesystem"] is True
    mounts = {m["mountPath"] for m in sidecar["volumeMounts"]}
    assert {"/etc/kafka-health-exporter", "/tmp"} <= mounts
    assert pod["volumes"][0]["configMap"]["name"] == docs["ConfigMap"]["metadata"]["name"]


def test_standalone_example_takes_credentials_from_a_secret_only() -> None:
    values = load_values(STANDALONE)
    docs = render(values)
    for doc in docs:
        if doc["kind"] not in ("ServiceMonitor", "PrometheusRule"):
            kubernetes_validate.validate(doc, KUBE_VERSION, strict=True)
    assert not of_kind(docs, "Secret")
    (dep,) = of_kind(docs, "Deployment")
    container = dep["spec"]["template"]["spec"]["containers"][0]
    assert {"secretRef": {"name": "aliyun-cms-credentials"}} in container["envFrom"]
    (cms,) = [c for c in values["config"]["collectors"] if c["type"] == "aliyun_cms"]
    assert cms["access_key_id"] == "${ACCESS_KEY_ID}"
    assert cms["access_key_secret"] == "${ACCESS_KEY_SECRET}"
    secret_names = re.findall(r"ACCESS_KEY_\w+", STANDALONE.read_text())
    assert set(secret_names) == {"ACCESS_KEY_ID", "ACCESS_KEY_SECRET"}


def amtool(*args: str) -> subprocess.CompletedProcess[str]:
    """Run amtool (Debian package `prometheus-alertmanager`)."""
    exe = shutil.which("amtool")
    assert exe, "amtool not found: apt-get install prometheus-alertmanager"
    return subprocess.run([exe, *args], capture_output=True, text=True, timeout=60, check=False)


def test_alertmanager_example_is_valid_and_routes_the_charts_alerts() -> None:
    done = amtool("check-config", str(ALERTMANAGER))
    assert done.returncode == 0, done.stdout + done.stderr
    cases = {
        "dingtalk-restarts": ["alertname=KubeWorkloadPodsRestarted", "workload=orders"],
        "dingtalk-kafka": ["alertname=KafkaConsumerGroupLagHigh", "consumergroup=orders"],
        "default": ["alertname=Watchdog"],
    }
    for receiver, labels in cases.items():
        args = ["--config.file", str(ALERTMANAGER), f"--verify.receivers={receiver}", *labels]
        done = amtool("config", "routes", "test", *args)
        assert done.returncode == 0, f"{labels} -> {done.stdout} (expected {receiver})"


class _Webhook(BaseHTTPRequestHandler):
    """Records every JSON body POSTed to it (stands where prometheus-webhook-dingtalk would)."""

    received: list[tuple[str, dict[str, Any]]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, json.loads(body)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[tuple[str, dict[str, Any]]]]]:
    """A webhook receiver on 127.0.0.1; yields its base URL and what it received."""
    received: list[tuple[str, dict[str, Any]]] = []
    handler = type("Handler", (_Webhook,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", received
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def alertmanager(
    tmp_path: Path, webhook: tuple[str, list[tuple[str, dict[str, Any]]]]
) -> Iterator[str]:
    """The example config in a real Alertmanager on 127.0.0.1, webhooks pointed at `webhook`."""
    exe = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    assert exe, "alertmanager not found: apt-get install prometheus-alertmanager"
    text = ALERTMANAGER.read_text().replace(
        "http://prometheus-webhook-dingtalk.monitoring.svc:8060", webhook[0]
    )
    config = yaml.safe_load(text)
    for route in [config["route"], *config["route"]["routes"]]:
        route["group_wait"] = "1s"  # keep the example's routing, not its patience
    (tmp_path / "am.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    log = (tmp_path / "am.log").open("wb")
    process = subprocess.Popen(
        [
            exe,
            f"--config.file={tmp_path / 'am.yml'}",
            f"--storage.path={tmp_path / 'am-data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:

        def ready() -> bool:
            assert process.poll() is None, (tmp_path / "am.log").read_text()
            with urllib.request.urlopen(url + "/-/ready", timeout=2) as response:
                return response.status == 200

        wait_for(ready, 20, what="alertmanager /-/ready")
        yield url
    finally:
        stop_process(process, 10)
        log.close()


def test_alertmanager_delivers_the_restart_report_to_the_dingtalk_webhook(
    alertmanager: str, webhook: tuple[str, list[tuple[str, dict[str, Any]]]]
) -> None:
    _, received = webhook
    alert = {
        "labels": {
            "alertname": "KubeWorkloadPodsRestarted",
            "namespace": "shop",
            "workload_type": "deployment",
            "workload": "orders",
            "severity": "info",
        },
        "annotations": {
            "summary": "2 of 3 pods of deployment shop/orders restarted in the last 10m"
        },
    }
    request = urllib.request.Request(
        alertmanager + "/api/v2/alerts",
        data=json.dumps([alert]).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200
    wait_for(lambda: received, 30, what="a webhook notification")
    path, payload = received[0]
    assert path == "/dingtalk/restarts/send"
    assert payload["receiver"] == "dingtalk-restarts"
    assert payload["groupLabels"] == {
        "alertname": "KubeWorkloadPodsRestarted",
        "namespace": "shop",
        "workload_type": "deployment",
        "workload": "orders",
    }
    (sent,) = payload["alerts"]
    assert sent["annotations"]["summary"] == alert["annotations"]["summary"]
    assert all(p == "/dingtalk/restarts/send" for p, _ in received)
