"""What one refresh of a Kafka cluster read: plain data, no client objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property


@dataclass(frozen=True)
class Broker:
    """A broker from the metadata response."""

    node_id: int
    host: str
    port: int
    rack: str | None = None
    """broker.rack as Metadata v1+ reports it; None when unset."""


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
class MemberDetail:
    """One member of a group as its describe API names it (the `members` option)."""

    member_id: str
    client_id: str
    host: str
    """The client's host as the broker saw it (Kafka writes `/` and the address)."""
    instance_id: str | None = None
    """group.instance.id of a static member; None for a dynamic one."""
    assigned_partitions: int | None = None
    """Partitions assigned to the member now; None where the assignment cannot be read (a
    classic group of another protocol type than consumer, or a streams group's tasks)."""


@dataclass(frozen=True)
class GroupInfo:
    """One group that commits offsets (classic, consumer or streams): membership and offsets."""

    members: int | None
    """Members as the group's describe API counts them; None when the describe failed."""
    state: str | None = None
    offsets: dict[tuple[str, int], int] = field(default_factory=dict)
    """(topic, partition) -> committed offset; partitions without a commit are absent. The reader
    builds it in (topic, partition) order: each conversion still iterates it sorted (exposition
    order), and sorting what is in order already takes one comparison per partition."""
    type: str = "classic"
    """The group's type as ListGroups v5 names it (classic, consumer, streams); classic where the
    broker does not say (brokers before ListGroups v5 have classic groups only)."""
    protocol_type: str = "consumer"
    """The group's protocol type from ListGroups (consumer, connect, streams, ...)."""
    member_details: tuple[MemberDetail, ...] = ()
    """Each member's ids, host and assignment size (only with the `members` option)."""


@dataclass(frozen=True)
class SharePartition:
    """One partition of a share group (KIP-932) as DescribeShareGroupOffsets reports it."""

    start_offset: int
    lag: int | None
    """Records not yet delivery-complete; None when the broker does not know (-1, or v0)."""


@dataclass(frozen=True)
class ShareGroupInfo:
    """One share group: membership, state and its partitions' start offsets and lag."""

    members: int | None
    state: str | None = None
    partitions: dict[tuple[str, int], SharePartition] = field(default_factory=dict)


@dataclass(frozen=True)
class LogDir:
    """One log directory of a broker as DescribeLogDirs describes it."""

    path: str
    """The absolute path the broker names (e.g. `/var/lib/kafka/data`)."""
    error: str | None = None
    """Kafka's name of the log dir's error (e.g. KAFKA_STORAGE_ERROR: offline); None for none.
    A log dir with an error has no partitions."""
    sizes: dict[tuple[str, int], int] = field(default_factory=dict)
    """(topic, partition) -> bytes of its log segments in this dir (the future log of a replica
    being moved here by AlterReplicaLogDirs included: it takes space here)."""
    used_bytes: int = 0
    """Bytes of every partition the broker answered for in this dir (topics a filter later
    leaves out of `sizes` included)."""
    total_bytes: int | None = None
    """Size of the volume the dir is on (v4, Kafka 3.3+); None when not known."""
    usable_bytes: int | None = None
    """Usable bytes left on that volume (v4); None when not known."""


@dataclass(frozen=True)
class ClusterState:
    """Everything the `kafka` collector read in one refresh."""

    brokers: tuple[Broker, ...]
    topics: dict[str, dict[int, PartitionInfo]]
    groups: dict[str, GroupInfo]
    share_groups: dict[str, ShareGroupInfo] = field(default_factory=dict)
    log_dirs: dict[int, tuple[LogDir, ...]] = field(default_factory=dict)
    """broker node id -> its log dirs (the `log_dirs` option; empty when off)."""
    cluster_id: str | None = None
    """The cluster id from Metadata v2+ (None when the broker did not send one)."""
    controller_id: int | None = None
    """The controller's node id from Metadata v1+ (None when unknown, -1 on the wire)."""
    api_versions: dict[int, dict[int, int]] = field(default_factory=dict)
    """broker node id -> API key -> highest version it offers (the `cluster_info` option)."""
    topic_configs: dict[str, dict[str, str]] = field(default_factory=dict)
    """topic -> config name -> value ("" where unknown; the `topic_configs` option)."""

    @cached_property
    def high_watermarks(self) -> dict[tuple[str, int], int | None]:
        """(topic, partition) -> its high watermark, None where the leader did not answer: keyed
        as the groups' offsets are, for the loops over every lag series (made once per state;
        read only)."""
        return {
            (topic, number): part.newest
            for topic, parts in self.topics.items()
            for number, part in parts.items()
        }
