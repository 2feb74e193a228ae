"""`web.enableLifecycle`: off by default (POST /-/reload answers 403; a config change rolls the
pods instead, and nothing the chart renders posts to /-/reload), on it adds
`--web.enable-lifecycle`. The rendered arguments are parsed by the exporter's own CLI parser."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from exporter.cli.main import build_parser
from tests.support.chart_render import CHART, Doc, load_values, of_kind, render


def pod(values: dict[str, Any]) -> Doc:
    """The Deployment's pod spec."""
    (dep,) = of_kind(render(values), "Deployment")
    spec: Doc = dep["spec"]["template"]["spec"]
    return spec


def exporter_args(values: dict[str, Any]) -> list[str]:
    """The exporter container's arguments."""
    containers = pod(values)["containers"]
    args: list[str] = next(c for c in containers if c["name"] == "kafka-health-exporter")["args"]
    return args


@pytest.mark.parametrize(("enabled", "flag"), [(None, False), (False, False), (True, True)])
def test_the_value_adds_the_flag(enabled: bool | None, flag: bool) -> None:
    values = {} if enabled is None else {"web": {"enableLifecycle": enabled}}
    args = exporter_args(values)
    assert ("--web.enable-lifecycle" in args) is flag
    parsed = build_parser().parse_args(args)
    assert parsed.command == "run" and parsed.enable_lifecycle is flag


def test_every_rendered_container_command_parses() -> None:
    """The check-config init container's and the exporter's arguments, with every value set."""
    values = load_values(CHART / "ci" / "all-features-values.yaml")
    assert values["web"] == {"enableLifecycle": True}
    spec = pod(values)
    by_name = {c["name"]: c for c in spec["containers"] + spec["initContainers"]}
    assert build_parser().parse_args(by_name["check-config"]["args"]).command == "check-config"
    assert build_parser().parse_args(by_name["kafka-health-exporter"]["args"]).enable_lifecycle


def test_nothing_rendered_posts_to_reload() -> None:
    """No reloader sidecar: a config change rolls the pods (the checksum annotation)."""
    values = load_values(CHART / "ci" / "all-features-values.yaml")
    text = yaml.safe_dump_all(render(values))
    assert "/-/reload" not in text
