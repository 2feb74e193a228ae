"""The kafka collector's TLS context against a real TLS server on loopback (Python's ssl): the
name sent as SNI and checked is `ssl_server_name`, skip-verify accepts any certificate, an
encrypted client key needs its password and never prompts."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from exporter.collectors.kafka.auth.tls import tls_context
from exporter.collectors.kafka.config import KafkaConfig
from exporter.collectors.kafka.read.errors import KafkaBootstrapError
from tests.support.kafka_security_tls import KEY_PASSWORD, encrypted_key, self_signed_keystore
from tests.support.tls_certs import Authority, Issued


def _config(**settings: object) -> KafkaConfig:
    return KafkaConfig.model_validate(
        {"name": "k", "type": "kafka", "bootstrap_servers": "127.0.0.1:1",
         "security_protocol": "SSL", **settings}
    )  # fmt: skip


class SniServer:
    """A TLS server on 127.0.0.1 that records the SNI name of each handshake."""

    def __init__(self, keystore: tuple[Path, Path | None]) -> None:
        self.names: list[str | None] = []
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(*keystore)
        self.context.sni_callback = lambda _sock, name, _ctx: self.names.append(name)
        self.port = 0

    async def start(self) -> asyncio.Server:
        async def answer(_r: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(b"hi")
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=self.context)
        self.port = server.sockets[0].getsockname()[1]
        return server


@pytest.fixture
def authority(tmp_path: Path) -> Authority:
    return Authority(tmp_path, "unit-ca")


@pytest.fixture
async def named_server(authority: Authority) -> AsyncIterator[SniServer]:
    """Serves a certificate for `broker.example` only."""
    issued = authority.issue("named", server=True, dns=("broker.example",))
    sni = SniServer((issued.cert, issued.key))
    server = await sni.start()
    try:
        yield sni
    finally:
        server.close()
        await asyncio.wait_for(server.wait_closed(), 5)


async def _handshake(context: ssl.SSLContext, port: int) -> bytes:
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection("127.0.0.1", port, ssl=context), 5
    )
    try:
        return await asyncio.wait_for(reader.read(2), 5)
    finally:
        writer.close()


async def test_server_name_is_sent_as_sni_and_checked(
    named_server: SniServer, authority: Authority
) -> None:
    context = tls_context(
        _config(ssl_cafile=str(authority.ca.cert), ssl_server_name="broker.example")
    )
    assert await _handshake(context, named_server.port) == b"hi"
    assert named_server.names == ["broker.example"]


async def test_without_server_name_the_dialled_ip_is_checked(
    named_server: SniServer, authority: Authority
) -> None:
    context = tls_context(_config(ssl_cafile=str(authority.ca.cert)))
    with pytest.raises(ssl.SSLCertVerificationError, match="IP address mismatch"):
        await _handshake(context, named_server.port)
    assert named_server.names == [None]  # no SNI for an IP address


async def test_a_wrong_server_name_fails_the_check(
    named_server: SniServer, authority: Authority
) -> None:
    context = tls_context(
        _config(ssl_cafile=str(authority.ca.cert), ssl_server_name="other.example")
    )
    with pytest.raises(ssl.SSLCertVerificationError, match="Hostname mismatch"):
        await _handshake(context, named_server.port)
    assert named_server.names == ["other.example"]


async def test_skip_verify_accepts_a_self_signed_certificate(tmp_path: Path) -> None:
    keystore = self_signed_keystore(tmp_path)
    sni = SniServer((keystore, None))
    server = await sni.start()
    try:
        with pytest.raises(ssl.SSLCertVerificationError, match="self-signed"):
            await _handshake(tls_context(_config()), sni.port)
        context = tls_context(_config(ssl_insecure_skip_verify=True))
        assert context.verify_mode == ssl.CERT_NONE and not context.check_hostname
        assert await _handshake(context, sni.port) == b"hi"
    finally:
        server.close()
        await asyncio.wait_for(server.wait_closed(), 5)


def test_check_hostname_false_still_verifies_the_chain(authority: Authority) -> None:
    context = tls_context(_config(ssl_cafile=str(authority.ca.cert), ssl_check_hostname=False))
    assert context.verify_mode == ssl.CERT_REQUIRED and not context.check_hostname


@pytest.fixture
def client(authority: Authority, tmp_path: Path) -> tuple[Issued, Path]:
    issued = authority.issue("client", server=False)
    return issued, encrypted_key(issued.key, tmp_path / "client-enc.key")


def test_encrypted_key_loads_with_its_password(client: tuple[Issued, Path]) -> None:
    issued, key = client
    cfg = _config(
        ssl_certfile=str(issued.cert), ssl_keyfile=str(key), ssl_key_password=KEY_PASSWORD
    )
    assert isinstance(tls_context(cfg), ssl.SSLContext)


def test_encrypted_key_without_password_fails_without_prompting(
    client: tuple[Issued, Path],
) -> None:
    issued, key = client
    with pytest.raises(KafkaBootstrapError) as info:
        tls_context(_config(ssl_certfile=str(issued.cert), ssl_keyfile=str(key)))
    assert str(info.value) == (
        f"TLS: the private key in {key} is encrypted and no ssl_key_password is set"
    )


def test_wrong_key_password_is_named_and_not_shown(client: tuple[Issued, Path]) -> None:
    issued, key = client
    cfg = _config(ssl_certfile=str(issued.cert), ssl_keyfile=str(key), ssl_key_password="nope-Pw-1")
    with pytest.raises(KafkaBootstrapError) as info:
        tls_context(cfg)
    assert "cannot decrypt the private key in" in str(info.value)
    assert "wrong ssl_key_password" in str(info.value) and "nope-Pw-1" not in str(info.value)
