"""The JSON name of a decoded value's type (YAML decodes to the same kinds), for messages."""

from __future__ import annotations


def json_type(value: object) -> str:
    """object, array, string, number, boolean or null; another type's Python name."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__
