"""Start offsets and lag of share groups (KIP-932): DescribeShareGroupOffsets, many groups of one
coordinator per request; v1 carries the broker's lag (records not yet delivery-complete)."""

from __future__ import annotations

import logging

from aiokafka.errors import KafkaError

from exporter.collectors.kafka.protocol.classic import MalformedResponse, Send
from exporter.collectors.kafka.protocol.share_offsets import (
    DescribeShareGroupOffsetsRequest,
    decode_share_group_offsets,
)
from exporter.collectors.kafka.state import SharePartition

log = logging.getLogger(__name__)

SHARE_OFFSETS_BATCH = 100
"""Share groups per DescribeShareGroupOffsets request."""

ShareOffsets = dict[tuple[str, int], SharePartition]
"""(topic, partition) -> start offset and lag."""


async def fetch_share_offsets(
    send: Send, node: int, groups: list[str], name: str
) -> dict[str, ShareOffsets]:
    """Partitions of `groups` (one coordinator); a group answered with an error is left out
    (with one warning for the batch)."""
    try:
        response = await send(node, DescribeShareGroupOffsetsRequest(groups))
        answers = decode_share_group_offsets(response, groups)
    except MalformedResponse as exc:  # this batch only (logged where it was read)
        log.debug("%s: offsets of %d share group(s) left out: %s", name, len(groups), exc)
        return {}
    out: dict[str, ShareOffsets] = {}
    failed: list[tuple[str, KafkaError]] = []
    for group in groups:
        found = answers[group]
        if isinstance(found, KafkaError):
            failed.append((group, found))
            continue
        out[group] = {
            key: SharePartition(start_offset=part.start_offset, lag=part.lag)
            for key, part in found.items()
        }
    if failed:
        log.warning(
            "%s: cannot describe offsets of %d share group(s), e.g. %s: %s",
            name,
            len(failed),
            failed[0][0],
            failed[0][1],
        )
    return out
