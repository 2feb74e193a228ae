"""An OAUTHBEARER token kept between connections and replaced before it expires.

aiokafka asks its token provider for a token on every new connection (and brokers with
`connections.max.reauth.ms` close connections whose token expired, so the client reconnects).
`CachedTokenProvider.token()` returns the current token until 80% of its lifetime has passed
(Kafka's Java client refreshes at the same point, `sasl.login.refresh.window.factor`), then
fetches a new one; concurrent connections share one fetch. When a refresh fails while the old
token is still valid, the old one is used and the failure logged; once it has expired, the
failure is the connection's error.
"""

from __future__ import annotations

import abc
import asyncio
import logging
import time
from dataclasses import dataclass

from aiokafka.abc import AbstractTokenProvider

from exporter.collectors.kafka.read.errors import CredentialsError

log = logging.getLogger(__name__)

REFRESH_FACTOR = 0.8
"""A token is replaced once this share of its lifetime has passed."""
MIN_VALID = 1.0
"""Seconds of validity a token must have left to be sent at all."""


@dataclass(frozen=True)
class Token:
    """A token and when it expires (wall-clock seconds, as the issuer's `exp`)."""

    value: str
    expires_at: float
    refresh_at: float


def token_with_lifetime(value: str, expires_at: float, now: float) -> Token:
    """`value`, expiring at `expires_at`, to be replaced after REFRESH_FACTOR of its life."""
    return Token(value, expires_at, now + REFRESH_FACTOR * max(0.0, expires_at - now))


class CachedTokenProvider(AbstractTokenProvider):
    """A token provider for aiokafka that caches `fetch()`'s token and refreshes it early."""

    mechanism = "OAUTHBEARER"
    """Named in messages."""

    def __init__(self, collector: str) -> None:
        self.collector = collector
        """The collector's name, for log lines."""
        self._token: Token | None = None
        self._lock = asyncio.Lock()
        self.fetches = 0
        """Tokens fetched so far (tests and debug logs read it)."""

    @abc.abstractmethod
    async def fetch(self) -> Token:
        """A new token; raise CredentialsError naming what went wrong."""

    async def token(self) -> str:
        """The current token, refreshed when due (aiokafka calls this per connection)."""
        current = self._token
        if current is not None and time.time() < current.refresh_at:
            return current.value
        async with self._lock:
            current = self._token
            now = time.time()
            if current is not None and now < current.refresh_at:
                return current.value  # another connection refreshed it meanwhile
            try:
                fresh = await self.fetch()
            except CredentialsError as exc:
                if current is not None and now < current.expires_at - MIN_VALID:
                    log.warning(
                        "%s: refreshing the token failed, using the current one for %.0fs more: %s",
                        self.mechanism,
                        current.expires_at - now,
                        exc,
                    )
                    return current.value
                raise
            self.fetches += 1
            if fresh.expires_at - time.time() < MIN_VALID:
                raise CredentialsError(
                    f"SASL {self.mechanism}: the new token expires at once"
                    f" (in {fresh.expires_at - time.time():.1f}s): is the clock right?"
                )
            log.debug("%s: new token, valid %.0fs", self.mechanism, fresh.expires_at - time.time())
            self._token = fresh
            return fresh.value

    async def close(self) -> None:
        """Release what the provider holds (an HTTP session)."""
