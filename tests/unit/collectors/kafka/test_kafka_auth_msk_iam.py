"""AWS MSK IAM tokens from the real aws-msk-iam-sasl-signer-python with static test credentials
from the environment: the token is the SigV4-presigned `kafka-cluster:Connect` URL that MSK
checks (the signature is recomputed here from the secret key), refreshed before it expires, and
made with an assumed role's credentials when `sasl_aws_role_arn` is set (STS served by the test
on loopback). What cannot be tested here: that MSK accepts it (that needs an AWS account)."""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import pytest

from exporter.collectors.kafka.auth import token_cache
from exporter.collectors.kafka.auth.msk_iam import MskIamTokenProvider
from exporter.collectors.kafka.config import KafkaConfig
from exporter.collectors.kafka.read.errors import CredentialsError

KEY_ID, SECRET = "AKIDKHETEST0000001", "khe-aws-secret-Pw-44a1b2"
ROLE_KEY_ID, ROLE_SECRET, ROLE_TOKEN = (
    "ASIAKHEROLE0000002",
    "khe-role-secret-Pw-9",
    "role-session-tok",
)


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def _provider(**settings: Any) -> MskIamTokenProvider:
    cfg = KafkaConfig.model_validate(
        {"name": "msk", "type": "kafka", "bootstrap_servers": "b-1.msk.invalid:9098",
         "security_protocol": "SASL_SSL", "sasl_mechanism": "AWS_MSK_IAM",
         "sasl_aws_region": "eu-west-1", **settings}
    )  # fmt: skip
    return MskIamTokenProvider(cfg)


def _decode(token: str) -> tuple[str, dict[str, str]]:
    url = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}", dict(parse_qsl(parts.query))


def _expected_signature(query: dict[str, str], secret: str) -> str:
    """SigV4 of the presigned GET as MSK recomputes it (query auth, host header only)."""
    signed = {k: v for k, v in query.items() if k not in ("X-Amz-Signature", "User-Agent")}
    canonical_query = "&".join(
        f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(signed.items())
    )
    canonical = "\n".join(
        ["GET", "/", canonical_query, "host:kafka.eu-west-1.amazonaws.com", "", "host",
         hashlib.sha256(b"").hexdigest()]
    )  # fmt: skip
    stamp = query["X-Amz-Date"]
    scope = f"{stamp[:8]}/eu-west-1/kafka-cluster/aws4_request"
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = f"AWS4{secret}".encode()
    for part in (stamp[:8], "eu-west-1", "kafka-cluster", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


async def test_token_is_a_presigned_connect_url_signed_with_the_credentials(aws_env: None) -> None:
    provider = _provider()
    url, query = _decode(await provider.token())
    assert url == "https://kafka.eu-west-1.amazonaws.com/"
    assert query["Action"] == "kafka-cluster:Connect"
    assert query["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    assert query["X-Amz-Credential"].startswith(f"{KEY_ID}/")
    assert query["X-Amz-Credential"].endswith("/eu-west-1/kafka-cluster/aws4_request")
    assert query["X-Amz-Expires"] == "900"
    assert query["X-Amz-Signature"] == _expected_signature(query, SECRET)
    signed_at = datetime.datetime.strptime(query["X-Amz-Date"], "%Y%m%dT%H%M%SZ")
    assert abs(signed_at.replace(tzinfo=datetime.timezone.utc).timestamp() - time.time()) < 60


async def test_token_is_reused_then_refreshed_before_it_expires(
    aws_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider = _provider()
    first = await provider.token()
    assert await provider.token() == first and provider.fetches == 1
    real = time.time
    monkeypatch.setattr(token_cache.time, "time", lambda: real() + 0.8 * 900 + 1)
    await provider.token()
    assert provider.fetches == 2  # signed anew once 80% of the 15 minutes have passed


async def test_no_credentials_is_a_clear_error(
    aws_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(CredentialsError) as info:
        await _provider().token()
    assert str(info.value) == (
        "SASL AWS_MSK_IAM: cannot sign a token (region eu-west-1, default credentials): no AWS"
        " credentials found (environment, shared config, web identity or role)"
    )


@pytest.fixture
def sts(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, str]]]:
    """An STS endpoint on loopback answering AssumeRole (AWS_ENDPOINT_URL_STS points at it)."""
    calls: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            calls.append(dict(parse_qsl(self.rfile.read(length).decode())))
            expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)
            body = (
                '<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
                "<AssumeRoleResult><Credentials>"
                f"<AccessKeyId>{ROLE_KEY_ID}</AccessKeyId><SecretAccessKey>{ROLE_SECRET}"
                f"</SecretAccessKey><SessionToken>{ROLE_TOKEN}</SessionToken>"
                f"<Expiration>{expires.strftime('%Y-%m-%dT%H:%M:%SZ')}</Expiration>"
                "</Credentials><AssumedRoleUser><AssumedRoleId>AROA:khe</AssumedRoleId>"
                "<Arn>arn:aws:sts::123456789012:assumed-role/r/khe</Arn></AssumedRoleUser>"
                "</AssumeRoleResult></AssumeRoleResponse>"
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", f"http://127.0.0.1:{server.server_address[1]}")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    try:
        yield calls
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


async def test_role_arn_signs_with_the_assumed_role(
    aws_env: None, sts: list[dict[str, str]]
) -> None:
    role = "arn:aws:iam::123456789012:role/kafka-reader"
    _, query = _decode(await _provider(sasl_aws_role_arn=role).token())
    assert sts[0]["Action"] == "AssumeRole" and sts[0]["RoleArn"] == role
    assert sts[0]["RoleSessionName"] == "kafka-health-exporter"
    assert query["X-Amz-Credential"].startswith(f"{ROLE_KEY_ID}/")
    assert query["X-Amz-Security-Token"] == ROLE_TOKEN
    assert query["X-Amz-Signature"] == _expected_signature(query, ROLE_SECRET)
