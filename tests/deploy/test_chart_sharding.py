"""The chart's StatefulSet mode (`sharding`): rendered with helm-python-sdk, linted, validated
against the Kubernetes schemas, each monitor and the PodDisruptionBudget selecting every shard
once, and the rendered config run through `check-config` as the pod `<fullname>-2` would run it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import helm_python as helm
import kubernetes_validate
import pytest
import yaml

from tests.support.chart_render import (
    CHART,
    KUBE_VERSION,
    NAMESPACE,
    RELEASE,
    Doc,
    load_values,
    of_kind,
    render,
    render_files,
)
from tests.support.exporter_process import run_cli

FULLNAME = f"{RELEASE}-kafka-health-exporter"
SHARDED = load_values(CHART / "ci" / "sharded-values.yaml")
NOTES = "kafka-health-exporter/templates/NOTES.txt"
ENV = {"KAFKA_PASSWORD": "p"}  # what ci/sharded-values.yaml references besides POD_NAME


def sharded(**more: Any) -> dict[str, Any]:
    """ci/sharded-values.yaml with `more` on top (top-level keys replaced)."""
    return {**SHARDED, **more}


def config_text(docs: list[Doc]) -> str:
    (configmap,) = of_kind(docs, "ConfigMap")
    text: str = configmap["data"]["config.yaml"]
    return text


def pod_labels(docs: list[Doc]) -> dict[str, str]:
    (sts,) = of_kind(docs, "StatefulSet")
    labels: dict[str, str] = sts["spec"]["template"]["metadata"]["labels"]
    return labels


def selects(selector: Doc, labels: dict[str, str]) -> bool:
    """Whether a Kubernetes label selector (matchLabels, matchExpressions) selects `labels`."""
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        ok = {
            "In": key in labels and labels[key] in values,
            "NotIn": key not in labels or labels[key] not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }[op]
        if not ok:
            return False
    return True


def check_config(text: str, pod: str, tmp_path: Path) -> tuple[int, str, str]:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    done = run_cli("check-config", "-c", str(path), env={**ENV, "POD_NAME": pod})
    return done.returncode, done.stdout, done.stderr


def test_lint_is_clean() -> None:
    for values in (SHARDED, sharded(sharding={"enabled": True, "replicas": 1})):
        report = helm.lint(str(CHART), values, strict=True, kube_version=f"v{KUBE_VERSION}")
        problems = [m for m in report["messages"] if m["severity"] >= 2] + report["errors"]
        assert not problems, problems


def test_a_statefulset_and_a_headless_service_instead_of_the_deployment() -> None:
    docs = render(SHARDED)
    kinds = sorted(d["kind"] for d in docs)
    assert kinds == [
        "ConfigMap", "PodDisruptionBudget", "Service", "Service", "ServiceAccount",
        "ServiceMonitor", "StatefulSet",
    ]  # fmt: skip
    for doc in docs:
        if doc["kind"] != "ServiceMonitor":
            kubernetes_validate.validate(doc, KUBE_VERSION, strict=True)
    (sts,) = of_kind(docs, "StatefulSet")
    spec = sts["spec"]
    assert sts["metadata"]["name"] == FULLNAME
    assert spec["replicas"] == 3 and spec["podManagementPolicy"] == "Parallel"
    assert selects(spec["selector"], pod_labels(docs))
    services = {s["metadata"]["name"]: s for s in of_kind(docs, "Service")}
    headless = services[spec["serviceName"]]
    assert spec["serviceName"] == f"{FULLNAME}-headless"
    assert headless["spec"]["clusterIP"] == "None"
    assert headless["spec"]["publishNotReadyAddresses"] is True
    assert selects({"matchLabels": headless["spec"]["selector"]}, pod_labels(docs))
    (container,) = spec["template"]["spec"]["containers"]
    env = container["env"]
    assert env[0] == {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}
    assert env[1:] == SHARDED["env"], "the user's env follows"
    (alone,) = of_kind(render(sharded(env=[])), "StatefulSet")
    assert [e["name"] for e in alone["spec"]["template"]["spec"]["containers"][0]["env"]] == [
        "POD_NAME"
    ]


def test_every_kafka_collector_gets_its_shard_in_block_style(tmp_path: Path) -> None:
    collectors = [
        *SHARDED["config"]["collectors"],
        {"name": "app", "type": "jmx", "host": "127.0.0.1", "port": 5555},
    ]
    values = sharded(config={**SHARDED["config"], "collectors": collectors})
    text = config_text(render(values))
    assert "\n    index: ${POD_NAME}\n" in text, (
        "block style: ${...} is no valid flow-mapping value"
    )
    rendered = yaml.safe_load(text)["collectors"]
    shards = {c["name"]: c.get("shard") for c in rendered}
    assert shards == {
        "east": {"count": 3, "index": "${POD_NAME}"},
        "west": {"count": 3, "index": "${POD_NAME}"},
        "app": None,
    }
    code, out, err = check_config(text, f"{FULLNAME}-2", tmp_path)
    assert code == 0, err
    assert out.count("shard 2 of 3") == 2, out
    code, out, err = check_config(text, f"{FULLNAME}-3", tmp_path)
    assert code == 1 and "index 3 is not in 0..2 (count is 3)" in err, (out, err)


def test_the_rendered_config_runs_as_pod_2_of_3(tmp_path: Path) -> None:
    """The ConfigMap as the pod `<fullname>-2` of the default three reads it."""
    text = config_text(render({"sharding": {"enabled": True}}))
    code, out, err = check_config(text, f"{FULLNAME}-2", tmp_path)
    assert code == 0, err
    assert "kafka (kafka)" in out and "shard 2 of 3" in out, out
    five = config_text(render({"sharding": {"enabled": True, "replicas": 5}}))
    code, out, err = check_config(five, f"{FULLNAME}-4", tmp_path)
    assert code == 0 and "shard 4 of 5" in out, (out, err)


def test_the_shard_count_change_rolls_every_pod() -> None:
    def checksum(values: dict[str, Any]) -> str:
        (sts,) = of_kind(render(values), "StatefulSet")
        value: str = sts["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
        return value

    assert checksum(sharded()) != checksum(sharded(sharding={"enabled": True, "replicas": 4}))


def test_monitors_and_pdb_select_every_shard_once() -> None:
    docs = render(SHARDED)
    pods = pod_labels(docs)
    (monitor,) = of_kind(docs, "ServiceMonitor")
    chosen = [
        s["metadata"]["name"]
        for s in of_kind(docs, "Service")
        if selects(monitor["spec"]["selector"], s["metadata"]["labels"])
    ]
    assert chosen == [FULLNAME], "the headless Service would scrape every shard twice"
    assert monitor["spec"]["podTargetLabels"] == ["apps.kubernetes.io/pod-index"]
    (pdb,) = of_kind(docs, "PodDisruptionBudget")
    assert selects(pdb["spec"]["selector"], pods) and pdb["spec"]["maxUnavailable"] == 1
    pod_monitor_values = sharded(serviceMonitor={"enabled": False}, podMonitor={"enabled": True})
    pod_docs = render(pod_monitor_values)
    (pod_monitor,) = of_kind(pod_docs, "PodMonitor")
    assert selects(pod_monitor["spec"]["selector"], pod_labels(pod_docs))
    plain = of_kind(render({"serviceMonitor": {"enabled": True}}), "ServiceMonitor")[0]
    assert "matchExpressions" not in plain["spec"]["selector"], "unsharded: as before"


def test_defaults_keep_the_deployment() -> None:
    docs = render()
    assert of_kind(docs, "Deployment") and not of_kind(docs, "StatefulSet")
    assert [s["metadata"]["name"] for s in of_kind(docs, "Service")] == [FULLNAME]
    assert "shard" not in config_text(docs)
    assert "POD_NAME" not in str(of_kind(docs, "Deployment")[0])
    assert "SHARDS" not in render_files()[NOTES]


def test_a_collector_that_sets_shard_itself_is_refused() -> None:
    collector = {**SHARDED["config"]["collectors"][0], "shard": {"count": 2, "index": 0}}
    values = sharded(config={"collectors": [collector]})
    with pytest.raises(helm.HelmError, match=r"config.collectors\[0\] \(east\) sets shard"):
        render(values)


@pytest.mark.parametrize(
    "sharding",
    [{"enabled": True, "replicas": 0}, {"enabled": "yes"}, {"enabled": True, "count": 3}],
)
def test_values_schema_refuses_a_bad_sharding(sharding: dict[str, Any]) -> None:
    with pytest.raises(helm.HelmValuesError, match="sharding"):
        render({"sharding": sharding})


def test_notes_name_the_shards_and_the_shard_alert() -> None:
    text = render_files(SHARDED)[NOTES]
    section = text.split("\nSHARDS\n", 1)[1].split("\n\n", 1)[0]
    assert f"StatefulSet {NAMESPACE}/{FULLNAME} runs 3 shard(s)" in section
    assert f"({FULLNAME}-0) only" in section
    assert f"http://{FULLNAME}-<i>.{FULLNAME}-headless.{NAMESPACE}.svc:9876/metrics" in section
    assert f"kubectl -n {NAMESPACE} port-forward pod/{FULLNAME}-0 9876:9876" in section
    alert = 'count by (job, collector) (kafka_health_exporter_shard_info{shard_count="3"}) < 3'
    assert alert in section
    assert "not kubectl scale" in section
