"""One hostile broker reply costs bounded memory and time and hides nothing else: the daemon (the
real CLI) watches a hostile Kafka test server (tests/support/hostile_kafka.py: a 64 MB
ConsumerGroupDescribe, a frame announcing 2^31-1 bytes, a truncated OffsetFetch, invalid UTF-8,
an array length of 2^31) beside a real Kafka cluster, in thread and process mode. Asserted, over
a few seconds of refreshes: peak RSS under 400 MB per process, the healthy cluster's last success
never older than interval + timeout, /live under 0.5 s, the hostile request's series left out
while the rest of its cluster is reported, the cause logged and counted, SIGTERM ending the
daemon in under 5 s."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.support.exporter_process import ExporterProcess, value, wait_for
from tests.support.hostile_kafka import GROUPS, HOSTILE_API, TOPIC, HostileKafka
from tests.support.kafka_cluster import KafkaCluster
from tests.support.kafka_helpers import commit, create_topics, produce, unique

INTERVAL, TIMEOUT = 2.0, 1.5
OBSERVE = 6.0
"""Seconds the daemon is watched refreshing both clusters."""
RSS_LIMIT = 400 * 1024 * 1024
LIVE_LIMIT = 0.5
STOP_LIMIT = 5.0
CAUSE = {
    "huge_describe": "members at byte 39 of the",
    "endless_frame": "frame of 2147483647 bytes announced, over max_response_bytes 67108864",
    "bad_utf8": "UnicodeDecodeError",
    "truncated": "OffsetFetch v8 reply from broker 0",
    "array_2_31": "array length 2147483648 with 0 bytes left",
}
"""What the log says of each case (with the API, version and broker before it)."""
SETUP_CAUSE = "answered connection set-up (ApiVersions, SASL) with a frame of 2147483647 bytes"
"""What the log says when ApiVersions is answered by the endless frame."""
MALFORMED = "kafka_health_exporter_malformed_responses_total"
LAST_SUCCESS = "kafka_health_exporter_collector_last_success_timestamp_seconds"


def _config(healthy: str, hostile: str, topic: str, group: str, isolation: str) -> str:
    return f"""
server: {{collector_isolation: {isolation}}}
defaults: {{interval: {INTERVAL}s, timeout: {TIMEOUT}s}}
collectors:
  - name: healthy
    type: kafka
    bootstrap_servers: "{healthy}"
    groups: {{include: ["{group}"]}}
    topics: {{include: ["{topic}"]}}
  - name: hostile
    type: kafka
    bootstrap_servers: "{hostile}"
"""


def _tree(pid: int) -> list[int]:
    """`pid` and all its descendants."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    parents[int(entry)] = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        todo.extend(child for child, parent in parents.items() if parent == current)
    return out


def _rss(pid: int) -> int:
    """The most bytes `pid` has had resident so far (VmHWM; 0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _observe(exporter: ExporterProcess) -> tuple[int, float, float]:
    """Watch the daemon for OBSERVE seconds: the highest RSS of its processes, the slowest
    /live, and the oldest the healthy cluster's last success got."""
    assert exporter.process is not None
    rss, live, age = 0, 0.0, 0.0
    deadline = time.monotonic() + OBSERVE
    while time.monotonic() < deadline:
        rss = max([rss, *(_rss(p) for p in _tree(exporter.process.pid))])
        started = time.monotonic()
        assert exporter.get("/live")[0] == 200
        live = max(live, time.monotonic() - started)
        last = value(exporter.metrics(), LAST_SUCCESS, collector="healthy")
        assert last is not None
        age = max(age, time.time() - last)
        time.sleep(0.2)
    return rss, live, age


@pytest.mark.parametrize(
    ("case", "isolation"),
    [
        ("huge_describe", "thread"),
        ("huge_describe", "process"),
        ("endless_frame", "thread"),
        ("endless_frame", "process"),
        ("bad_utf8", "thread"),
        ("truncated", "thread"),
        ("array_2_31", "process"),
    ],
)
async def test_a_hostile_reply_is_bounded_and_hides_nothing_else(
    broker: KafkaCluster, tmp_path: Path, case: str, isolation: str
) -> None:
    topic, group = unique("hostile-ok"), unique("hostile-ok-g")
    await create_topics(broker.bootstrap, {topic: 1})
    await produce(broker.bootstrap, topic, {0: 4})
    await commit(broker.bootstrap, group, {(topic, 0): 1})
    with HostileKafka(case, lifetime=90) as hostile:
        config = _config(broker.bootstrap, hostile.bootstrap, topic, group, isolation)
        with ExporterProcess(config, tmp_path) as exporter:
            assert exporter.process is not None
            exporter.wait_ready()
            wait_for(
                lambda: value(exporter.metrics(), MALFORMED, collector="hostile"),
                20,
                what=f"a counted malformed reply; log: {exporter.log()[-2000:]}",
            )
            rss, live, age = _observe(exporter)
            m = exporter.metrics()
            duration = value(
                m, "kafka_health_exporter_collector_duration_seconds", collector="hostile"
            )
            print(
                f"\nFIGURES {case} {isolation}: max RSS {rss / 2**20:.0f} MiB, hostile refresh"
                f" {duration}s, max /live {live * 1000:.0f} ms, healthy age {age:.2f}s"
            )
            assert rss < RSS_LIMIT, f"RSS {rss / 2**20:.0f} MiB"
            assert live < LIVE_LIMIT, f"/live took {live:.2f}s"
            assert age <= INTERVAL + TIMEOUT, f"healthy last success {age:.2f}s old"
            assert value(m, "kafka_consumergroup_lag", consumergroup=group, topic=topic) == 3
            api = HOSTILE_API[case]
            counted = value(m, MALFORMED, collector="hostile", api=api)
            assert counted is not None and counted >= 1, m
            assert value(m, "kafka_health_exporter_collector_up", collector="hostile") == 1
            # the rest of the hostile cluster is still reported
            assert value(m, "kafka_topic_partition_current_offset", topic=TOPIC, partition="0")
            for g in GROUPS:
                members = value(m, "kafka_consumergroup_members", consumergroup=g)
                lag = value(m, "kafka_consumergroup_lag", consumergroup=g, partition="0")
                if api == "OffsetFetch":
                    assert (members, lag) == (1, None), (g, members, lag)
                elif case != "endless_frame":  # that closes the connection the offsets share
                    assert (members, lag) == (None, 5), (g, members, lag)
            log = exporter.log()
            assert "malformed reply, left out this refresh: " in log, log[-3000:]
            assert CAUSE[case] in log, log[-3000:]
            assert f"{api} v" in log
            assert "broker refuses OffsetFetch for all partitions" not in log
            assert "NotImplementedError" not in log
            started = time.monotonic()
            code = exporter.stop()
            stopped = time.monotonic() - started
            print(f"FIGURES {case} {isolation}: SIGTERM to exit {stopped:.2f}s (code {code})")
            assert stopped < STOP_LIMIT and code == 0, (stopped, code)


@pytest.mark.parametrize("isolation", ["thread", "process"])
async def test_a_hostile_answer_to_connection_set_up_is_refused_at_its_length(
    broker: KafkaCluster, tmp_path: Path, isolation: str
) -> None:
    """ApiVersions, the first request of a connection (before SASL and the bootstrap's
    Metadata), answered by a frame announcing 2^31-1 bytes: refused at its length like any
    other frame; the collector is down with the cause named, the healthy one unharmed."""
    topic, group = unique("hostile-setup"), unique("hostile-setup-g")
    await create_topics(broker.bootstrap, {topic: 1})
    await produce(broker.bootstrap, topic, {0: 4})
    await commit(broker.bootstrap, group, {(topic, 0): 1})
    with HostileKafka("endless_setup", lifetime=90) as hostile:
        config = _config(broker.bootstrap, hostile.bootstrap, topic, group, isolation)
        with ExporterProcess(config, tmp_path) as exporter:
            wait_for(
                lambda: value(exporter.metrics(), LAST_SUCCESS, collector="healthy"),
                30,
                what=f"the healthy collector's first refresh; log: {exporter.log()[-2000:]}",
            )
            wait_for(
                lambda: SETUP_CAUSE in exporter.log(),
                20,
                what=f"the set-up frame refused; log: {exporter.log()[-2000:]}",
            )
            rss, live, age = _observe(exporter)
            print(
                f"\nFIGURES endless_setup {isolation}: max RSS {rss / 2**20:.0f} MiB,"
                f" max /live {live * 1000:.0f} ms, healthy age {age:.2f}s"
            )
            assert rss < RSS_LIMIT, f"RSS {rss / 2**20:.0f} MiB"
            assert live < LIVE_LIMIT, f"/live took {live:.2f}s"
            assert age <= INTERVAL + TIMEOUT, f"healthy last success {age:.2f}s old"
            m = exporter.metrics()
            assert value(m, "kafka_health_exporter_collector_up", collector="hostile") == 0
            assert value(m, "kafka_consumergroup_lag", consumergroup=group, topic=topic) == 3
            assert hostile.requests.get(18, 0) >= 1 and set(hostile.requests) == {18}, (
                hostile.requests
            )
            started = time.monotonic()
            code = exporter.stop()
            stopped = time.monotonic() - started
            print(f"FIGURES endless_setup {isolation}: SIGTERM to exit {stopped:.2f}s")
            assert stopped < STOP_LIMIT and code == 0, (stopped, code)
