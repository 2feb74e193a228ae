"""Prometheus text (0.0.4) and OpenMetrics rendering of metric families, one family at a time.

Output is byte-identical to prometheus_client's `generate_latest` (and, with the OpenMetrics
headers, to its OpenMetrics writer) for the same families. Rendering per family lets the exposition
merge families of several collectors without re-rendering them.

Our own `Family` (row storage) takes a fast path: each distinct label value is escaped once into a
`name="value"` fragment shared by every family of the refresh, each distinct row's label block
(`{a="x",b="y"}`, names sorted) is built once and shared by the families with the same labels,
and each line is the family name, the block and the value. A collector's refresh loop keeps the
blocks of its last rendering (`KeptBlocks`) so the next one builds blocks only for new rows; rows
gone from the new rendering are dropped with it. It keeps each family's text too, in batches of
`BATCH` rows: a batch whose label blocks and values are those of the last rendering is not
written again, its bytes are reused (the same object, so the page's gzip reuses its compressed
piece too). Other `Metric`s (process metrics, foreign collectors) go through a general path with
the same output rules.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Sequence
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
BATCH = 1024
"""Rows per batch: lines are encoded a batch at a time, and a batch is the unit of reuse."""
_TEXT_SEPARATE = ("_created", "_gsum", "_gcount")
"""Samples the text format moves into gauge families of their own after the family."""


@dataclass(frozen=True)
class RenderedFamily:
    """One family as text: its exposed name, headers and sample lines.

    `sample_chunks` (the lines, a batch of rows each) serve both formats unless `om_samples` is
    set (timestamps and `_created` samples are written differently in OpenMetrics).
    """

    name: str
    header: bytes
    sample_chunks: tuple[bytes, ...]
    om_header: bytes = b""
    om_samples: bytes | None = None

    @property
    def samples(self) -> bytes:
        """The sample lines as one text (a copy: the page uses `sample_chunks`)."""
        return b"".join(self.sample_chunks)

    def __len__(self) -> int:
        return len(self.header) + sum(map(len, self.sample_chunks))


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


@dataclass(frozen=True)
class _Batch:
    """One batch of a family's lines as rendered: its rows' label blocks, its values packed as
    doubles (bit for bit: 0.0 and -0.0 differ, as their text does) and its text. The blocks are
    a tuple: a tuple of strings drops out of the garbage collector's sight, where a list is
    walked on every full collection (a quarter of a million entries at 50,000 series)."""

    labels: tuple[str, ...]
    values: bytes
    text: bytes


Batches = dict[tuple[str, str, tuple[str, ...]], list[_Batch]]
"""(sample name, block template, row label names) -> the family's batches, in order."""


class KeptBlocks:
    """The label blocks and family texts of one collector's last rendering, reused by its next.

    Owned by one refresh loop (renderings of one collector never overlap). It holds only the rows
    of the last rendering: each rendering fills an empty one of its own, taking what it can from
    the kept one, and the kept one takes its content when it has finished.
    """

    def __init__(self) -> None:
        self.blocks: Blocks = {}
        self.batches: Batches = {}

    def __len__(self) -> int:
        return sum(len(rows) for rows in self.blocks.values())


def _escape_help(text: str) -> str:
    return text.replace("\\", r"\\").replace("\n", r"\n")


def _escape_label(text: str) -> str:
    if "\\" in text or "\n" in text or '"' in text:
        return text.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")
    return text


_EXPONENT = "0{}" if floatToGoString(1.0e10) == "1e+010" else "{:02d}"
"""How the installed prometheus_client writes the exponent of a large number."""


def value_text(value: float) -> str:
    """`floatToGoString`, with shortcuts for the common integers and floats (same output)."""
    if type(value) is int:
        if -1_000_000_000_000_000 < value < 1_000_000:
            return f"{value}.0"
        if 0 < value < 1_000_000_000_000_000:
            # repr(float) has 7+ digits before the point: prometheus_client writes d.ddde+NN
            # (d.ddde+0N before 0.21: `_EXPONENT` is the installed one's way).
            digits = str(value)
            mantissa = (digits[0] + "." + digits[1:]).rstrip("0.")
            return f"{mantissa}e+{_EXPONENT.format(len(digits) - 1)}"
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
    family: Family, fragments: Fragments, current: KeptBlocks, kept: KeptBlocks | None = None
) -> tuple[bytes, ...]:
    """Sample lines, one chunk per batch of `BATCH` rows, so no list of every line's string is
    ever alive.

    Each row's label block is built once per rendering and shared by the families with the same
    labels (lag, committed offset and lag in seconds of one group-partition): this rendering's
    blocks and batches go into `current`. A block of the previous rendering (`kept`) is taken as
    it is, and a batch whose blocks and values equal the same batch of it is that batch's text,
    not rewritten.
    """
    template, caches = _block_template(family, fragments)
    key = (template, family.label_names[: len(family.spec.labels)])
    known = current.blocks.setdefault(key, {})
    previous = kept.blocks.get(key, {}) if kept is not None else {}
    text_key = (family.sample_name, *key)
    old_batches = kept.batches.get(text_key, []) if kept is not None else []
    new_batches: list[_Batch] = []
    if text_key not in current.batches:  # a second family of that name: not kept
        current.batches[text_key] = new_batches
    block = template.format
    prefix = family.sample_name
    rows, values = family.rows, family.values
    chunks = []
    for index, start in enumerate(range(0, len(values), BATCH)):
        labels_list = []
        for row in rows[start : start + BATCH]:
            labels = known.get(row)
            if labels is None:
                labels = previous.get(row)
                if labels is None:
                    labels = block(*map(getitem, caches, row))
                known[row] = labels
            labels_list.append(labels)
        labels_of = tuple(labels_list)
        batch_values = values[start : start + BATCH]
        packed = array("d", batch_values).tobytes()
        old = old_batches[index] if index < len(old_batches) else None
        if old is not None and old.values == packed and old.labels == labels_of:
            text = old.text
        else:
            text = _lines(prefix, labels_of, batch_values)
        new_batches.append(_Batch(labels_of, packed, text))
        chunks.append(text)
    return tuple(chunks)


def _lines(prefix: str, labels_of: Sequence[str], values: list[float]) -> bytes:
    """The encoded lines of one batch."""
    texts = []
    for labels, value in zip(labels_of, values, strict=True):
        if type(value) is int and -1_000_000_000_000_000 < value < 1_000_000:
            texts.append(f"{prefix}{labels} {value}.0\n")  # value_text's first case, inline
        else:
            texts.append(f"{prefix}{labels} {value_text(value)}\n")
    return "".join(texts).encode()


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
    current: KeptBlocks | None = None,
    kept: KeptBlocks | None = None,
) -> RenderedFamily:
    """Render one family like `generate_latest` does (and keep its OpenMetrics headers);
    row label blocks come from `current` (this rendering's), then `kept` (the last one's), whose
    unchanged batches of lines are reused; this rendering's batches go into `current`."""
    name, header, om_header = _headers(metric)
    if isinstance(metric, Family):
        lines = _family_lines(
            metric,
            fragments if fragments is not None else {},
            current if current is not None else KeptBlocks(),
            kept,
        )
        return RenderedFamily(name, header, lines, om_header)
    text, om = _general_lines(metric)
    om_bytes = None if om is None else om.encode()
    return RenderedFamily(name, header, (text.encode(),), om_header, om_bytes)


def render_families(
    metrics: Iterable[Metric], kept: KeptBlocks | None = None
) -> tuple[RenderedFamily, ...]:
    """Render every family; label fragments and blocks are shared between them. With `kept`,
    blocks and unchanged batches of its last rendering are reused, and it keeps this
    rendering's when done."""
    fragments: Fragments = {}
    current = KeptBlocks()
    rendered = tuple(render_family(m, fragments, current, kept) for m in metrics)
    if kept is not None:
        kept.blocks, kept.batches = current.blocks, current.batches
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
            samples: tuple[bytes, ...] = family.sample_chunks
            if openmetrics and family.om_samples is not None:
                samples = (family.om_samples,)
            chunks = merged.get(family.name)
            if chunks is None:
                merged[family.name] = [family.om_header if openmetrics else family.header]
                merged[family.name].extend(samples)
            else:
                chunks.extend(samples)
    return [chunk for chunks in merged.values() for chunk in chunks]


def join_families(groups: Iterable[Iterable[RenderedFamily]], openmetrics: bool = False) -> bytes:
    """`family_chunks` joined into one text."""
    return b"".join(family_chunks(groups, openmetrics))
