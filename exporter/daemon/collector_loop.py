"""A second event loop, in its own thread, where collectors do their I/O.

Reading a large cluster decodes thousands of Kafka responses: on the serving loop that queues
every /metrics and /health request behind them. On this loop the serving loop only shares the GIL
(switched every few milliseconds), so scrapes and probes stay fast during refreshes.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")
JOIN_TIMEOUT = 2.0
UNWIND_TIMEOUT = 3.0


def _copy_outcome(task: asyncio.Task[Any], target: concurrent.futures.Future[Any]) -> None:
    if task.cancelled():
        target.cancel()
    elif (error := task.exception()) is not None:
        target.set_exception(error)
    else:
        target.set_result(task.result())


class CollectorThread:
    """Runs coroutines on a dedicated event loop; a context manager that starts and stops it."""

    def __init__(self, name: str = "collectors") -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)

    def __enter__(self) -> CollectorThread:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(JOIN_TIMEOUT)
        if self._thread.is_alive():
            log.warning("the collector loop did not stop within %.0fs", JOIN_TIMEOUT)

    def task_count(self) -> int:
        """Tasks alive on the collector loop (for leak detection)."""
        return len(asyncio.all_tasks(self._loop)) if not self._loop.is_closed() else 0

    async def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` on the collector loop and await its result from the calling loop.

        Cancelling the caller cancels the coroutine on the collector loop and waits (a few
        seconds at most) until it has unwound, so a stopped collector is really stopped before
        the caller goes on to close it or start its successor.
        """
        outcome: concurrent.futures.Future[T] = concurrent.futures.Future()
        started: list[asyncio.Task[T]] = []

        def start() -> None:
            task = self._loop.create_task(coro)
            started.append(task)
            task.add_done_callback(lambda t: _copy_outcome(t, outcome))

        self._loop.call_soon_threadsafe(start)
        waiter = asyncio.wrap_future(outcome)
        try:
            return await asyncio.shield(waiter)
        except asyncio.CancelledError:
            # Runs after `start` (callbacks are FIFO), so the task exists by then.
            self._loop.call_soon_threadsafe(lambda: started[0].cancel())
            await asyncio.wait([waiter], timeout=UNWIND_TIMEOUT)
            raise

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_forever()
        finally:
            pending = asyncio.all_tasks(self._loop)
            for task in pending:
                task.cancel()
            if pending:
                self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.close()
