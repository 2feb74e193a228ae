"""Prometheus text format (0.0.4) rendering of metric families, one family at a time.

Output is byte-identical to prometheus_client's `generate_latest` for the same families; rendering
per family lets the exposition merge families of several collectors without re-rendering them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from prometheus_client.core import Metric
from prometheus_client.utils import floatToGoString

_TYPE_NAMES = {
    "counter": "counter",
    "gauge": "gauge",
    "summary": "summary",
    "histogram": "histogram",
    "gaugehistogram": "histogram",
    "stateset": "gauge",
    "info": "gauge",
}


@dataclass(frozen=True)
class RenderedFamily:
    """One family as text: its exposed name, HELP/TYPE header and sample lines."""

    name: str
    header: bytes
    samples: bytes


def _escape_help(text: str) -> str:
    return text.replace("\\", r"\\").replace("\n", r"\n")


def _escape_label(text: str) -> str:
    return text.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def render_family(metric: Metric) -> RenderedFamily:
    """Render one family like `generate_latest` does."""
    name, kind = metric.name, metric.type
    if kind == "counter":
        name += "_total"
    elif kind == "info":
        name += "_info"
    header = f"# HELP {name} {_escape_help(metric.documentation)}\n"
    header += f"# TYPE {name} {_TYPE_NAMES.get(kind, 'untyped')}\n"
    lines = []
    for sample in metric.samples:
        if sample.name.endswith("_created"):
            continue
        if sample.labels:
            labels = ",".join(f'{k}="{_escape_label(v)}"' for k, v in sample.labels.items())
            line = f"{sample.name}{{{labels}}} {floatToGoString(sample.value)}"
        else:
            line = f"{sample.name} {floatToGoString(sample.value)}"
        if sample.timestamp is not None:
            line += f" {int(float(sample.timestamp) * 1000):d}"
        lines.append(line + "\n")
    return RenderedFamily(name, header.encode(), "".join(lines).encode())


def render_families(metrics: Iterable[Metric]) -> tuple[RenderedFamily, ...]:
    """Render every family."""
    return tuple(render_family(m) for m in metrics)


def join_families(groups: Iterable[Iterable[RenderedFamily]]) -> bytes:
    """Text of several collectors' families, each family name once (first header wins)."""
    merged: dict[str, list[bytes]] = {}
    for families in groups:
        for family in families:
            chunks = merged.get(family.name)
            if chunks is None:
                merged[family.name] = [family.header, family.samples]
            else:
                chunks.append(family.samples)
    return b"".join(chunk for chunks in merged.values() for chunk in chunks)
