"""The child side of a collector process: one collector refreshed on its timer, each snapshot
(rendered page bytes, health, timings) sent to the server process through a pipe.

Decoding, converting and rendering a large cluster is pure Python: in the server's process it
shares the interpreter lock with every scrape. Here it has an interpreter of its own, so a scrape
never waits for a refresh. The child stops when asked (`STOP`), when the server's end of the
pipe closes (the server died), or on SIGTERM; it closes its collector's clients before it exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pickle
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection

from exporter.collectors.base import CollectorConfig
from exporter.collectors.registry import build_collector
from exporter.daemon.interpreter import tune_interpreter
from exporter.daemon.scheduler import CLOSE_GRACE, refresh_once
from exporter.exposition.render import KeptBlocks

log = logging.getLogger(__name__)
STOP = "stop"


@dataclass(frozen=True)
class RefreshStarted:
    """Sent before each refresh: a child killed while it hangs reports how long it ran."""

    at: float
    """Wall-clock time the refresh started."""


"""The message that asks a collector process to close its clients and exit."""


@dataclass(frozen=True)
class LogSettings:
    """The server's logging, repeated in the child (a spawned interpreter starts without it)."""

    level: int
    formatter: logging.Formatter | None
    levels: dict[str, int] = field(default_factory=dict)
    """Levels of individual loggers (aiokafka is quietened, for example)."""

    @staticmethod
    def of_this_process() -> LogSettings:
        """The root logger's level and first handler's formatter, and the tuned loggers."""
        root = logging.getLogger()
        formatter = root.handlers[0].formatter if root.handlers else None
        try:
            pickle.dumps(formatter)
        except Exception:  # noqa: BLE001 - e.g. a test runner's formatter: keep its format
            formatter = logging.Formatter(getattr(formatter, "_fmt", None))
        tuned = {
            name: logger.level
            for name, logger in logging.Logger.manager.loggerDict.items()
            if isinstance(logger, logging.Logger) and logger.level != logging.NOTSET
        }
        return LogSettings(root.level, formatter, tuned)

    def apply(self) -> None:
        """Configure this process's logging the same way (on stderr, shared with the server)."""
        handler = logging.StreamHandler(sys.stderr)
        if self.formatter is not None:
            handler.setFormatter(self.formatter)
        root = logging.getLogger()
        root.handlers[:] = [handler]
        root.setLevel(self.level)
        for name, level in self.levels.items():
            logging.getLogger(name).setLevel(level)


def worker_main(config: CollectorConfig, conn: Connection, logs: LogSettings) -> None:
    """Entry point of a collector process (spawned by `ProcessScheduler`)."""
    logs.apply()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the group: the server decides
    # the server's settings: its own interpreter starts with Python's
    tuned = tune_interpreter()
    log.debug(
        "collector %s: collector process %d, interpreter tuned: %s", config.name, os.getpid(), tuned
    )
    asyncio.run(_serve(config, conn))


async def _serve(config: CollectorConfig, conn: Connection) -> None:
    """Refresh every interval and send each snapshot, until told to stop."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    threading.Thread(
        target=_watch_pipe, args=(conn, loop, stop), name="pipe-watch", daemon=True
    ).start()
    collector = build_collector(config)
    kept = KeptBlocks()
    try:
        while not stop.is_set():
            started = time.monotonic()
            try:
                conn.send(RefreshStarted(time.time()))  # a few bytes: the pipe takes them at once
            except (OSError, ValueError):
                break  # the server is gone
            refresh = asyncio.ensure_future(refresh_once(collector, kept))
            stopping = asyncio.ensure_future(stop.wait())
            await asyncio.wait([refresh, stopping], return_when=asyncio.FIRST_COMPLETED)
            if not refresh.done():
                refresh.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await refresh
                break
            stopping.cancel()
            try:
                await asyncio.to_thread(conn.send, refresh.result())
            except (OSError, ValueError):
                break  # the server is gone
            wait = started + config.interval - time.monotonic()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), max(wait, 0.0))
    finally:
        try:
            await asyncio.wait_for(collector.close(), CLOSE_GRACE)
        except Exception as exc:  # noqa: BLE001 - exiting anyway
            log.warning("collector %s: close failed: %r", config.name, exc)


def _watch_pipe(conn: Connection, loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    """Set `stop` when the server says so or its end of the pipe closes."""
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            break
        if message == STOP:
            break
    with contextlib.suppress(RuntimeError):  # the loop already closed
        loop.call_soon_threadsafe(stop.set)
