"""`shard`: several exporter replicas share one cluster, each reading the groups a stable hash of
the group name assigns to it; topic and broker series come from shard 0 only, so the union of the
shards' series is one unsharded exporter's series, each exactly once."""

from __future__ import annotations

import hashlib
import re

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_ORDINAL = re.compile(r"^(?:.*-)?(\d+)$")
"""An index, or a name ending in `-<n>` (a StatefulSet pod name, e.g. `khe-2`)."""


class ShardConfig(BaseModel):
    """`shard: {count: N, index: I}`; `index` may be a StatefulSet pod name (`${POD_NAME}`),
    whose ordinal is the index."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    count: int = Field(ge=1, le=10_000)
    """How many shards share the cluster (replicas with the same collector config)."""
    index: int
    """This replica's shard, 0 <= index < count (shard 0 also reports topics and brokers)."""

    @field_validator("index", mode="before")
    @classmethod
    def _ordinal(cls, value: object) -> object:
        """`3`, `"3"` or `"kafka-health-exporter-3"` (the pod name's ordinal) -> 3."""
        if isinstance(value, str):
            match = _ORDINAL.match(value.strip())
            if match is None:
                raise ValueError(
                    "expected an integer or a StatefulSet pod name ending in -<ordinal>"
                    " (e.g. index: ${POD_NAME})"
                )
            return int(match.group(1))
        return value

    @model_validator(mode="after")
    def _index_in_range(self) -> ShardConfig:
        if not 0 <= self.index < self.count:
            raise ValueError(
                f"index {self.index} is not in 0..{self.count - 1} (count is {self.count})"
            )
        return self

    @property
    def reports_cluster(self) -> bool:
        """Whether this shard reports the topic and broker series (shard 0)."""
        return self.index == 0

    def owns(self, group: str) -> bool:
        """Whether `group` is this shard's (the same answer in every process and release)."""
        return shard_of(group, self.count) == self.index


def shard_of(group: str, count: int) -> int:
    """The shard of `group` among `count`: the first 8 bytes of its BLAKE2b digest, modulo."""
    digest = hashlib.blake2b(group.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % count
