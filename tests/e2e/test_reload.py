"""Config reload through the CLI on a real broker: added, changed, removed and unchanged
collectors; a broken file rejected with every error while the running config keeps working;
SIGHUP and POST /-/reload; reloads racing refreshes and scrapes."""

from __future__ import annotations

import asyncio
import random
import signal
import threading
import time
from pathlib import Path

from tests.support.exporter_process import (
    ExporterProcess,
    Samples,
    parse_metrics,
    post_reload,
    select,
    value,
    wait_for,
)
from tests.support.kafka_cluster import KafkaCluster
from tests.support.kafka_helpers import commit, create_topics, produce, unique

OK_RELOAD = "kafka_health_exporter_config_last_reload_successful"
RELOADS = "kafka_health_exporter_config_reloads_total"
FAILURES = "kafka_health_exporter_collector_failures_total"


def _kafka(
    name: str,
    bootstrap: str,
    topic: str,
    interval: str = "2s",
    timeout: str = "1500ms",
    stale_after: str | None = None,
    group: str | None = None,
) -> str:
    # Only this test's topic and group (none by default): the session's broker holds every group earlier tests
    # left (hundreds), and reading them all made a refresh outlast its timeout on a busy
    # machine, so a restarted collector could fail refresh after refresh (the old flake).
    stale = f" stale_after: {stale_after}," if stale_after else ""
    return (
        f"  - {{name: {name}, type: kafka, bootstrap_servers: '{bootstrap}', interval: {interval},"
        f" timeout: {timeout},{stale} topics: {{include: ['{topic}']}},"
        f" groups: {{include: ['{group or topic + '-no-group'}']}}}}\n"
    )


def _failures_logged_since_reload(log: str, collector: str) -> int:
    """Refresh failures `collector` logged after the last successful reload."""
    since = log.rsplit("config reloaded: added", 1)[-1]
    return since.count(f"collector {collector}: refresh failed")


def _offset(samples: Samples, cluster: str, topic: str) -> float | None:
    return value(
        samples, "kafka_topic_partition_current_offset", cluster=cluster, topic=topic, partition="0"
    )


async def test_added_changed_removed_unchanged_and_a_broken_file(
    broker: KafkaCluster, tmp_path: Path
) -> None:
    topic_a, topic_b = unique("reload-a"), unique("reload-b")
    await create_topics(broker.bootstrap, {topic_a: 1, topic_b: 1})
    await produce(broker.bootstrap, topic_a, {0: 2})
    await produce(broker.bootstrap, topic_b, {0: 3})
    bs = broker.bootstrap
    # `fix` fails before the reload (no broker at port 1) and is changed to the real one: its
    # failure count must start again from zero
    before = (
        "collectors:\n"
        + _kafka("keep", bs, topic_a)
        + "  - {name: down, type: kafka, bootstrap_servers: '127.0.0.1:1', interval: 1s, timeout: 500ms}\n"
        + _kafka("change", bs, topic_a)
        + _kafka("fix", "127.0.0.1:1", topic_b, "1s", "500ms")
        + _kafka("gone", bs, topic_a)
    )
    after = (
        "collectors:\n"
        + _kafka("keep", bs, topic_a)
        + "  - {name: down, type: kafka, bootstrap_servers: '127.0.0.1:1', interval: 1s, timeout: 500ms}\n"
        + _kafka("change", bs, topic_b)
        + _kafka("fix", bs, topic_b)
        + _kafka("new", bs, topic_b)
    )
    with ExporterProcess(before, tmp_path, extra_args=["--web.enable-lifecycle"]) as exporter:
        wait_for(
            lambda: all(
                _offset(exporter.metrics(), c, topic_a) == 2 for c in ("keep", "change", "gone")
            ),
            20,
            what="first refreshes",
        )
        wait_for(
            lambda: all(
                (value(exporter.metrics(), FAILURES, collector=c) or 0) >= 2
                for c in ("down", "fix")
            ),
            10,
            what="failures of the collectors without a broker",
        )
        samples = exporter.metrics()
        assert value(samples, OK_RELOAD) == 1
        down_failures = value(samples, FAILURES, collector="down")
        assert down_failures is not None

        exporter.config_path.write_text(after)
        status, body = post_reload(exporter)
        assert status == 200, body
        assert body["collectors"] == {
            "added": ["new"],
            "changed": ["change", "fix"],
            "removed": ["gone"],
            "unchanged": ["keep", "down"],
        }
        samples = exporter.metrics()
        # removed: gone at once, self-metrics included
        assert not select(samples, "kafka_topic_partition_current_offset", cluster="gone")
        assert value(samples, "kafka_health_exporter_collector_up", collector="gone") is None
        # unchanged: still running with its state (the failure count was not reset)
        assert (value(samples, FAILURES, collector="down") or 0) >= down_failures
        assert _offset(samples, "keep", topic_a) == 2
        assert value(samples, OK_RELOAD) == 1
        assert value(samples, RELOADS, result="success") == 1
        # changed and added: restarted with the new config
        try:
            wait_for(
                lambda: all(
                    _offset(exporter.metrics(), c, topic_b) == 3 for c in ("change", "fix", "new")
                ),
                10,
                what="changed and added collectors",
            )
        except AssertionError as exc:  # say why: which collector, and what it logged
            seen = {c: _offset(exporter.metrics(), c, topic_b) for c in ("change", "fix", "new")}
            raise AssertionError(f"{exc}; offsets {seen}; log:\n{exporter.log()[-4000:]}") from None
        assert _offset(exporter.metrics(), "change", topic_a) is None
        # a changed collector counts its own failures only: exactly those it logged since the
        # reload (a refresh may time out on a busy broker; `fix` had two or more before)
        for name in ("change", "fix", "new"):
            wait_for(
                lambda n=name: (
                    value(exporter.metrics(), FAILURES, collector=n)
                    == _failures_logged_since_reload(exporter.log(), n)
                ),
                10,
                what=f"{name}'s failure count to start from zero at the reload",
            )

        # a broken file (SIGHUP): rejected with every error, counted, nothing lost
        exporter.config_path.write_text(
            after.replace("interval: 2s, timeout: 1500ms", "interval: often, timeout: 1500ms", 1)
            + "  - {name: x, type: kafak}\n"
            + "extra_key: 1\n"
        )
        assert exporter.process is not None
        exporter.process.send_signal(signal.SIGHUP)
        wait_for(lambda: value(exporter.metrics(), OK_RELOAD) == 0, 10, what="rejected reload")
        log = exporter.log()
        assert "config reload rejected (3 problem(s)); the running config stays in effect" in log
        assert "collectors[0].interval: invalid value 'often'" in log
        assert "collectors[5].type: unknown collector type 'kafak'" in log
        assert "extra_key: unknown key" in log
        samples = exporter.metrics()
        assert value(samples, RELOADS, result="failure") == 1
        last = value(samples, "kafka_health_exporter_collector_last_success_timestamp_seconds",
                      collector="keep")  # fmt: skip
        assert last is not None
        wait_for(
            lambda: (
                (
                    value(
                        exporter.metrics(),
                        "kafka_health_exporter_collector_last_success_timestamp_seconds",
                        collector="keep",
                    )
                    or 0
                )
                > last
            ),
            10,
            what="keep still refreshing after the rejected reload",
        )
        for cluster, topic in (
            ("keep", topic_a), ("change", topic_b), ("fix", topic_b), ("new", topic_b)
        ):  # fmt: skip
            assert _offset(exporter.metrics(), cluster, topic) is not None
        status, body = post_reload(exporter)
        assert status == 400 and body["status"] == "error" and len(body["errors"]) == 3, body

        # fixed again: success resets the gauge; the listen address needs a restart
        exporter.config_path.write_text("server: {listen: '0.0.0.0:1'}\n" + after)
        status, body = post_reload(exporter)
        assert status == 200 and body["collectors"]["unchanged"] == [
            "keep",
            "down",
            "change",
            "fix",
            "new",
        ]
        assert value(exporter.metrics(), OK_RELOAD) == 1
        stamp = value(exporter.metrics(),
                      "kafka_health_exporter_config_last_reload_success_timestamp_seconds")  # fmt: skip
        assert stamp is not None and abs(stamp - time.time()) < 60
    assert exporter.stop() == 0


async def test_reloads_racing_refreshes_and_scrapes(broker: KafkaCluster, tmp_path: Path) -> None:
    topic, group = unique("race"), unique("race-g")
    await create_topics(broker.bootstrap, {topic: 2})
    await produce(broker.bootstrap, topic, {0: 4, 1: 2})
    await commit(broker.bootstrap, group, {(topic, 0): 1, (topic, 1): 2})
    bs = broker.bootstrap
    # a refresh that times out on a busy machine is not what this test is about: the stable
    # collector's last success stays visible for a minute, so only a reload can take it away
    stable = _kafka("stable", bs, topic, "500ms", "400ms", stale_after="60s", group=group)
    configs = [
        "collectors:\n" + stable + _kafka("flip", bs, topic, "500ms", "400ms", group=group),
        "collectors:\n" + stable + _kafka("flip", bs, "nothing-matches", "500ms", "400ms", group=group)
        + _kafka("extra", bs, topic, "500ms", "400ms", group=group),
    ]  # fmt: skip
    with ExporterProcess(configs[0], tmp_path, extra_args=["--web.enable-lifecycle"]) as exporter:
        exporter.wait_ready()
        stop = threading.Event()
        problems: list[str] = []
        scrapes = [0]

        def scrape() -> None:
            while not stop.is_set():
                status, body = exporter.get("/metrics", timeout=10)
                text = body.decode()
                lines = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
                keys = [ln.rsplit(" ", 1)[0] for ln in lines]
                if status != 200:
                    problems.append(f"status {status}")
                elif len(keys) != len(set(keys)):
                    problems.append("duplicate series")
                elif _lag(parse_metrics(text), "stable", group) != 3:
                    problems.append("stable collector's lag missing or wrong")
                scrapes[0] += 1

        threads = [threading.Thread(target=scrape) for _ in range(2)]
        for thread in threads:
            thread.start()
        try:
            rng = random.Random(9)
            for i in range(16):
                before = scrapes[0]
                exporter.config_path.write_text(configs[(i + 1) % 2])
                status, body = post_reload(exporter)
                assert status == 200, body
                assert "stable" in body["collectors"]["unchanged"]
                await asyncio.sleep(rng.uniform(0.0, 0.6))
                # every reload races scrapes: the next one waits until a scrape that started
                # after this one has finished (two may have been under way when it began)
                wait_for(lambda b=before: scrapes[0] >= b + 3, 20, what="a scrape after a reload")
        finally:
            stop.set()
            for thread in threads:
                thread.join(20)
        assert not problems, problems[:5]
        assert scrapes[0] >= 48
        # the last config written was configs[0]: flip watches the topic again, extra is gone
        wait_for(
            lambda: (
                _lag(exporter.metrics(), "flip", group) == 3
                and not select(exporter.metrics(), "kafka_consumergroup_lag", cluster="extra")
            ),
            10,
            what="final config in effect",
        )
        assert value(exporter.metrics(), RELOADS, result="success") == 16
    log = exporter.log()
    assert "Traceback" not in log and "ERROR asyncio" not in log, log[-3000:]


def _lag(samples: Samples, cluster: str, group: str) -> float | None:
    return value(samples, "kafka_consumergroup_lag_sum", cluster=cluster, consumergroup=group)


def test_http_reload_needs_the_lifecycle_flag_and_sighup_does_not(tmp_path: Path) -> None:
    """As in Prometheus, POST /-/reload is refused (403) unless the exporter was started with
    --web.enable-lifecycle; SIGHUP reloads either way."""
    down = "  - {name: %s, type: kafka, bootstrap_servers: '127.0.0.1:1', interval: 1s, timeout: 500ms}\n"
    with ExporterProcess("collectors:\n" + down % "a", tmp_path) as exporter:
        exporter.config_path.write_text("collectors:\n" + down % "a" + down % "b")
        status, body = post_reload(exporter)
        assert status == 403, body
        assert body["status"] == "error" and "--web.enable-lifecycle" in body["errors"][0], body
        assert (
            value(exporter.metrics(), "kafka_health_exporter_collector_up", collector="b") is None
        )
        assert value(exporter.metrics(), RELOADS, result="success") in (None, 0)
        assert exporter.process is not None
        exporter.process.send_signal(signal.SIGHUP)
        wait_for(
            lambda: value(exporter.metrics(), RELOADS, result="success") == 1,
            10,
            what="the SIGHUP reload",
        )
        assert value(exporter.metrics(), "kafka_health_exporter_collector_up", collector="b") == 0
    assert exporter.stop() == 0
