"""Render the Helm chart offline with helm-python-sdk, for the chart, rules and dashboard tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import helm_python as helm
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "kafka-health-exporter"
KUBE_VERSION = "1.30.0"
RELEASE, NAMESPACE = "khe", "monitoring"

Doc = dict[str, Any]


def ci_values_files() -> list[Path]:
    """Every values file under the chart's ci/ folder."""
    return sorted((CHART / "ci").glob("*-values.yaml"))


def load_values(path: Path) -> dict[str, Any]:
    """A values file as Helm reads it."""
    return helm.values_from_yaml(path.read_text())


def render_files(values: dict[str, Any] | None = None, **release: Any) -> dict[str, str]:
    """Template path -> rendered text, as `helm template` would produce for an install."""
    with helm.Chart.load(str(CHART)) as chart:
        return chart.render(
            values or {},
            name=release.get("name", RELEASE),
            namespace=release.get("namespace", NAMESPACE),
            is_install=True,
        )


def render(values: dict[str, Any] | None = None, **release: Any) -> list[Doc]:
    """Every rendered object (YAML-parsed; empty documents and NOTES.txt dropped)."""
    docs: list[Doc] = []
    for path, text in render_files(values, **release).items():
        if path.endswith("/NOTES.txt"):
            continue
        docs.extend(d for d in yaml.safe_load_all(text) if d)
    return docs


def of_kind(docs: list[Doc], kind: str) -> list[Doc]:
    """The objects of one kind."""
    return [d for d in docs if d.get("kind") == kind]


def rule_groups(values: dict[str, Any] | None = None) -> list[Doc]:
    """`spec.groups` of the rendered PrometheusRule (enabled on top of `values`)."""
    merged = {**(values or {})}
    merged["prometheusRule"] = {**merged.get("prometheusRule", {}), "enabled": True}
    (rule,) = of_kind(render(merged), "PrometheusRule")
    groups: list[Doc] = rule["spec"]["groups"]
    return groups


def write_rules_file(path: Path, values: dict[str, Any] | None = None) -> Path:
    """The PrometheusRule's groups as a plain Prometheus rules file at `path`."""
    path.write_text(yaml.safe_dump({"groups": rule_groups(values)}, sort_keys=False))
    return path
