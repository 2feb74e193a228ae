"""Reconnect before the broker ends an authenticated session (aiokafka cannot re-authenticate).

A broker with `connections.max.reauth.ms` (KIP-368) gives every SASL session a lifetime, at most
that long and never past the credential's expiry (an OAuth or MSK IAM token's), and closes a
connection that is used after it without re-authenticating; it says the lifetime in the
SaslAuthenticate v1 answer (`session_lifetime_ms`). aiokafka 0.14 neither reads it nor
re-authenticates, so every session's end failed the request that met it: one failed refresh per
lifetime. `install()` makes aiokafka's connections record when their session ends, and
`close_expiring()` (called before each refresh) closes idle connections whose session ends
within the refresh's timeout; aiokafka opens a new one, authenticated afresh (with a fresh token),
when it next needs that broker.
"""

from __future__ import annotations

import time
from typing import Any

from aiokafka import AIOKafkaClient
from aiokafka.conn import AIOKafkaConnection

_EXPIRES = "_khe_session_expires"
"""Attribute of a connection: time.monotonic() at which its SASL session ends."""


def install() -> None:
    """Wrap aiokafka's SASL handshake to note each session's lifetime (idempotent)."""
    original = getattr(AIOKafkaConnection, "_do_sasl_handshake", None)
    if original is None or getattr(original, "_khe_wrapped", False):
        return  # another aiokafka than 0.14's layout: sessions then end as they did

    async def handshake(self: AIOKafkaConnection) -> None:
        started = time.monotonic()
        send = self.send
        lifetimes: list[int] = []

        async def noting_send(request: Any, *args: Any, **kwargs: Any) -> Any:
            answer = await send(request, *args, **kwargs)
            lifetime = getattr(answer, "session_lifetime_ms", 0)
            if isinstance(lifetime, int) and lifetime > 0:
                lifetimes.append(lifetime)
            return answer

        self.send = noting_send
        try:
            await original(self)
        finally:
            del self.send
        if lifetimes:
            setattr(self, _EXPIRES, started + min(lifetimes) / 1000)

    handshake._khe_wrapped = True  # type: ignore[attr-defined]
    AIOKafkaConnection._do_sasl_handshake = handshake


def session_ends(conn: AIOKafkaConnection) -> float | None:
    """When the connection's SASL session ends (monotonic), None when it does not."""
    value = getattr(conn, _EXPIRES, None)
    return value if isinstance(value, float) else None


def close_expiring(client: AIOKafkaClient, within: float) -> int:
    """Close the idle connections of `client` whose session ends within `within` seconds; the
    number closed."""
    deadline = time.monotonic() + within
    closed = 0
    for conn in list(client._conns.values()):
        ends = session_ends(conn)
        if ends is not None and ends < deadline and conn.connected() and not conn._requests:
            conn.close()
            closed += 1
    return closed
