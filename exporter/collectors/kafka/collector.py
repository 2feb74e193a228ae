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
from exporter.collectors.kafka.metrics import (
    cluster_metrics,
    evaluation_metrics,
    info_metrics,
    lag_read_metrics,
    log_dir_metrics,
    member_metrics,
    read_metrics,
    shard_metrics,
    share_group_metrics,
)
from exporter.collectors.kafka.probe import metrics as probe_metrics
from exporter.collectors.kafka.probe.probe import E2eProbe
from exporter.collectors.kafka.probe.stats import ProbeSnapshot
from exporter.collectors.kafka.read.reader import ClusterReader
from exporter.collectors.kafka.read.record_reads import RecordReads
from exporter.collectors.kafka.read.record_times import NOTHING_PENDING, RecordWanted
from exporter.collectors.kafka.state import ClusterState

log = logging.getLogger(__name__)

RECORD_TIME_BUDGET = 0.8
"""Share of the refresh timeout after which a refresh stops waiting for record reads (they go
on in the background and the next refresh uses them; the estimate stands in meanwhile)."""


@dataclass(frozen=True)
class KafkaRefresh:
    """What one refresh produced: the cluster as read, and what the history says about it."""

    state: ClusterState
    evaluation: Evaluation
    record_requests: int = 0
    """Fetch requests for record timestamps whose answers this refresh used."""
    malformed: tuple[tuple[str, int], ...] = ()
    """Replies refused since start, by Kafka API (the reader's count)."""
    probe: ProbeSnapshot | None = None
    """The end-to-end probe's counts when this refresh ended (None: `e2e_probe` is off)."""


class KafkaCollector(Collector[KafkaConfig, KafkaRefresh]):
    """Reads topics, watermarks and committed offsets of one Kafka cluster.

    Keeps a bounded `History` between refreshes (high-watermark tables, commit windows, record
    timestamps), updated only after a successful read, for lag in seconds and consumer status.
    """

    config_model = KafkaConfig
    catalogue = (
        cluster_metrics.CATALOGUE
        + evaluation_metrics.CATALOGUE
        + share_group_metrics.CATALOGUE
        + lag_read_metrics.CATALOGUE
        + shard_metrics.CATALOGUE
        + read_metrics.CATALOGUE
        + log_dir_metrics.CATALOGUE
        + info_metrics.CATALOGUE
        + member_metrics.CATALOGUE
        + probe_metrics.CATALOGUE
    )

    def __init__(self, config: KafkaConfig) -> None:
        super().__init__(config)
        self._reader = ClusterReader(config)
        self._history = History(config.time_lag.window, config.status.window)
        self._history_lock = threading.Lock()
        method = config.time_lag.method
        self._reads = (
            RecordReads(
                config.name,
                self._reader.send,
                config.max_concurrency,
                config.time_lag.reads_per_refresh,
            )
            if method in ("auto", "timestamp")
            else None
        )
        self._probe = E2eProbe(config, config.e2e_probe) if config.e2e_probe else None
        """The end-to-end probe: its own task, started by the first refresh."""

    @property
    def history(self) -> History:
        """The history kept between refreshes (read-only use: tests, debugging)."""
        return self._history

    async def fetch(self) -> KafkaRefresh:
        """One refresh through the long-lived cluster reader, then the history is updated.

        With `auto` and `timestamp`, records at committed offsets are read after the cluster,
        until `RECORD_TIME_BUDGET` of the timeout; reads still running then land next refresh.
        """
        if self._probe is not None:
            self._probe.start()  # once; it runs on its own timer, whatever the refreshes do
        started, started_wall = time.monotonic(), time.time()
        state = await self._reader.read()
        observed_at = (started_wall + time.time()) / 2
        times: dict[RecordKey, float] | None = None
        capped: dict[RecordKey, int] = {}
        nothing_pending: set[RecordKey] = set()
        requests = 0
        if self._reads is not None:
            wanted = self._reads.plan(state, self._history, self.config.time_lag.method)
            offsets = self._committed_of(state, wanted)
            wait = self.config.timeout * RECORD_TIME_BUDGET - (time.monotonic() - started)
            await self._reads.run(wanted, offsets, wait)
            drained = self._reads.drain()
            times, capped, requests = drained.times, drained.capped, drained.requests
            nothing_pending = {k for k, v in times.items() if v == NOTHING_PENDING}
            times = {k: v for k, v in times.items() if k not in nothing_pending}
        # Linear in group-partitions (tens of ms per 10,000): off the event loop, so scrapes
        # and health checks are not held up while it runs.
        evaluation = await asyncio.to_thread(
            self._observe, state, observed_at, times, capped, nothing_pending
        )
        malformed = tuple(sorted(self._reader.malformed.items()))
        probe = self._probe.snapshot() if self._probe is not None else None
        return KafkaRefresh(state, evaluation, requests, malformed, probe)

    def _committed_of(
        self, state: ClusterState, wanted: list[RecordWanted]
    ) -> dict[RecordWanted, int]:
        """The committed offset each planned read stands for (it may start at the log start)."""
        if not wanted:
            return {}  # the usual refresh: every lag is placed by the watched history
        by_position = {(w.topic, w.partition, w.offset): w for w in wanted}
        out: dict[RecordWanted, int] = {}
        for _group, topic, number, offset, _lag in committed_positions(state):
            part = state.topics[topic][number]
            item = by_position.get((topic, number, max(offset, part.oldest or 0)))
            if item is not None and item not in out:
                out[item] = offset
                if len(out) == len(wanted):
                    break
        return out

    def _observe(
        self,
        state: ClusterState,
        observed_at: float,
        record_times: dict[RecordKey, float] | None,
        capped: dict[RecordKey, int],
        nothing_pending: set[RecordKey],
    ) -> Evaluation:
        """Update the history with one successful read and evaluate it (in a worker thread).

        The lock keeps a refresh that outlived its timeout from interleaving with the next one.
        """
        unreadable = self._reads.unreadable() if self._reads is not None else set()
        with self._history_lock:
            self._history.update(state, observed_at, record_times, capped)
            return evaluate(
                self._history,
                state,
                observed_at,
                self.config.time_lag,
                unreadable,
                nothing_pending,
            )

    def to_metrics(self, fetched: KafkaRefresh) -> Sequence[Metric]:
        """Metric families in kafka_exporter's names plus lag seconds, status and group state."""
        cfg = self.config
        return [
            *cluster_metrics.to_metrics(
                fetched.state,
                cfg.cluster_label,
                cfg.labels,
                cfg.topic_metrics,
                cfg.shard is None or cfg.shard.reports_cluster,
                cfg.granularity,
            ),
            *evaluation_metrics.to_metrics(
                fetched.state,
                fetched.evaluation,
                cfg.cluster_label,
                cfg.labels,
                cfg.status.partition_metrics,
                cfg.granularity,
            ),
            *share_group_metrics.to_metrics(
                fetched.state, cfg.cluster_label, cfg.labels, cfg.granularity
            ),
            *log_dir_metrics.to_metrics(fetched.state, cfg.cluster_label, cfg.labels),
            *info_metrics.to_metrics(
                fetched.state, cfg.cluster_label, cfg.labels, cfg.cluster_info, cfg.topic_configs
            ),
            *member_metrics.to_metrics(fetched.state, cfg.cluster_label, cfg.labels),
            *shard_metrics.to_metrics(self.name, cfg.shard, cfg.labels),
            *read_metrics.to_metrics(self.name, dict(fetched.malformed), cfg.labels),
            *(
                probe_metrics.to_metrics(fetched.probe, cfg.cluster_label, cfg.labels)
                if fetched.probe is not None
                else ()
            ),
            *(
                lag_read_metrics.to_metrics(
                    fetched.evaluation,
                    self.name,
                    cfg.cluster_label,
                    cfg.labels,
                    fetched.record_requests,
                    cfg.granularity,
                )
                if self._reads is not None
                else ()
            ),
        ]

    async def close(self) -> None:
        """Stop the end-to-end probe and record reads still running, close the Kafka client."""
        if self._probe is not None:
            await self._probe.close()
        if self._reads is not None:
            await self._reads.close()
        await self._reader.close()
