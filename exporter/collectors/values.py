"""Numbers out of loosely typed values (JSON from CloudMonitor, attribute values from JMX)."""

from __future__ import annotations

import math


def as_number(value: object, *, bool_is_number: bool) -> float | None:
    """`value` as a float: ints, floats and numeric strings; None for anything else.

    `bool_is_number`: True/False count as 1.0/0.0 (a boolean JMX attribute is a fine gauge);
    otherwise they are not numbers (a JSON `true` is no CloudMonitor value). An int too large
    for a float is +-inf, as `1e400` decodes to (float() of it would raise OverflowError).
    """
    if isinstance(value, bool):
        return float(value) if bool_is_number else None
    if isinstance(value, float):
        return value
    if isinstance(value, int):
        try:
            return float(value)
        except OverflowError:
            return math.inf if value > 0 else -math.inf
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None
