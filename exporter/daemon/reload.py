"""Config reload (SIGHUP, POST /-/reload): re-read the config and web config files, validate both,
then apply them to the running daemon.

A file that fails validation is rejected as a whole: every problem is logged, the failure is
counted, and the running config keeps working. The listen address and TLS settings other than the
certificate and key are bound to the listening socket, the telemetry path to the routes: a change
to them is logged as needing a restart, and the rest of the reload still applies. Certificates are
re-read on every reload, so rotated files take effect for new connections.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from exporter.config.model import AppConfig
from exporter.config.settings import load_settings
from exporter.daemon.runtime import Changes, Runtime
from exporter.daemon.scheduler import cancel_and_wait
from exporter.exposition.self_metrics import DaemonCounters
from exporter.schema.errors import ConfigError
from exporter.web.auth import WebGuard
from exporter.web.config import WebSettings
from exporter.web.tls import load_certificates

log = logging.getLogger(__name__)
_CERT_KEYS = ("cert", "key", "cert_file", "key_file")


@dataclass(frozen=True)
class ReloadOutcome:
    """The result of one reload."""

    ok: bool
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    changes: Changes | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form for POST /-/reload."""
        out: dict[str, Any] = {"status": "success" if self.ok else "error"}
        if self.errors:
            out["errors"] = self.errors
        if self.warnings:
            out["warnings"] = self.warnings
        if self.changes is not None:
            out["collectors"] = self.changes.as_dict()
        return out


class Reloader:
    """Re-reads the files and applies them; reloads are serialised."""

    def __init__(
        self,
        *,
        config_path: str | None,
        config: AppConfig,
        web: WebSettings,
        web_override: str | None,
        listen_override: str | None,
        telemetry_path_override: str | None = None,
        runtime: Runtime,
        guard: WebGuard,
        counters: DaemonCounters,
    ) -> None:
        self._config_path = config_path
        self._config = config
        self._web = web
        self._web_override = web_override
        self._listen_override = listen_override
        self._telemetry_path_override = telemetry_path_override
        self._runtime = runtime
        self._guard = guard
        self._counters = counters
        self._lock = asyncio.Lock()
        self._background: set[asyncio.Task[ReloadOutcome]] = set()

    def reload_soon(self) -> None:
        """Start a reload in the background (the SIGHUP handler)."""
        log.info("SIGHUP received: reloading the config")
        task = asyncio.create_task(self.reload(), name="config-reload")
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def cancel_pending(self) -> None:
        """Cancel background reloads (at shutdown, before the collectors close)."""
        await cancel_and_wait(*self._background)

    async def reload(self) -> ReloadOutcome:
        """Re-read, validate and apply the config; never raises for a bad file."""
        async with self._lock:
            if self._config_path is None:
                return self._reject(["the exporter was started without a config file"])
            try:
                config, web = await asyncio.to_thread(
                    load_settings, self._config_path, self._web_override
                )
            except ConfigError as error:
                return self._reject(error.lines())
            except Exception as exc:  # noqa: BLE001 - a loader bug must not make a reload a 500
                # Only the type: the message of an unexpected error may quote the file.
                return self._reject([f"{self._config_path}: cannot load: {type(exc).__name__}"])
            warnings = self._restart_warnings(config)
            try:
                web, more = await self._bind_tls(web)
            except ConfigError as error:
                return self._reject([f"{error.source}: {p}" for p in error.problems])
            warnings += more
            try:
                changes = await self._runtime.apply(config.collectors)
            except Exception as exc:  # noqa: BLE001 - a collector that cannot be built
                return self._reject([f"cannot start the new collectors: {exc!r}"])
            self._guard.update(web, config.server.unauthenticated_paths)
            self._config, self._web = config, web
            self._counters.reload_succeeded()
            log.info(
                "config reloaded: added %s, changed %s, removed %s, unchanged %s",
                changes.added, changes.changed, changes.removed, changes.unchanged,
            )  # fmt: skip
            for warning in warnings:
                log.warning("config reload: %s", warning)
            return ReloadOutcome(True, warnings=warnings, changes=changes)

    def _reject(self, errors: list[str]) -> ReloadOutcome:
        self._counters.reload_failed()
        log.error(
            "config reload rejected (%d problem(s)); the running config stays in effect",
            len(errors),
        )
        for problem in errors:
            log.error("config reload: %s", problem)
        return ReloadOutcome(False, errors=errors)

    def _restart_warnings(self, config: AppConfig) -> list[str]:
        """Changed server keys the running listener cannot take (unless a flag overrides them)."""
        old, new = self._config.server, config.server
        keys = (
            ("listen", self._listen_override, old.listen, new.listen),
            ("telemetry_path", self._telemetry_path_override, old.telemetry_path,
             new.telemetry_path),
        )  # fmt: skip
        return [
            f"server.{key} changed from {before!r} to {after!r}: restart the exporter to apply"
            for key, override, before, after in keys
            if override is None and before != after
        ]

    async def _bind_tls(self, new: WebSettings) -> tuple[WebSettings, list[str]]:
        """Keep the listener's TLS; reload its certificates; say what needs a restart."""
        old = self._web
        old_tls = old.file.tls_server_config
        new_tls = new.file.tls_server_config
        live = old.ssl_context
        same_policy = old_tls.model_dump(exclude=set(_CERT_KEYS)) == new_tls.model_dump(
            exclude=set(_CERT_KEYS)
        )
        if live is not None and new.ssl_context is not None and same_policy:
            await asyncio.to_thread(load_certificates, live, new_tls, new.source)
            return WebSettings(new.source, new.file, live), []
        if old_tls == new_tls:
            return WebSettings(new.source, new.file, live), []
        kept = new.file.model_copy(update={"tls_server_config": old_tls})
        warning = (
            f"{new.source}: tls_server_config changed: restart the exporter to apply it "
            "(basic auth, headers and rate limit were applied)"
        )
        return WebSettings(new.source, kept, live), [warning]
