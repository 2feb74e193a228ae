"""A second event loop, in its own thread, where collectors do their I/O.

Reading a large cluster decodes thousands of Kafka responses: on the serving loop that queues
every /metrics and /health request behind them. On this loop the serving loop only shares the GIL
(switched every few milliseconds), so scrapes and probes stay fast during refreshes.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")
JOIN_TIMEOUT = 5.0


class CollectorThread:
    """Runs coroutines on a dedicated event loop; a context manager that starts and stops it."""

    def __init__(self, name: str = "collectors") -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)

    def __enter__(self) -> CollectorThread:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(JOIN_TIMEOUT)
        if self._thread.is_alive():
            log.warning("the collector loop did not stop within %.0fs", JOIN_TIMEOUT)

    async def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` on the collector loop and await its result from the calling loop.

        Cancelling the caller cancels the coroutine on the collector loop.
        """
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        return await asyncio.wrap_future(future)

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
            self._loop.run_until_complete(self._loop.shutdown_default_executor())
            self._loop.close()
