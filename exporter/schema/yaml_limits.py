"""A bounded YAML loader for config files: PyYAML's SafeLoader with limits on size, nesting depth
and alias expansion, duplicate keys rejected, and syntax errors described without the snippet of
the offending line (which may hold a secret).

The limits keep a hostile or broken file from freezing or exhausting the daemon on reload: an
"alias bomb" (nine lines of `x: &x [*w, *w, ...]`) composes to a small graph that expands to
billions of nodes once walked; a 100,000-deep `[[[...]]]` overflows the recursive composer.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

MAX_DOCUMENT_BYTES = 4 * 1024 * 1024
"""A config or web config file larger than this (4 MiB) is rejected unread."""
MAX_DEPTH = 64
"""Deepest nesting of mappings and sequences."""
MAX_NODES = 100_000
"""Most nodes of the document once every alias is expanded (what `*alias` copies count)."""
MAX_ALIASES = 10_000
"""Most `*alias` references in one document."""
_MERGE_TAG = "tag:yaml.org,2002:merge"


class YamlLimitError(Exception):
    """The document exceeds a limit or is malformed in a way PyYAML accepts (duplicate keys)."""


def _line(node: Node) -> int:
    return node.start_mark.line + 1


class LimitedLoader(yaml.SafeLoader):
    """SafeLoader that counts depth and aliases while composing and rejects duplicate keys."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._aliases = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise YamlLimitError(f"more than {MAX_ALIASES} aliases (*name references)")
            return super().compose_node(parent, index)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                line = self.peek_event().start_mark.line + 1
                raise YamlLimitError(f"nested deeper than {MAX_DEPTH} levels (line {line})")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG or not isinstance(key_node, ScalarNode):
                continue
            key = self.construct_object(key_node)
            try:
                first = seen.get(key)
            except TypeError:  # unhashable: SafeConstructor reports it
                continue
            if first is not None:
                raise YamlLimitError(
                    f"duplicate key {key!r} (line {_line(key_node)}, first at line {first})"
                )
            seen[key] = _line(key_node)
        return super().construct_mapping(node, deep)


def _check_expansion(root: Node) -> None:
    """Raise unless the node graph expands to at most MAX_NODES nodes and has no cycle."""
    sizes: dict[int, int] = {}
    active: set[int] = set()
    # Iterative post-order walk, so a deep graph cannot overflow Python's stack.
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        children: list[Node] = []
        if isinstance(node, SequenceNode):
            children = list(node.value)
        elif isinstance(node, MappingNode):
            children = [n for pair in node.value for n in pair]
        if done:
            active.discard(key)
            sizes[key] = 1 + sum(sizes[id(c)] for c in children)
            if sizes[key] > MAX_NODES:
                raise YamlLimitError(
                    f"expands to more than {MAX_NODES} nodes through aliases (an alias bomb?)"
                )
            continue
        if key in sizes:
            continue
        if key in active:
            raise YamlLimitError(f"an alias refers to a node that contains it (line {_line(node)})")
        active.add(key)
        stack.append((node, True))
        for child in children:
            if id(child) in active:
                raise YamlLimitError(
                    f"an alias refers to a node that contains it (line {_line(child)})"
                )
            if id(child) not in sizes:
                stack.append((child, False))


def describe_yaml_error(exc: yaml.YAMLError) -> str:
    """PyYAML's finding with line and column but without its snippet of the source line."""
    if isinstance(exc, yaml.reader.ReaderError):
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        return f"unacceptable character #x{code:04x} at position {exc.position}"
    if not isinstance(exc, yaml.MarkedYAMLError):
        return type(exc).__name__
    parts = []
    if exc.context:
        where = f" (line {exc.context_mark.line + 1})" if exc.context_mark else ""
        parts.append(f"{exc.context}{where}")
    if exc.problem:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        parts.append(f"{exc.problem}{where}")
    return "; ".join(parts) or type(exc).__name__


def safe_load_limited(text: str) -> Any:
    """Parse one YAML document within the limits; YamlLimitError or yaml.YAMLError otherwise."""
    if len(text) > MAX_DOCUMENT_BYTES:
        raise YamlLimitError(f"larger than {MAX_DOCUMENT_BYTES // (1024 * 1024)} MiB")
    loader = LimitedLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_expansion(node)
        return loader.construct_document(node)
    finally:
        loader.dispose()
