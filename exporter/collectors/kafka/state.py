"""What one refresh of a Kafka cluster read: plain data, no client objects."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Broker:
    """A broker from the metadata response."""

    node_id: int
    host: str
    port: int


@dataclass(frozen=True)
class PartitionInfo:
    """One partition of a topic as the metadata and ListOffsets responses describe it."""

    leader: int
    replicas: tuple[int, ...] = ()
    isr: tuple[int, ...] = ()
    newest: int | None = None
    """High watermark (ListOffsets latest); None when the leader did not answer."""
    oldest: int | None = None
    """Log start offset (ListOffsets earliest); None when unknown."""


@dataclass(frozen=True)
class GroupInfo:
    """One consumer group: membership and committed offsets."""

    members: int | None
    """Members from DescribeGroups; None when the describe failed."""
    state: str | None = None
    offsets: dict[tuple[str, int], int] = field(default_factory=dict)
    """(topic, partition) -> committed offset; partitions without a commit are absent."""


@dataclass(frozen=True)
class ClusterState:
    """Everything the `kafka` collector read in one refresh."""

    brokers: tuple[Broker, ...]
    topics: dict[str, dict[int, PartitionInfo]]
    groups: dict[str, GroupInfo]
