"""An OAuth 2.0 identity provider on loopback for the OAUTHBEARER tests, and a Kafka 4.x node
that validates its tokens.

`OAuthServer` (a thread) answers `POST /token` with the client credentials grant (HTTP Basic
client id and secret) with an RS256-signed JWT (`iss`, `aud`, `sub`, `iat`, `exp`, `scope`), and
`GET /jwks` with the public key, as a real provider does. Each client has its own token lifetime,
and some are there to be refused: `stranger` gets tokens signed with a key that is not in the
JWKS, `wrong-audience` tokens for another audience. Every token issued is recorded.

`oauth_cluster(server)` is a single node with an `OAUTH` listener (SASL_PLAINTEXT, OAUTHBEARER,
Kafka's `OAuthBearerValidatorCallbackHandler` reading the JWKS URL, expected audience and issuer,
no clock skew) and `connections.max.reauth.ms`, so the broker ends a connection whose token has
expired (aiokafka does not re-authenticate: it reconnects with a new token). Kafka 4 only fetches
URLs listed in the JVM property `org.apache.kafka.sasl.oauthbearer.allowed.urls`.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tests.support.kafka_cluster import KafkaCluster
from tests.support.kafka_node import Listener

ISSUER = "https://idp.test.invalid/"
AUDIENCE = "kafka-test"
CLIENT_ID = "exporter"
CLIENT_SECRET = "oauth-secret-Pw-6b1d0e3f"
WRONG_SECRET = "oauth-wrong-Pw-2a7c91"
SECRETS = (CLIENT_SECRET, WRONG_SECRET)
REAUTH_MS = 2000
"""The broker's `connections.max.reauth.ms` on the OAUTH listener."""


@dataclass
class Issued:
    """One token handed out."""

    client: str
    at: float
    expires: float
    token: str


@dataclass
class OAuthServer:
    """Token endpoint and JWKS on 127.0.0.1 (start/stop, or use as a context manager)."""

    lifetimes: dict[str, int] = field(
        default_factory=lambda: {
            CLIENT_ID: 3600,
            "short": 5,
            "stranger": 3600,
            "wrong-audience": 3600,
        }
    )
    """Client id -> token lifetime in seconds; every client's secret is CLIENT_SECRET."""
    issued: list[Issued] = field(default_factory=list)
    key: rsa.RSAPrivateKey = field(default_factory=lambda: _rsa())
    other_key: rsa.RSAPrivateKey = field(default_factory=lambda: _rsa())
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def token_url(self) -> str:
        return f"{self.url}/token"

    @property
    def jwks_url(self) -> str:
        return f"{self.url}/jwks"

    def start(self) -> OAuthServer:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> OAuthServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def jwks(self) -> dict[str, Any]:
        jwk = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**jwk, "kid": "test-key", "use": "sig", "alg": "RS256"}]}

    def tokens_of(self, client: str) -> list[Issued]:
        return [issued for issued in self.issued if issued.client == client]

    def issue(self, client: str) -> dict[str, Any]:
        """The token endpoint's answer for `client` (authenticated)."""
        now = int(time.time())
        lifetime = self.lifetimes[client]
        claims = {
            "iss": ISSUER,
            "aud": "another-service" if client == "wrong-audience" else AUDIENCE,
            "sub": client,
            "iat": now,
            "exp": now + lifetime,
            "scope": "kafka",
        }
        key = self.other_key if client == "stranger" else self.key
        token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": "test-key"})
        self.issued.append(Issued(client, time.time(), now + lifetime, token))
        return {"access_token": token, "token_type": "Bearer", "expires_in": lifetime}


def _rsa() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _handler(server: OAuthServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path == "/jwks":
                self._answer(200, server.jwks())
            else:
                self._answer(404, {"error": "not_found"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            form = parse_qs(self.rfile.read(length).decode())
            if self.path != "/token" or form.get("grant_type") != ["client_credentials"]:
                self._answer(400, {"error": "unsupported_grant_type"})
                return
            client, secret = _basic(self.headers.get("Authorization", ""))
            if client not in server.lifetimes or secret != CLIENT_SECRET:
                self._answer(
                    401, {"error": "invalid_client", "error_description": "bad client credentials"}
                )
                return
            self._answer(200, server.issue(client))

    return Handler


def _basic(header: str) -> tuple[str, str]:
    if not header.startswith("Basic "):
        return "", ""
    user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    return user, password


def oauth_cluster(server: OAuthServer) -> KafkaCluster:
    """A single node with the OAUTH listener validating `server`'s tokens (not started)."""
    handler = "org.apache.kafka.common.security.oauthbearer.OAuthBearerValidatorCallbackHandler"
    login = "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule"
    return KafkaCluster(
        listeners=[
            Listener(
                "OAUTH",
                "SASL_PLAINTEXT",
                {
                    "sasl.enabled.mechanisms": "OAUTHBEARER",
                    "oauthbearer.sasl.server.callback.handler.class": handler,
                    "oauthbearer.sasl.jaas.config": f"{login} required;",
                    "oauthbearer.connections.max.reauth.ms": str(REAUTH_MS),
                },
            )
        ],
        properties={
            "sasl.enabled.mechanisms": "OAUTHBEARER",
            "sasl.oauthbearer.jwks.endpoint.url": server.jwks_url,
            "sasl.oauthbearer.expected.audience": AUDIENCE,
            "sasl.oauthbearer.expected.issuer": ISSUER,
            "sasl.oauthbearer.clock.skew.seconds": "0",
        },
        jvm=(f"-Dorg.apache.kafka.sasl.oauthbearer.allowed.urls={server.jwks_url}",),
    )
