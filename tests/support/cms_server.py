"""A local stand-in for Alibaba Cloud CloudMonitor answering DescribeMetricList like the real API.

It serves the SDK's real requests over HTTP on 127.0.0.1: it verifies the ACS3-HMAC-SHA256
signature (the V3 signature `alibabacloud-tea-openapi` sends by default; tests/support/
cms_signature.py) with the configured secret, checks the action, version, date, nonce and the
DescribeMetricList parameters (tests/support/cms_api.py), pages its dataset with opaque
`NextToken`s and answers errors with the API's JSON error shape (`RequestId`, `HostId`, `Code`,
`Message`, `Recommend`). `Scenario` switches failure modes.
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.support.cms_api import (
    ACTION,
    THROTTLED,
    VERSION,
    ApiError,
    Recorded,
    Scenario,
    validate_query,
)
from tests.support.cms_hostile import Drips, write_hostile
from tests.support.cms_signature import authenticate, header


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
    fields: dict[str, Any] = field(default_factory=dict)
    """Fields of a successful answer set verbatim (a `NextToken` array, a `Datapoints` number)."""
    escape_points: bool = False
    """Write each `{},` / `{}` of the answer as `\\u007b}\\u002c` / `\\u007b}` (inside the
    `Datapoints` string): the same JSON, but a scan of the bytes for `{` and `,` does not see its
    points (a client must also bound what it decodes)."""

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[str, tuple[str, int]] = {}
        self._nonces: set[str] = set()
        self._release = threading.Event()
        self.drips = Drips()
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
        action = header(headers, "x-acs-action") or params.get("Action", "")
        key_id = ""
        try:
            key_id = authenticate(
                method, split.path, params, headers, body,
                access_key_id=self.access_key_id, access_key_secret=self.access_key_secret,
                first_use=self._first_use,
            )  # fmt: skip
            status, answer = 200, self._answer(action, headers, params)
        except ApiError as err:
            status, answer = err.status, {"Code": err.code, "Message": err.message}
        request_id = str(uuid.uuid4()).upper()
        answer = {"RequestId": request_id, **answer}
        if status != 200:
            host = header(headers, "host") or "metrics.aliyuncs.com"
            answer.update(
                HostId=host,
                Recommend=f"https://api.aliyun.com/troubleshoot?q={answer['Code']}&product=Cms&requestId={request_id}",
            )
        with self._lock:
            self.requests.append(
                Recorded(action, key_id, params, status, str(answer.get("Code", "")), request_id)
            )
        return status, answer

    def _first_use(self, nonce: str) -> bool:
        with self._lock:
            if nonce in self._nonces:
                return False
            self._nonces.add(nonce)
            return True

    def _answer(
        self, action: str, headers: dict[str, list[str]], params: dict[str, str]
    ) -> dict[str, Any]:
        if action != ACTION:
            raise ApiError(
                404,
                "InvalidAction.NotFound",
                "Specified api is not found, please check your url and method.",
            )
        if header(headers, "x-acs-version") != VERSION:
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
        query = validate_query(params, self.namespace, self.metrics, self.period)
        if scenario.success_false is not None:
            code, message = scenario.success_false
            return {"Success": False, "Code": code, "Message": message}
        return self._page(query, params)

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
        if self.scenario.datapoints is not None:
            answer["Datapoints"] = self.scenario.datapoints
        answer.update(self.fields)
        if offset + query["length"] < len(matching):
            token = "".join(uuid.uuid4().hex for _ in range(3))[:88]
            if self.scenario.repeat_token and params.get("NextToken"):
                token = params["NextToken"]
            with self._lock:
                self._tokens[token] = (fingerprint, offset + query["length"])
            answer["NextToken"] = token
        return answer


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
            if server.escape_points:
                data = data.replace(b"{},", b"\\u007b}\\u002c").replace(b"{}", b"\\u007b}")
            scenario = server.scenario
            if scenario.body:
                write_hostile(self, scenario.body, data, server.drips,
                              huge_bytes=scenario.huge_bytes, drip_s=scenario.drip_s)  # fmt: skip
                return
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
