"""What the coordinators' ApiVersions offer a read and what they leave out, said in one line
once per change (not once per client: a client rebuilt after a failed read says nothing new)."""

from __future__ import annotations

from collections.abc import Iterable

from exporter.collectors.kafka.protocol.api_versions import ApiVersions

FEATURES: tuple[tuple[int, int, str, str], ...] = (
    (16, 5, "group types (ListGroups v5, KIP-848)", "every group is taken as classic"),
    (9, 8, "many groups per OffsetFetch (v8, KIP-709)", "one group per request"),
    (69, 0, "KIP-848 consumer groups (ConsumerGroupDescribe)", ""),
    (89, 0, "streams groups (StreamsGroupDescribe, KIP-1071)", ""),
    (77, 1, "share groups (ShareGroupDescribe v1, KIP-932)", ""),
    (90, 0, "share group offsets (DescribeShareGroupOffsets, KIP-932)", ""),
)
"""(API key, lowest version used, the feature, what is done without it)."""


def _offered(versions: ApiVersions, key: int, version: int) -> bool:
    """Whether a broker offers `key` at `version` or later (e.g. only v1 counts for v0+)."""
    low, high = versions.get(key, (0, -1))
    return low <= high and high >= version


def missing(all_versions: Iterable[ApiVersions]) -> list[str]:
    """What is off because no broker among `all_versions` offers it (empty: nothing)."""
    known = list(all_versions)
    if not known:
        return []
    return [
        what + (f": {without}" if without else "")
        for key, version, what, without in FEATURES
        if not any(_offered(versions, key, version) for versions in known)
    ]


def summary(all_versions: Iterable[ApiVersions]) -> str | None:
    """One line: what the brokers offer, and what they do not (None: no versions known)."""
    known = list(all_versions)
    if not known:
        return None
    off = missing(known)
    on = [
        what
        for key, version, what, _ in FEATURES
        if any(_offered(versions, key, version) for versions in known)
    ]
    parts = []
    if on:
        parts.append("the brokers offer " + "; ".join(on))
    if off:
        parts.append("the brokers do not offer " + "; ".join(off))
    return ", and ".join(parts)


class FeatureLog:
    """Remembers the last line said, so the same one is not said again."""

    def __init__(self) -> None:
        self.last: str | None = None

    def changed(self, all_versions: Iterable[ApiVersions]) -> str | None:
        """The summary when it differs from the last one said; None otherwise."""
        line = summary(all_versions)
        if line is None or line == self.last:
            return None
        self.last = line
        return line
