"""Bounded HTTP under the CloudMonitor SDK: a size limit on every answer, read while it arrives, a
total deadline per call, and the connection shut down when a call is abandoned.

The SDK (Tea / darabonba) sends with `requests` and reads the whole body (`resp.content`) with
only a per-`recv` timeout: a 1 GB answer is held in memory and a server dripping a byte every
0.5 s never times out. `install()` wraps `DaraCore.do_action` once; a call made inside
`bounded_call()` goes through `_send` here (our session, streamed with a limit, every socket of
the call registered with its `CallGuard` so `abort()` from another thread ends a blocked read at
once). Calls outside `bounded_call()` (other users of the SDK in the process) are untouched.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
from collections.abc import Iterator
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

CHUNK = 64 * 1024
_current = threading.local()
_install_lock = threading.Lock()


class ResponseTooLarge(IOError):
    """The answer is larger than the collector's `max_response_bytes`."""

    def __init__(self, limit: int, size: int, declared: bool) -> None:
        what = "declares" if declared else "sent more than"
        super().__init__(f"the answer {what} {size} bytes; the limit is {limit} bytes")
        self.limit, self.size = limit, size


class InvalidResponse(IOError):
    """The answer is not a JSON object (an HTML error page, a truncated body, ...)."""

    def __init__(self, status: int, content_type: str, detail: str) -> None:
        super().__init__(f"the answer is not JSON ({content_type or 'no Content-Type'}): "
                         f"{detail}")  # fmt: skip
        self.status = status


class TooManyValues(IOError):
    """The answer holds more JSON objects or values than a reply may (counted in its bytes,
    before it is decoded)."""

    def __init__(self, what: str, count: int, limit: int) -> None:
        super().__init__(
            f"the answer holds {count} JSON {what}; the limit is {limit} per reply"
            " (refused before decoding)"
        )
        self.count, self.limit = count, limit


class CallAborted(IOError):
    """The call was abandoned (deadline or cancel) and its connection shut down."""


class CallGuard:
    """Bounds of one call; `abort()` (any thread) shuts down every socket the call uses."""

    def __init__(self, limit: int, max_objects: int | None = None) -> None:
        self.limit = limit
        self.max_objects = max_objects
        """JSON objects an answer may hold (a datapoint is one); None: no bound."""
        self.aborted = False
        self._done = False
        self._socks: list[socket.socket] = []
        self._lock = threading.Lock()

    def register(self, sock: socket.socket | None) -> None:
        """Watch `sock` (through a duplicate, which survives the TLS wrap of the original)."""
        if sock is None:
            return
        try:
            dup = socket.socket(fileno=os.dup(sock.fileno()))
        except OSError:
            return
        with self._lock:
            if self._done:
                dup.close()
                return
            self._socks.append(dup)
            if self.aborted:
                _shutdown(dup)

    def abort(self) -> None:
        """Give up the call: every blocked read or write of it fails at once."""
        with self._lock:
            if self._done:
                return
            self.aborted = True
            for sock in self._socks:
                _shutdown(sock)

    def finish(self) -> None:
        """The call is over: close the duplicates; a later `abort()` does nothing."""
        with self._lock:
            self._done = True
            socks, self._socks = self._socks, []
        for sock in socks:
            sock.close()


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def _guard() -> CallGuard | None:
    return getattr(_current, "guard", None)


class _WatchedHTTP(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        guard = _guard()
        if guard is not None:
            guard.register(sock)
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:  # a pooled connection: watch it too
        guard = _guard()
        if guard is not None:
            guard.register(self.sock)
        super().request(*args, **kwargs)


class _WatchedHTTPS(_WatchedHTTP, HTTPSConnection):
    pass


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTP


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPS


class _WatchedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _WatchedHTTPPool,
            "https": _WatchedHTTPSPool,
        }


def new_session() -> requests.Session:
    """A session for one client whose connections `CallGuard` can watch."""
    session = requests.Session()
    adapter = _WatchedAdapter(pool_connections=1, pool_maxsize=2)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


@contextlib.contextmanager
def bounded_call(session: requests.Session, guard: CallGuard) -> Iterator[None]:
    """SDK calls of this thread inside the block use `session` and obey `guard`."""
    install()
    _current.guard, _current.session = guard, session
    try:
        yield
    finally:
        _current.guard = _current.session = None
        guard.finish()


def install() -> None:
    """Route `DaraCore.do_action` through `_dispatch` (once per process)."""
    from darabonba.core import DaraCore

    with _install_lock:
        if getattr(DaraCore.do_action, "_bounded", False):
            return
        original = DaraCore.do_action

        def dispatch(request: Any, runtime_option: Any = None) -> Any:
            guard, session = _guard(), getattr(_current, "session", None)
            if guard is None or session is None:
                return original(request, runtime_option)
            return _send(session, guard, request, runtime_option or {})

        dispatch._bounded = True  # type: ignore[attr-defined]
        DaraCore.do_action = staticmethod(dispatch)


def _send(
    session: requests.Session, guard: CallGuard, request: Any, runtime: dict[str, Any]
) -> Any:
    """`DaraCore.do_action` with the body streamed under `guard`'s limit."""
    from darabonba.core import DaraCore
    from darabonba.response import DaraResponse

    body = request.body.encode() if isinstance(request.body, str) else request.body
    prepared = requests.PreparedRequest()
    prepared.prepare(
        method=request.method.upper(),
        url=DaraCore.compose_url(request),
        data=body,
        headers=request.headers,
    )
    timeout = (int(runtime.get("connectTimeout") or 5000) / 1000,
               int(runtime.get("readTimeout") or 10000) / 1000)  # fmt: skip
    proxies = {
        scheme: proxy
        for scheme, proxy in (
            ("http", runtime.get("httpProxy") or os.environ.get("HTTP_PROXY")
             or os.environ.get("http_proxy")),
            ("https", runtime.get("httpsProxy") or os.environ.get("HTTPS_PROXY")
             or os.environ.get("https_proxy")),
        )
        if proxy
    }  # fmt: skip
    try:
        resp = session.send(prepared, stream=True, timeout=timeout, proxies=proxies)
    except OSError as exc:
        raise (CallAborted(str(exc)) if guard.aborted else exc) from None
    try:
        data = _read_body(resp, guard)
    except BaseException:
        resp.close()  # never hand a half-read connection back to the pool
        raise
    _check_counts(data, guard.max_objects)
    _check_json(resp, data)
    answer = DaraResponse()
    answer.status_message = resp.reason
    answer.status_code = resp.status_code
    answer.headers = {k.lower(): v for k, v in resp.headers.items()}
    answer.body = data
    answer.response = resp
    return answer


def _read_body(resp: requests.Response, guard: CallGuard) -> bytes:
    declared = resp.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > guard.limit:
        raise ResponseTooLarge(guard.limit, int(declared), declared=True)
    parts: list[bytes] = []
    size = 0
    try:
        for chunk in resp.raw.stream(CHUNK, decode_content=True):
            size += len(chunk)
            if size > guard.limit:
                raise ResponseTooLarge(guard.limit, size, declared=False)
            if guard.aborted:
                raise CallAborted("abandoned")
            parts.append(chunk)
    except Exception as exc:  # urllib3's ProtocolError & co. after a shutdown
        if guard.aborted and not isinstance(exc, ResponseTooLarge):
            raise CallAborted(str(exc)) from None
        raise
    return b"".join(parts)


VALUES_PER_OBJECT = 16
"""Commas (JSON values) an answer may hold per allowed object: a point has about 6 fields."""


def _check_counts(data: bytes, max_objects: int | None) -> None:
    """Refuse an answer whose decode would build more objects (or values) than allowed.

    A `{` in the bytes is an object of the body, or one inside the `Datapoints` string (its
    points, which are not escaped in JSON text): counting them bounds both decodes, ours and the
    SDK's, before either runs. The envelope is one object and a few more are allowed.
    """
    if max_objects is None:
        return
    objects = data.count(b"{")
    if objects > max_objects + 16:
        raise TooManyValues("objects", objects, max_objects)
    values = data.count(b",")
    if values > VALUES_PER_OBJECT * max_objects:
        raise TooManyValues("values", values, VALUES_PER_OBJECT * max_objects)


def _check_json(resp: requests.Response, data: bytes) -> None:
    content_type = resp.headers.get("Content-Type", "")
    try:
        parsed = json.loads(data)
    except ValueError as exc:
        preview = " ".join(data[:80].decode("utf-8", "replace").split())
        detail = f"{exc}; starts {preview!r}"
        raise InvalidResponse(resp.status_code, content_type, detail) from None
    if not isinstance(parsed, dict):
        raise InvalidResponse(resp.status_code, content_type, f"a JSON {type(parsed).__name__}")
