"""What the coordinators' ApiVersions leave out of a read, said once per client in one line."""

from __future__ import annotations

from collections.abc import Iterable

from exporter.collectors.kafka.protocol.api_versions import ApiVersions, supports

FEATURES: tuple[tuple[int, int, str], ...] = (
    (16, 5, "group types (ListGroups v5, KIP-848): every group is taken as classic"),
    (9, 8, "many groups per OffsetFetch (v8, KIP-709): one group per request"),
    (69, 0, "KIP-848 consumer groups (ConsumerGroupDescribe)"),
    (89, 0, "streams groups (StreamsGroupDescribe, KIP-1071)"),
    (77, 1, "share groups (ShareGroupDescribe v1, KIP-932)"),
    (90, 0, "share group offsets (DescribeShareGroupOffsets, KIP-932)"),
)
"""(API key, version, what is off without it)."""


def missing(all_versions: Iterable[ApiVersions]) -> list[str]:
    """What is off because no broker among `all_versions` offers it (empty: nothing)."""
    known = list(all_versions)
    if not known:
        return []
    return [
        what
        for key, version, what in FEATURES
        if not any(supports(versions, key, version) for versions in known)
    ]
