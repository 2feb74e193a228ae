"""The HTTP server's own bounds against hostile clients, on top of aiohttp.

- a request header must arrive complete within `header_timeout_s` of the connection (or of its
  first byte, on a kept-alive connection): slowloris and silent sockets are closed;
- an idle kept-alive connection is closed after `keepalive_timeout_s`;
- at most `max_connections` connections: beyond, the longest-open connection not serving a
  request is closed to make room (so `/live` keeps answering), else the new one is closed; one
  rate-limited warning, never a line per connection;
- request line, header size and count limits; a malformed request is one log line (no
  traceback, no echo of the request) and a plain `400 Bad Request`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import resource
import time
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import BadHttpMethod
from aiohttp.web_protocol import RequestHandler

log = logging.getLogger(__name__)
FD_RESERVE = 128
"""File descriptors kept free of client connections (collectors, logs, JVMs)."""


@dataclass(frozen=True)
class ServerLimits:
    """Bounds of the HTTP server (constants for now; candidates for `server:` keys)."""

    header_timeout_s: float = 10.0
    keepalive_timeout_s: float = 30.0
    max_connections: int = 1000
    max_line_size: int = 8190
    max_field_size: int = 8190
    max_headers: int = 64
    max_request_body: int = 64 * 1024

    def connection_cap(self) -> int:
        """`max_connections`, lowered to stay under the process's file descriptor limit."""
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft == resource.RLIM_INFINITY:
            return self.max_connections
        return max(16, min(self.max_connections, soft - FD_RESERVE))


DEFAULT_LIMITS = ServerLimits()


def raise_fd_limit() -> None:
    """Raise the soft file descriptor limit to the hard one (the kernel's default soft limit is
    often 1024)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class RateLimitedLog:
    """At most one warning per `interval_s`; the ones held back are counted in the next."""

    def __init__(self, interval_s: float = 10.0) -> None:
        self._interval = interval_s
        self._next = 0.0
        self._held = 0

    def warning(self, message: str, *args: object) -> None:
        """Log now, or count it for later."""
        now = time.monotonic()
        if now < self._next:
            self._held += 1
            return
        held, self._held, self._next = self._held, 0, now + self._interval
        suffix = f" (and {held} more like it since the last line)" if held else ""
        log.warning(message + suffix, *args)


class GuardedHandler(RequestHandler):
    """aiohttp's connection handler with a header timeout and quiet, echo-free 400s."""

    def __init__(self, manager: GuardedServer, *, limits: ServerLimits, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._limits = limits
        self._guarded_server = manager
        self._header_timer: asyncio.TimerHandle | None = None

    @property
    def busy(self) -> bool:
        """True while a request is being served (its response included) or waits to be."""
        in_progress = bool(getattr(self, "_request_in_progress", False))
        return in_progress or self._current_request is not None or bool(self._messages)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Start the header clock, then let the server enforce its connection cap."""
        super().connection_made(transport)
        self._arm_header_timer()

    def connection_lost(self, exc: BaseException | None) -> None:
        """Stop the header clock."""
        self._disarm_header_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        """A complete header stops the clock; the first bytes of a partial one start it."""
        before = self._request_count
        super().data_received(data)
        if self._request_count != before:
            self._disarm_header_timer()
        elif data and self._header_timer is None:
            self._arm_header_timer()

    def _arm_header_timer(self) -> None:
        self._header_timer = self._loop.call_later(
            self._limits.header_timeout_s, self._header_timeout
        )

    def _disarm_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_timeout(self) -> None:
        self._header_timer = None
        if not self.busy:
            self._guarded_server.note_timeout()
            self.force_close()

    def handle_error(
        self,
        request: Any,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        """4xx from the parser: one line naming the error class, never the request's bytes."""
        if status >= 500:
            return super().handle_error(request, status, exc, message)
        phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else ""
        kind = type(exc).__name__ if exc is not None else "error"
        if not (self._request_count == 1 and isinstance(exc, BadHttpMethod)):
            self._guarded_server.bad_requests.warning(
                "bad HTTP request from %s: %s (answered %d)", request.remote, kind, status
            )
        response = web.Response(status=status, text=f"{status} {phrase}\n")
        response.force_close()
        return response


class GuardedServer(web.Server):
    """aiohttp's Server making GuardedHandlers and capping open connections."""

    def __init__(self, *args: Any, limits: ServerLimits, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = limits
        self.cap = limits.connection_cap()
        self.bad_requests = RateLimitedLog()
        self._over_cap = RateLimitedLog()
        self.closed_over_cap = 0
        self.closed_on_timeout = 0

    def __call__(self) -> GuardedHandler:
        """A handler for one new connection."""
        return GuardedHandler(self, loop=self._loop, limits=self.limits, **self._kwargs)

    def note_timeout(self) -> None:
        """A connection was closed by the header timeout."""
        self.closed_on_timeout += 1

    def connection_made(self, handler: RequestHandler, transport: asyncio.Transport) -> None:
        """Register the connection; over the cap, close an idle one (or this one)."""
        super().connection_made(handler, transport)
        if len(self._connections) <= self.cap:
            return
        victim = next((h for h in self._connections if h is not handler and not _busy(h)), handler)
        victim.force_close()
        self._connections.pop(victim, None)
        self.closed_over_cap += 1
        self._over_cap.warning(
            "%d HTTP connections open (the limit): closing the oldest idle ones; %d so far",
            self.cap,
            self.closed_over_cap,
        )


def _busy(handler: RequestHandler) -> bool:
    return handler.busy if isinstance(handler, GuardedHandler) else True


class GuardedRunner(web.AppRunner):
    """An AppRunner whose server is a GuardedServer."""

    def __init__(self, app: web.Application, limits: ServerLimits, **kwargs: Any) -> None:
        kwargs.setdefault("keepalive_timeout", limits.keepalive_timeout_s)
        kwargs.setdefault("max_line_size", limits.max_line_size)
        kwargs.setdefault("max_field_size", limits.max_field_size)
        kwargs.setdefault("max_headers", limits.max_headers)
        super().__init__(app, **kwargs)
        self._limits = limits

    async def _make_server(self) -> web.Server:
        plain = await super()._make_server()
        return GuardedServer(
            plain.request_handler,
            request_factory=plain.request_factory,
            handler_cancellation=plain.handler_cancellation,
            loop=plain._loop,
            limits=self._limits,
            **plain._kwargs,
        )


class GuardedSite(web.TCPSite):
    """A TCPSite whose TLS handshake must also finish within `header_timeout_s` (asyncio's
    default is 60 s, during which a silent socket is not yet a connection the cap sees)."""

    def __init__(self, runner: web.BaseRunner, host: str, port: int, **kwargs: Any) -> None:
        super().__init__(runner, host, port, **kwargs)
        self._limits = runner._limits if isinstance(runner, GuardedRunner) else DEFAULT_LIMITS

    async def start(self) -> None:
        """Bind and listen (raises OSError when the address is in use)."""
        await web.BaseSite.start(self)
        server = self._runner.server
        assert server is not None
        tls = self._ssl_context
        self._server = await asyncio.get_running_loop().create_server(
            server,
            self._host,
            self._port,
            ssl=tls,
            backlog=self._backlog,
            ssl_handshake_timeout=self._limits.header_timeout_s if tls is not None else None,
        )
        sockets = self._server.sockets
        self._bound_port = sockets[0].getsockname()[1] if sockets else self._port
