"""Group members (the `members` option): catalogue and pure conversion from what one refresh read.

One info series per member of every classic, consumer (KIP-848) and streams group, with the ids
and the host the group's describe API names (what `kafka-consumer-groups --describe --members`
prints), and the number of partitions assigned to it now, so a stuck or idle instance is found
by its client id and host, not only its group. Empty without the option (nothing was kept).
"""

from __future__ import annotations

from prometheus_client.core import Metric

from exporter.collectors.families import MetricSpec, build_families
from exporter.collectors.kafka.state import ClusterState

_MEMBER = ("cluster", "consumergroup", "member_id", "client_id", "host")
MEMBER_INFO = MetricSpec(
    "kafka_consumergroup_member_info",
    "gauge",
    "1 for each member of the group (option `members`): its member id, client id, client host "
    "as the broker saw it, and group.instance.id (empty for a dynamic member).",
    (*_MEMBER, "group_instance_id"),
)
MEMBER_ASSIGNED = MetricSpec(
    "kafka_consumergroup_member_assigned_partitions",
    "gauge",
    "Partitions assigned to the member now (option `members`; classic groups of protocol type "
    "consumer and KIP-848 consumer groups; 0 while it waits for an assignment).",
    _MEMBER,
)

CATALOGUE: tuple[MetricSpec, ...] = (MEMBER_INFO, MEMBER_ASSIGNED)


def to_metrics(state: ClusterState, cluster: str, const: dict[str, str]) -> list[Metric]:
    """Families of the members kept in `state` (none when the option is off)."""
    info = MEMBER_INFO.family(const)
    assigned = MEMBER_ASSIGNED.family(const)
    for group, found in sorted(state.groups.items()):
        for member in sorted(found.member_details, key=lambda m: m.member_id):
            labels = (cluster, group, member.member_id, member.client_id, member.host)
            info.add((*labels, member.instance_id or ""), 1)
            if member.assigned_partitions is not None:
                assigned.add(labels, member.assigned_partitions)
    return build_families([info, assigned])
