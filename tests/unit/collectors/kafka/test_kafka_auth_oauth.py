"""The OAUTHBEARER client-credentials provider against the test's token endpoint on loopback
(tests/support/kafka_security_oauth.py), and the token cache's refresh rules with a moved clock."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator

import pytest

from exporter.collectors.kafka.auth import token_cache
from exporter.collectors.kafka.auth.oauth import ClientCredentialsProvider, jwt_expiry, shown_url
from exporter.collectors.kafka.auth.token_cache import CachedTokenProvider, Token
from exporter.collectors.kafka.config import KafkaConfig
from exporter.collectors.kafka.read.errors import CredentialsError
from tests.support.kafka_security_oauth import (
    CLIENT_ID,
    CLIENT_SECRET,
    WRONG_SECRET,
    OAuthServer,
)


@pytest.fixture
def idp() -> Iterator[OAuthServer]:
    with OAuthServer() as server:
        yield server


def _provider(
    url: str, client: str = CLIENT_ID, secret: str = CLIENT_SECRET
) -> ClientCredentialsProvider:
    cfg = KafkaConfig.model_validate(
        {"name": "k", "type": "kafka", "bootstrap_servers": "k:9092",
         "security_protocol": "SASL_SSL", "sasl_mechanism": "OAUTHBEARER",
         "sasl_oauth_token_url": url, "sasl_oauth_client_id": client,
         "sasl_oauth_client_secret": secret, "sasl_oauth_scope": "kafka", "timeout": 2}
    )  # fmt: skip
    return ClientCredentialsProvider(cfg)


async def test_token_is_fetched_once_and_expiry_read(idp: OAuthServer) -> None:
    provider = _provider(idp.token_url)
    try:
        tokens = await asyncio.gather(*(provider.token() for _ in range(5)))
        assert len(set(tokens)) == 1 and provider.fetches == 1  # concurrent connections share it
        assert tokens[0] == idp.issued[0].token
        assert jwt_expiry(tokens[0]) == idp.issued[0].expires
    finally:
        await provider.close()


async def test_bad_secret_names_endpoint_and_client_not_the_secret(idp: OAuthServer) -> None:
    provider = _provider(idp.token_url, secret=WRONG_SECRET)
    try:
        with pytest.raises(CredentialsError) as info:
            await provider.token()
    finally:
        await provider.close()
    assert str(info.value) == (
        f"SASL OAUTHBEARER: the token endpoint {idp.token_url} (client 'exporter'): HTTP 401:"
        " invalid_client: bad client credentials"
    )
    assert WRONG_SECRET not in str(info.value)


async def test_silent_endpoint_times_out_within_the_collector_timeout() -> None:
    async def silent(_r: asyncio.StreamReader, _w: asyncio.StreamWriter) -> None:
        await asyncio.sleep(30)

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    provider = _provider(f"http://127.0.0.1:{port}/token")
    started = time.monotonic()
    try:
        with pytest.raises(CredentialsError, match="no answer within 2s"):
            await provider.token()
    finally:
        await provider.close()
        server.close()
    assert time.monotonic() - started < 5


def test_url_shown_without_user_info_or_query() -> None:
    assert (
        shown_url("https://u:p@idp.example:8443/oauth/token?x=1")
        == "https://idp.example:8443/oauth/token"
    )


class Scripted(CachedTokenProvider):
    """Hands out scripted tokens (or errors), each valid 100s from the test's clock."""

    def __init__(self, clock: list[float]) -> None:
        super().__init__("k")
        self.clock = clock
        self.fail = False

    async def fetch(self) -> Token:
        if self.fail:
            raise CredentialsError("SASL OAUTHBEARER: endpoint down")
        now = self.clock[0]
        return token_cache.token_with_lifetime(f"t{self.fetches + 1}", now + 100, now)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    now = [1_000_000.0]
    monkeypatch.setattr(token_cache.time, "time", lambda: now[0])
    return now


async def test_refreshed_after_80_percent_of_its_life(clock: list[float]) -> None:
    provider = Scripted(clock)
    assert await provider.token() == "t1"
    clock[0] += 79
    assert await provider.token() == "t1"
    clock[0] += 2  # 81s of 100: due
    assert await provider.token() == "t2"


async def test_failed_refresh_keeps_a_valid_token_then_fails(
    clock: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    provider = Scripted(clock)
    await provider.token()
    provider.fail = True
    clock[0] += 90
    with caplog.at_level(logging.WARNING):
        assert await provider.token() == "t1"
    assert "refreshing the token failed, using the current one for 10s more" in caplog.text
    clock[0] += 10  # expired now
    with pytest.raises(CredentialsError, match="endpoint down"):
        await provider.token()
