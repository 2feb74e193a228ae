"""The server side of collector processes: one child per collector (exporter/daemon/
worker_process.py), its snapshots published as they arrive, a crashed or silent child shown as a
failed refresh and started again.

Same interface as `Scheduler` (start, stop, close), so the runtime does not care which runs
its collectors. The server process keeps only serving, reading pipes and joining pages, so a
scrape's latency no longer depends on whether a refresh is running.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import threading
import time
from collections.abc import Sequence
from multiprocessing.connection import Connection
from multiprocessing.context import ForkServerProcess
from typing import Any

from exporter.collectors.base import Collector, CollectorConfig
from exporter.daemon.scheduler import CLOSE_GRACE, Publish, cancel_and_wait, log_refresh
from exporter.daemon.worker_process import STOP, LogSettings, RefreshStarted, worker_main
from exporter.exposition.store import Snapshot

log = logging.getLogger(__name__)
STOP_GRACE = CLOSE_GRACE + 2.0
"""Seconds a child gets to close its clients and exit before it is killed."""
RESTART_DELAYS = (1.0, 2.0, 5.0, 10.0, 30.0)
"""Seconds before restarting a child that died, growing while it keeps dying."""
SILENCE_MARGIN = 30.0
"""A child that sends nothing for interval + timeout + this long is taken as hung and killed."""
_EOF = object()


class ProcessScheduler:
    """Runs each collector in a process of its own; an async context manager that stops them."""

    def __init__(self, publish: Publish, preload: Sequence[str] = ()) -> None:
        self._publish = publish
        # A fork server (one clean, single-threaded process with the collector modules already
        # imported) forks each child: a new collector process starts in milliseconds and shares
        # the imported code with its siblings, instead of importing everything again.
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload([worker_main.__module__, *preload])
        self._logs = LogSettings.of_this_process()
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._alive: dict[str, ForkServerProcess] = {}

    def process_count(self) -> int:
        """Collector processes alive now."""
        return sum(1 for p in self._alive.values() if p.is_alive())

    def start(self, collector: Collector[Any, Any]) -> None:
        """Start `collector`'s process (built from its config there) and follow it."""
        name = collector.name
        self._tasks[name] = asyncio.create_task(
            self._supervise(collector.config), name=f"process:{name}"
        )

    async def stop(self, name: str) -> None:
        """Ask one collector's process to stop (it closes its clients) and wait for it."""
        task = self._tasks.pop(name, None)
        if task is not None:
            await cancel_and_wait(task)

    async def close(self, collector: Collector[Any, Any]) -> None:
        """Nothing: the process closed its own clients when it stopped."""

    async def __aenter__(self) -> ProcessScheduler:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.gather(*(self.stop(name) for name in list(self._tasks)))

    async def _supervise(self, config: CollectorConfig) -> None:
        """Run the child, publish what it sends; restart it after a crash (until cancelled)."""
        deaths = 0
        while True:
            try:
                process, conn, received = self._spawn(config)
            except Exception as exc:  # noqa: BLE001 - shown as a failed refresh, tried again
                deaths += 1
                delay = RESTART_DELAYS[min(deaths, len(RESTART_DELAYS) - 1)]
                await self._failed(config, f"cannot start its collector process: {exc!r}", delay)
                continue
            self._alive[config.name] = process
            run = _Run(time.time())
            try:
                reported, silent_for = await self._relay(config, received, run)
                ran = max(0.0, time.time() - run.refresh_since)  # until given up, not reaped
            finally:
                await _stop(process, conn)
                self._alive.pop(config.name, None)
            deaths = 0 if reported else deaths + 1
            delay = RESTART_DELAYS[min(deaths, len(RESTART_DELAYS) - 1)]
            await self._failed(config, _death(process, silent_for), delay, ran)

    async def _failed(
        self, config: CollectorConfig, why: str, delay: float, duration: float = 0.0
    ) -> None:
        """Log and publish why the collector's process is gone (`duration`: how long its last
        refresh ran until then); wait before the next one."""
        error = f"{why}; restarting it in {delay:g}s"
        log.error("collector %s: %s", config.name, error, extra={"collector": config.name})
        await self._publish(
            Snapshot(
                collector=config.name,
                ok=False,
                finished_at=time.time(),
                duration=duration,
                error=error,
            )
        )
        await asyncio.sleep(delay)

    def _spawn(
        self, config: CollectorConfig
    ) -> tuple[ForkServerProcess, Connection, asyncio.Queue[object]]:
        """Start the child and a thread that hands its messages to this loop."""
        ours, theirs = self._context.Pipe(duplex=True)
        process = self._context.Process(
            target=worker_main,
            args=(config, theirs, self._logs),
            name=f"collector:{config.name}",
            daemon=True,
        )
        process.start()
        theirs.close()
        received: asyncio.Queue[object] = asyncio.Queue()
        loop = asyncio.get_running_loop()
        threading.Thread(
            target=_read_pipe, args=(ours, loop, received), name=f"pipe:{config.name}", daemon=True
        ).start()
        return process, ours, received

    async def _relay(
        self, config: CollectorConfig, received: asyncio.Queue[object], run: _Run
    ) -> tuple[bool, float | None]:
        """Publish the child's snapshots until its pipe closes or it goes silent: whether it
        sent at least one, and how long it was silent (None: its pipe closed). `run` follows
        when the refresh it owes started (or was due)."""
        silence = config.interval + config.timeout + SILENCE_MARGIN
        reported = False
        while True:
            try:
                message = await asyncio.wait_for(received.get(), silence)
            except asyncio.TimeoutError:
                return reported, silence
            if message is _EOF:
                return reported, None
            if isinstance(message, RefreshStarted):
                run.refresh_since = message.at
            if isinstance(message, Snapshot):
                # the next refresh is due one interval after this one started
                run.refresh_since = message.finished_at - message.duration + config.interval
                reported = True
                await self._publish(message)
                log_refresh(message, time.time() - message.finished_at)  # pipe + publish


class _Run:
    """One child's run as the parent sees it."""

    def __init__(self, spawned_at: float) -> None:
        self.refresh_since = spawned_at
        """Wall-clock start of the refresh the child owes: the one it said it started, else
        when the next one was due; a child killed while silent ran that refresh until then."""


def _read_pipe(
    conn: Connection, loop: asyncio.AbstractEventLoop, out: asyncio.Queue[object]
) -> None:
    """Receive (and unpickle) in this thread; end with `_EOF` when the pipe closes."""
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            break
        except Exception as exc:  # noqa: BLE001 - an unreadable message ends the child's run
            log.error("unreadable message from a collector process: %r", exc)
            break
        with contextlib.suppress(RuntimeError):  # the loop closed
            loop.call_soon_threadsafe(out.put_nowait, message)
    with contextlib.suppress(RuntimeError):
        loop.call_soon_threadsafe(out.put_nowait, _EOF)


async def _stop(process: ForkServerProcess, conn: Connection) -> None:
    """Ask the child to stop, then SIGTERM, then SIGKILL; always reaped, pipe closed."""
    with contextlib.suppress(OSError, ValueError):
        conn.send(STOP)
    for action in (None, process.terminate, process.kill):
        if action is not None and process.is_alive():
            action()
        await asyncio.to_thread(process.join, STOP_GRACE if action is None else 2.0)
        if not process.is_alive():
            break
    conn.close()


def _death(process: ForkServerProcess, silent_for: float | None) -> str:
    """Why the child's run ended, for the failed snapshot."""
    code = process.exitcode
    if silent_for is not None:
        return f"its collector process sent nothing for {silent_for:.0f}s and was stopped"
    if code is None:
        return "its collector process closed its pipe and was stopped"
    if code < 0:
        return f"its collector process was killed by signal {-code}"
    return f"its collector process exited with code {code}"
