"""The `kafka` collector: reads the cluster, updates the history, evaluates it, makes families."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from prometheus_client.core import Metric

from exporter.collectors.base import Collector
from exporter.collectors.kafka.config import KafkaConfig
from exporter.collectors.kafka.evaluate.evaluation import Evaluation, evaluate
from exporter.collectors.kafka.history.history import History, RecordKey, committed_positions
from exporter.collectors.kafka.metrics import cluster_metrics, evaluation_metrics
from exporter.collectors.kafka.read.reader import ClusterReader
from exporter.collectors.kafka.read.record_times import RecordWanted, read_record_times
from exporter.collectors.kafka.state import ClusterState

log = logging.getLogger(__name__)

RECORD_TIME_BUDGET = 0.8
"""Share of the refresh timeout after which record-timestamp reads give up (estimate instead)."""


@dataclass(frozen=True)
class KafkaRefresh:
    """What one refresh produced: the cluster as read, and what the history says about it."""

    state: ClusterState
    evaluation: Evaluation


class KafkaCollector(Collector[KafkaConfig, KafkaRefresh]):
    """Reads topics, watermarks and committed offsets of one Kafka cluster.

    Keeps a bounded `History` between refreshes (high-watermark tables, commit windows, record
    timestamps), updated only after a successful read, for lag in seconds and consumer status.
    """

    config_model = KafkaConfig
    catalogue = cluster_metrics.CATALOGUE + evaluation_metrics.CATALOGUE

    def __init__(self, config: KafkaConfig) -> None:
        super().__init__(config)
        self._reader = ClusterReader(config)
        self._history = History(config.time_lag.window, config.status.window)
        self._history_lock = threading.Lock()

    @property
    def history(self) -> History:
        """The history kept between refreshes (read-only use: tests, debugging)."""
        return self._history

    async def fetch(self) -> KafkaRefresh:
        """One refresh through the long-lived cluster reader, then the history is updated."""
        started, started_wall = time.monotonic(), time.time()
        state = await self._reader.read()
        observed_at = (started_wall + time.time()) / 2
        record_times = None
        if self.config.time_lag.method == "timestamp":
            budget = self.config.timeout * RECORD_TIME_BUDGET - (time.monotonic() - started)
            record_times = await self._record_times(state, budget)
        # Linear in group-partitions (tens of ms per 10,000): off the event loop, so scrapes
        # and health checks are not held up while it runs.
        evaluation = await asyncio.to_thread(self._observe, state, observed_at, record_times)
        return KafkaRefresh(state, evaluation)

    def _observe(
        self, state: ClusterState, observed_at: float, record_times: dict[RecordKey, float] | None
    ) -> Evaluation:
        """Update the history with one successful read and evaluate it (in a worker thread).

        The lock keeps a refresh that outlived its timeout from interleaving with the next one.
        """
        with self._history_lock:
            self._history.update(state, observed_at, record_times)
            return evaluate(self._history, state, observed_at, self.config.time_lag)

    async def _record_times(self, state: ClusterState, budget: float) -> dict[RecordKey, float]:
        """Timestamps of the records at lagging committed offsets not known yet."""
        wanted: dict[RecordKey, RecordWanted] = {}
        for _group, topic, number, offset, lag in committed_positions(state):
            key = (topic, number, offset)
            part = state.topics[topic][number]
            if lag == 0 or key in wanted or key in self._history.record_times or part.leader < 0:
                continue
            wanted[key] = RecordWanted(topic, number, max(offset, part.oldest or 0), part.leader)
        if not wanted:
            return {}
        if budget <= 0:
            log.warning("%s: no time left to read record timestamps", self.name)
            return {}
        try:
            found = await asyncio.wait_for(
                read_record_times(self._reader.send, wanted.values(), self.config.max_concurrency),
                budget,
            )
        except asyncio.TimeoutError:
            log.warning(
                "%s: reading %d record timestamps took over %.1fs; estimating instead",
                self.name,
                len(wanted),
                budget,
            )
            return {}
        return {key: found[item] for key, item in wanted.items() if item in found}

    def to_metrics(self, fetched: KafkaRefresh) -> Sequence[Metric]:
        """Metric families in kafka_exporter's names plus lag seconds, status and group state."""
        cfg = self.config
        return [
            *cluster_metrics.to_metrics(
                fetched.state, cfg.cluster_label, cfg.labels, cfg.topic_metrics
            ),
            *evaluation_metrics.to_metrics(
                fetched.state,
                fetched.evaluation,
                cfg.cluster_label,
                cfg.labels,
                cfg.status.partition_metrics,
            ),
        ]

    async def close(self) -> None:
        """Close the Kafka client."""
        await self._reader.close()
