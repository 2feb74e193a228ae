"""What one collector's Kafka client authenticates with: its aiokafka options and their upkeep.

`ClientAuth` builds the TLS context once, the token provider of OAUTHBEARER or AWS_MSK_IAM (kept
for the collector's life, so tokens are reused across reconnects and refreshed before they
expire), and for GSSAPI the process's Kerberos setup; `options()` are the keyword arguments of
`AIOKafkaClient` and `create_conn`. `AWS_MSK_IAM` is OAUTHBEARER on the wire.
"""

from __future__ import annotations

import logging
import ssl
from typing import Any

from exporter.collectors.kafka.auth import kerberos, oauth_handshake, session_expiry
from exporter.collectors.kafka.auth.tls import tls_context
from exporter.collectors.kafka.auth.token_cache import CachedTokenProvider
from exporter.collectors.kafka.config import KafkaConfig

log = logging.getLogger(__name__)

oauth_handshake.install()  # a refused OAUTHBEARER token fails the connection
session_expiry.install()  # connections note when the broker ends their SASL session


def _token_provider(cfg: KafkaConfig) -> CachedTokenProvider | None:
    if not cfg.security_protocol.startswith("SASL"):
        return None
    if cfg.sasl_mechanism == "OAUTHBEARER":
        from exporter.collectors.kafka.auth.oauth import ClientCredentialsProvider

        return ClientCredentialsProvider(cfg)
    if cfg.sasl_mechanism == "AWS_MSK_IAM":
        from exporter.collectors.kafka.auth.msk_iam import MskIamTokenProvider

        return MskIamTokenProvider(cfg)
    return None


class ClientAuth:
    """The security settings of one collector, turned into aiokafka options."""

    def __init__(self, cfg: KafkaConfig) -> None:
        self.cfg = cfg
        self.token_provider = _token_provider(cfg)
        self._ssl_context: ssl.SSLContext | None = None
        self._warned = False

    @property
    def tls(self) -> bool:
        """Whether the connections use TLS."""
        return self.cfg.security_protocol in ("SSL", "SASL_SSL")

    async def prepare(self) -> None:
        """Build what a connection needs first: the TLS context (errors name the files), the
        Kerberos credentials. Raises KafkaBootstrapError or CredentialsError."""
        if self.tls:  # rebuilt per bootstrap: renewed certificate files are read again
            self._ssl_context = tls_context(self.cfg)
            if self.cfg.ssl_insecure_skip_verify and not self._warned:
                self._warned = True  # once per collector (its first connection), not per one
                log.warning(
                    "collector %s: ssl_insecure_skip_verify is true: the brokers' TLS certificates"
                    " are not verified (any server can pose as the cluster)",
                    self.cfg.name,
                )
        if self.cfg.security_protocol.startswith("SASL") and self.cfg.sasl_mechanism == "GSSAPI":
            await kerberos.activate(self, self.cfg)

    def options(self) -> dict[str, Any]:
        """Keyword arguments for AIOKafkaClient / create_conn (after `prepare()`)."""
        cfg = self.cfg
        mechanism = cfg.sasl_mechanism or "PLAIN"
        return {
            "security_protocol": cfg.security_protocol,
            "ssl_context": self._ssl_context,
            "sasl_mechanism": "OAUTHBEARER" if mechanism == "AWS_MSK_IAM" else mechanism,
            "sasl_plain_username": cfg.sasl_username,
            "sasl_plain_password": cfg.sasl_password,
            "sasl_kerberos_service_name": cfg.sasl_kerberos_service_name,
            "sasl_kerberos_domain_name": cfg.sasl_kerberos_domain_name,
            "sasl_oauth_token_provider": self.token_provider,
        }

    async def close(self) -> None:
        """Release the token provider's HTTP session (it keeps its token) and the Kerberos
        setup; `prepare()` sets them up again."""
        if self.token_provider is not None:
            await self.token_provider.close()
        if self.cfg.sasl_mechanism == "GSSAPI":
            kerberos.release(self, self.cfg)
