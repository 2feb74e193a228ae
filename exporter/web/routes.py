"""HTTP endpoints: /metrics (or `--web.telemetry-path`), /live, /healthz, /ready, /health and an
index page.

Handlers only read the exposition and the snapshot store; nothing here talks to a source.
"""

from __future__ import annotations

import asyncio
import html
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from aiohttp import web

from exporter import __version__
from exporter.exposition.page import OPENMETRICS_CONTENT_TYPE, TEXT_CONTENT_TYPE, Exposition
from exporter.exposition.store import CollectorStatus, SnapshotStore
from exporter.web.paths import DEFAULT_TELEMETRY_PATH, check_telemetry_path
from exporter.web.server import DEFAULT_LIMITS

BODY_READ_TIMEOUT_S = 5.0
LIFECYCLE_DISABLED = (
    "the lifecycle API is not enabled: start the exporter with --web.enable-lifecycle "
    "to reload over HTTP (SIGHUP always reloads)"
)

_INDEX = """<!doctype html>
<html><head><title>kafka-health-exporter</title></head>
<body><h1>kafka-health-exporter {version}</h1><ul>
<li><a href="{metrics_href}">{metrics}</a>: Prometheus metrics</li>
<li><a href="health">/health</a>: health of the watched targets</li>
<li><a href="ready">/ready</a>: every collector has refreshed successfully</li>
<li><a href="live">/live</a>: the exporter itself is running</li>
<li><a href="healthz">/healthz</a>: the same, answered "ok" as kafka_exporter does</li>
<li>POST /-/reload: re-read the config files (like SIGHUP), with --web.enable-lifecycle</li>
</ul></body></html>
"""


class ReloadResult(Protocol):
    """What a reload reports (the daemon's ReloadOutcome): whether it applied, and its JSON."""

    @property
    def ok(self) -> bool:
        """True when the new config is in effect."""

    def as_dict(self) -> dict[str, Any]:
        """The body of the POST /-/reload answer."""


def _entry(status: CollectorStatus, now_mono: float) -> dict[str, Any]:
    last = status.last
    health = status.current_health(now_mono)
    return {
        "type": status.type,
        "up": bool(last is not None and last.ok),
        "stale": status.is_stale(now_mono),
        "healthy": health.healthy,
        "reason": health.reason or None,
        "health_check": status.health_enabled,
        "last_success": status.last_success.finished_at if status.last_success else None,
        "last_error": None if last is None or last.ok else last.error,
        "failures": status.failures,
    }


def _wants_openmetrics(request: web.Request) -> bool:
    return accepts_openmetrics(request.headers.get("Accept", ""))


def _q(params: list[str]) -> float:
    for param in params:
        name, _, raw = param.partition("=")
        if name.strip().lower() == "q":
            try:
                return float(raw)
            except ValueError:
                return 0.0
    return 1.0


def accepts_openmetrics(header: str) -> bool:
    """True when an Accept header asks for OpenMetrics with a q-value above 0 and not below the
    q-value it gives Prometheus text (`text/plain`)."""
    openmetrics = text = -1.0
    for part in header.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        media = media.lower()
        if media == "application/openmetrics-text":
            openmetrics = max(openmetrics, _q(params))
        elif media == "text/plain":
            text = max(text, _q(params))
    return openmetrics > 0 and openmetrics >= text


def accepts_gzip(header: str) -> bool:
    """True when an Accept-Encoding header accepts gzip with a q-value above 0."""
    for part in header.split(","):
        coding, *params = (p.strip() for p in part.split(";"))
        if coding.lower() == "gzip":
            return _q(params) > 0
    return False


async def body_too_large(request: web.Request, limit: int) -> bool:
    """True when the request body is over `limit` bytes (or does not arrive within 5 s)."""
    if request.content_length is not None:
        return request.content_length > limit
    if not request.body_exists:
        return False
    try:
        data = await asyncio.wait_for(request.content.read(limit + 1), BODY_READ_TIMEOUT_S)
    except asyncio.TimeoutError:
        return True
    return len(data) > limit


def _wants_gzip(request: web.Request) -> bool:
    return accepts_gzip(request.headers.get("Accept-Encoding", ""))


class Endpoints:
    """The aiohttp handlers, bound to one store and exposition."""

    def __init__(
        self,
        store: SnapshotStore,
        exposition: Exposition,
        reload: Callable[[], Awaitable[ReloadResult]] | None = None,
        telemetry_path: str = DEFAULT_TELEMETRY_PATH,
        *,
        lifecycle: bool = False,
    ) -> None:
        """`lifecycle` (`--web.enable-lifecycle`) lets HTTP clients reload the config; without
        it `/-/reload` answers 403, as Prometheus does (SIGHUP reloads either way)."""
        self._store = store
        self._exposition = exposition
        self._reload = reload
        self._lifecycle = lifecycle
        self._telemetry_path = check_telemetry_path(telemetry_path)
        self._index = _INDEX.format(
            version=__version__,
            metrics=html.escape(telemetry_path),
            metrics_href=html.escape(telemetry_path.lstrip("/")),
        )

    def application(self, middlewares: Sequence[Any] = ()) -> web.Application:
        """An aiohttp application with every route."""
        app = web.Application(
            middlewares=list(middlewares), client_max_size=DEFAULT_LIMITS.max_request_body
        )
        if self._reload is not None:
            handler = self.reload if self._lifecycle else self.lifecycle_disabled
            app.router.add_post("/-/reload", handler)
            app.router.add_put("/-/reload", handler)
        app.router.add_get("/", self.index)
        app.router.add_get(self._telemetry_path, self.metrics)
        app.router.add_get("/live", self.live)
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/ready", self.ready)
        app.router.add_get("/health", self.health)
        return app

    async def index(self, request: web.Request) -> web.Response:
        """Links to the other endpoints."""
        return web.Response(text=self._index, content_type="text/html")

    async def metrics(self, request: web.Request) -> web.Response:
        """The current page, as text (gzip when accepted) or OpenMetrics when asked."""
        openmetrics = _wants_openmetrics(request)
        content_type = OPENMETRICS_CONTENT_TYPE if openmetrics else TEXT_CONTENT_TYPE
        headers = {"Content-Type": content_type, "Vary": "Accept, Accept-Encoding"}
        exposition = self._exposition
        if _wants_gzip(request):
            headers["Content-Encoding"] = "gzip"
            body = await exposition.gzip(openmetrics)
            return web.Response(body=body, headers=headers)
        return web.Response(
            body=exposition.openmetrics() if openmetrics else exposition.text(), headers=headers
        )

    async def reload(self, request: web.Request) -> web.Response:
        """Re-read the config files; 200 with what changed, or 400 listing every problem."""
        assert self._reload is not None
        if await body_too_large(request, DEFAULT_LIMITS.max_request_body):
            response = web.Response(status=413, text="Request Entity Too Large\n")
            response.force_close()
            return response
        outcome = await self._reload()
        return web.json_response(outcome.as_dict(), status=200 if outcome.ok else 400)

    async def lifecycle_disabled(self, request: web.Request) -> web.Response:
        """403: reloads over HTTP are off unless the exporter runs with --web.enable-lifecycle."""
        return web.json_response({"status": "error", "errors": [LIFECYCLE_DISABLED]}, status=403)

    async def live(self, request: web.Request) -> web.Response:
        """200 while the process serves requests."""
        return web.json_response({"status": "live"})

    async def healthz(self, request: web.Request) -> web.Response:
        """kafka_exporter's liveness answer: 200 `ok` while the process serves requests."""
        return web.Response(text="ok", content_type="text/plain")

    async def ready(self, request: web.Request) -> web.Response:
        """200 once every collector has had a successful refresh, else 503 naming the others."""
        now = time.monotonic()
        statuses = self._store.statuses()
        waiting = [s.name for s in statuses if s.last_success is None]
        body = {
            "status": "ready" if not waiting else "not ready",
            "waiting_for": waiting,
            "collectors": {s.name: _entry(s, now) for s in statuses},
        }
        return web.json_response(body, status=200 if not waiting else 503)

    async def health(self, request: web.Request) -> web.Response:
        """200 unless a collector with `health: true` is unhealthy.

        `?collector=NAME` (repeatable) judges only the named collectors, whatever their `health`.
        """
        now = time.monotonic()
        statuses = self._store.statuses()
        wanted = request.query.getall("collector", [])
        if wanted:
            unknown = [n for n in wanted if self._store.get(n) is None]
            if unknown:
                return web.json_response(
                    {"status": "unknown collector", "unknown": unknown}, status=404
                )
            statuses = [s for s in statuses if s.name in wanted]
        entries = {s.name: _entry(s, now) for s in statuses}
        unhealthy = [
            name
            for name, entry in entries.items()
            if (entry["health_check"] or wanted) and not entry["healthy"]
        ]
        body = {
            "status": "healthy" if not unhealthy else "unhealthy",
            "unhealthy": unhealthy,
            "collectors": entries,
        }
        return web.json_response(body, status=503 if unhealthy else 200)
