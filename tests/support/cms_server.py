"""A local stand-in for Alibaba Cloud CloudMonitor answering DescribeMetricList like the real API.

It serves the SDK's real requests over HTTP on 127.0.0.1: it verifies the ACS3-HMAC-SHA256
signature (the V3 signature `alibabacloud-tea-openapi` sends by default) with the configured
secret, checks the action, version, date, nonce and the DescribeMetricList parameters, pages its
dataset with opaque `NextToken`s and answers errors with the API's JSON error shape
(`RequestId`, `HostId`, `Code`, `Message`, `Recommend`). `Scenario` switches failure modes.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

ACTION = "DescribeMetricList"
VERSION = "2019-01-01"
ALGORITHM = "ACS3-HMAC-SHA256"
REQUIRED_SIGNED = (
    "host",
    "x-acs-action",
    "x-acs-content-sha256",
    "x-acs-date",
    "x-acs-signature-nonce",
    "x-acs-version",
)
MAX_SKEW_S = 15 * 60
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


@dataclass(frozen=True)
class Recorded:
    """One request as the server saw it, and what it answered."""

    action: str
    access_key_id: str
    params: dict[str, str]
    status: int
    code: str
    request_id: str


@dataclass
class CmsServer:
    """CloudMonitor on 127.0.0.1:PORT; use as a context manager (stops on exit)."""

    access_key_id: str = "LTAI5tTestKeyId0001"
    access_key_secret: str = "test-secret-Zq81"
    namespace: str = "acs_kafka"
    metrics: tuple[str, ...] = ("message_accumulation",)
    period: int = 60
    points: list[dict[str, Any]] = field(default_factory=list)
    scenario: Scenario = field(default_factory=Scenario)
    requests: list[Recorded] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[str, tuple[str, int]] = {}
        self._nonces: set[str] = set()
        self._release = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The port the server listens on."""
        return int(self._httpd.server_address[1])

    @property
    def endpoint(self) -> str:
        """The collector's `endpoint` value for this server."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> CmsServer:
        """Serve in a background thread."""
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Release hanging requests, stop serving and close the socket."""
        self._release.set()
        if self._thread is not None:  # shutdown() would wait forever for a loop never started
            self._httpd.shutdown()
            self._thread.join(5)
        self._httpd.server_close()

    def __enter__(self) -> CmsServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def calls(self, action: str = ACTION) -> list[Recorded]:
        """Recorded requests for `action`."""
        with self._lock:
            return [r for r in self.requests if r.action == action]

    # --- request handling -------------------------------------------------------------------

    def handle(
        self, method: str, target: str, headers: dict[str, list[str]], body: bytes
    ) -> tuple[int, dict[str, Any]]:
        """Answer one HTTP request: (status, JSON body)."""
        split = urlsplit(target)
        params = dict(parse_qsl(split.query, keep_blank_values=True))
        action = _one(headers, "x-acs-action") or params.get("Action", "")
        key_id = ""
        try:
            key_id = self._authenticate(method, split.path, params, headers, body)
            status, answer = 200, self._answer(action, headers, params)
        except ApiError as err:
            status, answer = err.status, {"Code": err.code, "Message": err.message}
        request_id = str(uuid.uuid4()).upper()
        answer = {"RequestId": request_id, **answer}
        if status != 200:
            host = _one(headers, "host") or "metrics.aliyuncs.com"
            answer.update(
                HostId=host,
                Recommend=f"https://api.aliyun.com/troubleshoot?q={answer['Code']}&product=Cms&requestId={request_id}",
            )
        with self._lock:
            self.requests.append(
                Recorded(action, key_id, params, status, str(answer.get("Code", "")), request_id)
            )
        return status, answer

    def _authenticate(
        self,
        method: str,
        path: str,
        params: dict[str, str],
        headers: dict[str, list[str]],
        body: bytes,
    ) -> str:
        auth = _one(headers, "authorization")
        algorithm, _, rest = auth.partition(" ")
        if algorithm != ALGORITHM:
            raise ApiError(
                400,
                "IncompleteSignature",
                "The request signature does not conform to Aliyun standards.",
            )
        parts = dict(p.strip().split("=", 1) for p in rest.split(",") if "=" in p)
        key_id, signed, signature = (
            parts.get("Credential", ""),
            parts.get("SignedHeaders", ""),
            parts.get("Signature", ""),
        )
        if key_id != self.access_key_id:
            raise ApiError(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        names = signed.split(";")
        if any(name not in names for name in REQUIRED_SIGNED) or names != sorted(names):
            raise ApiError(
                400,
                "IncompleteSignature",
                "The request signature does not conform to Aliyun standards.",
            )
        payload = hashlib.sha256(body).hexdigest()
        if _one(headers, "x-acs-content-sha256") != payload:
            raise ApiError(
                400,
                "ContentSha256NotMatch",
                "The x-acs-content-sha256 header does not match the body.",
            )
        canonical = "\n".join(
            [
                method,
                quote(path or "/", safe="/~"),
                canonical_query(params),
                "".join(
                    f"{n}:{','.join(sorted(v.strip() for v in headers.get(n, [])))}\n"
                    for n in names
                ),
                signed,
                payload,
            ]
        )
        string_to_sign = f"{ALGORITHM}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
        expected = hmac.new(
            self.access_key_secret.encode(), string_to_sign.encode(), hashlib.sha256
        ).hexdigest()
        if not hmac.compare_digest(expected, signature):
            raise ApiError(
                400,
                "SignatureDoesNotMatch",
                "Specified signature is not matched with our calculation."
                f" server string to sign is:{string_to_sign}",
            )
        try:
            sent = datetime.strptime(_one(headers, "x-acs-date"), "%Y-%m-%dT%H:%M:%SZ").replace(
                tzinfo=timezone.utc
            )
        except ValueError:
            raise ApiError(
                400,
                "InvalidTimeStamp.Format",
                "Specified time stamp or date value is not well formatted.",
            ) from None
        if abs(time.time() - sent.timestamp()) > MAX_SKEW_S:
            raise ApiError(
                400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired."
            )
        nonce = _one(headers, "x-acs-signature-nonce")
        with self._lock:
            if nonce in self._nonces:
                raise ApiError(
                    400, "SignatureNonceUsed", "Specified signature nonce was used already."
                )
            self._nonces.add(nonce)
        return key_id

    def _answer(
        self, action: str, headers: dict[str, list[str]], params: dict[str, str]
    ) -> dict[str, Any]:
        if action != ACTION:
            raise ApiError(
                404,
                "InvalidAction.NotFound",
                "Specified api is not found, please check your url and method.",
            )
        if _one(headers, "x-acs-version") != VERSION:
            raise ApiError(400, "InvalidVersion", "Specified parameter Version is not valid.")
        scenario = self.scenario
        if scenario.hang_s:
            self._release.wait(scenario.hang_s)
        with self._lock:
            throttled = scenario.throttle > 0
            if throttled:
                scenario.throttle -= 1
        if throttled:
            raise ApiError(scenario.throttle_status, *THROTTLED[scenario.throttle_status])
        if scenario.error is not None:
            raise ApiError(*scenario.error)
        query = self._validate(params)
        if scenario.success_false is not None:
            code, message = scenario.success_false
            return {"Success": False, "Code": code, "Message": message}
        return self._page(query, params)

    def _validate(self, params: dict[str, str]) -> dict[str, Any]:
        for name in ("Namespace", "MetricName"):
            if not params.get(name):
                raise ApiError(
                    400,
                    "ParameterInvalid",
                    f"Illegal parameters: {name} is mandatory for this action.",
                )
        if params["Namespace"] != self.namespace or params["MetricName"] not in self.metrics:
            raise ApiError(404, "ResourceNotFound", "The specified resource is not found.")
        if params.get("Period", str(self.period)) != str(self.period):
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

    def _page(self, query: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
        fingerprint = json.dumps(
            {k: v for k, v in params.items() if k != "NextToken"}, sort_keys=True
        )
        offset = 0
        if params.get("NextToken"):
            with self._lock:
                known = self._tokens.get(params["NextToken"])
            if known is None or known[0] != fingerprint:
                raise ApiError(400, "ParameterInvalid", "Illegal parameters: NextToken is invalid.")
            offset = known[1]
        wanted = query["instances"]
        with self._lock:
            matching = [
                p
                for p in self.points
                if p.get("metric", "message_accumulation") == query["metric"]
                and (not wanted or p.get("instanceId") in wanted)
            ]
        matching = [
            p for p in matching if query["start"] < int(p.get("timestamp", 0)) <= query["end"]
        ]
        page = [
            {k: v for k, v in p.items() if k != "metric"}
            for p in matching[offset : offset + query["length"]]
        ]
        answer: dict[str, Any] = {"Success": True, "Code": "200", "Period": str(self.period)}
        answer["Datapoints"] = (
            "[{not json" if self.scenario.malformed_datapoints else json.dumps(page)
        )
        if offset + query["length"] < len(matching):
            token = "".join(uuid.uuid4().hex for _ in range(3))[:88]
            if self.scenario.repeat_token and params.get("NextToken"):
                token = params["NextToken"]
            with self._lock:
                self._tokens[token] = (fingerprint, offset + query["length"])
            answer["NextToken"] = token
        return answer


def canonical_query(params: dict[str, str]) -> str:
    """`k=v` pairs, RFC 3986-encoded (`~` kept), sorted by encoded key, joined by `&`."""
    pairs = sorted((quote(k, safe="~"), quote(v, safe="~")) for k, v in params.items())
    return "&".join(f"{k}={v}" for k, v in pairs)


def _one(headers: dict[str, list[str]], name: str) -> str:
    values = headers.get(name, [])
    return values[0] if values else ""


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


def _handler_for(server: CmsServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out in two writes

        def _serve(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers: dict[str, list[str]] = {}
            for name, value in self.headers.items():
                headers.setdefault(name.lower(), []).append(value)
            status, answer = server.handle(self.command, self.path, headers, body)
            data = json.dumps(answer).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json;charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("x-acs-request-id", answer["RequestId"])
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client gave up (timeout tests)

        do_GET = do_POST = _serve

        def log_message(self, format: str, *args: object) -> None:
            """Quiet."""

    return Handler


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
