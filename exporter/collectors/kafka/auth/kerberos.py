"""GSSAPI (Kerberos) credentials for the `kafka` collector, through MIT krb5 and `gssapi`.

aiokafka starts its GSSAPI exchange with the process's default initiator credentials, so the
Kerberos setup is the process's: `sasl_kerberos_krb5_config` becomes `KRB5_CONFIG`,
`sasl_kerberos_keytab` becomes `KRB5_CLIENT_KTNAME` (krb5 gets and renews tickets from this
client keytab by itself) and `sasl_kerberos_ccache` (default with a keytab: a memory cache of
this process) `KRB5CCNAME`. With a keytab, the principal's first ticket is got in a worker
thread before aiokafka connects (the KDC is not asked from the event loop then, and a
wrong keytab or principal is an error naming them). Without keytab, the ticket cache must hold a
ticket (`kinit`). All GSSAPI collectors of one process must agree on these settings: one that
differs fails with an error saying so (run a second exporter for a second Kerberos identity).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from dataclasses import dataclass

from exporter.collectors.kafka.config import KafkaConfig
from exporter.collectors.kafka.read.errors import CredentialsError, gss_text

MEMORY_CCACHE = "MEMORY:kafka-health-exporter"


@dataclass(frozen=True)
class KerberosSettings:
    """The process-wide part of a collector's GSSAPI settings."""

    krb5_config: str | None
    keytab: str | None
    principal: str | None
    ccache: str | None

    @classmethod
    def of(cls, cfg: KafkaConfig) -> KerberosSettings:
        """The settings of one collector entry."""
        ccache = cfg.sasl_kerberos_ccache
        if ccache is None and cfg.sasl_kerberos_keytab:
            # one memory cache per identity: a reload to another principal starts empty
            key = f"{cfg.sasl_kerberos_principal}\0{cfg.sasl_kerberos_keytab}".encode()
            ccache = f"{MEMORY_CCACHE}-{hashlib.sha256(key).hexdigest()[:12]}"
        return cls(
            cfg.sasl_kerberos_krb5_config,
            cfg.sasl_kerberos_keytab,
            cfg.sasl_kerberos_principal,
            ccache,
        )

    def describe(self) -> str:
        """For messages: which files and principal."""
        parts = [f"{k} {v}" for k, v in vars(self).items() if v]
        return ", ".join(parts) or "the process defaults"


_active: dict[str, tuple[object, KerberosSettings]] = {}
"""Collector name -> (its owner, its settings) of the GSSAPI collectors that connected."""


async def activate(owner: object, cfg: KafkaConfig) -> None:
    """Apply `cfg`'s Kerberos settings to the process and, with a keytab, get the principal's
    ticket; raise CredentialsError when another collector uses other settings or the keytab
    does not work."""
    settings = KerberosSettings.of(cfg)
    for name, (other_owner, other) in _active.items():
        if other != settings and not (name == cfg.name and other_owner is not owner):
            raise CredentialsError(
                f"SASL GSSAPI: collector {cfg.name} uses other Kerberos settings"
                f" ({settings.describe()}) than collector {name} ({other.describe()}): one"
                " exporter process has one Kerberos setup; run another exporter for it"
            )
    _active[cfg.name] = (owner, settings)
    _apply(settings)
    if settings.keytab and settings.principal:
        loop = asyncio.get_running_loop()
        try:
            await asyncio.wait_for(loop.run_in_executor(None, _acquire, settings), cfg.timeout)
        except asyncio.TimeoutError as exc:
            raise CredentialsError(
                f"SASL GSSAPI: no answer from the KDC within {cfg.timeout:g}s getting a ticket"
                f" for principal {settings.principal!r}"
            ) from exc


def release(owner: object, cfg: KafkaConfig) -> None:
    """Forget `owner`'s settings (the environment keeps them until another collector's)."""
    entry = _active.get(cfg.name)
    if entry is not None and entry[0] is owner:
        del _active[cfg.name]


def _apply(settings: KerberosSettings) -> None:
    if settings.krb5_config:
        os.environ["KRB5_CONFIG"] = settings.krb5_config
    if settings.keytab:
        os.environ["KRB5_CLIENT_KTNAME"] = settings.keytab
    if settings.ccache:
        os.environ["KRB5CCNAME"] = settings.ccache


def _acquire(settings: KerberosSettings) -> None:
    """Get the principal's initial ticket from the keytab into the ticket cache (blocking)."""
    import gssapi

    assert settings.principal and settings.keytab and settings.ccache
    store: dict[bytes | str, bytes | str] = {
        "client_keytab": settings.keytab,
        "ccache": settings.ccache,
    }
    try:
        name = gssapi.Name(settings.principal, gssapi.NameType.kerberos_principal)
        creds = gssapi.Credentials(name=name, usage="initiate", store=store)
        creds.inquire(name=True, lifetime=True)
    except gssapi.exceptions.GSSError as exc:
        raise CredentialsError(
            f"SASL GSSAPI: cannot get a Kerberos ticket for principal {settings.principal!r}"
            f" with keytab {settings.keytab}: {gss_text(exc)}"
        ) from exc
