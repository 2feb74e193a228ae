"""The long-lived aiokafka client of one cluster: built on first use, rebuilt after a failure.

A bootstrap that fails is explained in the config's terms (`errors`); a bootstrap cancelled
mid-request (a reload replacing the collector, a refresh timeout) is left to end by itself and its
client closed then, since aiokafka would leak its connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiokafka import AIOKafkaClient
from aiokafka.errors import KafkaConnectionError, KafkaError

from exporter.collectors.kafka.config import KafkaConfig
from exporter.collectors.kafka.read import errors

log = logging.getLogger(__name__)

CLOSE_TIMEOUT = 2.0
"""Seconds a client (or a cancelled bootstrap) gets to close."""


class Connection:
    """The client of one cluster; `connect()` returns it, bootstrapping a new one when needed."""

    def __init__(self, config: KafkaConfig) -> None:
        self.config = config
        self._client: AIOKafkaClient | None = None
        self._cleanups: set[asyncio.Future[None]] = set()
        """Clients of cancelled bootstraps, closing once their bootstrap has ended."""

    @property
    def connected(self) -> bool:
        """Whether a bootstrapped client is kept (the next `connect()` returns it)."""
        return self._client is not None

    async def connect(self) -> AIOKafkaClient:
        """The current client, or a newly bootstrapped one."""
        if self._client is not None:
            return self._client
        cfg = self.config
        ssl_context = None
        if cfg.security_protocol in ("SSL", "SASL_SSL"):
            ssl_context = errors.tls_context(cfg)
        client = AIOKafkaClient(
            bootstrap_servers=cfg.bootstrap_servers,
            client_id="kafka-health-exporter",
            request_timeout_ms=int(cfg.timeout * 1000),
            security_protocol=cfg.security_protocol,
            ssl_context=ssl_context,
            sasl_mechanism=cfg.sasl_mechanism or "PLAIN",
            sasl_plain_username=cfg.sasl_username,
            sasl_plain_password=cfg.sasl_password,
        )
        bootstrap = asyncio.ensure_future(client.bootstrap())
        try:
            await asyncio.shield(bootstrap)
        except asyncio.CancelledError:
            # aiokafka leaks its bootstrap connection when the bootstrap is cancelled mid-request
            # (a reload replacing a collector, a refresh timeout): let it end by itself, bounded
            # by the request timeout, and close the client then.
            cleanup = asyncio.ensure_future(_close_after(bootstrap, client))
            self._cleanups.add(cleanup)
            cleanup.add_done_callback(self._cleanups.discard)
            raise
        except BaseException as exc:
            await asyncio.shield(client.close())
            if isinstance(exc, KafkaConnectionError):  # "Unable to bootstrap": find out why
                explained = await errors.explain_bootstrap_failure(cfg, ssl_context, client.hosts)
                if explained is not None:
                    raise explained from exc
            raise
        self._client = client
        return client

    async def close(self) -> None:
        """Close the client; the next `connect()` bootstraps again. Clients of cancelled
        bootstraps get two seconds to end theirs and close."""
        if self._cleanups:
            _, late = await asyncio.wait(self._cleanups, timeout=CLOSE_TIMEOUT)
            for cleanup in late:
                cleanup.cancel()
        client, self._client = self._client, None
        if client is not None:
            try:
                await asyncio.wait_for(client.close(), CLOSE_TIMEOUT)
            except (asyncio.TimeoutError, KafkaError, OSError) as exc:
                log.debug("closing kafka client of %s: %r", self.config.name, exc)


async def _close_after(bootstrap: asyncio.Future[None], client: AIOKafkaClient) -> None:
    """Wait for `bootstrap` to end however it ends, then close `client`."""
    await asyncio.wait([bootstrap])
    if not bootstrap.cancelled():
        bootstrap.exception()  # retrieved: a failed bootstrap nobody waits for is no error
    with contextlib.suppress(KafkaError, OSError, asyncio.TimeoutError):
        await asyncio.wait_for(client.close(), CLOSE_TIMEOUT)
