"""A function wrapped to tell which threads ran it and how many of its calls ran at once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any


class ConcurrencyWatch:
    """Calls `function` after holding each call `hold` seconds (a sleep: it releases the GIL, so
    calls in threads beside each other overlap) and counts: calls, the most at once, threads."""

    def __init__(self, function: Callable[..., Any], hold: float = 0.005) -> None:
        self._function = function
        self._hold = hold
        self._guard = threading.Lock()
        self._running = 0
        self.calls = 0
        self.most = 0
        """The most calls running at the same time."""
        self.threads: set[str] = set()
        """Names of the threads that ran a call."""

    def __call__(self, *args: Any) -> Any:
        with self._guard:
            self._running += 1
            self.calls += 1
            self.most = max(self.most, self._running)
            self.threads.add(threading.current_thread().name)
        try:
            time.sleep(self._hold)
            return self._function(*args)
        finally:
            with self._guard:
                self._running -= 1
