"""Which `kafka` settings go together: what each `sasl_mechanism` needs, and settings that a
mechanism or a `security_protocol` would silently ignore (a config error instead).

Used by the config model, so it imports no client library; whether an optional one (gssapi, the
MSK IAM signer) is installed is asked of importlib without importing it.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from typing import Any

MECHANISM_KEYS: Mapping[str, tuple[str, ...]] = {
    "PLAIN": ("sasl_username", "sasl_password"),
    "SCRAM-SHA-256": ("sasl_username", "sasl_password"),
    "SCRAM-SHA-512": ("sasl_username", "sasl_password"),
    "OAUTHBEARER": (
        "sasl_oauth_token_url",
        "sasl_oauth_client_id",
        "sasl_oauth_client_secret",
        "sasl_oauth_scope",
        "sasl_oauth_token_cafile",
    ),
    "AWS_MSK_IAM": ("sasl_aws_region", "sasl_aws_role_arn", "sasl_aws_profile"),
    "GSSAPI": (
        "sasl_kerberos_service_name",
        "sasl_kerberos_domain_name",
        "sasl_kerberos_principal",
        "sasl_kerberos_keytab",
        "sasl_kerberos_ccache",
        "sasl_kerberos_krb5_config",
    ),
}
"""The settings each mechanism uses (the first ones listed in REQUIRED are required)."""
REQUIRED: Mapping[str, tuple[str, ...]] = {
    "PLAIN": ("sasl_username", "sasl_password"),
    "SCRAM-SHA-256": ("sasl_username", "sasl_password"),
    "SCRAM-SHA-512": ("sasl_username", "sasl_password"),
    "OAUTHBEARER": ("sasl_oauth_token_url", "sasl_oauth_client_id", "sasl_oauth_client_secret"),
    "AWS_MSK_IAM": ("sasl_aws_region",),
    "GSSAPI": (),
}
DEFAULTS: Mapping[str, Any] = {"sasl_kerberos_service_name": "kafka"}
"""Settings whose default is not None (set to the default they count as unset)."""
PACKAGES: Mapping[str, tuple[str, str]] = {
    "GSSAPI": ("gssapi", "kerberos"),
    "AWS_MSK_IAM": ("aws_msk_iam_sasl_signer", "aws"),
}
"""Mechanism -> (module it needs, the package extra that installs it)."""
TLS_KEYS = (
    "ssl_cafile",
    "ssl_certfile",
    "ssl_keyfile",
    "ssl_key_password",
    "ssl_server_name",
    "ssl_insecure_skip_verify",
)


def _is_set(values: Mapping[str, Any], key: str) -> bool:
    value = values.get(key)
    return value not in (None, "", False) and value != DEFAULTS.get(key)


def problems(values: Mapping[str, Any]) -> list[str]:
    """What is wrong with the security settings of one entry (its validated fields)."""
    protocol = values.get("security_protocol", "PLAINTEXT")
    mechanism = values.get("sasl_mechanism")
    found: list[str] = []
    if protocol.startswith("SASL"):
        if mechanism is None:
            return [f"sasl_mechanism is required with security_protocol {protocol}"]
        missing = [key for key in REQUIRED[mechanism] if not _is_set(values, key)]
        if missing:
            found.append(f"{' and '.join(missing)} required with sasl_mechanism {mechanism}")
        module, extra = PACKAGES.get(mechanism, ("", ""))
        if module and importlib.util.find_spec(module) is None:
            found.append(
                f"sasl_mechanism {mechanism} needs the Python package {module!r}, which is not"
                f" installed (pip install 'kafka-health-exporter[{extra}]')"
            )
    elif mechanism is not None:
        found.append(
            f"sasl_mechanism {mechanism} is set but security_protocol is {protocol}, which does"
            " not use SASL (SASL_PLAINTEXT or SASL_SSL?)"
        )
    found += _foreign_keys(values, mechanism if protocol.startswith("SASL") else None)
    if not protocol.endswith("SSL"):
        tls = [key for key in TLS_KEYS if _is_set(values, key)]
        if tls:
            found.append(
                f"{', '.join(tls)} set but security_protocol is {protocol}, which does not use"
                " TLS (SSL or SASL_SSL?)"
            )
    if _is_set(values, "ssl_key_password") and not _is_set(values, "ssl_certfile"):
        found.append("ssl_key_password is set but ssl_certfile is not: there is no key to decrypt")
    if values.get("sasl_kerberos_keytab") and not values.get("sasl_kerberos_principal"):
        found.append("sasl_kerberos_principal is required with sasl_kerberos_keytab")
    return found


def _foreign_keys(values: Mapping[str, Any], mechanism: str | None) -> list[str]:
    """Settings of another mechanism than the one in use: they would be ignored."""
    used = set(MECHANISM_KEYS.get(mechanism or "", ()))
    every = dict.fromkeys(key for keys in MECHANISM_KEYS.values() for key in keys)
    found: list[str] = []
    for key in every:
        if key not in used and _is_set(values, key):
            owners = " or ".join(m for m, keys in MECHANISM_KEYS.items() if key in keys)
            found.append(
                f"{key} is set but is used only with sasl_mechanism {owners}"
                f" (sasl_mechanism is {mechanism or 'unset'})"
            )
    return found
