"""OAUTHBEARER tokens from an OAuth 2.0 token endpoint with the client credentials grant.

The exporter POSTs `grant_type=client_credentials` (and `scope` when set) to
`sasl_oauth_token_url`, authenticating with HTTP Basic `sasl_oauth_client_id` /
`sasl_oauth_client_secret` (RFC 6749 section 2.3.1, what Kafka's own client does by default).
The answer's `access_token` is sent to the broker; it lives `expires_in` seconds (or until the
JWT's `exp` claim, whichever is sooner), and is refreshed before that (`token_cache`).
Every failure names the endpoint, the client id and what the endpoint answered, never the secret
or a token.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import ssl
import time
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from exporter.collectors.kafka.auth.token_cache import CachedTokenProvider, Token
from exporter.collectors.kafka.auth.token_cache import token_with_lifetime as _token
from exporter.collectors.kafka.config import KafkaConfig
from exporter.collectors.kafka.read.errors import CredentialsError

MAX_ANSWER = 64 * 1024
"""Bytes of a token endpoint's answer read at most."""
DEFAULT_LIFETIME = 3600.0
"""Seconds a token lives when neither `expires_in` nor a JWT `exp` says."""


def shown_url(url: str) -> str:
    """The URL without user info and query, for messages."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}{parts.path}"


def jwt_expiry(token: str) -> float | None:
    """The `exp` claim of a JWT (not verified: the broker verifies), None if it has none."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        padded = parts[1] + "=" * (-len(parts[1]) % 4)
        claims = json.loads(base64.urlsafe_b64decode(padded))
    except (ValueError, binascii.Error):
        return None
    exp = claims.get("exp") if isinstance(claims, dict) else None
    return float(exp) if isinstance(exp, (int, float)) and not isinstance(exp, bool) else None


class ClientCredentialsProvider(CachedTokenProvider):
    """Tokens of one client from one token endpoint."""

    def __init__(self, cfg: KafkaConfig) -> None:
        super().__init__(cfg.name)
        assert cfg.sasl_oauth_token_url and cfg.sasl_oauth_client_id
        self.url = cfg.sasl_oauth_token_url
        self.client_id = cfg.sasl_oauth_client_id
        self._secret = cfg.sasl_oauth_client_secret or ""
        self._scope = cfg.sasl_oauth_scope
        self._cafile = cfg.sasl_oauth_token_cafile
        self._timeout = cfg.timeout
        self._session: aiohttp.ClientSession | None = None

    def _basic(self) -> str:
        credentials = f"{self.client_id}:{self._secret}".encode()
        return f"Basic {base64.b64encode(credentials).decode()}"

    def _where(self) -> str:
        return f"the token endpoint {shown_url(self.url)} (client {self.client_id!r})"

    def _session_for_loop(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            context = ssl.create_default_context(cafile=self._cafile)
            self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context))
        return self._session

    async def fetch(self) -> Token:
        """POST the client credentials grant and read the token from the answer."""
        form = {"grant_type": "client_credentials"}
        if self._scope:
            form["scope"] = self._scope
        try:
            async with self._session_for_loop().post(
                self.url,
                data=form,
                headers={"Accept": "application/json", "Authorization": self._basic()},
                timeout=aiohttp.ClientTimeout(total=self._timeout),
                allow_redirects=False,
            ) as answer:
                body = await answer.content.read(MAX_ANSWER)
                status = answer.status
        except asyncio.TimeoutError as exc:
            raise self._error(f"no answer within {self._timeout:g}s") from exc
        except aiohttp.ClientConnectorCertificateError as exc:
            raise self._error(f"TLS: {exc.certificate_error}") from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise self._error(f"cannot reach it: {exc.__class__.__name__}: {exc}") from exc
        if status != 200:
            raise self._error(f"HTTP {status}{_oauth_error(body)}")
        return self._read_token(body)

    def _read_token(self, body: bytes) -> Token:
        try:
            answer: Any = json.loads(body)
        except ValueError as exc:
            raise self._error("the answer is not JSON") from exc
        if not isinstance(answer, dict) or not isinstance(answer.get("access_token"), str):
            raise self._error("the answer has no access_token")
        value, now = answer["access_token"], time.time()
        expiries = [now + DEFAULT_LIFETIME]
        expires_in = answer.get("expires_in")
        if isinstance(expires_in, (int, float, str)) and not isinstance(expires_in, bool):
            with contextlib.suppress(ValueError):
                expiries = [now + float(expires_in)]
        exp = jwt_expiry(value)
        if exp is not None:
            expiries.append(exp)
        return _token(value, min(expiries), now)

    def _error(self, what: str) -> CredentialsError:
        text = f"SASL OAUTHBEARER: {self._where()}: {what}"
        if self._secret:
            text = text.replace(self._secret, "***")
        return CredentialsError(text)

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None


def _oauth_error(body: bytes) -> str:
    """`: invalid_client: bad secret` from an RFC 6749 error answer, else its start."""
    try:
        answer = json.loads(body)
    except ValueError:
        text = body[:200].decode(errors="replace").strip()
        return f": {text}" if text else ""
    if not isinstance(answer, dict):
        return ""
    parts = [str(answer[k])[:200] for k in ("error", "error_description") if answer.get(k)]
    return f": {': '.join(parts)}" if parts else ""
