"""Timestamps of the records at committed offsets, for `time_lag.method: timestamp`.

One Fetch request per (partition, offset) to the partition's leader through the collector's
long-lived client, at most `concurrency` in flight. The broker answers with whole record batches
starting at or before the offset (Kafka returns the batch containing it; so does Tansu), so the
record used is the one with the smallest offset >= the one asked for (compacted topics and
transaction markers may leave gaps). Partitions that cannot be read are simply left out: the
caller falls back to the estimate for them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from aiokafka.errors import KafkaError
from aiokafka.protocol.api import Response
from aiokafka.protocol.fetch import FetchRequest
from aiokafka.record.memory_records import MemoryRecords

from exporter.collectors.kafka.read.protocol import Send

log = logging.getLogger(__name__)

PARTITION_MAX_BYTES = 64 * 1024
"""Per-request byte limit; a larger first batch is still returned whole (KIP-74)."""
MAX_WAIT_MS = 500
"""Upper bound on the broker's wait; data is always there (offset < high watermark), so it
answers at once. Some brokers (Tansu) answer empty with 0."""


@dataclass(frozen=True)
class RecordWanted:
    """A record whose timestamp is needed: the first one at or after `offset`."""

    topic: str
    partition: int
    offset: int
    leader: int


async def read_record_times(
    send: Send, wanted: Iterable[RecordWanted], concurrency: int
) -> dict[RecordWanted, float]:
    """Timestamps (epoch seconds) of the wanted records that could be read."""
    limit = asyncio.Semaphore(concurrency)

    async def one(item: RecordWanted) -> tuple[RecordWanted, float | None]:
        request = FetchRequest(
            MAX_WAIT_MS,
            1,
            PARTITION_MAX_BYTES,
            0,
            [(item.topic, [(item.partition, item.offset, PARTITION_MAX_BYTES)])],
        )
        async with limit:
            try:
                response = await send(item.leader, request)
            except KafkaError as exc:
                log.debug("fetch of %s-%s failed: %r", item.topic, item.partition, exc)
                return item, None
        return item, timestamp_from_response(response, item)

    answers = await asyncio.gather(*(one(item) for item in wanted))
    return {item: ts for item, ts in answers if ts is not None}


def timestamp_from_response(response: Response, item: RecordWanted) -> float | None:
    """Timestamp of the first record at or after `item.offset` in a Fetch response."""
    for topic, partitions in response.topics:
        if topic != item.topic:
            continue
        for partition, error_code, _high_watermark, *rest in partitions:
            if partition != item.partition or error_code:
                continue
            try:
                return first_timestamp(rest[-1], item.offset)
            except KafkaError as exc:  # corrupt or unsupported record data
                log.debug("records of %s-%s unreadable: %r", topic, partition, exc)
                return None
    return None


def first_timestamp(record_set: bytes | None, offset: int) -> float | None:
    """Timestamp (seconds) of the record with the smallest offset >= `offset` in `record_set`."""
    if not record_set:
        return None
    records = MemoryRecords(record_set)
    while records.has_next():
        batch = records.next_batch()
        if batch is None:
            break
        for record in batch:
            if record.offset >= offset and record.timestamp is not None and record.timestamp >= 0:
                return float(record.timestamp) / 1000.0
    return None
