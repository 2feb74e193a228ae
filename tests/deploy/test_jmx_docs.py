"""The README's `jmx` section is usable as written: its config parses, its pod spec is a valid
Kubernetes object whose probe, ports and JMX flags agree with the sidecar's config, and its alert
rule passes promtool."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import yaml

from exporter.collectors.jmx.config import JmxConfig
from exporter.config.loader import parse_config
from tests.support.exporter_process import ROOT


def _section() -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index("<!-- section: collector-jmx -->")
    return text[start : text.index("\n## ", start)]


def _yaml_blocks() -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", _section(), re.S)


def test_config_snippet_parses() -> None:
    entry = parse_config("collectors:\n" + _yaml_blocks()[0], "README.md", {}).collectors[0]
    assert isinstance(entry, JmxConfig)
    assert (entry.port, entry.interval, entry.health, entry.username) == (5555, 15.0, True, None)
    assert [bean.name for bean in entry.beans] == ["orders_heap_used_bytes"]


def test_pod_spec_is_valid_and_consistent() -> None:
    docs: list[dict[str, Any]] = list(yaml.safe_load_all(_yaml_blocks()[1]))
    for doc in docs:
        kubernetes_validate.validate(doc, "1.30.0", strict=True)
    config_map, deployment = docs
    config = parse_config(config_map["data"]["config.yaml"], "configmap", {})
    (collector,) = config.collectors
    assert isinstance(collector, JmxConfig)
    app, sidecar = deployment["spec"]["template"]["spec"]["containers"]

    probe = app["livenessProbe"]["httpGet"]
    assert probe["path"] == f"/health?collector={collector.name}"
    assert sidecar["ports"][0]["containerPort"] == probe["port"]
    assert config.server.listen.endswith(f":{probe['port']}")
    flags = next(e["value"] for e in app["env"] if e["name"] == "JAVA_TOOL_OPTIONS").split()
    assert f"-Dcom.sun.management.jmxremote.port={collector.port}" in flags
    assert "-Dcom.sun.management.jmxremote.host=127.0.0.1" in flags
    assert not any(e["name"] == "JAVA_TOOL_OPTIONS" for e in sidecar.get("env", []))
    mount = sidecar["volumeMounts"][0]["mountPath"]
    assert sidecar["args"] == ["run", "-c", f"{mount}/config.yaml"]


def test_alert_rule_passes_promtool(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(_yaml_blocks()[2])
    promtool = shutil.which("promtool")
    assert promtool, "promtool is needed (Debian package prometheus; .ci/run installs it)"
    done = subprocess.run(
        [promtool, "check", "rules", str(rules)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "kafka_streams_alive" in rules.read_text()
