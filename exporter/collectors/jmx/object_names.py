"""JMX ObjectNames (`domain:key=value,...`): their parts, and a canonical form to compare them."""

from __future__ import annotations

_ESCAPES = {"n": "\n", "\\": "\\", '"': '"', "*": "*", "?": "?"}
"""What a backslash escape in a quoted value stands for."""


def parse_object_name(name: str) -> tuple[str, dict[str, str]]:
    """Domain and key properties of an object name; quoted values are unquoted."""
    domain, _, rest = name.partition(":")
    props: dict[str, str] = {}
    i = 0
    while i < len(rest):
        eq = rest.find("=", i)
        if eq < 0:
            break
        key = rest[i:eq]
        j = eq + 1
        if j < len(rest) and rest[j] == '"':
            value, j = _unquote(rest, j + 1)
        else:
            end = rest.find(",", j)
            end = len(rest) if end < 0 else end
            value, j = rest[j:end], end
        props[key] = value
        i = j + 1  # skip the comma
    return domain, props


def _unquote(text: str, i: int) -> tuple[str, int]:
    """The quoted value starting at `i` (after its opening quote), and the index after it."""
    out = []
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            out.append(_ESCAPES.get(text[i + 1], text[i + 1]))
            i += 2
            continue
        if char == '"':
            return "".join(out), i + 1
        out.append(char)
        i += 1
    return "".join(out), i


def canonical_name(name: str) -> str:
    """Object name with its keys sorted, to match configured names against reported ones."""
    domain, props = parse_object_name(name)
    return domain + ":" + ",".join(f"{k}={v}" for k, v in sorted(props.items()))
