"""The check-config init container: the rendered config is checked before the exporter starts, so
a typo inside `config:` stops the rollout with check-config's message instead of crash-looping the
exporter. The real path: the init container's own command, run on the ConfigMap the chart renders."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.chart_render import ROOT, Doc, of_kind, render

ENTRYPOINT = Path(sys.executable).parent / "kafka-health-exporter"
TYPO_COLLECTOR = {
    "name": "kafka", "type": "kafka", "bootstrap_server": "kafka:9092", "cluster": "kafka",
}  # fmt: skip


def pod_spec(docs: list[Doc]) -> Doc:
    """The pod spec of the Deployment, or of the StatefulSet with sharding."""
    (workload,) = of_kind(docs, "Deployment") + of_kind(docs, "StatefulSet")
    spec: Doc = workload["spec"]["template"]["spec"]
    return spec


def containers(docs: list[Doc]) -> tuple[Doc, Doc]:
    """The check-config init container and the exporter container."""
    pod = pod_spec(docs)
    check = pod["initContainers"][-1]
    exporter = next(c for c in pod["containers"] if c["name"] == "kafka-health-exporter")
    return check, exporter


def image_entrypoint() -> list[str]:
    """The Dockerfile's ENTRYPOINT (what runs the init container's args)."""
    found = re.search(r"^ENTRYPOINT (\[.*\])$", (ROOT / "Dockerfile").read_text(), re.MULTILINE)
    assert found
    entry: list[str] = json.loads(found.group(1))
    return entry


def run_init_container(values: dict[str, Any], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Render `values`, write the ConfigMap's config where the init container reads it (a temp
    dir stands in for the mount) and run the init container's args with its env."""
    docs = render(values)
    check, _ = containers(docs)
    pod = pod_spec(docs)
    (configmap,) = [d for d in of_kind(docs, "ConfigMap") if "config.yaml" in d["data"]]
    (volume,) = [v for v in pod["volumes"] if v.get("configMap", {}).get("name")]
    assert volume["configMap"]["name"] == configmap["metadata"]["name"]
    (mount,) = [m for m in check["volumeMounts"] if m["name"] == volume["name"]]
    in_pod = f"{mount['mountPath']}/config.yaml"
    local = tmp_path / "config.yaml"
    local.write_text(configmap["data"]["config.yaml"])
    args = [str(local) if a == in_pod else a for a in check["args"]]
    assert str(local) in args, f"check-config does not read {in_pod}: {check['args']}"
    assert "command" not in check and image_entrypoint() == [ENTRYPOINT.name]
    env = {"PATH": os.environ["PATH"]}
    env.update({e["name"]: e["value"] for e in check.get("env", []) if "value" in e})
    return subprocess.run(
        [str(ENTRYPOINT), *args], capture_output=True, text=True, env=env, timeout=60, check=False
    )


def test_init_container_checks_the_config_with_the_exporters_env_mounts_and_image() -> None:
    values = {
        "existingSecret": "kafka-credentials",
        "env": [{"name": "TZ", "value": "UTC"}],
        "extraVolumeMounts": [{"name": "kafka-ca", "mountPath": "/etc/kafka", "readOnly": True}],
        "extraVolumes": [{"name": "kafka-ca", "secret": {"secretName": "kafka-ca"}}],
        "resources": {"limits": {"memory": "128Mi"}},
        "initContainers": [{"name": "fetch-ca", "image": "busybox"}],
    }
    docs = render(values)
    check, exporter = containers(docs)
    assert [c["name"] for c in pod_spec(docs)["initContainers"]] == ["fetch-ca", "check-config"]
    assert check["name"] == "check-config"
    assert check["args"] == ["check-config", "-c", "/etc/kafka-health-exporter/config.yaml"]
    for key in ("image", "imagePullPolicy", "env", "envFrom", "volumeMounts", "resources",
                "securityContext"):  # fmt: skip
        assert check[key] == exporter[key], key
    assert set(check) == {"name", "args", "image", "imagePullPolicy", "env", "envFrom",
                          "volumeMounts", "resources", "securityContext"}  # fmt: skip


def test_sharded_pods_check_with_their_pod_name() -> None:
    check, exporter = containers(render({"sharding": {"enabled": True}}))
    assert check["env"] == exporter["env"]
    assert check["env"][0]["name"] == "POD_NAME"


@pytest.mark.parametrize(
    "extra",
    [["--web.config.file", "/etc/khe-web/web.yml"], ["--web.config.file=/etc/khe-web/web.yml"]],
)
def test_the_web_config_run_gets_is_checked_too(extra: list[str]) -> None:
    check, exporter = containers(render({"extraArgs": ["--log-level", "debug", *extra]}))
    assert check["args"][3:] == extra
    assert exporter["args"][-len(extra) :] == extra


def test_it_can_be_turned_off() -> None:
    assert "initContainers" not in pod_spec(render({"checkConfig": {"enabled": False}}))


def test_the_default_config_passes(tmp_path: Path) -> None:
    done = run_init_container({}, tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"{tmp_path / 'config.yaml'}: OK, 1 collector(s)" in done.stdout


@pytest.mark.parametrize(
    ("config", "named"),
    [
        ({"collectors": [TYPO_COLLECTOR]}, "bootstrap_server"),
        ({"defaults": {"interval": "30 seconds"}}, "30 seconds"),
    ],
    ids=["key typo", "bad interval"],
)
def test_a_typo_in_config_fails_with_its_message(
    config: dict[str, Any], named: str, tmp_path: Path
) -> None:
    done = run_init_container({"config": config}, tmp_path)
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert f"invalid config {tmp_path / 'config.yaml'}" in done.stderr
    assert named in done.stderr
