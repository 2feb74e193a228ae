"""What the local CloudMonitor (tests/support/cms_server.py) accepts and answers, as the real API.

The API's error (`ApiError`, answered in the JSON error shape), the throttling answers, the
failure modes a test switches on (`Scenario`), what the server records per request (`Recorded`),
the checks of DescribeMetricList's parameters (`validate_query`), and datapoints to serve
(`make_points`).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

ACTION = "DescribeMetricList"
VERSION = "2019-01-01"
MAX_INSTANCES = 50
MAX_LENGTH = 1440


class ApiError(Exception):
    """An error answer: HTTP status, Code and Message, shaped like the real API's."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message


THROTTLED = {
    400: ("Throttling.User", "Request was denied due to user flow control."),
    429: ("Throttling.Api", "Request was denied due to api flow control."),
    503: ("ServiceUnavailable", "The request has failed due to a temporary failure of the server."),
}


@dataclass
class Scenario:
    """How the server misbehaves; tests change it while the server runs."""

    throttle: int = 0
    """Answer this many of the next (authenticated) requests with a throttling error."""
    throttle_status: int = 400
    """400 -> Throttling.User, 429 -> Throttling.Api, 503 -> ServiceUnavailable."""
    error: tuple[int, str, str] | None = None
    """Answer every request with this (HTTP status, Code, Message)."""
    success_false: tuple[str, str] | None = None
    """Answer HTTP 200 with `Success: false` and this (Code, Message)."""
    malformed_datapoints: bool = False
    """`Datapoints` is not valid JSON."""
    repeat_token: bool = False
    """Every page returns the same NextToken (a broken cursor)."""
    hang_s: float = 0.0
    """Wait this long before answering (released early when the server stops)."""
    body: str = ""
    """A hostile answer (tests/support/cms_hostile.py): `huge`, `chunked`, `html` or `drip`."""
    huge_bytes: int = 200 * 1024 * 1024
    """The Content-Length a `huge` answer declares (and sends, until the client closes)."""
    drip_s: float = 0.5
    """Pause after each byte of a `drip` answer."""
    datapoints: str | None = None
    """`Datapoints` verbatim (e.g. a literal `1e400`) instead of the served points."""


@dataclass(frozen=True)
class Recorded:
    """One request as the server saw it, and what it answered."""

    action: str
    access_key_id: str
    params: dict[str, str]
    status: int
    code: str
    request_id: str


def validate_query(
    params: dict[str, str], namespace: str, metrics: tuple[str, ...], period: int
) -> dict[str, Any]:
    """DescribeMetricList's parameters checked as the API checks them; the query they ask for
    (metric, length, start, end, instances). Raises ApiError."""
    for name in ("Namespace", "MetricName"):
        if not params.get(name):
            raise ApiError(
                400,
                "ParameterInvalid",
                f"Illegal parameters: {name} is mandatory for this action.",
            )
    if params["Namespace"] != namespace or params["MetricName"] not in metrics:
        raise ApiError(404, "ResourceNotFound", "The specified resource is not found.")
    if params.get("Period", str(period)) != str(period):
        raise ApiError(
            400,
            "ParameterInvalid",
            f"Illegal parameters: Period {params['Period']} is not supported.",
        )
    length = params.get("Length", "1000")
    if not length.isdigit() or not 1 <= int(length) <= MAX_LENGTH:
        raise ApiError(
            400, "ParameterInvalid", f"Illegal parameters: Length must be 1-{MAX_LENGTH}."
        )
    try:
        dims = json.loads(params.get("Dimensions") or "[]")
    except ValueError:
        raise ApiError(
            400, "ParameterInvalid", "Illegal parameters: Dimensions is not valid JSON."
        ) from None
    dims = [dims] if isinstance(dims, dict) else dims
    if not isinstance(dims, list) or not all(
        isinstance(d, dict) and isinstance(d.get("instanceId"), str) for d in dims
    ):
        raise ApiError(
            400,
            "ParameterInvalid",
            'Illegal parameters: Dimensions must be a list of {"instanceId": ...}.',
        )
    if len(dims) > MAX_INSTANCES:
        raise ApiError(
            400,
            "ParameterInvalid",
            f"Illegal parameters: at most {MAX_INSTANCES} instances per request.",
        )
    now_ms = int(time.time() * 1000)
    start, end = (
        _time_ms(params.get("StartTime"), now_ms - 3600_000),
        _time_ms(params.get("EndTime"), now_ms),
    )
    if start >= end:
        raise ApiError(
            400,
            "ParameterInvalid",
            "Illegal parameters: StartTime must be earlier than EndTime.",
        )
    return {
        "metric": params["MetricName"],
        "length": int(length),
        "start": start,
        "end": end,
        "instances": {d["instanceId"] for d in dims},
    }


def _time_ms(raw: str | None, default: int) -> int:
    if not raw:
        return default
    if raw.isdigit():
        return int(raw)
    try:
        moment = datetime.strptime(raw, "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)
    except ValueError:
        raise ApiError(
            400, "ParameterInvalid", f"Illegal parameters: time {raw!r} is not well formatted."
        ) from None
    return int(moment.timestamp() * 1000)


def make_points(
    instances: list[str],
    groups: list[str],
    now_ms: int,
    per_group: int = 3,
    value: Any = None,
) -> list[dict[str, Any]]:
    """`per_group` points 60 s apart for every (instance, group), newest at `now_ms`.

    Values are `Value`/`Maximum`/`Average` = index-derived numbers unless `value` is given.
    """
    points = []
    for step in range(per_group - 1, -1, -1):
        ts = now_ms - step * 60_000
        for i, instance in enumerate(instances):
            for g, group in enumerate(groups):
                v = value if value is not None else i * 100_000 + g * 10 + (per_group - 1 - step)
                points.append(
                    {
                        "timestamp": ts,
                        "userId": "120886317861****",
                        "instanceId": instance,
                        "consumerGroup": group,
                        "Value": v,
                        "Maximum": v,
                        "Average": v,
                    }
                )
    return points
