"""Bounded bcrypt for basic auth: a small pool of its own, one computation shared by identical
concurrent checks, and per-client limits, so a flood of wrong passwords cannot starve a correct
login (nor the event loop, nor the worker threads others use).

- `BCRYPT_WORKERS` threads compute bcrypt; at most `MAX_WAITING` checks wait for one, more are
  refused at once (`Busy`).
- Identical (user, hash, password) checks running at the same time share one computation.
- A client (remote address) may have `PER_CLIENT_IN_FLIGHT` checks running; one with more than
  `MAX_FAILURES` wrong passwords within `FAILURE_WINDOW_S` is refused without bcrypt until its
  failures age out. Correct credentials already cached are never refused.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import bcrypt

BCRYPT_WORKERS = 2
MAX_WAITING = 16
PER_CLIENT_IN_FLIGHT = 2
MAX_FAILURES = 10
FAILURE_WINDOW_S = 60.0
MAX_CLIENTS = 4096
"""Clients whose failures are remembered; the oldest are forgotten beyond this."""


class Busy(Exception):
    """The check was refused without bcrypt (client over its limits, or the pool full)."""


def hash_password(password: bytes, hashed: bytes) -> bytes:
    """bcrypt of `password` with the salt and cost of `hashed` (b"" if it cannot match)."""
    try:
        return bcrypt.hashpw(password, hashed)
    except ValueError:  # longer than bcrypt's 72 bytes: cannot match
        return b""


class BcryptPool:
    """Runs bcrypt checks under the limits above; one per WebGuard, kept across reloads."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._executor: ThreadPoolExecutor | None = None
        self._slots = asyncio.Semaphore(BCRYPT_WORKERS)
        self._waiting = 0
        self._flights: dict[bytes, asyncio.Future[bytes]] = {}
        self._in_flight: dict[str, int] = {}
        self._failures: dict[str, deque[float]] = {}

    def throttled(self, client: str) -> bool:
        """True when `client` has too many recent failures or checks running."""
        if self._in_flight.get(client, 0) >= PER_CLIENT_IN_FLIGHT:
            return True
        failures = self._failures.get(client)
        if not failures:
            return False
        horizon = self._clock() - FAILURE_WINDOW_S
        while failures and failures[0] < horizon:
            failures.popleft()
        if not failures:
            del self._failures[client]
            return False
        return len(failures) > MAX_FAILURES

    def failed(self, client: str) -> None:
        """Remember one wrong password from `client`."""
        failures = self._failures.pop(client, None) or deque(maxlen=MAX_FAILURES + 1)
        failures.append(self._clock())
        self._failures[client] = failures  # most recent last: the oldest go first below
        while len(self._failures) > MAX_CLIENTS:
            del self._failures[next(iter(self._failures))]

    async def compute(self, key: bytes, client: str, password: bytes, hashed: bytes) -> bytes:
        """bcrypt(password, hashed); shared with an identical check already running.

        Raises Busy when the client or the pool is over its limit.
        """
        flight = self._flights.get(key)
        if flight is not None:
            return await asyncio.shield(flight)
        if self.throttled(client) or self._waiting >= MAX_WAITING:
            raise Busy(client)
        flight = asyncio.get_running_loop().create_future()
        self._flights[key] = flight
        self._in_flight[client] = self._in_flight.get(client, 0) + 1
        self._waiting += 1
        waiting = True
        try:
            async with self._slots:
                self._waiting -= 1
                waiting = False
                computed = await asyncio.get_running_loop().run_in_executor(
                    self._pool(), hash_password, password, hashed
                )
            flight.set_result(computed)
            return computed
        except BaseException as exc:
            if not flight.done():
                flight.set_exception(exc if isinstance(exc, Exception) else Busy(client))
                flight.exception()  # retrieved: no "never retrieved" warning
            raise
        finally:
            if waiting:
                self._waiting -= 1
            self._flights.pop(key, None)
            count = self._in_flight.get(client, 1) - 1
            if count:
                self._in_flight[client] = count
            else:
                self._in_flight.pop(client, None)

    def _pool(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(BCRYPT_WORKERS, thread_name_prefix="bcrypt")
        return self._executor

    def close(self) -> None:
        """Stop the worker threads."""
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
