"""The chart README: its values table lists every value of values.yaml with its default (and
nothing else), and its migration table covers every top-level value of
prometheus-community/prometheus-kafka-exporter 3.1.1 and names only values this chart has."""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

from tests.support.chart_render import CHART, ROOT
from tests.support.peer_chart import THEIR_VALUES

README = CHART / "README.md"
# Values documented as a whole (Kubernetes structures, free-form YAML), not key by key.
WHOLE = {
    "podSecurityContext", "securityContext", "livenessProbe", "readinessProbe",
    "hpaDefaults.behavior", "grafanaDashboard.labels",
}  # fmt: skip


def flatten(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Dotted key -> value: every leaf, empty mapping, list and WHOLE value."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and value and dotted not in WHOLE:
            out.update(flatten(value, dotted + "."))
        else:
            out[dotted] = value
    return out


def cells(line: str) -> list[str]:
    """The cells of a Markdown table row (`\\|` inside a cell is a literal bar)."""
    parts = re.split(r"(?<!\\)\|", line.strip())[1:-1]
    return [p.strip().replace("\\|", "|") for p in parts]


def table_after(heading: str) -> list[list[str]]:
    """Rows (header and separator dropped) of the first table after `heading`."""
    text = README.read_text().split(heading, 1)[1]
    lines = [line for line in text.splitlines() if line.startswith("|")]
    rows: list[list[str]] = []
    for line in lines[2:]:
        rows.append(cells(line))
        if text.split(line, 1)[1].startswith("\n\n"):
            break
    return rows


def values_rows() -> dict[str, tuple[str, str]]:
    text = README.read_text()
    table = text.split("<!-- values-table:start -->", 1)[1].split("<!-- values-table:end -->")[0]
    rows: dict[str, tuple[str, str]] = {}
    for line in table.strip().splitlines()[2:]:
        key, default, meaning = cells(line)
        assert key.startswith("`") and key.endswith("`"), line
        assert key[1:-1] not in rows, f"{key} twice"
        rows[key[1:-1]] = (default, meaning)
    return rows


def our_values() -> dict[str, Any]:
    return flatten(yaml.safe_load((CHART / "values.yaml").read_text()))


def test_values_table_has_every_value_with_its_default() -> None:
    values, rows = our_values(), values_rows()
    assert set(rows) == set(values), (
        f"not in the README: {sorted(set(values) - set(rows))}; "
        f"not in values.yaml: {sorted(set(rows) - set(values))}"
    )
    assert list(rows) == list(values), "the table follows values.yaml's order"
    for key, (default, meaning) in rows.items():
        assert default.startswith("`") and default.endswith("`"), key
        assert json.loads(default[1:-1]) == values[key], f"{key}: README says {default}"
        assert len(meaning) > 8, key


def test_the_table_parser_notices_a_missing_or_wrong_row() -> None:
    values = our_values()
    assert "serviceMonitor.scheme" in values and "podMonitor.enabled" in values
    wrong = cells("| `port` | `9308` | container port |")
    assert json.loads(wrong[1][1:-1]) != values["port"]
    assert cells('| `a` | `"STOP\\|ERR"` | x |') == ["`a`", '`"STOP|ERR"`', "x"]


def test_migration_table_covers_prometheus_kafka_exporter() -> None:
    rows = table_after("## Migrating from prometheus-community/prometheus-kafka-exporter")
    theirs = " ".join(r[0] for r in rows)
    named = {m.split(".")[0].split(":")[0] for m in re.findall(r"`([A-Za-z][\w.]*)", theirs)}
    assert named >= THEIR_VALUES, f"not mapped: {sorted(THEIR_VALUES - named)}"
    ours = our_values()
    top = {k.split(".")[0] for k in ours}
    for _, here in rows:
        for token in re.findall(r"`([A-Za-z][\w]*(?:\.[\w*]+)*)", here):
            if token.split(".")[0] not in top or token.endswith(".*"):
                continue
            assert token in ours or any(k.startswith(token + ".") for k in ours), token
    text = README.read_text()
    for needed in (
        "9308",
        "exporter-port",
        "9876",
        "`http`",
        "podAnnotations",
        "podSecurityContext",
    ):
        assert needed in text, needed


def test_readmes_say_the_image_must_be_built_and_pushed() -> None:
    assert "No public registry hosts the image yet: build it and push it" in README.read_text()
    assert "No public registry hosts the image yet" in (ROOT / "README.md").read_text()
