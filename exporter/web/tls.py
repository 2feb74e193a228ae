"""Build the server's `ssl.SSLContext` from a validated `tls_server_config`.

Inline PEM (`cert`, `key`) is written to a private temporary directory only for the moment
`load_cert_chain` reads it, because Python's ssl loads certificate chains from files.
"""

from __future__ import annotations

import ipaddress
import os
import ssl
import tempfile
from collections.abc import Iterable
from pathlib import Path

from exporter.schema.errors import ConfigError
from exporter.web.tls_config import CIPHER_SUITES, CURVES, TLS_VERSIONS, TlsServerConfig

_VERIFY_MODES = {
    "NoClientCert": ssl.CERT_NONE,
    "RequestClientCert": ssl.CERT_NONE,  # Go requests but never verifies it: same access
    "VerifyClientCertIfGiven": ssl.CERT_OPTIONAL,
    "RequireAndVerifyClientCert": ssl.CERT_REQUIRED,
}


def _load_chain(context: ssl.SSLContext, tls: TlsServerConfig) -> None:
    if tls.cert_file and tls.key_file:
        context.load_cert_chain(tls.cert_file, tls.key_file)
        return
    with tempfile.TemporaryDirectory(prefix="khe-tls-") as tmp:
        cert = tls.cert_file
        key = tls.key_file
        if tls.cert:
            cert = _private_file(Path(tmp) / "cert.pem", tls.cert)
        if tls.key:
            key = _private_file(Path(tmp) / "key.pem", tls.key.get_secret_value())
        assert cert is not None and key is not None  # checked by cross_problems()
        context.load_cert_chain(cert, key)


def _private_file(path: Path, text: str) -> str:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    return str(path)


def _unreadable(tls: TlsServerConfig) -> list[str]:
    problems = []
    for key in ("cert_file", "key_file", "client_ca_file"):
        name = getattr(tls, key)
        if name is None:
            continue
        try:
            Path(name).read_bytes()
        except OSError as exc:
            problems.append(f"tls_server_config.{key}: cannot read {name!r}: {exc.strerror}")
    return problems


def load_certificates(context: ssl.SSLContext, tls: TlsServerConfig, source: str) -> None:
    """(Re)load the server certificate and key into `context`; ConfigError naming the files."""
    unreadable = _unreadable(tls)
    if unreadable:
        raise ConfigError(source, unreadable)
    try:
        _load_chain(context, tls)
    except (ssl.SSLError, OSError) as exc:
        where = f"cert_file {tls.cert_file!r}, key_file {tls.key_file!r}"
        if tls.cert or tls.key:
            where = "cert/key"
        raise ConfigError(
            source,
            [f"tls_server_config: cannot load the certificate and key ({where}): {exc}"],
        ) from None


def build_ssl_context(tls: TlsServerConfig, source: str) -> ssl.SSLContext:
    """A server context honouring every supported key; ConfigError naming key and value."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = TLS_VERSIONS[tls.min_version]
    context.maximum_version = TLS_VERSIONS[tls.max_version]
    load_certificates(context, tls, source)
    problems: list[str] = []
    if tls.client_ca_file or tls.client_ca:
        try:
            context.load_verify_locations(cafile=tls.client_ca_file, cadata=tls.client_ca)
        except (ssl.SSLError, OSError, ValueError) as exc:
            key = "client_ca_file" if tls.client_ca_file else "client_ca"
            shown = tls.client_ca_file if tls.client_ca_file else "<inline PEM>"
            problems.append(f"tls_server_config.{key}: cannot load {shown!r}: {exc}")
    context.verify_mode = _VERIFY_MODES[tls.client_auth_type]
    openssl_names = [n for name in tls.cipher_suites if (n := CIPHER_SUITES[name])]
    if openssl_names:
        try:
            context.set_ciphers(":".join(openssl_names))
        except ssl.SSLError as exc:
            problems.append(
                f"tls_server_config.cipher_suites: invalid value {list(tls.cipher_suites)!r}: "
                f"OpenSSL accepts none of them ({exc})"
            )
    if tls.prefer_server_cipher_suites:
        context.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
    else:
        context.options &= ~ssl.OP_CIPHER_SERVER_PREFERENCE
    for curve in tls.curve_preferences:
        try:
            context.set_ecdh_curve(CURVES[curve])
        except (ssl.SSLError, ValueError) as exc:
            problems.append(
                f"tls_server_config.curve_preferences: invalid value {curve!r}: "
                f"not available in this OpenSSL ({exc})"
            )
    if problems:
        raise ConfigError(source, problems)
    return context


def _normalise(kind: str, value: str) -> str:
    if kind == "IP Address":
        try:
            return str(ipaddress.ip_address(value.strip()))
        except ValueError:
            return value
    return value


def peer_sans(peercert: dict | None) -> set[str]:
    """Every DNS, IP, e-mail and URI subject alternative name of a verified peer certificate."""
    if not peercert:
        return set()
    names: Iterable[tuple[str, str]] = peercert.get("subjectAltName", ())
    return {_normalise(kind, value) for kind, value in names}


def san_allowed(peercert: dict | None, allowed: Iterable[str]) -> bool:
    """True when one of the certificate's SANs exactly matches an allowed entry."""
    wanted = {_normalise("IP Address", a) if _is_ip(a) else a for a in allowed}
    return bool(peer_sans(peercert) & wanted)


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True
