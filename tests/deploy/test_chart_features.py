"""The chart's options for a user coming from prometheus-kafka-exporter: telemetry path, startup
probe, ServiceMonitor scrape settings, PodMonitor, extra args, host aliases, node port; the icon;
NOTES.txt (how to reach the metrics, which alerts are on); and the packaged chart (helm package)
shipping the prometheus-adapter values, the KEDA example and the Alertmanager route."""

from __future__ import annotations

import base64
import subprocess
import tarfile
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import helm_python as helm
import pytest
import yaml

from tests.support.chart_render import (
    CHART,
    NAMESPACE,
    RELEASE,
    Doc,
    load_values,
    of_kind,
    render,
    render_files,
    rule_groups,
)

NOTES = "kafka-health-exporter/templates/NOTES.txt"
FULLNAME = f"{RELEASE}-kafka-health-exporter"
SHIPPED = (
    "adapter/values.yaml",
    "adapter/values-namespaced.yaml",
    "examples/keda-scaledobject.yaml",
    "alertmanager/alertmanager.yaml",
    "alertmanager/dingtalk-config.yaml",
    "alertmanager/kafka.tmpl",
)
HPA = {
    "name": "orders-consumer",
    "scaleTargetRef": {"name": "orders-consumer"},
    "metric": "kafka_consumergroup_lag_sum",
    "selector": {"matchLabels": {"cluster": "prod", "consumergroup": "orders"}},
    "target": 5000,
}


def container(docs: list[Doc]) -> Doc:
    (dep,) = of_kind(docs, "Deployment")
    containers: list[Doc] = dep["spec"]["template"]["spec"]["containers"]
    return next(c for c in containers if c["name"] == "kafka-health-exporter")


def notes(values: dict[str, Any] | None = None) -> str:
    return render_files(values)[NOTES]


def flag(args: list[str], name: str) -> str:
    return args[args.index(name) + 1]


# --- telemetry path, probes, args -----------------------------------------------------------------


def test_telemetry_path_reaches_the_exporter_and_both_monitors() -> None:
    args = container(render())["args"]
    assert flag(args, "--web.telemetry-path") == "/metrics"
    values = {"telemetryPath": "/kafka/metrics", "serviceMonitor": {"enabled": True}}
    docs = render(values)
    assert flag(container(docs)["args"], "--web.telemetry-path") == "/kafka/metrics"
    (monitor,) = of_kind(docs, "ServiceMonitor")
    assert monitor["spec"]["endpoints"][0]["path"] == "/kafka/metrics"
    (pod_monitor,) = of_kind(
        render({**values, "serviceMonitor": {}, "podMonitor": {"enabled": True}}), "PodMonitor"
    )
    assert pod_monitor["spec"]["podMetricsEndpoints"][0]["path"] == "/kafka/metrics"
    assert "curl -s http://127.0.0.1:9876/kafka/metrics" in notes(values)


@pytest.mark.parametrize(
    "path", ["metrics", "/health", "/healthz", "/live", "/ready", "/", "/a b", "/a//b"]
)
def test_values_schema_refuses_a_telemetry_path_the_exporter_refuses(path: str) -> None:
    with pytest.raises(helm.HelmValuesError, match="telemetryPath"):
        render({"telemetryPath": path})


def test_startup_probe_is_optional() -> None:
    assert "startupProbe" not in container(render())
    probe = {
        "httpGet": {"path": "/live", "port": "http"},
        "periodSeconds": 2,
        "failureThreshold": 30,
    }
    assert container(render({"startupProbe": probe}))["startupProbe"] == probe


def test_extra_args_host_aliases_and_node_port() -> None:
    docs = render(
        {
            "extraArgs": ["--web.config.file", "/etc/web/web.yml"],
            "hostAliases": [{"ip": "10.0.0.5", "hostnames": ["kafka-0.example"]}],
            "service": {"type": "NodePort", "nodePort": 30987},
        }
    )
    args = container(docs)["args"]
    assert args[-2:] == ["--web.config.file", "/etc/web/web.yml"]
    (dep,) = of_kind(docs, "Deployment")
    assert dep["spec"]["template"]["spec"]["hostAliases"] == [
        {"ip": "10.0.0.5", "hostnames": ["kafka-0.example"]}
    ]
    (service,) = of_kind(docs, "Service")
    assert service["spec"]["ports"][0]["nodePort"] == 30987
    (plain,) = of_kind(render({"service": {"nodePort": 30987}}), "Service")
    assert "nodePort" not in plain["spec"]["ports"][0], "a ClusterIP Service has no node port"


# --- ServiceMonitor and PodMonitor ----------------------------------------------------------------

SCRAPE = {
    "scheme": "https",
    "tlsConfig": {"ca": {"secret": {"name": "khe-tls", "key": "ca.crt"}}, "serverName": "khe"},
    "basicAuth": {
        "username": {"name": "khe-scrape", "key": "username"},
        "password": {"name": "khe-scrape", "key": "password"},
    },
}


def test_service_monitor_scrapes_tls_and_basic_auth_with_target_labels() -> None:
    (plain,) = of_kind(render({"serviceMonitor": {"enabled": True}}), "ServiceMonitor")
    (endpoint,) = plain["spec"]["endpoints"]
    assert endpoint["scheme"] == "http"
    assert "tlsConfig" not in endpoint and "basicAuth" not in endpoint
    assert "targetLabels" not in plain["spec"] and "podTargetLabels" not in plain["spec"]
    monitor_values = {
        "enabled": True, **SCRAPE, "targetLabels": ["team"], "podTargetLabels": ["tier"],
    }  # fmt: skip
    docs = render({"serviceMonitor": monitor_values})
    (monitor,) = of_kind(docs, "ServiceMonitor")
    (endpoint,) = monitor["spec"]["endpoints"]
    for key, value in SCRAPE.items():
        assert endpoint[key] == value, key
    assert monitor["spec"]["targetLabels"] == ["team"]
    assert monitor["spec"]["podTargetLabels"] == ["tier"]
    text = notes({"serviceMonitor": monitor_values})
    assert f"https://{FULLNAME}.{NAMESPACE}.svc:9876/metrics" in text
    assert f"ServiceMonitor {NAMESPACE}/{FULLNAME} scrapes /metrics every 30s" in text


def test_pod_monitor_instead_of_the_service_monitor() -> None:
    values = {
        "podMonitor": {"enabled": True, **SCRAPE, "podTargetLabels": ["tier"], "namespace": "obs"}
    }
    docs = render(values)
    assert not of_kind(docs, "ServiceMonitor")
    (monitor,) = of_kind(docs, "PodMonitor")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["metadata"]["namespace"] == "obs"
    spec = monitor["spec"]
    assert spec["namespaceSelector"] == {"matchNames": [NAMESPACE]}
    (dep,) = of_kind(docs, "Deployment")
    pod_labels = dep["spec"]["template"]["metadata"]["labels"]
    assert spec["selector"]["matchLabels"].items() <= pod_labels.items()
    (endpoint,) = spec["podMetricsEndpoints"]
    assert endpoint["port"] == "http" and endpoint["interval"] == "30s"
    for key, value in SCRAPE.items():
        assert endpoint[key] == value, key
    assert spec["podTargetLabels"] == ["tier"]
    assert "PodMonitor obs/" in notes(values)


def test_both_monitors_at_once_is_refused() -> None:
    values = {"serviceMonitor": {"enabled": True}, "podMonitor": {"enabled": True}}
    with pytest.raises(helm.HelmError, match="would scrape every exporter twice"):
        render(values)


def test_pod_monitor_tls_config_has_no_file_keys() -> None:
    """A PodMonitor's tlsConfig has no caFile/certFile/keyFile (prometheus-operator's CRD)."""
    with pytest.raises(helm.HelmValuesError, match="podMonitor"):
        render({"podMonitor": {"enabled": True, "tlsConfig": {"caFile": "/etc/ca.crt"}}})
    monitor = {"enabled": True, "tlsConfig": {"caFile": "/etc/prometheus/ca.crt"}}
    (sm,) = of_kind(render({"serviceMonitor": monitor}), "ServiceMonitor")
    assert sm["spec"]["endpoints"][0]["tlsConfig"] == {"caFile": "/etc/prometheus/ca.crt"}


# --- icon ----------------------------------------------------------------------------------------


def test_icon_is_the_charts_own_svg() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    prefix = "data:image/svg+xml;base64,"
    assert chart["icon"].startswith(prefix)
    svg = (CHART / "icon.svg").read_bytes()
    assert base64.b64decode(chart["icon"][len(prefix) :]) == svg, "Chart.yaml icon != icon.svg"
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.get("viewBox") == "0 0 64 64" and len(svg) < 2048
    assert b"<script" not in svg and b"href" not in svg, "no scripts or external references"


# --- NOTES.txt -------------------------------------------------------------------------------------


def test_notes_say_how_to_reach_the_metrics() -> None:
    text = notes()
    assert f"http://{FULLNAME}.{NAMESPACE}.svc:9876/metrics" in text
    assert f"kubectl -n {NAMESPACE} port-forward svc/{FULLNAME} 9876:9876" in text
    assert "curl -s http://127.0.0.1:9876/metrics" in text
    assert "curl -s http://127.0.0.1:9876/ready" in text
    assert "Neither serviceMonitor.enabled nor podMonitor.enabled is set" in text
    assert "prometheusRule.enabled is false: no alert rules are installed" in text
    assert "no public\n  registry hosts this image yet" in text
    assert "registry hosts" not in notes({"image": {"repository": "ghcr.io/acme/khe"}})
    port = notes({"service": {"port": 8080}})
    assert f"port-forward svc/{FULLNAME} 8080:8080" in port


@pytest.mark.parametrize(
    "alerts",
    [{}, {"streamsDead": {"enabled": False}, "workloadRestarts": {"enabled": False}}],
    ids=["defaults", "two-off"],
)
def test_notes_list_exactly_the_alerts_that_are_on(alerts: dict[str, Any]) -> None:
    values = {"prometheusRule": {"enabled": True, "alerts": alerts}}
    rendered = [r["alert"] for g in rule_groups(values) for r in g["rules"] if "alert" in r]
    text = notes(values)
    section = text.split("\nALERTS\n", 1)[1].split("\n\n", 1)[0]
    listed = [line.strip()[2:] for line in section.splitlines() if line.startswith("    - ")]
    assert listed == rendered, "NOTES must list the rendered alerts, in their order"
    assert f"{len(rendered)} alert(s) on:" in section
    off = {"streamsDead": "KafkaStreamsAppDead", "workloadRestarts": "KubeWorkloadPodsRestarted"}
    if alerts:
        assert (
            "Off (prometheusRule.alerts.<name>.enabled: false): "
            + ", ".join(off[k] for k in alerts)
            in section
        )
    else:
        assert "Off" not in section
    every = set(yaml.safe_load((CHART / "values.yaml").read_text())["prometheusRule"]["alerts"])
    assert len(rendered) + len(alerts) == len(every), "an alert key is missing from NOTES' list"


# --- the packaged chart ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return Path(helm.package(str(CHART), destination=str(tmp_path_factory.mktemp("package"))))


def test_packaged_chart_ships_the_adapter_values_and_examples(package: Path) -> None:
    with tarfile.open(package) as archive:
        names = set(archive.getnames())
        for path in SHIPPED:
            member = archive.extractfile(f"kafka-health-exporter/{path}")
            assert member is not None, path
            assert member.read() == (CHART / path).read_bytes(), path
    assert "kafka-health-exporter/icon.svg" in names
    assert not [n for n in names if "/ci/" in n or "/tests/" in n], "CI files stay out"
    assert package.name == "kafka-health-exporter-0.1.0.tgz"


def test_packaged_notes_point_at_the_shipped_files(package: Path, tmp_path: Path) -> None:
    with helm.Chart.load_archive(package.read_bytes()) as chart:
        files = {f["name"] for f in chart.files}
        assert set(SHIPPED) <= files
        text = chart.render({"hpa": [HPA]}, name=RELEASE, namespace=NAMESPACE, is_install=True)[
            NOTES
        ]
        plain = chart.render({}, name=RELEASE, namespace=NAMESPACE, is_install=True)[NOTES]
    for path in (
        "adapter/values.yaml",
        "adapter/values-namespaced.yaml",
        "examples/keda-scaledobject.yaml",
    ):
        assert path in plain, path
    assert f"tar -xzf {package.name}" in plain
    assert "--- BEGIN adapter/values.yaml" not in plain, "the file is printed only with HPAs"
    # The command NOTES gives, run for real on what `helm get notes` prints, saves the file.
    (command,) = [
        line.strip() for line in text.splitlines() if line.strip().startswith("helm get notes")
    ]
    assert command.startswith(f"helm get notes {RELEASE} -n {NAMESPACE} | ")
    pipeline = command.split(" | ", 1)[1]
    out = tmp_path / "adapter-values.yaml"
    pipeline = pipeline.replace("> adapter-values.yaml", f"> {out}")
    get_notes = "NOTES:\n" + text
    subprocess.run(["sh", "-c", pipeline], input=get_notes, text=True, check=True, timeout=30)
    assert out.read_text().strip() == (CHART / "adapter" / "values.yaml").read_text().strip()
    assert yaml.safe_load(out.read_text())["rules"]["external"]


def test_every_ci_values_file_renders_from_the_package(package: Path) -> None:
    """What `helm install <the .tgz> -f ...` renders is what the tests render from the source."""
    with helm.Chart.load_archive(package.read_bytes()) as chart:
        for values_file in sorted((CHART / "ci").glob("*-values.yaml")):
            values = load_values(values_file)
            packaged = chart.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)
            assert packaged == render_files(values), values_file.name
