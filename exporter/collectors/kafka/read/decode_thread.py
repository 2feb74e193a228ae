"""One worker thread per cluster reader for the decodes of large replies.

A refresh has up to `max_concurrency` requests in flight, and their large replies used to decode
in the event loop's default executor: up to six threads at once, all holding out for the one
interpreter lock. The serving loop then won it about once in seven turns, so during the Kafka read
a scrape waited up to 250 ms (10 gzip scrapers at 1000 x 50). Decoding is pure Python: threads
beside each other do not finish it sooner, they only crowd the lock. Here the decodes of one
reader queue for a single thread, so the serving loop competes with one decoding thread at most.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


class DecodeThread:
    """Runs decodes one at a time in a thread of their own (started on first use)."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._executor: ThreadPoolExecutor | None = None

    async def run(self, decode: Callable[..., T], *args: object) -> T:
        """`decode(*args)` in the decode thread, after the decodes queued before it."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix=f"decode-{self._name}")
        return await asyncio.get_running_loop().run_in_executor(self._executor, decode, *args)

    def close(self) -> None:
        """Let the thread end once the decodes queued now are done (a new one starts on use)."""
        if self._executor is not None:
            self._executor.shutdown(wait=False)
            self._executor = None
