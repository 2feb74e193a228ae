"""Human durations (`500ms`, `30s`, `5m`, `1h`, or plain seconds) as float seconds.

Standard library only: the exec probe parses its `--timeout` with it.
"""

from __future__ import annotations

import math
import re

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")


def parse_duration(value: object) -> float:
    """Return seconds for `value`; raise ValueError with the accepted forms otherwise."""
    if isinstance(value, bool):
        raise ValueError("expected a duration like 500ms, 30s, 5m, 1h or a number of seconds")
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str) and (match := _PATTERN.match(value)):
        seconds = float(match.group(1)) * _UNITS[match.group(2) or "s"]
    else:
        raise ValueError("expected a duration like 500ms, 30s, 5m, 1h or a number of seconds")
    if not math.isfinite(seconds):
        raise ValueError("expected a finite duration (not NaN or infinity)")
    if seconds <= 0:
        raise ValueError("expected a positive duration")
    return seconds


def format_duration(seconds: float) -> str:
    """Short human form of `seconds` for summaries and messages."""
    if seconds < 1:
        return f"{seconds * 1000:g}ms"
    if seconds % 3600 == 0:
        return f"{seconds / 3600:g}h"
    if seconds % 60 == 0:
        return f"{seconds / 60:g}m"
    return f"{seconds:g}s"
