"""The fault and soak harness: one exporter with a kafka, an aliyun_cms and a jmx collector at 1 s
intervals against real sources (Apache Kafka 4.x, the local CloudMonitor server, a fake Streams JVM), while a
driver injects faults one after another, threads scrape hard and probe /live, and a sampler reads
the exporter's fds, threads, child processes, RSS and asyncio tasks.

Everything measured goes into a `SoakReport`; the tests assert on it.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.soak.procwatch import ProcSample, descendants, sample
from tests.support.cms_server import CmsServer, make_points
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
BAD_LOG_LINES = (
    "Traceback",
    "ERROR asyncio",
    "exception was never retrieved",
    "Error handling request",
    "Exception in callback",
)


@dataclass(frozen=True)
class Bounds:
    """What the soak asserts; stated in the report."""

    recovery_s: float
    """A collector shows its source's new values within this long after the source recovers."""
    stale_s: float
    """Series vanish within this long after their last successful refresh."""
    warmup_s: float
    """Resource figures are compared only after this."""
    fds: int = 16
    threads: int = 8
    tasks: int = 10
    children: int = 2
    rss_mib: float = 30.0


@dataclass
class SoakReport:
    """Everything one soak run measured."""

    duration_s: float
    bounds: Bounds
    faults: Counter[str] = field(default_factory=Counter)
    recoveries: dict[str, list[float]] = field(default_factory=dict)
    stale_vanish_s: list[float] = field(default_factory=list)
    samples: list[ProcSample] = field(default_factory=list)
    scrapes: int = 0
    live_probes: int = 0
    problems: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """JSON-friendly figures: faults, recoveries (median/max), resource ranges."""
        after = [s for s in self.samples if s.t >= self.bounds.warmup_s]

        def spread(key: str) -> dict[str, float | None]:
            values = [getattr(s, key) for s in after if getattr(s, key) is not None]
            if not values:
                return {"min": None, "max": None}
            return {"min": min(values), "max": max(values)}

        return {
            "duration_s": self.duration_s,
            "bounds": self.bounds.__dict__,
            "faults": dict(self.faults),
            "recoveries": {
                kind: {
                    "count": len(times),
                    "median_s": round(statistics.median(times), 2),
                    "max_s": round(max(times), 2),
                }
                for kind, times in self.recoveries.items()
                if times
            },
            "stale_vanish_s": {
                "count": len(self.stale_vanish_s),
                "max_s": round(max(self.stale_vanish_s), 2) if self.stale_vanish_s else None,
            },
            "after_warmup": {
                k: spread(k) for k in ("fds", "threads", "children", "rss_mib", "tasks")
            },
            "per_minute": self.per_minute(),
            "scrapes": self.scrapes,
            "live_probes": self.live_probes,
            "problems": self.problems,
            "samples": [s.as_dict() for s in self.samples],
        }

    def per_minute(self) -> list[dict[str, float]]:
        """The resource curves: min and max of each figure per minute of the run."""
        out = []
        for minute in range(int(max((s.t for s in self.samples), default=0) // 60) + 1):
            chunk = [s for s in self.samples if minute * 60 <= s.t < (minute + 1) * 60]
            if not chunk:
                continue
            row: dict[str, float] = {"minute": minute}
            for key in ("fds", "threads", "children", "rss_mib", "tasks"):
                values = [v for s in chunk if (v := getattr(s, key)) is not None]
                if values:
                    row[f"{key}_min"], row[f"{key}_max"] = min(values), max(values)
            out.append(row)
        return out


def exporter_config(broker: KafkaCluster, cms: CmsServer, jvm: FakeStreamsJvm) -> str:
    """The daemon under test: three collectors at 1 s."""
    common = f"interval: {INTERVAL}s, timeout: {TIMEOUT}s, stale_after: {STALE_AFTER}s"
    return f"""
collectors:
  - {{name: kafka, type: kafka, bootstrap_servers: '{broker.bootstrap}', {common},
     topics: {{include: ['{TOPIC}']}}, groups: {{include: ['{GROUP}']}}}}
  - {{name: cms, type: aliyun_cms, region_id: cn-hangzhou, access_key_id: {cms.access_key_id},
     access_key_secret: {cms.access_key_secret}, endpoint: '{cms.endpoint}',
     instance_ids: ['{INSTANCE}'], {common}}}
  - {{name: jmx, type: jmx, port: {jvm.port}, {common}}}
"""


class Soak:
    """One soak run; `run()` returns the report (stopping everything it started)."""

    def __init__(self, tmp_path: Path, classes: Path, duration_s: float, bounds: Bounds) -> None:
        self.tmp_path = tmp_path
        self.classes = classes
        self.report = SoakReport(duration_s, bounds)
        self.rng = random.Random(20261126)
        self._stop = threading.Event()
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

    # --- background load and sampling ----------------------------------------------------------

    def _scraper(self) -> None:
        accepts = ({}, {"Accept-Encoding": "gzip"}, {"Accept": "application/openmetrics-text"})
        rng = random.Random(threading.get_ident())
        while not self._stop.is_set():
            try:
                status, _ = self.exporter.get("/metrics", rng.choice(accepts), timeout=10)
                if status != 200:
                    self.report.problems.append(f"scrape answered {status}")
            except OSError as exc:
                self.report.problems.append(f"scrape failed: {exc}")
            self.report.scrapes += 1
            self._stop.wait(0.05)

    def _prober(self) -> None:
        while not self._stop.is_set():
            try:
                status, _ = self.exporter.get("/live", timeout=2)
                ok = status == 200
            except OSError:
                ok = False
            if not ok:
                self.report.problems.append(f"/live failed at {time.monotonic() - self._t0:.1f}s")
            self.report.live_probes += 1
            self._stop.wait(0.1)

    def _sampler(self) -> None:
        assert self.exporter.process is not None
        pid = self.exporter.process.pid
        period = 5.0 if self.report.duration_s > 120 else 2.0
        jitter = random.Random(7)  # off the 1 s refresh beat, so short-lived JVMs get seen
        while not self._stop.wait(period + jitter.uniform(0.0, 0.7)):
            try:
                tasks = value(self._scrape(), "kafka_health_exporter_event_loop_tasks")
                self.report.samples.append(
                    sample(pid, self._t0, None if tasks is None else int(tasks))
                )
            except (AssertionError, OSError) as exc:
                self.report.problems.append(f"sampling failed: {exc}")

    # --- the run -------------------------------------------------------------------------------

    def run(self) -> SoakReport:
        """Start everything, inject faults until the duration is over, stop everything."""
        self.broker = KafkaCluster().start()
        self.cms = CmsServer().start()
        self.jvm = FakeStreamsJvm(self.classes, "string")
        threads: list[threading.Thread] = []
        try:
            self.jvm.start()
            self._seed_kafka()
            self._set_cms_value()
            self.exporter = ExporterProcess(
                exporter_config(self.broker, self.cms, self.jvm), self.tmp_path
            )
            with self.exporter:
                self.exporter.wait_ready(30)
                self._t0 = time.monotonic()
                targets = [self._scraper] * 3 + [self._prober, self._sampler]
                threads = [threading.Thread(target=t, daemon=True) for t in targets]
                for thread in threads:
                    thread.start()
                self._drive()
                self._stop.set()
                for thread in threads:
                    thread.join(15)
                pid = self.exporter.process.pid if self.exporter.process else 0
                code = self.exporter.stop()
                if code != 0:
                    self.report.problems.append(f"exporter exited with {code}")
                if pid and descendants(pid):
                    self.report.problems.append("processes left behind by the exporter")
            self._check_log(self.exporter.log())
            self._check_resources()
        finally:
            self._stop.set()
            self.jvm.stop()
            self.cms.stop()
            self.broker.close()
        return self.report

    def _drive(self) -> None:
        deadline = self._t0 + self.report.duration_s
        index = 0
        while time.monotonic() < deadline:
            self._inject(FAULTS[index % len(FAULTS)])
            index += 1
            time.sleep(min(2.0, max(deadline - time.monotonic(), 0)))
        # every kind at least once, even in a short run
        for kind in FAULTS[index:]:
            self._inject(kind)

    def _check_log(self, log: str) -> None:
        for line in log.splitlines():
            if any(bad in line for bad in BAD_LOG_LINES):
                self.report.problems.append(f"log: {line[:300]}")

    def _check_resources(self) -> None:
        """Flat = neither the floor nor the peak of a figure grows from the first quarter after
        warm-up to the last one by more than its bound (in-flight requests, refreshes and query
        JVMs make single samples vary; a leak lifts the floor)."""
        bounds = self.report.bounds
        after = [s for s in self.report.samples if s.t >= bounds.warmup_s]
        if len(after) < 4:
            self.report.problems.append(f"only {len(after)} samples after warm-up")
            return
        quarter = max(len(after) // 4, 1)
        first, last = after[:quarter], after[-quarter:]
        for key, limit in (("fds", bounds.fds), ("threads", bounds.threads),
                           ("tasks", bounds.tasks), ("rss_mib", bounds.rss_mib)):  # fmt: skip
            early = [v for s in first if (v := getattr(s, key)) is not None]
            late = [v for s in last if (v := getattr(s, key)) is not None]
            if not early or not late:
                self.report.problems.append(f"no {key} samples")
                continue
            for what, grew in (("floor", min(late) - min(early)), ("peak", max(late) - max(early))):
                if grew > limit:
                    self.report.problems.append(
                        f"{key} {what} grew by {grew:g} after warm-up (bound +{limit})"
                    )
        most = max(s.children for s in self.report.samples)
        if most > bounds.children:
            self.report.problems.append(f"{most} child processes at once (bound {bounds.children})")
