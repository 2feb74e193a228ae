"""HTTP access control from the web config: basic auth, client-certificate SANs, rate limit and
response headers, as aiohttp middleware.

Basic auth follows exporter-toolkit: an unknown user is checked against a decoy hash of the same
cost (no user enumeration by timing), bcrypt runs in a small pool of its own under per-client
limits (exporter/web/bcrypt_pool.py), the outcome of each (user, hash, password) triple is cached
(kept across reloads: the key holds the hash), and the recomputed hash is compared to the stored
one in constant time. Refusals answer 401 with `WWW-Authenticate: Basic` and are counted; a
client over its failure limit gets 429 without a bcrypt check.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence

import bcrypt
from aiohttp import web

from exporter.exposition.self_metrics import DaemonCounters
from exporter.web.bcrypt_pool import BcryptPool, Busy
from exporter.web.config import WebSettings
from exporter.web.tls import san_allowed

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
CACHE_SIZE = 256
REALM = 'Basic realm="kafka-health-exporter"'


def _decoy_hash(users: dict[str, bytes]) -> bytes:
    """A hash of a random password with the cost of the configured users' hashes."""
    costs = sorted(int(h.split(b"$")[2]) for h in users.values())
    cost = costs[len(costs) // 2] if costs else 10
    return bcrypt.hashpw(b"decoy-password-never-matches", bcrypt.gensalt(cost))


def parse_basic(header: str) -> tuple[str, bytes] | None:
    """(user, password) from an `Authorization: Basic ...` header, or None if malformed."""
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    user, sep, password = decoded.partition(b":")
    if not sep:
        return None
    try:
        return user.decode("utf-8"), password
    except UnicodeDecodeError:
        return None


class TokenBucket:
    """`rate_limit`: `burst` requests at once, refilled at one per `interval`."""

    def __init__(self, interval: float, burst: int, clock: Callable[[], float]) -> None:
        self._interval, self._burst, self._clock = interval, max(burst, 1), clock
        self._tokens = float(self._burst)
        self._updated = clock()

    def allow(self) -> bool:
        """Take a token if one is left."""
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._updated) / self._interval)
        self._updated = now
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        return False


class WebGuard:
    """The middleware; `update()` swaps users, headers, limits and open paths on reload."""

    def __init__(
        self,
        settings: WebSettings,
        open_paths: Sequence[str],
        counters: DaemonCounters,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._counters = counters
        self._clock = clock
        self._bcrypt = BcryptPool(clock)
        self._cache: OrderedDict[bytes, bool] = OrderedDict()
        self.update(settings, open_paths)

    def update(self, settings: WebSettings, open_paths: Sequence[str]) -> None:
        """Apply a (re)loaded web config; TLS itself is the listener's business."""
        self.settings = settings
        self._open = frozenset(open_paths)
        self._users = dict(settings.users)
        self._decoy = _decoy_hash(self._users) if self._users else b""
        limit = settings.file.rate_limit
        self._bucket = (
            TokenBucket(limit.interval, limit.burst, self._clock) if limit.interval > 0 else None
        )
        self._sans = settings.file.tls_server_config.client_allowed_sans

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Check the request, then add the configured headers to whatever is answered."""
        try:
            response = await self._guarded(request, handler)
        except web.HTTPException as exc:
            exc.headers.update(self.settings.headers)
            raise
        response.headers.update(self.settings.headers)
        return response

    async def _guarded(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in self._open:
            return await handler(request)
        if self._bucket is not None and not self._bucket.allow():
            return web.Response(status=429, text="Too Many Requests\n")
        if self._sans and not san_allowed(
            request.transport.get_extra_info("peercert") if request.transport else None,
            self._sans,
        ):
            self._counters.auth_failures["client_certificate"] += 1
            log.warning("refused %s %s: client certificate SAN not allowed", request.method,
                        request.path)  # fmt: skip
            return web.Response(status=403, text="client certificate not allowed\n")
        if self._users:
            reason = await self._authenticate(
                request.headers.get("Authorization"), request.remote or ""
            )
            if reason == "throttled":
                self._counters.auth_failures[reason] += 1
                return web.Response(
                    status=429, text="Too Many Requests\n", headers={"Retry-After": "60"}
                )
            if reason is not None:
                self._counters.auth_failures[reason] += 1
                return web.Response(
                    status=401, text="Unauthorized\n", headers={"WWW-Authenticate": REALM}
                )
        return await handler(request)

    def close(self) -> None:
        """Stop the bcrypt worker threads."""
        self._bcrypt.close()

    async def _authenticate(self, header: str | None, client: str = "") -> str | None:
        """None when the credentials are right, else the failure reason (`missing`, `wrong`,
        `throttled`)."""
        credentials = parse_basic(header) if header else None
        if credentials is None:
            return "missing"
        user, password = credentials
        known = user in self._users
        hashed = self._users[user] if known else self._decoy
        key = hashlib.sha256(b"\0".join((user.encode(), hashed, password))).digest()
        ok = self._cache.get(key)
        if ok is None:
            try:
                computed = await self._bcrypt.compute(key, client, password, hashed)
            except Busy:
                return "throttled"
            ok = known and hmac.compare_digest(computed, hashed)
            self._cache[key] = ok
            if len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        elif ok:
            self._cache.move_to_end(key)
        if not ok:
            self._bcrypt.failed(client)
        return None if ok else "wrong"
