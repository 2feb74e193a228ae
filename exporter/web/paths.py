"""The path the metrics are served on: `server.telemetry_path`, or `--web.telemetry-path` (as
kafka_exporter names it), which overrides it.

The other endpoints' paths are fixed: a telemetry path may not take one of them, so a probe or a
reload can never be shadowed by the metrics page.
"""

from __future__ import annotations

import re

DEFAULT_TELEMETRY_PATH = "/metrics"
RESERVED_PATHS = ("/", "/health", "/live", "/ready", "/healthz", "/-/reload")
"""Paths of the other endpoints (index, health, probes, reload)."""
_PATH = re.compile(r"^/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*$")


def check_telemetry_path(path: str) -> str:
    """`path` if it can serve the metrics; else ValueError saying what is wrong with it."""
    if not path.startswith("/"):
        raise ValueError(f"{path!r} must start with / (e.g. /metrics)")
    if path in RESERVED_PATHS:
        raise ValueError(
            f"{path!r} is taken by another endpoint; the telemetry path must not be one of "
            + ", ".join(RESERVED_PATHS)
        )
    if "?" in path or "#" in path:
        raise ValueError(f"{path!r}: a path has no query (?) or fragment (#)")
    if "//" in path or not _PATH.match(path):
        raise ValueError(
            f"{path!r}: only letters, digits and -._~!$&'()*+,;=:@%/ are allowed, "
            "with no empty segment (//)"
        )
    return path
