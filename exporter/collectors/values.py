"""Numbers out of loosely typed values (JSON from CloudMonitor, attribute values from JMX)."""

from __future__ import annotations


def as_number(value: object, *, bool_is_number: bool) -> float | None:
    """`value` as a float: ints, floats and numeric strings; None for anything else.

    `bool_is_number`: True/False count as 1.0/0.0 (a boolean JMX attribute is a fine gauge);
    otherwise they are not numbers (a JSON `true` is no CloudMonitor value).
    """
    if isinstance(value, bool):
        return float(value) if bool_is_number else None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None
