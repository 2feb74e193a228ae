"""The long-lived aiokafka client of one cluster: built on first use, rebuilt after a failure.

A bootstrap that fails is explained in the config's terms (`errors`); a bootstrap cancelled
mid-request (a reload replacing the collector, a refresh timeout) is left to end by itself and its
client closed then, since aiokafka would leak its connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from aiokafka import AIOKafkaClient
from aiokafka.client import ConnectionGroup
from aiokafka.errors import KafkaError

from exporter.collectors.kafka.auth import session_expiry
from exporter.collectors.kafka.auth.client_auth import ClientAuth
from exporter.collectors.kafka.config import KafkaConfig
from exporter.collectors.kafka.read import errors
from exporter.collectors.kafka.read.bounded_replies import capped_connections

log = logging.getLogger(__name__)

CLOSE_TIMEOUT = 2.0
"""Seconds a client (or a cancelled bootstrap) gets to close."""


class CappedClient(AIOKafkaClient):
    """An AIOKafkaClient whose broker connections refuse frames over `max_response_bytes`
    from their first read on: the ApiVersions and SASL exchange of connection set-up, the
    bootstrap's Metadata, and every request after."""

    def __init__(self, *, max_response_bytes: int, **options: Any) -> None:
        super().__init__(**options)
        self.max_response_bytes = max_response_bytes

    async def bootstrap(self) -> None:
        with capped_connections(self.max_response_bytes):
            await super().bootstrap()

    async def _get_conn(
        self, node_id: Any, *, group: Any = ConnectionGroup.DEFAULT, no_hint: bool = False
    ) -> Any:
        with capped_connections(self.max_response_bytes):
            return await super()._get_conn(node_id, group=group, no_hint=no_hint)


class Connection:
    """The client of one cluster; `connect()` returns it, bootstrapping a new one when needed."""

    def __init__(self, config: KafkaConfig) -> None:
        self.config = config
        self.auth = ClientAuth(config)
        """TLS context, token provider and Kerberos setup, kept across reconnects."""
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
            closed = session_expiry.close_expiring(self._client, self.config.timeout + 1)
            if closed:
                log.debug("%s: %d connection(s) renewed before their SASL session ends",
                          self.config.name, closed)  # fmt: skip
            return self._client
        cfg = self.config
        try:
            await self.auth.prepare()
        except errors.CredentialsError as exc:
            raise errors.mask_secrets(cfg, str(exc)) from exc
        options = self.auth.options()
        client = CappedClient(
            max_response_bytes=cfg.max_response_bytes,
            bootstrap_servers=cfg.bootstrap_servers,
            client_id="kafka-health-exporter",
            request_timeout_ms=int(cfg.timeout * 1000),
            **options,
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
            # "Unable to bootstrap", or an error aiokafka lets through (a GSSAPI failure):
            # find out why, server by server
            if isinstance(exc, Exception) and not isinstance(exc, errors.KafkaBootstrapError):
                explained = await errors.explain_bootstrap_failure(cfg, options, client.hosts)
                if explained is not None:
                    raise explained from exc
            raise
        self._client = client
        return client

    async def close(self) -> None:
        """Close the client; the next `connect()` bootstraps again. Clients of cancelled
        bootstraps get two seconds to end theirs and close. A token provider keeps its token
        (it is refreshed when due) but closes its HTTP session."""
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
        await self.auth.close()  # the token stays cached; its HTTP session is made anew


async def _close_after(bootstrap: asyncio.Future[None], client: AIOKafkaClient) -> None:
    """Wait for `bootstrap` to end however it ends, then close `client`."""
    await asyncio.wait([bootstrap])
    if not bootstrap.cancelled():
        bootstrap.exception()  # retrieved: a failed bootstrap nobody waits for is no error
    with contextlib.suppress(KafkaError, OSError, asyncio.TimeoutError):
        await asyncio.wait_for(client.close(), CLOSE_TIMEOUT)
