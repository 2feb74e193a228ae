"""The Helm chart rendered offline (helm-python-sdk), linted, and every object validated strictly
against the Kubernetes schemas (kubernetes-validate); CRD objects by their required fields."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import helm_python as helm
import kubernetes_validate
import pytest
import yaml

from exporter.config.loader import load_config
from tests.support.chart_render import (
    CHART,
    KUBE_VERSION,
    NAMESPACE,
    Doc,
    ci_values_files,
    load_values,
    of_kind,
    render,
)

ALL_FEATURES = CHART / "ci" / "all-features-values.yaml"
CRD_KINDS = {"ServiceMonitor", "PodMonitor", "PrometheusRule"}
# From prometheus-operator v0.93.0, example/prometheus-operator-crd/monitoring.coreos.com_*.yaml:
# the spec keys the chart may set, and those of one scrape endpoint (ServiceMonitor `endpoints`,
# PodMonitor `podMetricsEndpoints`); `basicAuth` holds two SecretKeySelectors (`key` required),
# `tlsConfig` only these keys (the *File ones are ServiceMonitor-only), `scheme` this enum.
MONITOR_SPEC = {
    "ServiceMonitor": {"jobLabel", "namespaceSelector", "selector", "endpoints", "targetLabels",
                       "podTargetLabels"},
    "PodMonitor": {"jobLabel", "namespaceSelector", "selector", "podMetricsEndpoints",
                   "podTargetLabels"},
}  # fmt: skip
MONITOR_REQUIRED = {"ServiceMonitor": {"endpoints", "selector"}, "PodMonitor": {"selector"}}
ENDPOINT_KEYS = {
    "port", "path", "scheme", "interval", "scrapeTimeout", "honorLabels", "tlsConfig",
    "basicAuth", "relabelings", "metricRelabelings",
}  # fmt: skip
TLS_KEYS = {
    "ServiceMonitor": {"ca", "caFile", "cert", "certFile", "insecureSkipVerify", "keyFile",
                       "keySecret", "maxVersion", "minVersion", "serverName"},
    "PodMonitor": {"ca", "cert", "insecureSkipVerify", "keySecret", "maxVersion", "minVersion",
                   "serverName"},
}  # fmt: skip
SCHEMES = {"http", "https", "HTTP", "HTTPS"}
REQUIRED_LABELS = (
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/version",
    "app.kubernetes.io/managed-by",
    "helm.sh/chart",
)
# Env vars the ci/ and example configs reference without a default.
CONFIG_ENV = {
    "KAFKA_USER": "u",
    "KAFKA_PASSWORD": "p",
    "ACCESS_KEY_ID": "id",
    "ACCESS_KEY_SECRET": "secret",
    "REGION_ID": "cn-hangzhou",
    "POD_NAME": "khe-kafka-health-exporter-1",  # the StatefulSet's pod name (ci/sharded-values)
}


def values_sets() -> list[tuple[str, dict[str, Any]]]:
    """Defaults plus every ci/*-values.yaml."""
    return [("defaults", {})] + [(p.name, load_values(p)) for p in ci_values_files()]


VALUE_SETS = values_sets()
IDS = [name for name, _ in VALUE_SETS]


def deployment(docs: list[Doc]) -> Doc:
    """The exporter's workload: the Deployment, or the StatefulSet with sharding.enabled."""
    (dep,) = of_kind(docs, "Deployment") + of_kind(docs, "StatefulSet")
    return dep


def exporter_container(docs: list[Doc]) -> Doc:
    """The exporter container of the Deployment."""
    containers = deployment(docs)["spec"]["template"]["spec"]["containers"]
    return next(c for c in containers if c["name"] == "kafka-health-exporter")


def checksum(values: dict[str, Any]) -> str:
    """The config checksum annotation of the pod template."""
    annotations = deployment(render(values))["spec"]["template"]["metadata"]["annotations"]
    value: str = annotations["checksum/config"]
    return value


def test_ci_values_files_exist() -> None:
    names = {p.name for p in ci_values_files()}
    assert {"default-values.yaml", "all-features-values.yaml"} <= names


@pytest.mark.parametrize("values", [v for _, v in VALUE_SETS], ids=IDS)
def test_lint_is_clean(values: dict[str, Any]) -> None:
    report = helm.lint(str(CHART), values, strict=True, kube_version=f"v{KUBE_VERSION}")
    problems = [m for m in report["messages"] if m["severity"] >= 2] + report["errors"]
    assert not problems, problems


@pytest.mark.parametrize("values", [v for _, v in VALUE_SETS], ids=IDS)
def test_every_object_is_valid_labelled_and_non_root(values: dict[str, Any]) -> None:
    docs = render(values)
    assert docs
    for doc in docs:
        what = f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
        if doc["kind"] in CRD_KINDS:
            check_crd_object(doc)
        else:
            kubernetes_validate.validate(doc, KUBE_VERSION, strict=True)
        labels = doc["metadata"].get("labels") or {}
        missing = [k for k in REQUIRED_LABELS if k not in labels]
        assert not missing, f"{what} lacks labels {missing}"
    pod = deployment(docs)["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    for container in pod["containers"] + pod.get("initContainers", []):
        ctx = container.get("securityContext", {})
        assert ctx.get("runAsUser", pod["securityContext"]["runAsUser"]) != 0, container["name"]
        assert ctx.get("allowPrivilegeEscalation") is False, container["name"]
        assert ctx.get("readOnlyRootFilesystem") is True, container["name"]
        assert ctx.get("capabilities", {}).get("drop") == ["ALL"], container["name"]
    assert not of_kind(docs, "Secret"), "the chart must reference secrets, never create them"


def check_crd_object(doc: Doc) -> None:
    """Required fields of the Prometheus Operator objects (no schema is bundled for CRDs)."""
    assert doc["apiVersion"] == "monitoring.coreos.com/v1"
    assert doc["metadata"]["name"] and doc["metadata"]["namespace"]
    spec = doc["spec"]
    kind = doc["kind"]
    if kind in MONITOR_SPEC:
        assert MONITOR_REQUIRED[kind] <= set(spec) <= MONITOR_SPEC[kind], set(spec)
        assert spec["selector"]["matchLabels"]
        endpoints = spec["endpoints" if kind == "ServiceMonitor" else "podMetricsEndpoints"]
        assert endpoints
        for endpoint in endpoints:
            assert endpoint["port"] == "http" and endpoint["path"].startswith("/")
            assert set(endpoint) <= ENDPOINT_KEYS, set(endpoint) - ENDPOINT_KEYS
            assert endpoint.get("scheme", "http") in SCHEMES
            assert set(endpoint.get("tlsConfig", {})) <= TLS_KEYS[kind]
            for selector in endpoint.get("basicAuth", {}).values():
                assert selector["key"] and set(selector) <= {"name", "key", "optional"}
            assert set(endpoint.get("basicAuth", {})) <= {"username", "password"}
        for key in ("targetLabels", "podTargetLabels"):
            assert all(isinstance(label, str) and label for label in spec.get(key, [])), key
    else:
        assert spec["groups"]
        for group in spec["groups"]:
            assert group["name"] and group["rules"]
            for rule in group["rules"]:
                assert rule["expr"].strip()
                assert ("alert" in rule) != ("record" in rule), rule
                allowed = {"alert", "record", "expr", "for", "labels", "annotations"}
                assert set(rule) <= allowed | {"keep_firing_for"}  # operator >= 0.66


def test_defaults_render_only_the_core_objects() -> None:
    kinds = sorted(d["kind"] for d in render())
    assert kinds == ["ConfigMap", "Deployment", "Service", "ServiceAccount"]
    container = exporter_container(render())
    assert "resources" not in container, "no default resources"


def test_every_optional_feature_renders() -> None:
    docs = render(load_values(ALL_FEATURES))
    kinds = {d["kind"] for d in docs}
    assert {"ServiceMonitor", "PrometheusRule", "PodDisruptionBudget"} <= kinds
    assert len(of_kind(docs, "HorizontalPodAutoscaler")) == 2
    dashboards = [
        d for d in of_kind(docs, "ConfigMap") if d["metadata"]["labels"].get("grafana_dashboard")
    ]
    assert len(dashboards) == 1 and dashboards[0]["metadata"]["labels"]["grafana_dashboard"] == "1"
    shipped = json.loads((CHART / "dashboards" / "kafka-health-exporter.json").read_text())
    assert json.loads(dashboards[0]["data"]["kafka-health-exporter.json"]) == shipped
    monitor = of_kind(docs, "ServiceMonitor")[0]
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"


def test_pod_spec_passes_every_value_through() -> None:
    values = load_values(ALL_FEATURES)
    docs = render(values)
    dep = deployment(docs)
    pod = dep["spec"]["template"]["spec"]
    container = exporter_container(docs)
    assert dep["spec"]["replicas"] == 2
    assert dep["metadata"]["annotations"] == {"owner": "kafka-team"}
    assert dep["spec"]["template"]["metadata"]["labels"]["tier"] == "monitoring"
    assert dep["spec"]["template"]["metadata"]["annotations"]["note"] == "ci"
    assert all(d["metadata"]["labels"]["team"] == "kafka" for d in docs)
    for key in ("tolerations", "affinity", "nodeSelector", "topologySpreadConstraints"):
        assert pod[key] == values[key], key
    assert pod["priorityClassName"] == "monitoring-high"
    assert pod["imagePullSecrets"] == [{"name": "registry"}]
    assert [c["name"] for c in pod["initContainers"]] == ["wait-for-kafka", "check-config"]
    assert {"name": "kafka-ca", "secret": {"secretName": "kafka-ca"}} in pod["volumes"]
    assert {"name": "kafka-ca", "mountPath": "/etc/kafka", "readOnly": True} in container[
        "volumeMounts"
    ]
    assert container["resources"] == values["resources"]
    assert container["env"] == values["env"]
    assert container["envFrom"] == [
        {"secretRef": {"name": "kafka-credentials"}},
        {"configMapRef": {"name": "kafka-endpoints"}},
    ]
    (pdb,) = of_kind(docs, "PodDisruptionBudget")
    assert pdb["spec"]["minAvailable"] == 1


def test_probes_port_and_arguments() -> None:
    docs = render()
    container = exporter_container(docs)
    assert container["livenessProbe"]["httpGet"] == {"path": "/live", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}
    assert container["ports"] == [{"name": "http", "containerPort": 9876, "protocol": "TCP"}]
    args = container["args"]
    assert args[:3] == ["run", "-c", "/etc/kafka-health-exporter/config.yaml"]
    assert args[args.index("--listen") + 1] == "0.0.0.0:9876"
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    assert mounts["/etc/kafka-health-exporter"]["readOnly"] is True
    assert "/tmp" in mounts, "a read-only root filesystem needs a writable /tmp"
    (service,) = of_kind(docs, "Service")
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    assert service["spec"]["publishNotReadyAddresses"] is True
    pod = deployment(docs)["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False


def test_config_change_rolls_the_pods() -> None:
    base = checksum({})
    changed = checksum({"config": {"defaults": {"interval": "15s"}}})
    assert base != changed
    assert checksum({"replicaCount": 3, "podLabels": {"a": "b"}}) == base


@pytest.mark.parametrize(
    "values_file",
    [*ci_values_files(), Path("examples/standalone-aliyun-values.yaml")],
    ids=lambda p: p.name,
)
def test_configmap_holds_a_config_the_exporter_accepts(values_file: Path, tmp_path: Path) -> None:
    path = values_file if values_file.is_absolute() else CHART.parent.parent / values_file
    (configmap,) = [
        d for d in of_kind(render(load_values(path)), "ConfigMap") if "config.yaml" in d["data"]
    ]
    config_file = tmp_path / "config.yaml"
    config_file.write_text(configmap["data"]["config.yaml"])
    config = load_config(config_file, env=CONFIG_ENV)
    assert config.collectors


def test_default_config_is_the_example_configs_format(tmp_path: Path) -> None:
    """values.config is the exporter's own config format: its keys are config.example.yaml's."""
    example = yaml.safe_load((CHART.parent.parent / "config.example.yaml").read_text())
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())["config"]
    assert set(defaults) == {"server", "defaults", "collectors"} <= set(example)
    kafka_keys = set(next(c for c in example["collectors"] if c["type"] == "kafka"))
    for collector in defaults["collectors"]:
        assert set(collector) <= kafka_keys
    config_file = tmp_path / "config.yaml"
    config_file.write_text(yaml.safe_dump(defaults))
    assert load_config(config_file, env={}).collectors[0].type == "kafka"


def test_hpa_defaults_and_overrides() -> None:
    docs = render(load_values(ALL_FEATURES))
    hpas = {h["metadata"]["name"]: h for h in of_kind(docs, "HorizontalPodAutoscaler")}
    orders = hpas["orders-consumer"]
    assert orders["apiVersion"] == "autoscaling/v2"
    assert orders["metadata"]["namespace"] == "shop"
    spec = orders["spec"]
    assert spec["scaleTargetRef"] == {
        "apiVersion": "apps/v1", "kind": "Deployment", "name": "orders-consumer",
    }  # fmt: skip
    assert (spec["minReplicas"], spec["maxReplicas"]) == (2, 5)
    (metric,) = spec["metrics"]
    assert metric["type"] == "External"
    assert metric["external"]["metric"] == {
        "name": "kafka_consumergroup_lag_sum",
        "selector": {"matchLabels": {"cluster": "prod", "consumergroup": "orders"}},
    }
    assert metric["external"]["target"] == {"type": "Value", "value": "5000"}
    up, down = spec["behavior"]["scaleUp"], spec["behavior"]["scaleDown"]
    assert up["stabilizationWindowSeconds"] == 120
    assert up["policies"] == [{"type": "Pods", "value": 1, "periodSeconds": 30}]
    assert down["stabilizationWindowSeconds"] == 300
    billing = hpas["billing-consumer"]["spec"]
    assert billing["metrics"][0]["external"]["target"] == {
        "type": "AverageValue", "averageValue": "20000",
    }  # fmt: skip
    assert (billing["minReplicas"], billing["maxReplicas"]) == (1, 12)
    assert billing["scaleTargetRef"]["kind"] == "StatefulSet"
    assert hpas["billing-consumer"]["metadata"]["namespace"] == "billing"
    default_ns = render({"hpa": [{**load_values(ALL_FEATURES)["hpa"][0], "namespace": None}]})
    assert of_kind(default_ns, "HorizontalPodAutoscaler")[0]["metadata"]["namespace"] == NAMESPACE


@pytest.mark.parametrize(
    ("missing", "message"),
    [("selector", "hpa[0].selector is required"), ("metric", "hpa[0].metric is required")],
)
def test_hpa_without_a_required_field_fails_naming_it(missing: str, message: str) -> None:
    entry = dict(load_values(ALL_FEATURES)["hpa"][0])
    del entry[missing]
    with pytest.raises(helm.HelmError, match=message.replace("[", r"\[").replace("]", r"\]")):
        render({"hpa": [entry]})


def test_existing_secret_is_referenced_not_created() -> None:
    docs = render({"existingSecret": "my-keys"})
    assert exporter_container(docs)["envFrom"] == [{"secretRef": {"name": "my-keys"}}]
    assert not of_kind(docs, "Secret")


@pytest.mark.parametrize(
    ("values", "where"),
    [
        ({"serviceMonitor": {"enable": True}}, "'enable' not allowed"),
        ({"prometheusRule": {"alerts": {"consumerLag": {"threshold": "lots"}}}}, "threshold"),
        ({"hpa": [{"name": "x", "selecter": {}}]}, "'selecter' not allowed"),
        ({"logFormat": "xml"}, "logFormat"),
    ],
)
def test_values_schema_rejects_typos_naming_the_key(values: dict[str, Any], where: str) -> None:
    with pytest.raises(helm.HelmValuesError, match=where):
        render(values)
