"""The running daemon (a subprocess) under hostile config input: reloads of an alias bomb,
non-UTF-8, binary, UTF-16, self-recursive or 100,000-deep files answer 400 with the reason, count
as failures and keep `/live` answering with bounded memory; secrets never reach the log or the
POST /-/reload body; RE2 name filters keep refreshes over pathological group names fast."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from pathlib import Path

from tests.support.exporter_process import ExporterProcess, post_reload, value, wait_for
from tests.support.kafka_cluster import KafkaCluster
from tests.support.kafka_helpers import commit, create_topics, produce, unique
from tests.unit.config.test_hostile_config import alias_bomb

OK_RELOAD = "kafka_health_exporter_config_last_reload_successful"
RELOADS = "kafka_health_exporter_config_reloads_total"
GOOD = (
    "collectors:\n  - {name: down, type: kafka, bootstrap_servers: '127.0.0.1:1', interval: 1s,"
    " timeout: 500ms}\n"
)


def _rss_kib(exporter: ExporterProcess) -> int:
    assert exporter.process is not None
    status = Path(f"/proc/{exporter.process.pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS")))


def _live_within(exporter: ExporterProcess, seconds: float = 1.0) -> float:
    started = time.monotonic()
    status, _ = exporter.get("/live", timeout=seconds)
    elapsed = time.monotonic() - started
    assert status == 200 and elapsed < seconds, (status, elapsed)
    return elapsed


def test_sighup_with_an_alias_bomb_is_rejected_without_growing(tmp_path: Path) -> None:
    with ExporterProcess(GOOD, tmp_path) as exporter:
        wait_for(lambda: value(exporter.metrics(), OK_RELOAD) is not None, 10, what="metrics")
        before = _rss_kib(exporter)
        exporter.config_path.write_text(alias_bomb())
        assert exporter.process is not None
        exporter.process.send_signal(signal.SIGHUP)
        worst = 0.0
        deadline = time.monotonic() + 10
        while value(exporter.metrics(), RELOADS, result="failure") != 1:
            assert time.monotonic() < deadline, exporter.log()[-2000:]
            worst = max(worst, _live_within(exporter))
        for _ in range(10):  # and it keeps answering afterwards
            worst = max(worst, _live_within(exporter))
            time.sleep(0.05)
        grown = _rss_kib(exporter) - before
        samples = exporter.metrics()
        assert value(samples, OK_RELOAD) == 0
        assert value(samples, RELOADS, result="success") == 0
        assert grown < 20 * 1024, f"RSS grew by {grown} KiB"
        assert "expands to more than 100000 nodes through aliases" in exporter.log()
    print(f"alias bomb on SIGHUP: RSS +{grown} KiB, slowest /live {worst * 1000:.0f}ms")


def test_reloads_of_unreadable_files_answer_400_and_count_as_failures(tmp_path: Path) -> None:
    bad = {
        "latin-1": (b"collectors: [{name: caf\xe9}]\n", "not UTF-8 text: byte 0xe9"),
        "binary": (bytes(range(256)) * 4, "not text: NUL byte at offset 0"),
        "utf-16": (GOOD.encode("utf-16"), "not text: NUL byte"),
        "self-alias": (b"a: &a [*a]\n" + GOOD.encode(), "refers to a node that contains it"),
        "deep": (b"a: " + b"[" * 100_000 + b"]" * 100_000 + b"\n", "deeper than 64 levels"),
        "secret": (
            b'collectors:\n  - name: k\n    type: kafka\n    sasl_password: hunter2: "x\n',
            "mapping values are not allowed here at line 4",
        ),
        "unset-in-secret": (
            GOOD.encode().replace(b"}", b", sasl_password: 'S3CRET-${UNSET}'}"),
            "environment variable UNSET is not set (value '***')",
        ),
    }
    with ExporterProcess(GOOD, tmp_path, extra_args=["--web.enable-lifecycle"]) as exporter:
        for failures, (name, (content, reason)) in enumerate(bad.items(), start=1):
            exporter.config_path.write_text(GOOD)
            assert post_reload(exporter)[0] == 200
            assert value(exporter.metrics(), OK_RELOAD) == 1
            exporter.config_path.write_bytes(content)
            status, body = post_reload(exporter)
            assert status == 400, (name, status, body)
            assert body["status"] == "error" and len(body["errors"]) == 1, (name, body)
            assert body["errors"][0].startswith(f"{exporter.config_path}: ")
            assert reason in body["errors"][0], (name, body)
            assert "hunter2" not in json.dumps(body) and "S3CRET" not in json.dumps(body)
            samples = exporter.metrics()
            assert value(samples, OK_RELOAD) == 0, name
            assert value(samples, RELOADS, result="failure") == failures, name
            _live_within(exporter)
        log = exporter.log()
    assert "hunter2" not in log and "S3CRET" not in log
    assert "Traceback" not in log


async def test_re2_filters_keep_live_answering_over_pathological_groups(
    broker: KafkaCluster, tmp_path: Path
) -> None:
    topic = unique("re2")
    await create_topics(broker.bootstrap, {topic: 1})
    await produce(broker.bootstrap, topic, {0: 10})
    uid = unique("x").split("-")[1]
    slow = [f"{'a' * 34}!{uid}{i}" for i in range(3)] + [f"{uid}{i}{'0' * 31}" for i in range(3)]
    fast = ["a" * 40, f"{uid}-eu-1-prod"]
    for index, group in enumerate(slow + fast):
        await commit(broker.bootstrap, group, {(topic, 0): index + 1})
    config = (
        f"collectors:\n  - {{name: re2, type: kafka, bootstrap_servers: '{broker.bootstrap}',"
        " interval: 1s, timeout: 800ms, groups: {include: ['(a+)+$', '([a-z0-9]+-?)+-prod']},"
        f" topics: {{include: ['{topic}']}}}}\n"
    )
    with ExporterProcess(config, tmp_path) as exporter:
        worst = 0.0
        deadline = time.monotonic() + 6  # several refreshes over those names
        while time.monotonic() < deadline:
            worst = max(worst, _live_within(exporter))
            await asyncio.sleep(0.1)
        samples = exporter.metrics()
        lag = {
            g: value(
                samples, "kafka_consumergroup_lag", consumergroup=g, topic=topic, partition="0"
            )
            for g in slow + fast
        }
        assert lag == {**dict.fromkeys(slow), fast[0]: 3.0, fast[1]: 2.0}, lag
        assert value(samples, "kafka_health_exporter_collector_up", collector="re2") == 1
        assert value(
            samples, "kafka_health_exporter_collector_failures_total", collector="re2"
        ) in (
            None,
            0,
        )
    print(f"RE2 filters over {len(slow)} pathological names: slowest /live {worst * 1000:.0f}ms")
