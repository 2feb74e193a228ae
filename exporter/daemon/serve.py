"""Wiring and life cycle: build the store, exposition, scheduler, collectors (through the runtime)
and the HTTP server (TLS and auth from the web config); reload on SIGHUP; stop on SIGTERM/SIGINT
in reverse order of start (HTTP, refresh loops, clients)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from contextlib import AsyncExitStack

from exporter.collectors.registry import collector_module
from exporter.config.model import AppConfig, parse_listen
from exporter.daemon.collector_loop import CollectorThread
from exporter.daemon.interpreter import tune_interpreter
from exporter.daemon.process_scheduler import ProcessScheduler
from exporter.daemon.reload import Reloader
from exporter.daemon.runtime import Runtime
from exporter.daemon.scheduler import Scheduler, cancel_and_wait
from exporter.exposition.page import Exposition
from exporter.exposition.self_metrics import DaemonCounters
from exporter.exposition.store import SnapshotStore
from exporter.web.auth import WebGuard
from exporter.web.config import NO_WEB_CONFIG, WebSettings
from exporter.web.routes import Endpoints
from exporter.web.server import DEFAULT_LIMITS, GuardedRunner, GuardedSite, raise_fd_limit

log = logging.getLogger(__name__)


class ListenError(Exception):
    """The listen address cannot be bound (in use, not local, no permission)."""


async def serve(
    config: AppConfig,
    listen: str | None = None,
    stop: asyncio.Event | None = None,
    *,
    config_path: str | None = None,
    web_settings: WebSettings = NO_WEB_CONFIG,
    web_config_override: str | None = None,
    telemetry_path: str | None = None,
    enable_lifecycle: bool = False,
    handle_signals: bool = True,
) -> None:
    """Run the exporter until `stop` is set (or SIGTERM/SIGINT arrives, unless
    `handle_signals` is false: the caller owns those signals then).

    `config_path` enables reloads (SIGHUP, POST /-/reload); `web_settings` is the loaded web
    config and `web_config_override` the `--web.config.file` path that reloads re-read instead
    of `server.web_config_file`; `telemetry_path` (`--web.telemetry-path`) overrides
    `server.telemetry_path`, where the metrics are served; `enable_lifecycle`
    (`--web.enable-lifecycle`) opens POST /-/reload (SIGHUP reloads either way).
    """
    stop = stop or asyncio.Event()
    log.debug("interpreter tuned: %s", tune_interpreter())
    raise_fd_limit()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT) if handle_signals else ():
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)

    host, port = parse_listen(listen or config.server.listen)
    path = telemetry_path or config.server.telemetry_path
    counters = DaemonCounters()
    store = SnapshotStore()
    exposition = Exposition(store, counters)
    async with AsyncExitStack() as stack:
        scheduler: Scheduler | ProcessScheduler
        if config.server.collector_isolation == "process":
            kinds = sorted({entry.type for entry in config.collectors})
            preload = [collector_module(kind) for kind in kinds]
            scheduler = await stack.enter_async_context(
                ProcessScheduler(exposition.publish, preload)
            )
        else:
            thread = stack.enter_context(CollectorThread())
            counters.collector_tasks = thread.task_count
            scheduler = await stack.enter_async_context(Scheduler(exposition.publish, thread))
        expiry = asyncio.create_task(exposition.expire_stale(), name="expire-stale")
        stack.push_async_callback(cancel_and_wait, expiry)
        runtime = Runtime(exposition, scheduler)
        stack.push_async_callback(runtime.close)
        await runtime.apply(config.collectors)

        guard = WebGuard(web_settings, config.server.unauthenticated_paths, counters)
        reloader = Reloader(
            config_path=config_path,
            config=config,
            web=web_settings,
            web_override=web_config_override,
            listen_override=listen,
            telemetry_path_override=telemetry_path,
            runtime=runtime,
            guard=guard,
            counters=counters,
        )
        stack.push_async_callback(reloader.cancel_pending)
        stack.callback(guard.close)
        if config_path is not None:
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signal.SIGHUP, reloader.reload_soon)
                stack.callback(loop.remove_signal_handler, signal.SIGHUP)
        endpoints = Endpoints(
            store,
            exposition,
            reloader.reload if config_path else None,
            path,
            lifecycle=enable_lifecycle,
        )
        app = endpoints.application(middlewares=[guard.middleware])
        runner = GuardedRunner(app, DEFAULT_LIMITS, shutdown_timeout=1.0)
        await runner.setup()
        stack.push_async_callback(runner.cleanup)
        try:
            await GuardedSite(runner, host, port, ssl_context=web_settings.ssl_context).start()
        except OSError as exc:
            reason = os.strerror(exc.errno) if exc.errno else str(exc)
            raise ListenError(f"cannot listen on {host}:{port}: {reason}") from None
        _log_start(host, port, path, len(config.collectors), web_settings)
        await stop.wait()
        log.info("shutting down")


def _log_start(host: str, port: int, path: str, collectors: int, settings: WebSettings) -> None:
    scheme = "https" if settings.ssl_context is not None else "http"
    log.info("serving on %s://%s:%d%s with %d collector(s)", scheme, host, port, path, collectors)
    if settings.users:
        log.info("basic auth on for %d user(s)", len(settings.users))
        if settings.ssl_context is None:
            log.warning("basic auth without TLS sends passwords in clear text")
    http = settings.file.http_server_config
    if settings.ssl_context is not None and http.http2 and "http2" in http.model_fields_set:
        log.info("http_server_config.http2 is ignored: the server speaks HTTP/1.1")
