"""The soak's sources and faults: what the exporter must show per collector, how each fault is
injected into its source (Kafka broker restart, CloudMonitor throttling / 500 / hang, JVM restart /
hang), and how long the exporter takes to show the recovered source's new values.

`FaultDriver` is the part of a soak run (tests/soak/harness.py) that touches the sources; the
run starts them and the exporter and sets `broker`, `cms`, `jvm` and `exporter`.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable

from tests.soak.soak_report import SoakReport
from tests.support.cms_api import make_points
from tests.support.cms_server import CmsServer
from tests.support.exporter_process import ExporterProcess, Samples, parse_metrics, value
from tests.support.jmx_app import FakeStreamsJvm
from tests.support.kafka_cluster import KafkaCluster
from tests.support.kafka_helpers import commit, create_topics, produce

INTERVAL, TIMEOUT, STALE_AFTER = 1.0, 0.9, 4.0
TOPIC, GROUP = "soak", "soak-g"
INSTANCE, CMS_GROUP = "alikafka-soak", "soak-cg"
FAULTS = ("kafka_restart", "cms_throttle", "jmx_restart", "cms_500", "jmx_hang", "cms_hang")
FAULT_S = 3.0
"""How long a CMS or JVM-pause fault lasts."""


class FaultDriver:
    """Seeds the sources with known values, injects faults and times the recoveries."""

    broker: KafkaCluster
    cms: CmsServer
    jvm: FakeStreamsJvm
    exporter: ExporterProcess

    def __init__(self, report: SoakReport) -> None:
        self.report = report
        self.rng = random.Random(20261126)
        self._cycle = 0
        self._kafka_lag = 0
        self._kafka_end = 0
        """Records in the topic so far: Kafka keeps them across broker restarts."""
        self._cms_value = 0

    # --- sources ---------------------------------------------------------------------------

    def _seed_kafka(self) -> None:
        self._cycle += 1
        produced = 3 + self._cycle % 5
        bootstrap = self.broker.bootstrap

        end = self._kafka_end + produced

        async def seed() -> None:
            if not self._kafka_end:
                await create_topics(bootstrap, {TOPIC: 1})
            await produce(bootstrap, TOPIC, {0: produced}, batch=True)
            await commit(bootstrap, GROUP, {(TOPIC, 0): end - produced + 1})

        asyncio.run(seed())
        self._kafka_end = end
        self._kafka_lag = produced - 1

    def _set_cms_value(self) -> None:
        self._cms_value = 1000 + self._cycle * 7 + self.rng.randrange(7)
        self._cycle += 1
        self.cms.points = make_points(
            [INSTANCE], [CMS_GROUP], int(time.time() * 1000), value=self._cms_value
        )

    # --- what "correct" means per collector ---------------------------------------------------

    def _correct(self, collector: str, samples: Samples, since: float) -> bool:
        last = value(
            samples, "kafka_health_exporter_collector_last_success_timestamp_seconds",
            collector=collector,
        )  # fmt: skip
        if last is None or last < since:
            return False
        if collector == "kafka":
            lag = value(samples, "kafka_consumergroup_lag", cluster="kafka", consumergroup=GROUP,
                        topic=TOPIC, partition="0")  # fmt: skip
            return lag == self._kafka_lag
        if collector == "cms":
            backlog = value(samples, "kafka_consumer_message_accumulation", instance_id=INSTANCE,
                            consumer_group=CMS_GROUP)  # fmt: skip
            return backlog == self._cms_value
        return value(samples, "kafka_streams_alive", target="jmx") == 1

    def _scrape(self) -> Samples:
        status, body = self.exporter.get("/metrics", timeout=10)
        if status != 200:
            raise AssertionError(f"/metrics answered {status}")
        return parse_metrics(body.decode())

    def _await_recovery(self, kind: str, collector: str, since: float) -> None:
        """Time from the source's recovery until the exporter shows its new values."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if self._correct(collector, self._scrape(), since):
                    took = time.time() - since
                    self.report.recoveries.setdefault(kind, []).append(took)
                    if took > self.report.bounds.recovery_s:
                        self.report.problems.append(
                            f"{kind}: {collector} recovered after {took:.2f}s "
                            f"(bound {self.report.bounds.recovery_s:.1f}s)"
                        )
                    return
            except (AssertionError, OSError) as exc:
                self.report.problems.append(f"{kind}: scrape failed while recovering: {exc}")
            time.sleep(0.1)
        self.report.problems.append(f"{kind}: {collector} did not recover within 30s")

    # --- faults --------------------------------------------------------------------------------

    def _kafka_restart(self) -> None:
        self.broker.stop()
        stopped = time.time()
        last = value(self._scrape(),
                     "kafka_health_exporter_collector_last_success_timestamp_seconds",
                     collector="kafka") or stopped  # fmt: skip
        if value(self._scrape(), "kafka_brokers", cluster="kafka") is None:
            self.report.problems.append("kafka series vanished at once, before stale_after")

        def vanished() -> bool:
            return value(self._scrape(), "kafka_brokers", cluster="kafka") is None

        deadline = time.monotonic() + STALE_AFTER + 10
        while not vanished() and time.monotonic() < deadline:
            time.sleep(0.1)
        took = time.time() - last
        self.report.stale_vanish_s.append(took)
        if not vanished() or took > self.report.bounds.stale_s:
            self.report.problems.append(
                f"kafka series went {took:.2f}s after the last success "
                f"(bound {self.report.bounds.stale_s:.1f}s)"
            )
        self.broker.restart()
        self._seed_kafka()
        self._await_recovery("kafka_restart", "kafka", time.time())

    def _cms_fault(self, kind: str, apply: Callable[[], None]) -> None:
        apply()
        time.sleep(FAULT_S)
        scenario = self.cms.scenario
        scenario.throttle, scenario.error, scenario.hang_s = 0, None, 0.0
        self._set_cms_value()
        self._await_recovery(kind, "cms", time.time())

    def _jmx_restart(self) -> None:
        self.jvm.stop()
        time.sleep(2)
        self.jvm.start()
        self._await_recovery("jmx_restart", "jmx", time.time())

    def _jmx_hang(self) -> None:
        self.jvm.pause()
        time.sleep(FAULT_S)
        self.jvm.resume()
        self._await_recovery("jmx_hang", "jmx", time.time())

    def _inject(self, kind: str) -> None:
        scenario = self.cms.scenario
        if kind == "kafka_restart":
            self._kafka_restart()
        elif kind == "cms_throttle":
            self._cms_fault(kind, lambda: setattr(scenario, "throttle", 10**6))
        elif kind == "cms_500":
            error = (500, "InternalError", "The request processing has failed.")
            self._cms_fault(kind, lambda: setattr(scenario, "error", error))
        elif kind == "cms_hang":
            self._cms_fault(kind, lambda: setattr(scenario, "hang_s", 5.0))
        elif kind == "jmx_restart":
            self._jmx_restart()
        else:
            self._jmx_hang()
        self.report.faults[kind] += 1
