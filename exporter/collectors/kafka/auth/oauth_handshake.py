"""A refused OAUTHBEARER token must fail the connection (aiokafka 0.14 takes it as success).

RFC 7628 (section 3.2.2): a server that refuses the client's token does not answer with an error
but with a challenge, a JSON object such as `{"status":"invalid_token"}`, which the client must
acknowledge before the server fails the exchange. Kafka's broker does exactly this. aiokafka's
`OAuthAuthenticator` ignores any challenge and reports the exchange done, so a refused token
left a connection that the broker then answers with garbage (a Metadata response without
brokers). `install()` replaces the authenticator aiokafka's connections use with one that
raises `SaslAuthenticationFailed` quoting the broker's challenge.
"""

from __future__ import annotations

from typing import Any

import aiokafka.conn
from aiokafka.errors import SaslAuthenticationFailed

MAX_SHOWN = 300
"""Characters of a broker's challenge quoted in the error at most."""


class StrictOAuthAuthenticator(aiokafka.conn.OAuthAuthenticator):
    """aiokafka's OAUTHBEARER client, failing on the server's error challenge."""

    async def step(self, payload: Any) -> Any:
        """Send the token first; any non-empty answer after it is the server's refusal."""
        if self._token_sent and payload:
            challenge = bytes(payload)[:MAX_SHOWN].decode(errors="replace")
            raise SaslAuthenticationFailed(f"the broker refused the token: {challenge}")
        return await super().step(payload)


def install() -> None:
    """Make aiokafka's connections use StrictOAuthAuthenticator (idempotent)."""
    aiokafka.conn.OAuthAuthenticator = StrictOAuthAuthenticator
