"""Prometheus text (0.0.4) and OpenMetrics rendering of metric families, one family at a time.

Output is byte-identical to prometheus_client's `generate_latest` (and, with the OpenMetrics
headers, to its OpenMetrics writer) for the same families. Rendering per family lets the exposition
merge families of several collectors without re-rendering them.

Our own `Family` (row storage) takes a fast path: each distinct label value is escaped once into a
`name="value"` fragment shared by every family of the refresh, each distinct row's label block
(`{a="x",b="y"}`, names sorted) is built once and shared by the families with the same labels,
and each line is the family name, the block and the value. A collector's refresh loop keeps the
blocks of its last rendering (`KeptBlocks`) so the next one builds blocks only for new rows; rows
gone from the new rendering are dropped with it. Other `Metric`s (process metrics, foreign
collectors) go through a general path with the same output rules.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from operator import getitem

from prometheus_client.core import Metric
from prometheus_client.samples import Sample
from prometheus_client.utils import floatToGoString

from exporter.collectors.families import Family

_TEXT_TYPES = {
    "counter": "counter",
    "gauge": "gauge",
    "summary": "summary",
    "histogram": "histogram",
    "gaugehistogram": "histogram",
    "stateset": "gauge",
    "info": "gauge",
}
_BATCH = 4096
"""Lines rendered per batch before encoding."""
_TEXT_SEPARATE = ("_created", "_gsum", "_gcount")
"""Samples the text format moves into gauge families of their own after the family."""


@dataclass(frozen=True)
class RenderedFamily:
    """One family as text: its exposed name, headers and sample lines.

    `samples` serves both formats unless `om_samples` is set (timestamps and `_created` samples
    are written differently in OpenMetrics).
    """

    name: str
    header: bytes
    samples: bytes
    om_header: bytes = b""
    om_samples: bytes | None = None

    def __len__(self) -> int:
        return len(self.header) + len(self.samples)


class _Fragments(dict[str, str]):
    """`value -> name="escaped value"` for one label name, filled on first use."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name

    def __missing__(self, value: str) -> str:
        text = f'{self.name}="{_escape_label(value)}"'
        self[value] = text
        return text


Fragments = dict[str, _Fragments]
"""Label name -> fragment cache, shared by the families of one rendering."""
Blocks = dict[tuple[str, tuple[str, ...]], dict[tuple[str, ...], str]]
"""(block template, row label names) -> (row -> label block), shared by the families of one
rendering (the names are part of the key: `{0}` alone would mix `cluster` and `collector`)."""


class KeptBlocks:
    """The label blocks of one collector's last rendering, reused by its next one.

    Owned by one refresh loop (renderings of one collector never overlap). It holds only the rows
    of the last rendering: each rendering starts an empty `Blocks`, takes the blocks it needs from
    the kept one, and replaces it when it has finished.
    """

    def __init__(self) -> None:
        self.blocks: Blocks = {}

    def __len__(self) -> int:
        return sum(len(rows) for rows in self.blocks.values())


def _escape_help(text: str) -> str:
    return text.replace("\\", r"\\").replace("\n", r"\n")


def _escape_label(text: str) -> str:
    if "\\" in text or "\n" in text or '"' in text:
        return text.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")
    return text


def value_text(value: float) -> str:
    """`floatToGoString`, with shortcuts for the common integers and floats (same output)."""
    if type(value) is int:
        if -1_000_000_000_000_000 < value < 1_000_000:
            return f"{value}.0"
        if 0 < value < 1_000_000_000_000_000:
            # repr(float) has 7+ digits before the point: prometheus_client writes d.ddde+0N.
            digits = str(value)
            return f"{(digits[0] + '.' + digits[1:]).rstrip('0.')}e+0{len(digits) - 1}"
    elif type(value) is float and -1e300 < value < 1_000_000:
        return repr(value)
    return floatToGoString(value)


def _headers(metric: Metric) -> tuple[str, bytes, bytes]:
    name, kind = metric.name, metric.type
    if kind == "counter":
        name += "_total"
    elif kind == "info":
        name += "_info"
    text_type = _TEXT_TYPES.get(kind, "untyped")
    header = f"# HELP {name} {_escape_help(metric.documentation)}\n# TYPE {name} {text_type}\n"
    om = f"# HELP {metric.name} {_escape_label(metric.documentation)}\n"
    om += f"# TYPE {metric.name} {metric.type}\n"
    if metric.unit:
        om += f"# UNIT {metric.name} {metric.unit}\n"
    return name, header.encode(), om.encode()


def _block_template(family: Family, fragments: Fragments) -> tuple[str, list[_Fragments]]:
    """`str.format` template of one row's label block (`{a="x",b="y"}`, label values as
    {0}..{n-1}, names sorted) and the fragment caches of the row positions."""
    names = family.label_names
    width = len(family.spec.labels)
    parts = []
    for index in sorted(range(len(names)), key=names.__getitem__):
        if index < width:
            parts.append(f"{{{index}}}")
        else:
            const = f'{names[index]}="{_escape_label(family.const_values[index - width])}"'
            parts.append(const.replace("{", "{{").replace("}", "}}"))
    caches = [fragments.setdefault(n, _Fragments(n)) for n in names[:width]]
    return ("{{" + ",".join(parts) + "}}" if parts else ""), caches


def _family_lines(
    family: Family, fragments: Fragments, blocks: Blocks, kept: Blocks | None = None
) -> bytes:
    """Sample lines, encoded batch by batch so no list of every line's string is ever alive.

    Each row's label block is built once per rendering and shared by the families with the same
    labels (lag, committed offset and lag in seconds of one group-partition); a block of the
    previous rendering (`kept`) is taken as it is."""
    template, caches = _block_template(family, fragments)
    key = (template, family.label_names[: len(family.spec.labels)])
    known = blocks.setdefault(key, {})
    previous = kept.get(key, {}) if kept is not None else {}
    block = template.format
    prefix = family.sample_name
    rows, values = family.rows, family.values
    encoded = []
    for start in range(0, len(values), _BATCH):
        texts = []
        batch = zip(rows[start : start + _BATCH], values[start : start + _BATCH], strict=True)
        for row, value in batch:
            labels = known.get(row)
            if labels is None:
                labels = previous.get(row)
                if labels is None:
                    labels = block(*map(getitem, caches, row))
                known[row] = labels
            if type(value) is int and -1_000_000_000_000_000 < value < 1_000_000:
                texts.append(f"{prefix}{labels} {value}.0\n")  # value_text's first case, inline
            else:
                texts.append(f"{prefix}{labels} {value_text(value)}\n")
        encoded.append("".join(texts).encode())
    return b"".join(encoded)


def _label_text(sample: Sample) -> str:
    if not sample.labels:
        return ""
    items = sorted(sample.labels.items())
    return "{" + ",".join(f'{k}="{_escape_label(v)}"' for k, v in items) + "}"


def _text_line(sample: Sample) -> str:
    line = f"{sample.name}{_label_text(sample)} {floatToGoString(sample.value)}"
    if sample.timestamp is not None:
        line += f" {int(float(sample.timestamp) * 1000):d}"
    return line + "\n"


def _om_line(sample: Sample) -> str:
    value = "" if sample.value is None else floatToGoString(sample.value)
    timestamp = "" if sample.timestamp is None else f" {sample.timestamp}"
    return f"{sample.name}{_label_text(sample)} {value}{timestamp}\n"


def _general_lines(metric: Metric) -> tuple[str, str | None]:
    """Text lines (separated `_created`-style families included) and, if different, OM lines."""
    samples = list(metric.samples)
    lines: list[str] = []
    separate: dict[str, list[str]] = {}
    for sample in samples:
        suffix = next((s for s in _TEXT_SEPARATE if sample.name == metric.name + s), None)
        if suffix is None:
            lines.append(_text_line(sample))
        else:
            separate.setdefault(suffix, []).append(_text_line(sample))
    for suffix, extra in sorted(separate.items()):
        name = metric.name + suffix
        lines.append(f"# HELP {name} {_escape_help(metric.documentation)}\n")
        lines.append(f"# TYPE {name} gauge\n")
        lines.extend(extra)
    text = "".join(lines)
    if not separate and all(s.timestamp is None for s in samples):
        return text, None
    return text, "".join(_om_line(s) for s in samples)


def render_family(
    metric: Metric,
    fragments: Fragments | None = None,
    blocks: Blocks | None = None,
    kept: Blocks | None = None,
) -> RenderedFamily:
    """Render one family like `generate_latest` does (and keep its OpenMetrics headers);
    row label blocks come from `blocks` (this rendering's), then `kept` (the last one's)."""
    name, header, om_header = _headers(metric)
    if isinstance(metric, Family):
        lines = _family_lines(
            metric,
            fragments if fragments is not None else {},
            blocks if blocks is not None else {},
            kept,
        )
        return RenderedFamily(name, header, lines, om_header)
    text, om = _general_lines(metric)
    om_bytes = None if om is None else om.encode()
    return RenderedFamily(name, header, text.encode(), om_header, om_bytes)


def render_families(
    metrics: Iterable[Metric], kept: KeptBlocks | None = None
) -> tuple[RenderedFamily, ...]:
    """Render every family; label fragments and blocks are shared between them. With `kept`,
    blocks of its last rendering are reused, and it keeps this rendering's blocks when done."""
    fragments: Fragments = {}
    blocks: Blocks = {}
    previous = kept.blocks if kept is not None else None
    rendered = tuple(render_family(m, fragments, blocks, previous) for m in metrics)
    if kept is not None:
        kept.blocks = blocks
    return rendered


def family_chunks(
    groups: Iterable[Iterable[RenderedFamily]], openmetrics: bool = False
) -> list[bytes]:
    """The page of several collectors' families as chunks (no copy), each family name once
    (first header wins). With `openmetrics`, OpenMetrics headers and samples (the caller adds
    `# EOF`)."""
    merged: dict[str, list[bytes]] = {}
    for families in groups:
        for family in families:
            samples = family.samples
            if openmetrics and family.om_samples is not None:
                samples = family.om_samples
            chunks = merged.get(family.name)
            if chunks is None:
                merged[family.name] = [family.om_header if openmetrics else family.header, samples]
            else:
                chunks.append(samples)
    return [chunk for chunks in merged.values() for chunk in chunks]


def join_families(groups: Iterable[Iterable[RenderedFamily]], openmetrics: bool = False) -> bytes:
    """`family_chunks` joined into one text."""
    return b"".join(family_chunks(groups, openmetrics))
