"""Why the `kafka` collector cannot connect, in the terms of its config.

aiokafka's bootstrap ends every failure with `Unable to bootstrap from [...]` and logs the cause
(the exporter silences aiokafka's logger). When bootstrap fails, `explain_bootstrap_failure`
connects once more to each bootstrap server the way bootstrap does (ApiVersions, SASL, Metadata)
and turns what fails into one message naming the mechanism, the certificate problem or the
protocol mismatch, e.g. `SASL authentication failed (SCRAM-SHA-512, user 'app') at host:9092:
...` or `TLS: certificate verify failed: unable to get local issuer certificate at host:9093
...`. Messages never contain the SASL password (it is masked should a broker echo it).
"""

from __future__ import annotations

import asyncio
import re
import ssl
from collections.abc import Iterable, Mapping
from typing import Any

from aiokafka.conn import create_conn
from aiokafka.errors import (
    IllegalSaslStateError,
    KafkaConnectionError,
    KafkaError,
    SaslAuthenticationFailed,
    UnsupportedSaslMechanismError,
)
from aiokafka.protocol.metadata import MetadataRequest

from exporter.collectors.kafka.config import KafkaConfig
from exporter.collectors.kafka.read.bounded_replies import FrameTooLarge, capped_connections

_CLIENT_CERT_ALERTS = {
    "SSLV3_ALERT_BAD_CERTIFICATE",
    "TLSV13_ALERT_CERTIFICATE_REQUIRED",
    "SSLV3_ALERT_HANDSHAKE_FAILURE",
    "SSLV3_ALERT_CERTIFICATE_UNKNOWN",
    "TLSV1_ALERT_UNKNOWN_CA",
    "SSLV3_ALERT_UNSUPPORTED_CERTIFICATE",
    "TLSV1_ALERT_ACCESS_DENIED",
}
"""Alerts a broker sends when it refuses (or misses) the client's certificate."""
_TLS_RECORD = 0x15
"""First byte of a TLS alert record: what a TLS listener answers a plaintext request with."""
_MAX_LISTED = 3


class KafkaBootstrapError(KafkaConnectionError):
    """The collector could not connect to the cluster; the message says why."""

    def __str__(self) -> str:  # the message alone, without KafkaError's "ClassName: "
        return str(self.args[0]) if self.args else ""


class CredentialsError(KafkaError):
    """The client could not get what it authenticates with (an OAuth token, an MSK IAM token,
    Kerberos credentials); the message names the mechanism and what went wrong. A KafkaError,
    so aiokafka's bootstrap moves on to the next server as for any failed connection."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


async def explain_bootstrap_failure(
    cfg: KafkaConfig, options: Mapping[str, Any], hosts: Iterable[tuple[str, int, object]]
) -> KafkaBootstrapError | None:
    """Connect to every bootstrap server once more (with the client's TLS and SASL `options`)
    and describe how each fails; None when all of them work now (the failure was transient:
    the caller keeps aiokafka's error)."""
    servers = [(host, int(port)) for host, port, *_ in hosts]
    found = await asyncio.gather(*(_probe(cfg, options, host, port) for host, port in servers))
    problems = [problem for problem in found if problem is not None]
    if not problems:
        return None
    unique = list(dict.fromkeys(problems))
    text = "; ".join(unique[:_MAX_LISTED])
    if len(unique) > _MAX_LISTED:
        text += f"; and {len(unique) - _MAX_LISTED} more"
    return mask_secrets(cfg, text)


async def _probe(cfg: KafkaConfig, options: Mapping[str, Any], host: str, port: int) -> str | None:
    """What goes wrong connecting to one server as bootstrap does; None when it works."""
    address = f"{host}:{port}"
    try:
        with capped_connections(cfg.max_response_bytes):
            conn = await create_conn(
                host,
                port,
                client_id="kafka-health-exporter",
                request_timeout_ms=int(cfg.timeout * 1000),
                **options,
            )
    except Exception as exc:  # noqa: BLE001 (whatever fails is what is described)
        return describe(cfg, exc, address, authenticated=False)
    try:
        await conn.send(MetadataRequest([]))
    except Exception as exc:  # noqa: BLE001
        return describe(cfg, exc, address, authenticated=True)
    finally:
        conn.close()
    return None


def describe(cfg: KafkaConfig, exc: BaseException, address: str, authenticated: bool) -> str:
    """One failure to connect to `address` in the config's terms. `authenticated`: the
    connection was set up (ApiVersions, SASL) and a later request failed."""
    cause = _root(exc)
    proto, mech = cfg.security_protocol, cfg.sasl_mechanism
    tls = proto in ("SSL", "SASL_SSL")
    if isinstance(cause, CredentialsError):
        return str(cause)
    if isinstance(cause, SaslAuthenticationFailed):
        text = f"SASL authentication failed ({identity(cfg)}) at {address}: {_broker_text(cause)}"
        if "refused the token" in text:
            text += " (the broker's log says why: signature, issuer, audience or expiry)"
        return text
    if type(cause).__module__.startswith("gssapi"):
        host = cfg.sasl_kerberos_domain_name or address.rpartition(":")[0]
        return (
            f"SASL GSSAPI failed ({identity(cfg)}) at {address}: {gss_text(cause)}"
            f" (the broker's principal: {cfg.sasl_kerberos_service_name}/{host}@REALM;"
            " sasl_kerberos_service_name and sasl_kerberos_domain_name set it)"
        )
    if isinstance(cause, UnsupportedSaslMechanismError):
        return f"SASL mechanism {mech} is not enabled at {address}: {_broker_text(cause)}"
    if isinstance(cause, IllegalSaslStateError):
        return (
            f"SASL handshake ({mech}) refused at {address}: the listener does not take SASL"
            f" (security_protocol {proto}; is it PLAINTEXT or SSL?)"
        )
    if isinstance(cause, ssl.SSLCertVerificationError):
        reason = (cause.verify_message or _ssl_text(cause)).rstrip(".")
        if "mismatch" in reason.lower() and cfg.ssl_server_name:
            hint = (
                f"the certificate does not name ssl_server_name {cfg.ssl_server_name!r};"
                " set ssl_server_name to a name it has"
            )
        elif "mismatch" in reason.lower():
            hint = (
                "the certificate does not name that host; set ssl_server_name to a name it"
                " has, or ssl_check_hostname: false skips this"
            )
        elif "self-signed" in reason.lower() or "self signed" in reason.lower():
            hint = (
                "the broker's certificate signs itself and is not in ssl_cafile;"
                " ssl_insecure_skip_verify: true accepts it unchecked"
            )
        elif cfg.ssl_cafile:
            hint = f"the broker's certificate is not signed by a CA in ssl_cafile {cfg.ssl_cafile}"
        else:
            hint = "the broker's certificate is not signed by a system CA (no ssl_cafile set)"
        return f"TLS: certificate verify failed: {reason} at {address} ({hint})"
    if isinstance(cause, ssl.SSLError):
        reason = _ssl_text(cause)
        if cause.reason in _CLIENT_CERT_ALERTS:
            if not cfg.ssl_certfile:
                return (
                    f"TLS: the broker at {address} requires a client certificate and none is"
                    f" configured (ssl_certfile, ssl_keyfile): {reason}"
                )
            return (
                f"TLS: the broker at {address} rejected the client certificate"
                f" ssl_certfile {cfg.ssl_certfile} (not signed by a CA it trusts?): {reason}"
            )
        return f"TLS handshake failed at {address}: {reason}"
    if not tls and _tls_answer(cause):
        return (
            f"the listener at {address} speaks TLS but security_protocol is {proto}"
            " (use SSL or SASL_SSL)"
        )
    if isinstance(cause, FrameTooLarge):
        step = "a request" if authenticated else "connection set-up (ApiVersions, SASL)"
        return f"the broker at {address} answered {step} with a {cause}"
    if tls and not authenticated and isinstance(cause, (ConnectionError, EOFError)):
        return (
            f"TLS handshake failed at {address}: the broker closed the connection"
            f" (is the listener TLS? security_protocol is {proto})"
        )
    if isinstance(cause, ConnectionRefusedError):
        return f"cannot connect to {address}: connection refused"
    if isinstance(cause, (KafkaConnectionError, ConnectionError, EOFError)):
        if authenticated and not proto.startswith("SASL"):
            return (
                f"the broker at {address} closed the connection at the first request:"
                f" the listener may require SASL (security_protocol is {proto})"
            )
        return f"the broker at {address} closed the connection ({proto}): {_text(cause)}"
    if isinstance(cause, asyncio.TimeoutError):
        return f"timed out connecting to {address} after {cfg.timeout:g}s ({proto})"
    if isinstance(cause, OSError):
        return f"cannot connect to {address}: {os_text(cause)}"
    return f"cannot connect to {address} ({proto}): {_text(cause)}"


def _tls_answer(exc: BaseException) -> bool:
    """Whether a plaintext read got a TLS record: its first 4 bytes, read as a frame size,
    start with the alert record type (a size over max_response_bytes is refused as read)."""
    if isinstance(exc, FrameTooLarge):
        return exc.size >> 24 == _TLS_RECORD
    if not isinstance(exc, asyncio.IncompleteReadError) or exc.expected is None:
        return False
    return exc.expected >> 24 == _TLS_RECORD


def _root(exc: BaseException) -> BaseException:
    """The first cause that says more than "connection closed": aiokafka chains the error that
    broke a connection (a TLS alert, an incomplete read) to the error of the request it failed."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if not isinstance(current, KafkaConnectionError) or current.__cause__ is None:
            return current
        current = current.__cause__
    return exc


def identity(cfg: KafkaConfig) -> str:
    """The mechanism and who authenticates, for messages: `SCRAM-SHA-512, user 'app'`."""
    mech = cfg.sasl_mechanism
    if mech == "OAUTHBEARER":
        return f"OAUTHBEARER, client {cfg.sasl_oauth_client_id!r}"
    if mech == "AWS_MSK_IAM":
        role = f", role {cfg.sasl_aws_role_arn}" if cfg.sasl_aws_role_arn else ""
        return f"AWS_MSK_IAM, region {cfg.sasl_aws_region}{role}"
    if mech == "GSSAPI":
        who = repr(cfg.sasl_kerberos_principal) if cfg.sasl_kerberos_principal else "the default"
        return f"GSSAPI, principal {who}, service {cfg.sasl_kerberos_service_name!r}"
    return f"{mech}, user {cfg.sasl_username!r}"


def gss_text(exc: BaseException) -> str:
    """A GSSError's most specific part: the minor (Kerberos) message when there is one."""
    text = str(exc)
    minor = re.search(r"Minor \(\d+\): (.*)$", text)
    return (minor.group(1) if minor else text).strip().rstrip(".") or exc.__class__.__name__


def mask_secrets(cfg: KafkaConfig, text: str) -> KafkaBootstrapError:
    """`text` as the collector's error, with every configured secret replaced by ***."""
    for secret in cfg.secret_values():
        text = text.replace(secret, "***")
    return KafkaBootstrapError(text)


def _broker_text(exc: KafkaError) -> str:
    """The broker's (or aiokafka's) message without aiokafka's "[Error 58] Class: " prefix."""
    first = exc.args[0] if exc.args else None
    return first if isinstance(first, str) and first else exc.__class__.__name__


def _ssl_text(exc: ssl.SSLError) -> str:
    """The reason alone: `sslv3 alert bad certificate` from `[SSL: SSLV3_ALERT_BAD_CERTIFICATE]
    sslv3 alert bad certificate (_ssl.c:2580)`."""
    raw = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], str) else str(exc)
    text = re.sub(r"\s*\(_ssl\.c:\d+\)$", "", re.sub(r"^\[[^\]]*\]\s*", "", raw))
    return text or exc.reason or exc.__class__.__name__


def os_text(exc: BaseException) -> str:
    """An OSError's reason alone (strerror, or the TLS reason)."""
    if isinstance(exc, ssl.SSLError):
        return _ssl_text(exc)
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return _text(exc)


def _text(exc: BaseException) -> str:
    text = str(exc)
    return text or exc.__class__.__name__
