"""Timestamps of the records at committed offsets, for `time_lag.method` `auto` and `timestamp`.

Fetch requests to each partition's leader through the collector's long-lived client, at most
`concurrency` in flight: up to `PARTITIONS_PER_FETCH` partitions of one leader per request with
`PARTITION_MAX_BYTES` each (about one producer batch), and a partition that came back without a
usable record alone with a 1-byte limit, for which the broker still returns exactly the first
record batch (KIP-74). The broker answers with the batch containing the offset, so the record
used is the one with the smallest offset >= the one asked for:

- compacted topics (no record at the offset): the next record, reading on batch by batch;
- transaction markers (control batches): skipped, the next data record counts; aborted records
  count as they are (they were appended then, like any other; reads are read_uncommitted);
  markers only up to the high watermark: `NOTHING_PENDING` (nothing to wait for: 0 s);
- an offset below the log start offset (retention deleted it): the oldest record still there,
  with `capped_at` saying where it was found;
- LogAppendTime topics: the broker's append time (aiokafka gives it for every record of the
  batch); CreateTime topics: the producer's time.

Partitions the client may not read (authorization errors) come back in `denied`; others that
could not be read are left out. The caller falls back to the estimate for both.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from aiokafka.errors import KafkaError
from aiokafka.protocol.fetch import FetchRequest
from aiokafka.record.memory_records import MemoryRecords

from exporter.collectors.kafka.protocol.classic import Send

log = logging.getLogger(__name__)

PARTITIONS_PER_FETCH = 100
"""Partitions of one leader asked for in one Fetch request."""
PARTITION_MAX_BYTES = 16 * 1024
"""Per-partition byte limit in a many-partition request (a producer's default batch size)."""
MAX_WAIT_MS = 0
"""Data is always there (offset < high watermark): the broker must not wait for more."""
OMITTED_WAIT_MS = 100
"""Asked again for partitions an answer left out, with min_bytes 1 and this max_wait: a
broker may omit a partition that has not met min_bytes 0 within no wait at all (Tansu answers
such a Fetch with no topics); with data there, min_bytes 1 returns at once."""
MAX_HOPS = 4
"""Single-partition reads per record (compacted or marker-only batches make the broker's first
batch end before the wanted record)."""
NOTHING_PENDING = math.inf
"""Record time meaning "only transaction markers between the offset and the high watermark"."""
OFFSET_OUT_OF_RANGE = 1
AUTHORIZATION_FAILED = frozenset({29, 30, 31})
"""TOPIC_, GROUP_ and CLUSTER_AUTHORIZATION_FAILED."""


@dataclass(frozen=True)
class RecordWanted:
    """A record whose timestamp is needed: the first one at or after `offset`."""

    topic: str
    partition: int
    offset: int
    leader: int


@dataclass(frozen=True)
class RecordFound:
    """The timestamp (epoch seconds) of the record used; `capped_at` is the log start offset
    it was read from when the wanted offset had been deleted by retention."""

    time: float
    capped_at: int | None = None


@dataclass
class ReadOutcome:
    """What one batch of reads found."""

    found: dict[RecordWanted, RecordFound] = field(default_factory=dict)
    denied: set[RecordWanted] = field(default_factory=set)
    requests: int = 0


@dataclass(frozen=True)
class _Answer:
    """One partition of a Fetch response, decoded."""

    error: int
    records: bytes | None
    high_watermark: int
    log_start: int


async def read_record_times(
    send: Send, wanted: Iterable[RecordWanted], limit: asyncio.Semaphore, outcome: ReadOutcome
) -> None:
    """Fill `outcome` with the timestamps of the wanted records (as each request completes, so
    a caller that stops waiting keeps what has arrived)."""
    chunks = _chunks(wanted)

    async def ask(
        leader: int, asked: dict[tuple[str, int], int], max_bytes: int, wait_ms: int
    ) -> dict[tuple[str, int], _Answer]:
        by_topic: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
        for (topic, partition), offset in asked.items():
            by_topic[topic].append((partition, offset, max_bytes))
        total = max_bytes * len(asked)
        request = FetchRequest(wait_ms, 1 if wait_ms else 0, total, 0, list(by_topic.items()))
        async with limit:
            outcome.requests += 1
            return _answers(await send(leader, request))

    async def fetch(
        leader: int, asked: dict[tuple[str, int], int], max_bytes: int
    ) -> dict[tuple[str, int], _Answer]:
        answers = await ask(leader, asked, max_bytes, MAX_WAIT_MS)
        omitted = {key: offset for key, offset in asked.items() if key not in answers}
        if omitted:
            answers |= await ask(leader, omitted, max_bytes, OMITTED_WAIT_MS)
        return answers

    async def alone(item: RecordWanted, offset: int, capped: int | None) -> None:
        for _ in range(MAX_HOPS):
            key = (item.topic, item.partition)
            try:
                answer = (await fetch(item.leader, {key: offset}, 1)).get(key)
            except KafkaError as exc:
                log.debug("fetch of %s-%s failed: %r", item.topic, item.partition, exc)
                return
            if answer is None:
                return
            step = _settle(item, offset, capped, answer, outcome)
            if step is None:
                return
            offset, capped = step

    async def chunk(items: list[RecordWanted]) -> None:
        asked = {(i.topic, i.partition): i.offset for i in items}
        try:
            answers = await fetch(items[0].leader, asked, PARTITION_MAX_BYTES)
        except KafkaError as exc:
            log.debug("fetch from broker %s failed: %r", items[0].leader, exc)
            answers = {}
        again = []
        for item in items:
            answer = answers.get((item.topic, item.partition))
            step = (
                (item.offset, None)
                if answer is None
                else _settle(item, item.offset, None, answer, outcome)
            )
            if step is not None:
                again.append(alone(item, *step))
        await asyncio.gather(*again)

    await asyncio.gather(*(chunk(items) for items in chunks))


def _chunks(wanted: Iterable[RecordWanted]) -> list[list[RecordWanted]]:
    """Requests' worth of items: one leader each, a partition at most once (groups at several
    offsets of one partition take several rounds), at most `PARTITIONS_PER_FETCH`."""
    rounds: dict[tuple[int, int], list[RecordWanted]] = defaultdict(list)
    seen: dict[tuple[str, int], int] = defaultdict(int)
    for item in wanted:
        key = (item.topic, item.partition)
        rounds[(item.leader, seen[key])].append(item)
        seen[key] += 1
    return [
        items[i : i + PARTITIONS_PER_FETCH]
        for items in rounds.values()
        for i in range(0, len(items), PARTITIONS_PER_FETCH)
    ]


def _settle(
    item: RecordWanted, offset: int, capped: int | None, answer: _Answer, outcome: ReadOutcome
) -> tuple[int, int | None] | None:
    """Record what `answer` tells about `item`; the (offset, capped) to read alone next, or None
    when done (found, denied or unreadable)."""
    if answer.error in AUTHORIZATION_FAILED:
        outcome.denied.add(item)
        return None
    if answer.error == OFFSET_OUT_OF_RANGE and answer.log_start > offset:
        return answer.log_start, answer.log_start  # deleted by retention: the oldest left
    if answer.error:
        log.debug("fetch of %s-%s: error %s", item.topic, item.partition, answer.error)
        return None
    try:
        time, next_offset = scan_records(answer.records, offset)
    except KafkaError as exc:  # corrupt or unsupported record data
        log.debug("records of %s-%s unreadable: %r", item.topic, item.partition, exc)
        return None
    if time is not None:
        outcome.found[item] = RecordFound(time, capped)
        return None
    if next_offset is not None and next_offset >= answer.high_watermark >= 0:
        outcome.found[item] = RecordFound(NOTHING_PENDING, capped)  # markers only
        return None
    return max(offset, next_offset or offset), capped


def _answers(response: Any) -> dict[tuple[str, int], _Answer]:
    """(topic, partition) -> decoded answer. Partition entries are (partition, error_code,
    high_watermark, ..., records) in every version, with log_start_offset fifth from v5 on
    (`to_object()` cannot be used: it fails on a null aborted_transactions)."""
    has_log_start = response.API_VERSION >= 5
    out: dict[tuple[str, int], _Answer] = {}
    for topic, partitions in response.topics:
        for entry in partitions:
            log_start = entry[4] if has_log_start else -1
            out[(topic, entry[0])] = _Answer(entry[1], entry[-1], entry[2], log_start)
    return out


def scan_records(record_set: bytes | None, offset: int) -> tuple[float | None, int | None]:
    """(timestamp in seconds of the first data record >= `offset`, None if there is none) and
    the offset after the last complete batch seen (None when there was none)."""
    if not record_set:
        return None, None
    records = MemoryRecords(record_set)
    next_offset: int | None = None
    while records.has_next():
        batch = records.next_batch()
        if batch is None:
            break
        if not batch.is_control_batch:
            for record in batch:
                stamp = record.timestamp
                if record.offset >= offset and stamp is not None and stamp >= 0:
                    return float(stamp) / 1000.0, None
        next_offset = batch.next_offset
    return None, next_offset


def first_timestamp(record_set: bytes | None, offset: int) -> float | None:
    """Timestamp (seconds) of the record with the smallest offset >= `offset` in `record_set`."""
    return scan_records(record_set, offset)[0]
