"""The client's TLS context for SSL and SASL_SSL, built from the collector's `ssl_*` settings.

- `ssl_cafile` (else the system CAs) verifies the broker's chain, and `ssl_check_hostname` its
  name; `ssl_insecure_skip_verify` turns off both (the chain is not checked at all).
- `ssl_server_name` is the name sent as SNI and checked against the certificate, instead of the
  host of each bootstrap server or broker. aiokafka connects with the broker's advertised host as
  `server_hostname`; the context replaces it when it wraps the connection.
- `ssl_certfile`/`ssl_keyfile` are the client certificate and key; `ssl_key_password` decrypts an
  encrypted key. OpenSSL never prompts on the terminal: an encrypted key without a password is an
  error naming the file.

Every failure is a `KafkaBootstrapError` naming the file and what is wrong, never the password.
"""

from __future__ import annotations

import ssl
from typing import Any

from exporter.collectors.kafka.config import KafkaConfig
from exporter.collectors.kafka.read.errors import KafkaBootstrapError, mask_secrets, os_text


class _NoKeyPassword(Exception):
    """OpenSSL asked for the key's password and none is configured."""


class ServerNameContext(ssl.SSLContext):
    """An SSLContext that sends and checks `server_name` whatever host the client dials."""

    server_name: str | None = None

    def wrap_bio(
        self,
        incoming: ssl.MemoryBIO,
        outgoing: ssl.MemoryBIO,
        server_side: bool = False,
        server_hostname: str | bytes | None = None,
        session: ssl.SSLSession | None = None,
    ) -> ssl.SSLObject:
        """asyncio's TLS transport wraps every connection here."""
        name = self.server_name or server_hostname
        return super().wrap_bio(incoming, outgoing, server_side, name, session)

    def wrap_socket(self, sock: Any, *args: Any, **kwargs: Any) -> ssl.SSLSocket:
        """Blocking sockets (not used by aiokafka) get the same name."""
        if self.server_name and not kwargs.get("server_side"):
            kwargs["server_hostname"] = self.server_name
        return super().wrap_socket(sock, *args, **kwargs)


def tls_context(cfg: KafkaConfig) -> ssl.SSLContext:
    """The client's TLS context; a file that cannot be loaded is named in the error."""
    context = ServerNameContext(ssl.PROTOCOL_TLS_CLIENT)
    context.server_name = cfg.ssl_server_name
    try:
        if cfg.ssl_cafile:
            context.load_verify_locations(cafile=cfg.ssl_cafile)
        else:
            context.load_default_certs(ssl.Purpose.SERVER_AUTH)
    except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
        raise mask_secrets(
            cfg, f"TLS: cannot load ssl_cafile {cfg.ssl_cafile}: {os_text(exc)}"
        ) from exc
    if cfg.ssl_certfile:
        _load_client_certificate(context, cfg)
    if cfg.ssl_insecure_skip_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    else:
        context.check_hostname = cfg.ssl_check_hostname
    return context


def _load_client_certificate(context: ssl.SSLContext, cfg: KafkaConfig) -> None:
    assert cfg.ssl_certfile is not None
    files = f"ssl_certfile {cfg.ssl_certfile}"
    if cfg.ssl_keyfile:
        files += f" / ssl_keyfile {cfg.ssl_keyfile}"
    key_file = cfg.ssl_keyfile or cfg.ssl_certfile

    def password() -> str:
        if cfg.ssl_key_password is None:
            raise _NoKeyPassword
        return cfg.ssl_key_password

    try:
        context.load_cert_chain(cfg.ssl_certfile, cfg.ssl_keyfile, password=password)
    except _NoKeyPassword as exc:
        raise KafkaBootstrapError(
            f"TLS: the private key in {key_file} is encrypted and no ssl_key_password is set"
        ) from exc
    except (OSError, ValueError) as exc:
        if cfg.ssl_key_password is not None and _encrypted(key_file):
            reason = f"cannot decrypt the private key in {key_file}: wrong ssl_key_password?"
            raise KafkaBootstrapError(f"TLS: {reason}") from exc
        raise mask_secrets(cfg, f"TLS: cannot load {files}: {os_text(exc)}") from exc


def _encrypted(path: str) -> bool:
    """Whether the PEM file holds an encrypted private key (PKCS#8 or traditional)."""
    try:
        with open(path, "rb") as pem:
            text = pem.read(1 << 20)
    except OSError:
        return False
    return b"ENCRYPTED PRIVATE KEY" in text or b"Proc-Type: 4,ENCRYPTED" in text
