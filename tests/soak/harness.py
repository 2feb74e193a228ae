"""The fault and soak harness: one exporter with a kafka, an aliyun_cms and a jmx collector at 1 s
intervals against real sources (Apache Kafka 4.x, the local CloudMonitor server, a fake Streams JVM), while a
driver injects faults one after another (tests/soak/faults.py), threads scrape hard and probe /live,
and a sampler reads the exporter's fds, threads, child processes, RSS and asyncio tasks.

Everything measured goes into a `SoakReport` (tests/soak/soak_report.py); the tests assert on it.
"""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

from tests.soak.faults import (
    FAULTS,
    GROUP,
    INSTANCE,
    INTERVAL,
    STALE_AFTER,
    TIMEOUT,
    TOPIC,
    FaultDriver,
)
from tests.soak.procwatch import descendants, sample
from tests.soak.soak_report import Bounds, SoakReport
from tests.support.cms_server import CmsServer
from tests.support.exporter_process import ExporterProcess, value
from tests.support.jmx_app import FakeStreamsJvm
from tests.support.kafka_cluster import KafkaCluster

BAD_LOG_LINES = (
    "Traceback",
    "ERROR asyncio",
    "exception was never retrieved",
    "Error handling request",
    "Exception in callback",
)


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


class Soak(FaultDriver):
    """One soak run; `run()` returns the report (stopping everything it started)."""

    def __init__(self, tmp_path: Path, classes: Path, duration_s: float, bounds: Bounds) -> None:
        super().__init__(SoakReport(duration_s, bounds))
        self.tmp_path = tmp_path
        self.classes = classes
        self._stop = threading.Event()

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
