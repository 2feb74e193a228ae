"""A long-lived JMX client JVM (java/JmxBridge.java) spoken to in JSON lines over a pipe.

Started once (Java's single-file source launcher) and kept: its JMXConnector stays open across
refreshes, so a refresh is a few RMI calls, not a JVM start. The bridge bounds each request by
its own timeout; this side bounds every read too (a line limit, and the timeout plus a margin),
kills and reaps a bridge that stops answering, and starts a new one on the next request after a
bounded backoff. Credentials travel in the requests, never on the command line.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from exporter.collectors.jmx.query import Endpoint, JmxError, Query, Reading

log = logging.getLogger(__name__)

SOURCE = Path(__file__).resolve().parent / "java" / "JmxBridge.java"
JAVA_OPTIONS = (
    "-XX:-UsePerfData",
    "-XX:TieredStopAtLevel=1",
    "-XX:+UseSerialGC",
    "-Xshare:auto",
    "-Xms8m",
    "-Xmx64m",
    "-Xss512k",
    "-Dsun.rmi.transport.tcp.responseTimeout=60000",
    "-Dsun.rmi.transport.tcp.handshakeTimeout=60000",
)
"""A small client JVM; the RMI timeouts end a call stuck past any sensible refresh timeout."""
START_TIMEOUT = 60.0
"""For the launcher to compile and start the bridge (about 1 s on an idle machine)."""
LINE_LIMIT = 4 * 1024 * 1024
"""Longest reply line read; a longer one is an error and the bridge is restarted."""
REPLY_MARGIN = 2.0
"""Seconds past a request's timeout before the bridge itself counts as hung."""
BACKOFF_FIRST, BACKOFF_MAX = 1.0, 30.0


class JmxBridge:
    """One bridge JVM, started on first use and restarted (with backoff) when it dies."""

    def __init__(self, java: str = "java") -> None:
        self._java = java
        self._process: asyncio.subprocess.Process | None = None
        self._starting: asyncio.Task[asyncio.subprocess.Process] | None = None
        self._stderr: deque[str] = deque(maxlen=20)
        self._lock = asyncio.Lock()
        self._next_id = 0
        self._backoff = 0.0
        self._not_before = 0.0
        self._drainer: asyncio.Future[None] | None = None

    @property
    def pid(self) -> int | None:
        """Process id of the running bridge, if one runs."""
        process = self._process
        return process.pid if process is not None and process.returncode is None else None

    async def query(
        self, endpoint: Endpoint, queries: Sequence[Query], timeout: float
    ) -> list[Reading]:
        """Every query on the bridge's open connection to `endpoint`, bounded by `timeout`."""
        async with self._lock:
            process = await self._running()
            self._next_id += 1
            line = request_line(self._next_id, endpoint, queries, timeout)
            assert process.stdin is not None
            try:
                process.stdin.write(line)
                await process.stdin.drain()
                reply = await asyncio.wait_for(
                    self._reply(process, self._next_id), timeout + REPLY_MARGIN
                )
            except asyncio.TimeoutError:
                await self._discard(process, "no answer from the bridge")
                raise JmxError(f"no answer from {endpoint.url} within {timeout:g}s") from None
            except (OSError, ValueError, JmxError) as exc:
                await self._discard(process, str(exc))
                raise JmxError(f"JMX bridge failed: {self._died(exc)}") from None
        self._backoff = 0.0
        return parse_reply(reply, endpoint, timeout)

    async def _reply(self, process: asyncio.subprocess.Process, wanted: int) -> dict[str, Any]:
        """The reply to request `wanted`; late replies to cancelled requests are skipped."""
        assert process.stdout is not None
        while True:
            line = await process.stdout.readline()  # ValueError past LINE_LIMIT
            if not line:
                raise JmxError("bridge exited")
            reply = json.loads(line)
            if isinstance(reply, dict) and reply.get("id") == wanted:
                return reply

    async def _running(self) -> asyncio.subprocess.Process:
        """The live bridge, started if needed. The start is shielded: a refresh cancelled by
        its timeout leaves the start going, and the next refresh uses it."""
        if self._process is not None and self._process.returncode is None:
            return self._process
        if self._starting is None:
            wait = self._not_before - time.monotonic()
            if wait > 0:
                raise JmxError(f"JMX bridge restarting in {wait:.1f}s")
            self._starting = asyncio.ensure_future(self._start())
        try:
            self._process = await asyncio.shield(self._starting)
        except (OSError, JmxError) as exc:
            self._starting = None
            self._schedule_restart()
            raise JmxError(f"cannot start the JMX bridge: {exc}") from None
        self._starting = None
        return self._process

    async def _start(self) -> asyncio.subprocess.Process:
        try:
            process = await asyncio.create_subprocess_exec(
                self._java,
                *JAVA_OPTIONS,
                str(SOURCE),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                limit=LINE_LIMIT,
            )
        except FileNotFoundError:
            raise JmxError(f"cannot run {self._java!r}: no Java runtime on PATH") from None
        self._drainer = asyncio.ensure_future(self._drain_stderr(process))
        try:
            assert process.stdout is not None
            line = await asyncio.wait_for(process.stdout.readline(), START_TIMEOUT)
            if json.loads(line or b"null") != {"ready": True}:
                raise JmxError(f"bridge did not start: {self._died(None)}")
        except BaseException:
            await _kill(process)
            raise
        log.info("JMX bridge started (pid %d)", process.pid)
        return process

    async def _drain_stderr(self, process: asyncio.subprocess.Process) -> None:
        """Keep the last lines of the bridge's stderr for error messages."""
        assert process.stderr is not None
        with contextlib.suppress(ValueError, OSError):
            async for line in process.stderr:
                self._stderr.append(line.decode("utf-8", "replace").rstrip()[:300])

    def _died(self, exc: BaseException | None) -> str:
        tail = " | ".join(self._stderr) or "no output"
        return f"{exc}; stderr: {tail}"[:600] if exc else tail[:600]

    def _schedule_restart(self) -> None:
        self._backoff = min(BACKOFF_MAX, self._backoff * 2 or BACKOFF_FIRST)
        self._not_before = time.monotonic() + self._backoff

    async def _discard(self, process: asyncio.subprocess.Process, why: str) -> None:
        """Kill a bridge that misbehaved; the next request starts another after the backoff."""
        log.warning("JMX bridge (pid %d) discarded: %s", process.pid, why[:200])
        await _kill(process)
        self._process = None
        self._schedule_restart()

    async def close(self) -> None:
        """Stop the bridge (end of input first, then a kill) and reap it."""
        if self._starting is not None:
            self._starting.cancel()
            with contextlib.suppress(BaseException):
                await self._starting
            self._starting = None
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        assert process.stdin is not None
        with contextlib.suppress(OSError):
            process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), 2.0)
        except asyncio.TimeoutError:
            await _kill(process)


def request_line(
    request_id: int, endpoint: Endpoint, queries: Sequence[Query], timeout: float
) -> bytes:
    """One request as the bridge reads it; its own deadline is 250 ms inside `timeout`, so
    its "timeout" reply arrives before the caller gives up."""
    request = {
        "id": request_id,
        "url": endpoint.url,
        "username": endpoint.username,
        "password": endpoint.password,
        "timeout_ms": max(100, int(timeout * 1000) - 250),
        "queries": [
            {"object_name": q.object_name, "attribute": q.attribute, "key": q.key} for q in queries
        ],
    }
    return json.dumps(request).encode() + b"\n"


async def _kill(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
    await process.wait()


def parse_reply(reply: dict[str, Any], endpoint: Endpoint, timeout: float) -> list[Reading]:
    """Readings from one reply; JmxError for the bridge's error replies or a malformed one."""
    if "error" in reply:
        if reply["error"] == "timeout":
            raise JmxError(f"no answer from {endpoint.url} within {timeout:g}s")
        message = " ".join(str(reply.get("message")).split())
        raise JmxError(f"{reply['error']}: {message[:400]}")
    items = reply.get("readings")
    if not isinstance(items, list):
        raise JmxError(f"unexpected bridge reply: {str(reply)[:200]}")
    readings = []
    for item in items:
        if not isinstance(item, dict) or "object_name" not in item or "attribute" not in item:
            raise JmxError(f"unexpected bridge reading: {str(item)[:200]}")
        readings.append(
            Reading(
                object_name=item["object_name"],
                attribute=item["attribute"],
                key=item.get("key"),
                type=item.get("type") or "Null",
                value=item.get("value"),
            )
        )
    return readings


async def run_queries(
    endpoint: Endpoint, queries: Sequence[Query], timeout: float, java: str = "java"
) -> list[Reading]:
    """Every query once, through a bridge started for this call and stopped after it."""
    bridge = JmxBridge(java)
    try:
        return await bridge.query(endpoint, queries, timeout)
    finally:
        await bridge.close()
