"""ListGroups on every broker: the broker that lists a group is its coordinator, and ListGroups v5
(KIP-848) tells each group's type (classic, consumer, share, streams)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from aiokafka.errors import KafkaConnectionError, KafkaError

from exporter.collectors.kafka.config import KafkaConfig
from exporter.collectors.kafka.protocol.classic import Send
from exporter.collectors.kafka.protocol.list_groups import (
    ListedGroup,
    ListGroupsRequest,
    decode_list_groups,
)
from exporter.collectors.kafka.read.concurrency import all_or_cancel

log = logging.getLogger(__name__)

CLASSIC = "classic"
SHARE = "share"


@dataclass(frozen=True)
class Listed:
    """One group as its coordinator listed it."""

    node: int
    """The coordinating broker."""
    type: str
    """classic, consumer, share, streams (or a type a newer broker names); classic where the
    broker's ListGroups is older than v5 (such brokers have classic groups only)."""
    protocol_type: str
    state: str | None
    """The state ListGroups v4+ gives (the describe API's answer is the one reported)."""


Listing = dict[str, Listed]
"""group -> how it was listed, for the groups that pass the filter."""


async def list_groups(send: Send, node_ids: list[int], config: KafkaConfig) -> Listing:
    """Every group on every broker that answers, filtered by `config.groups` (and, sharded,
    only this shard's groups).

    A broker still in the metadata but down (crashed, not yet fenced by the controller), or still
    loading its group coordinator after a restart, leaves out only its own groups; all of them
    failing fails the read.
    """
    listed = await all_or_cancel(*(_list_one(send, node, config.name) for node in node_ids))
    if node_ids and all(groups is None for groups in listed):
        raise KafkaConnectionError(f"ListGroups failed on every broker ({node_ids})")
    return {
        group.group_id: Listed(
            node, group.group_type or CLASSIC, group.protocol_type or "", group.state
        )
        for node, groups in zip(node_ids, listed, strict=True)
        for group in groups or ()
        if config.groups.matches(group.group_id)
        and (config.shard is None or config.shard.owns(group.group_id))
    }


async def _list_one(send: Send, node: int, name: str) -> list[ListedGroup] | None:
    """Groups coordinated by `node`; None (after a warning) when it cannot answer."""
    try:
        return decode_list_groups(await send(node, ListGroupsRequest()))
    except KafkaError as exc:
        log.warning(
            "%s: ListGroups failed on broker %s (%r); its groups are left out this refresh",
            name,
            node,
            exc,
        )
        return None
