"""SASL OAUTHBEARER against a real Kafka 4.x that validates tokens with its own
OAuthBearerValidatorCallbackHandler (JWKS, audience, issuer), the tokens coming from a token
endpoint the test serves on loopback (client credentials, RS256 JWTs). Through the CLI: exact lag
through the OAUTH listener; short-lived tokens are replaced before they expire while the broker
ends connections whose token expired; a refused client secret, a token for another audience, a
token signed with an unknown key, an AWS MSK IAM token (static test credentials; this broker is
not MSK, so it refuses it) and an unreachable endpoint each fail with a message naming the
mechanism and the cause. No secret and no token shows anywhere.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from exporter.cli.demo.processes import free_port
from tests.support.exporter_process import ExporterProcess, value, wait_for
from tests.support.kafka_cluster import KafkaCluster
from tests.support.kafka_helpers import commit, create_topics, produce, unique
from tests.support.kafka_security_cases import collectors_config
from tests.support.kafka_security_oauth import (
    CLIENT_ID,
    CLIENT_SECRET,
    REAUTH_MS,
    SECRETS,
    WRONG_SECRET,
    OAuthServer,
    oauth_cluster,
)

LAG = {0: 4, 1: 1}
AWS_SECRET = "khe-aws-secret-Pw-71c3"
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "AKIDKHETEST0000003",
    "AWS_SECRET_ACCESS_KEY": AWS_SECRET,
    "AWS_CONFIG_FILE": "/nonexistent",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def _oauth(
    server: OAuthServer, client: str, secret: str = CLIENT_SECRET, **extra: Any
) -> dict[str, Any]:
    return {
        "listener": "OAUTH",
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "OAUTHBEARER",
        "sasl_oauth_token_url": server.token_url,
        "sasl_oauth_client_id": client,
        "sasl_oauth_client_secret": secret,
        "sasl_oauth_scope": "kafka",
        **extra,
    }


@pytest.fixture(scope="module")
def idp() -> Iterator[OAuthServer]:
    with OAuthServer() as server:
        yield server


@pytest.fixture(scope="module")
def cluster(idp: OAuthServer) -> Iterator[KafkaCluster]:
    with oauth_cluster(idp) as started:
        yield started


@pytest.fixture(scope="module")
def committed(cluster: KafkaCluster) -> tuple[str, str]:
    topic, group = unique("oauth"), unique("oauth-g")

    async def setup() -> None:
        await create_topics(cluster.bootstrap, {topic: 2})
        await produce(cluster.bootstrap, topic, {0: 6, 1: 2})
        await commit(cluster.bootstrap, group, {(topic, 0): 2, (topic, 1): 1})

    asyncio.run(setup())
    return topic, group


def _assert_no_secret(idp: OAuthServer, where: str, text: str) -> None:
    for secret in (*SECRETS, AWS_SECRET):
        assert secret not in text, f"a client secret shows in {where}"
    for issued in idp.issued:
        assert issued.token not in text, f"a token shows in {where}"


def _assert_exact_lag(exporter: ExporterProcess, name: str, topic: str, group: str) -> None:
    m = exporter.metrics()
    assert value(m, "kafka_health_exporter_collector_up", collector=name, type="kafka") == 1
    assert value(m, "kafka_brokers", cluster=name) == 1
    for partition, lag in LAG.items():
        assert (
            value(m, "kafka_consumergroup_lag", cluster=name, consumergroup=group, topic=topic,
                  partition=str(partition))
            == lag
        )  # fmt: skip


def test_exact_lag_and_short_tokens_refreshed(
    idp: OAuthServer, cluster: KafkaCluster, committed: tuple[str, str], tmp_path: Path
) -> None:
    topic, group = committed
    entries = {"oauth": _oauth(idp, CLIENT_ID), "oauth-short": _oauth(idp, "short")}
    config = collectors_config(cluster, group, entries)
    with ExporterProcess(config, tmp_path) as exporter:
        exporter.wait_ready(30)
        _assert_exact_lag(exporter, "oauth", topic, group)
        lifetime = idp.lifetimes["short"]
        wait_for(lambda: len(idp.tokens_of("short")) >= 4, 6 * lifetime, what="4 short tokens")
        _assert_exact_lag(exporter, "oauth-short", topic, group)
        short = idp.tokens_of("short")
        for before, after in itertools.pairwise(short):
            # not one token per connection (the broker ends one every REAUTH_MS): the cached
            # token is used until 80% of its life has passed, then replaced
            assert after.at - before.at >= 0.8 * lifetime - 0.5, [t.at for t in short]
        assert len(idp.tokens_of(CLIENT_ID)) == 1  # the long-lived token is fetched once
        status, body = exporter.get_json("/ready")
        assert status == 200, body
        m = exporter.metrics()
        for name in entries:  # connections are renewed before the broker ends their session
            assert value(m, "kafka_health_exporter_collector_failures_total", collector=name) == 0
        log = exporter.log()
        assert "refused the token" not in log and "SASL authentication failed" not in log
        _assert_no_secret(idp, "the exporter log", log)
        _assert_no_secret(idp, "/metrics", exporter.get("/metrics")[1].decode())
    assert lifetime > REAUTH_MS / 1000  # the broker did end connections that still had a token


BROKEN = {
    "oauth-bad-secret": (
        lambda idp: _oauth(idp, CLIENT_ID, WRONG_SECRET),
        ("SASL OAUTHBEARER: the token endpoint http://127.0.0.1:", "/token (client 'exporter')",
         "HTTP 401: invalid_client: bad client credentials"),
    ),
    "oauth-wrong-audience": (
        lambda idp: _oauth(idp, "wrong-audience"),
        ("SASL authentication failed (OAUTHBEARER, client 'wrong-audience') at 127.0.0.1:",
         'the broker refused the token: {"status":"invalid_token"}', "audience"),
    ),
    "oauth-unknown-signing-key": (
        lambda idp: _oauth(idp, "stranger"),
        ("SASL authentication failed (OAUTHBEARER, client 'stranger')", "refused the token"),
    ),
    # AWS_MSK_IAM is OAUTHBEARER on the wire: this broker's validator refuses the signed URL
    # (not a JWT), which shows it was built from the static credentials and sent
    "msk-iam-refused": (
        lambda _: {"listener": "OAUTH", "security_protocol": "SASL_PLAINTEXT",
                   "sasl_mechanism": "AWS_MSK_IAM", "sasl_aws_region": "eu-west-1"},
        ("SASL authentication failed (AWS_MSK_IAM, region eu-west-1) at 127.0.0.1:",
         'the broker refused the token: {"status":"invalid_token"}'),
    ),
    "oauth-endpoint-down": (
        lambda idp: {**_oauth(idp, CLIENT_ID),
                     "sasl_oauth_token_url": f"http://127.0.0.1:{free_port()}/token"},
        ("SASL OAUTHBEARER: the token endpoint http://127.0.0.1:", "cannot reach it"),
    ),
}  # fmt: skip


def test_failures_name_mechanism_and_cause(
    idp: OAuthServer, cluster: KafkaCluster, committed: tuple[str, str], tmp_path: Path
) -> None:
    _, group = committed
    entries = {name: settings(idp) for name, (settings, _) in BROKEN.items()}
    config = collectors_config(cluster, group, entries)
    started = time.monotonic()
    with ExporterProcess(config, tmp_path, env=AWS_ENV) as exporter:

        def all_failed() -> dict[str, Any] | None:
            _, body = exporter.get_json("/ready")
            errors = {n: body["collectors"][n]["last_error"] for n in BROKEN}
            return errors if all(errors.values()) else None

        errors = wait_for(all_failed, 30, what=f"every collector failing: {exporter.log()}")
        for name, (_, expected) in BROKEN.items():
            assert errors[name].startswith("KafkaBootstrapError: "), errors[name]
            for part in expected:
                assert part in errors[name], (name, part, errors[name])
            assert value(exporter.metrics(), "kafka_brokers", cluster=name) is None
        _assert_no_secret(idp, "the exporter log", exporter.log())
    assert time.monotonic() - started < 40
