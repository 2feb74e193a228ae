"""The end-to-end probe of one collector: its own asyncio task, on its own timer (never on the
scrape or refresh path), started by the collector's first refresh and stopped by its `close()`.

A session: bootstrap with the collector's connection settings (TLS, SASL), make the canary topic
when it is missing (one partition per broker, `replication_factor` or the cluster's default),
start a producer (acks=all) and a consumer in a group of its own, assigned every partition and
placed at their ends. Then every `interval` one record per partition, carrying this probe's id,
a message id and its creation time (kminion's JSON: minionID, messageID, createdUtcNs); the
consumer reads them back (records of other probes are skipped), and the read positions are
committed once per interval. A produce not acknowledged within `timeout` counts as failed, an
acknowledged record not read back within `timeout` as lost. A failed session (bootstrap, topic
creation) is logged and tried again an interval later; counts carry across sessions.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaClient, AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.cluster import ClusterMetadata
from aiokafka.errors import KafkaError
from aiokafka.protocol.metadata import MetadataRequest

from exporter.collectors.kafka.auth.client_auth import ClientAuth
from exporter.collectors.kafka.config import KafkaConfig
from exporter.collectors.kafka.options_config import E2eProbeConfig
from exporter.collectors.kafka.probe.create_topic import CLUSTER_DEFAULT, create_topic
from exporter.collectors.kafka.probe.stats import ProbeSnapshot, ProbeStats
from exporter.collectors.kafka.read.bounded_replies import capped_connections

log = logging.getLogger(__name__)

CLIENT_ID = "kafka-health-exporter-e2e"
CLOSE_TIMEOUT = 3.0
"""Seconds the clients of a session get to close."""
STARTUP_RETRY = 1.0
"""Shortest wait before a failed session is tried again."""


def default_group(collector: str) -> str:
    """The probe consumer's group when `group_id` is not set."""
    return f"kafka-health-exporter-e2e-{collector}"


def _retrieve(future: asyncio.Future[Any]) -> None:
    """Read a delivery's outcome, so one that fails after its timeout is not logged by asyncio
    as "exception never retrieved" (the failure was counted when the probe gave up)."""
    if not future.cancelled():
        future.exception()


@dataclass
class _Sent:
    """A record on its way: produced at `sent` (monotonic), acknowledged or not yet."""

    partition: int
    sent: float
    acked: bool = False


class E2eProbe:
    """Produces, consumes and commits on the canary topic of one cluster, counting as it goes."""

    def __init__(self, config: KafkaConfig, probe: E2eProbeConfig) -> None:
        self.config = config
        self.probe = probe
        self.group_id = probe.group_id or default_group(config.name)
        self.probe_id = uuid.uuid4().hex
        """Marks this probe's records (kminion's minionID): others' are not counted."""
        self.stats = ProbeStats(probe.timeout)
        self.topic_created = False
        """Whether this probe made the canary topic."""
        self.partitions: tuple[int, ...] = ()
        self._auth = ClientAuth(config)
        self._pending: dict[str, _Sent] = {}
        """Message id -> its record, until read back or given up."""
        self._tasks: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None
        self._producer: AIOKafkaProducer | None = None
        self._consumer: AIOKafkaConsumer | None = None
        self._committing: asyncio.Future[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start the probe's task on the running loop (once)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"e2e-probe-{self.config.name}")

    def snapshot(self) -> ProbeSnapshot:
        """The counts now (event loop only), for `to_metrics`."""
        in_flight: dict[int, int] = dict.fromkeys(self.partitions, 0)
        for sent in self._pending.values():
            if not sent.acked:
                in_flight[sent.partition] = in_flight.get(sent.partition, 0) + 1
        return self.stats.snapshot(in_flight)

    async def close(self) -> None:
        """Stop the task, its produce and commit steps, and close the clients."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._auth.close()

    # --- the session ---------------------------------------------------------------------

    async def _run(self) -> None:
        with capped_connections(self.config.max_response_bytes):
            await self._sessions()

    async def _sessions(self) -> None:
        """Sessions one after another, each tried again `interval` after it fails."""
        name, interval = self.config.name, self.probe.interval
        while True:
            try:
                await self._session()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - logged, the session is tried again
                log.warning(
                    "collector %s: e2e probe on topic %r: %s (trying again in %gs)",
                    name,
                    self.probe.topic,
                    self._masked(exc),
                    max(interval, STARTUP_RETRY),
                )
            finally:
                await asyncio.shield(self._stop_session())
            await asyncio.sleep(max(interval, STARTUP_RETRY))

    def _masked(self, exc: BaseException) -> str:
        text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        for secret in self.config.secret_values():
            text = text.replace(secret, "***")
        return text

    def _options(self) -> dict[str, Any]:
        return {
            "bootstrap_servers": self.config.bootstrap_servers,
            "client_id": CLIENT_ID,
            "request_timeout_ms": int(max(self.config.timeout, self.probe.timeout) * 1000),
            **self._auth.options(),
        }

    async def _session(self) -> None:
        cfg, probe = self.config, self.probe
        await self._auth.prepare()
        await self._ensure_topic()
        producer = self._producer = AIOKafkaProducer(
            **self._options(), acks="all", linger_ms=0, enable_idempotence=False
        )
        await producer.start()
        consumer = self._consumer = AIOKafkaConsumer(
            **self._options(),
            group_id=self.group_id,
            enable_auto_commit=False,
            auto_offset_reset="latest",
            fetch_max_wait_ms=int(min(500, probe.interval * 1000)),
        )
        await consumer.start()
        await self._assign(await producer.partitions_for(probe.topic))
        log.info(
            "collector %s: e2e probe on topic %r (%d partitions, group %r, every %gs)",
            cfg.name,
            probe.topic,
            len(self.partitions),
            self.group_id,
            probe.interval,
        )
        reader = asyncio.create_task(self._read(consumer))
        try:
            next_tick = time.monotonic()
            while True:
                if reader.done():
                    reader.result()  # the reader ended: its error ends the session
                await self._assign(await producer.partitions_for(probe.topic))
                self._expire()
                for partition in self.partitions:
                    self._spawn(self._produce(producer, partition))
                self._spawn(self._commit(consumer))
                next_tick += probe.interval
                delay = next_tick - time.monotonic()
                if delay < 0:  # fell behind (a stalled loop): no burst to catch up
                    next_tick, delay = time.monotonic(), 0
                await asyncio.sleep(delay)
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader

    async def _stop_session(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=CLOSE_TIMEOUT)
        self._pending.clear()  # not counted as lost: the probe, not the cluster, stopped them
        commit, self._committing = self._committing, None
        if commit is not None and not commit.done():  # let it end before its consumer does
            await asyncio.wait([commit], timeout=CLOSE_TIMEOUT)
            commit.cancel()  # a coordinator that does not answer: given up
        for client in (self._consumer, self._producer):
            if client is not None:
                try:
                    await asyncio.wait_for(client.stop(), CLOSE_TIMEOUT)
                except (asyncio.TimeoutError, KafkaError, OSError) as exc:
                    log.debug("closing e2e probe client of %s: %r", self.config.name, exc)
        self._consumer = self._producer = None

    async def _ensure_topic(self) -> None:
        """Make the canary topic when the cluster does not have it."""
        cfg, probe = self.config, self.probe
        client = AIOKafkaClient(**self._options())
        try:
            await client.bootstrap()
            node = client.get_random_node()
            request = MetadataRequest([probe.topic], allow_auto_topic_creation=False)
            response = await client.send(node, request)
            metadata = ClusterMetadata()
            metadata.update_metadata(response)
            if metadata.partitions_for_topic(probe.topic):
                return
            brokers = len(metadata.brokers())
            replication = probe.replication_factor or CLUSTER_DEFAULT
            if await create_topic(client, probe.topic, brokers, replication, cfg.timeout):
                self.topic_created = True
                log.info(
                    "collector %s: e2e probe made topic %r (%d partitions, replication %s)",
                    cfg.name,
                    probe.topic,
                    brokers,
                    replication if replication != CLUSTER_DEFAULT else "cluster default",
                )
        finally:
            with contextlib.suppress(KafkaError, OSError, asyncio.TimeoutError):
                await asyncio.wait_for(client.close(), CLOSE_TIMEOUT)

    async def _assign(self, partitions: set[int] | None) -> None:
        """Follow the topic's partitions: new ones are assigned, placed at their end."""
        found = tuple(sorted(partitions or ()))
        if found == self.partitions or self._consumer is None:
            return
        consumer = self._consumer
        new = [TopicPartition(self.probe.topic, p) for p in found if p not in self.partitions]
        consumer.assign([TopicPartition(self.probe.topic, p) for p in found])
        for partition in found:
            self.stats.partition(partition)
        self.partitions = found
        if new:  # records produced from now on are read back: none are missed by a late reset
            await consumer.seek_to_end(*new)

    def _spawn(self, step: Any) -> None:
        task = asyncio.create_task(step)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- the steps -----------------------------------------------------------------------

    async def _produce(self, producer: AIOKafkaProducer, partition: int) -> None:
        message_id = uuid.uuid4().hex
        created = time.time_ns()
        value = json.dumps(
            {"minionID": self.probe_id, "messageID": message_id, "createdUtcNs": created},
            separators=(",", ":"),
        ).encode()
        started = time.monotonic()
        sent = self._pending[message_id] = _Sent(partition, started)
        stats = self.stats
        try:
            delivery = await asyncio.wait_for(
                producer.send(self.probe.topic, value, partition=partition),
                self.probe.timeout,
            )
            delivery.add_done_callback(_retrieve)  # its error is read when given up on too
            remaining = self.probe.timeout - (time.monotonic() - started)
            await asyncio.wait_for(asyncio.shield(delivery), max(remaining, 0.001))
        except asyncio.CancelledError:
            raise
        except (asyncio.TimeoutError, KafkaError, OSError) as exc:
            stats.produced[partition] += 1
            stats.produced_failed[partition] += 1
            self._pending.pop(message_id, None)
            log.debug(
                "collector %s: e2e probe produce to %s-%d failed: %r",
                self.config.name,
                self.probe.topic,
                partition,
                exc,
            )
            return
        stats.produced[partition] += 1
        stats.observe(stats.produce_latency, partition, time.monotonic() - started)
        sent.acked = True

    async def _read(self, consumer: AIOKafkaConsumer) -> None:
        while True:
            batches = await consumer.getmany(timeout_ms=int(self.probe.interval * 1000))
            now = time.monotonic()
            for records in batches.values():
                for record in records:
                    self._received(record.value, now)

    def _received(self, value: bytes | None, now: float) -> None:
        try:
            message = json.loads(value or b"")
        except ValueError:
            return  # not a probe record (someone else writes to the topic)
        if not isinstance(message, dict) or message.get("minionID") != self.probe_id:
            return
        sent = self._pending.pop(str(message.get("messageID")), None)
        if sent is None:
            return  # given up on already (counted lost or failed)
        roundtrip = now - sent.sent
        if roundtrip > self.probe.timeout:
            if sent.acked:
                self.stats.lost[sent.partition] += 1
            return
        self.stats.received[sent.partition] += 1
        self.stats.observe(self.stats.roundtrip_latency, sent.partition, roundtrip)

    def _expire(self) -> None:
        """Records past `timeout`: lost when acknowledged (a failed produce counts itself)."""
        deadline = time.monotonic() - self.probe.timeout
        for message_id, sent in list(self._pending.items()):
            if sent.sent < deadline and sent.acked:
                del self._pending[message_id]
                self.stats.lost[sent.partition] += 1

    async def _commit(self, consumer: AIOKafkaConsumer) -> None:
        if self._committing is not None and not self._committing.done():
            return  # the last commit is still going (counted failed when it passed `timeout`)
        # the consumed positions (aiokafka's own `commit()` default), read without waiting
        # for partitions that have none yet
        subscription = consumer._subscription.subscription
        assignment = subscription.assignment if subscription is not None else None
        offsets = assignment.all_consumed_offsets() if assignment is not None else {}
        if not offsets:
            return
        coordinator = getattr(consumer._coordinator, "coordinator_id", None)
        coordinator_id = -1 if coordinator is None else int(coordinator)
        started = time.monotonic()
        stats = self.stats
        # Never cancelled: aiokafka shields its commit request, and a cancelled commit leaves
        # that request to fail unread. One commit at a time; one past `timeout` is counted
        # failed and runs on (the next ones wait for it), the session's end waits for it.
        commit = self._committing = asyncio.ensure_future(consumer.commit(offsets))
        commit.add_done_callback(_retrieve)
        await asyncio.wait([commit], timeout=self.probe.timeout)
        if not commit.done():
            stats.commits_failed[(coordinator_id, "timeout")] += 1
            return
        error = commit.exception()
        if error is not None:
            stats.commits_failed[(coordinator_id, type(error).__name__)] += 1
            log.debug("collector %s: e2e probe commit failed: %r", self.config.name, error)
            return
        coordinator = getattr(consumer._coordinator, "coordinator_id", None)
        coordinator_id = coordinator_id if coordinator is None else int(coordinator)
        stats.commits[coordinator_id] += 1
        stats.observe(stats.commit_latency, coordinator_id, time.monotonic() - started)
