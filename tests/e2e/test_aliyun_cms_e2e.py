"""`aliyun_cms` end to end: `python -m exporter run` against the local CloudMonitor server."""

from __future__ import annotations

import time
from pathlib import Path

from tests.support.cms_api import Scenario, make_points
from tests.support.cms_server import CmsServer
from tests.support.exporter_process import ExporterProcess, run_cli, select, value, wait_for
from tests.support.kafka_cluster import KafkaCluster
from tests.support.kafka_helpers import commit, create_topics, produce, unique

ACC = "kafka_consumer_message_accumulation"
STAMP = "aliyun_cms_datapoint_timestamp_seconds"
CALLS = "aliyun_cms_api_calls_total"
UP = "kafka_health_exporter_collector_up"


def _env(cms: CmsServer) -> dict[str, str]:
    return {
        "ACCESS_KEY_ID": cms.access_key_id,
        "ACCESS_KEY_SECRET": cms.access_key_secret,
        "REGION_ID": "cn-hangzhou",
        "CMS_ENDPOINT": cms.endpoint,
    }


CMS_ENTRY = """
  - name: ali
    type: aliyun_cms
    interval: 1s
    timeout: 800ms
    stale_after: 3s
    health: true
    region_id: ${REGION_ID}
    access_key_id: ${ACCESS_KEY_ID}
    access_key_secret: ${ACCESS_KEY_SECRET}
    endpoint: ${CMS_ENDPOINT}
    instance_ids: ["alikafka-a", "alikafka-b"]
    groups: {include: [".*"], exclude: [".*-test"]}
    labels: {env: prod}
"""


def _assert_no_credentials(text: str, cms: CmsServer) -> None:
    assert cms.access_key_secret not in text
    assert cms.access_key_id not in text


def test_exact_values_and_vanishing_groups(cms: CmsServer, tmp_path: Path) -> None:
    now = int(time.time() * 1000) - 60_000  # CloudMonitor's newest minute is a minute old
    cms.points = make_points(["alikafka-a", "alikafka-b"], ["orders", "billing", "x-test"], now)
    with ExporterProcess(f"collectors:{CMS_ENTRY}", tmp_path, env=_env(cms)) as exporter:
        exporter.wait_ready()
        m = exporter.metrics()
        labels = {"env": "prod"}
        expected = {
            ("alikafka-a", "orders"): 2,
            ("alikafka-a", "billing"): 12,
            ("alikafka-b", "orders"): 100002,
            ("alikafka-b", "billing"): 100012,
        }
        for (instance, group), backlog in expected.items():
            series = {"instance_id": instance, "consumer_group": group, **labels}
            assert value(m, ACC, **series) == backlog
            assert value(m, STAMP, metric="message_accumulation", **series) == now / 1000
        assert len(select(m, ACC)) == 4  # x-test is excluded
        assert value(m, CALLS, collector="ali", code="200", **labels) >= 1
        assert value(m, UP, collector="ali", type="aliyun_cms") == 1

        # Next minute in CloudMonitor: a value changes, `billing` is gone from both instances.
        later = now + 60_000
        cms.points = [
            {**p, "timestamp": later, "Value": 7}
            for p in make_points(["alikafka-a", "alikafka-b"], ["orders"], later, per_group=1)
        ]

        def updated() -> bool:
            m2 = exporter.metrics()
            return (
                value(m2, ACC, instance_id="alikafka-a", consumer_group="orders") == 7
                and select(m2, ACC, consumer_group="billing") == {}
                and select(m2, STAMP, consumer_group="billing") == {}
            )

        wait_for(updated, 15, what="the new CloudMonitor minute in /metrics")
        m = exporter.metrics()
        assert value(m, STAMP, instance_id="alikafka-b", consumer_group="orders") == later / 1000
        assert exporter.stop() == 0
    _assert_no_credentials(exporter.log(), cms)


async def test_kafka_keeps_working_while_cloudmonitor_fails(
    broker: KafkaCluster, cms: CmsServer, tmp_path: Path
) -> None:
    topic, group = unique("cms-side"), unique("cms-side-g")
    await create_topics(broker.bootstrap, {topic: 1})
    await produce(broker.bootstrap, topic, {0: 3})
    await commit(broker.bootstrap, group, {(topic, 0): 1})
    cms.points = make_points(["alikafka-a"], ["orders"], int(time.time() * 1000), value=40)
    config = f"""
collectors:
  - name: k
    type: kafka
    interval: 1s
    timeout: 900ms
    bootstrap_servers: "{broker.bootstrap}"
    groups: {{include: ["{group}"]}}
    topics: {{include: ["{topic}"]}}
{CMS_ENTRY}"""

    def lag(m: dict) -> float | None:
        return value(m, "kafka_consumergroup_lag", consumergroup=group, topic=topic, partition="0")

    with ExporterProcess(config, tmp_path, env=_env(cms)) as exporter:
        exporter.wait_ready()
        m = exporter.metrics()
        assert lag(m) == 2
        assert value(m, ACC, instance_id="alikafka-a", consumer_group="orders") == 40

        # CloudMonitor refuses every call: the error is visible, kafka is unaffected.
        cms.scenario = Scenario(
            error=(
                403,
                "AccessForbidden",
                "User not authorized to operate on the specified resource.",
            )
        )

        def cms_failing() -> dict | None:
            status, body = exporter.get_json("/ready")
            entry = body["collectors"]["ali"]
            return entry if status == 200 and not entry["up"] else None

        entry = wait_for(cms_failing, 15, what="the aliyun_cms failure in /ready")
        rejected = [c for c in cms.calls() if c.code == "AccessForbidden"]
        assert entry["last_error"].startswith(
            "AccessForbidden: User not authorized to operate on the specified resource. (HTTP 403,"
            " RequestId "
        )
        assert any(c.request_id in entry["last_error"] for c in rejected)
        assert exporter.get_json("/ready")[1]["collectors"]["k"]["up"] is True

        await produce(broker.bootstrap, topic, {0: 2})
        wait_for(lambda: lag(exporter.metrics()) == 4, 15, what="kafka lag while CMS fails")
        m = exporter.metrics()
        assert value(m, UP, collector="ali", type="aliyun_cms") == 0
        assert value(m, UP, collector="k", type="kafka") == 1

        # Past stale_after the CMS series vanish and /health (health: true) turns 503.
        wait_for(
            lambda: select(exporter.metrics(), ACC) == {}, 15, what="stale CMS series to vanish"
        )
        status, health = exporter.get_json("/health")
        assert status == 503 and health["unhealthy"] == ["ali"]
        assert "AccessForbidden" in health["collectors"]["ali"]["reason"]
        assert exporter.get_json("/health?collector=k")[0] == 200

        # A hang past the timeout is reported as our timeout; kafka still refreshes.
        cms.scenario = Scenario(hang_s=30)
        wait_for(
            lambda: (
                "timeout: no answer from"
                in (exporter.get_json("/ready")[1]["collectors"]["ali"]["last_error"] or "")
            ),
            15,
            what="the CMS timeout in /ready",
        )
        await produce(broker.bootstrap, topic, {0: 1})
        wait_for(lambda: lag(exporter.metrics()) == 5, 15, what="kafka lag while CMS hangs")

        # CloudMonitor recovers: series return and the counter shows the failed calls too.
        cms.scenario = Scenario()
        wait_for(
            lambda: (
                value(exporter.metrics(), ACC, instance_id="alikafka-a", consumer_group="orders")
                == 40
            ),
            15,
            what="CMS series after recovery",
        )
        m = exporter.metrics()
        assert value(m, CALLS, collector="ali", code="AccessForbidden") >= len(rejected)
        assert value(m, CALLS, collector="ali", code="timeout") >= 1
        assert value(m, CALLS, collector="ali", code="200") >= 2
        assert exporter.get_json("/health")[0] == 200
        assert exporter.stop() == 0
    _assert_no_credentials(exporter.log(), cms)
    assert "AccessForbidden" in exporter.log()


def test_check_config_masks_the_keys(cms: CmsServer, tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(f"collectors:{CMS_ENTRY}")
    result = run_cli("check-config", "-c", str(path), env=_env(cms))
    assert result.returncode == 0, result.stderr
    assert "ali (aliyun_cms)" in result.stdout and "key LTAI****" in result.stdout
    _assert_no_credentials(result.stdout + result.stderr, cms)
