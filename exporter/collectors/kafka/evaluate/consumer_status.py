"""Burrow-style consumer status of one group: OK, WARN, STALL, STOP or ERR.

A partition is evaluated over the window of its last N refreshes (`CommitWindows`) with the rules
of linkedin/Burrow's evaluator (core/internal/evaluator/caching.go, `calculatePartitionStatus`,
rules 1-5), checked in this order, the first that applies wins:

1. The current lag is 0, or the lag is 0 in any observation of the window -> OK.
2. The committed offset decreases between two observations -> REWIND (reported as ERR).
3. The time since the last commit is longer than the span between the first and the last commit
   of the window -> STOP.
4. The committed offset does not change over the window (and there is lag) -> STALL.
5. The offset moves but the lag never decreases between two observations -> WARN.
6. Otherwise -> OK.

Differences from Burrow, because the admin API gives no commit timestamps and Burrow reads them
from `__consumer_offsets`:
- Observations are refreshes, not commits. "Last commit" is when the committed offset was first
  seen at its current value (`Observation.since`); a consumer re-committing the same offset is
  invisible, so rule 3 alone cannot tell a stalled consumer from a stopped one. Rule 3 therefore
  also requires the group to have no members (DescribeGroups); with members present and the offset
  stuck the partition is STALL (rule 4). When membership is unknown, rule 3 applies alone.
- Recent Burrow versions check STOP before rule 1 (unless the broker offsets show a recent zero
  lag); this follows the order above (Burrow 1.x).
- A partition whose window is not full yet is OK (Burrow's `min-distance`/completeness gating);
  `complete` is the fraction of full windows.
- The group takes its worst partition by Burrow's severity order (OK < WARN < STOP < STALL < ERR)
  but keeps STOP and STALL instead of folding them into ERR.

`window_status` applies the rules to the bit registers `CommitWindows` keeps, without rebuilding
windows; tests hold it equal to the rules stated over a window of observations.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from exporter.collectors.kafka.history.commit_windows import WindowFlags


class ConsumerStatus(enum.IntEnum):
    """Consumer status; the value is the severity (Burrow's order), higher is worse."""

    OK = 1
    WARN = 2
    STOP = 4
    STALL = 5
    ERR = 6


STATUS_NAMES: tuple[str, ...] = ("OK", "WARN", "STALL", "STOP", "ERR")
"""Every value of the `status` label, in the order they are exposed."""


def window_status(flags: WindowFlags, members: int | None, now: float) -> ConsumerStatus:
    """Status of one partition from its window, given as `CommitWindows` flags."""
    return status_of(
        flags.full,
        flags.zero,
        flags.rewound,
        flags.moved,
        flags.decreased,
        flags.first_since,
        flags.last_since,
        members,
        now,
    )


def status_of(
    full: bool,
    zero: int,
    rewound: int,
    moved: int,
    decreased: int,
    first_since: float,
    last_since: float,
    members: int | None,
    now: float,
) -> ConsumerStatus:
    """`window_status` from the fields of `WindowFlags` one by one (the evaluation reads them
    straight from `CommitWindows.arrays()`, without a flags tuple per lag series)."""
    if not full or zero:
        return ConsumerStatus.OK
    if rewound:
        return ConsumerStatus.ERR
    if now - last_since > last_since - first_since and not members:
        return ConsumerStatus.STOP
    if not moved:
        return ConsumerStatus.STALL
    if not decreased:
        return ConsumerStatus.WARN
    return ConsumerStatus.OK


@dataclass(frozen=True)
class GroupStatus:
    """The verdict for one group: worst partition, completeness, and each partition's status."""

    status: ConsumerStatus
    complete: float
    partitions: dict[tuple[str, int], ConsumerStatus]


def group_status(partitions: dict[tuple[str, int], ConsumerStatus], full: int) -> GroupStatus:
    """The group's verdict from its partitions' statuses, `full` of which had full windows."""
    return GroupStatus(
        status=max(partitions.values(), default=ConsumerStatus.OK),
        complete=full / len(partitions) if partitions else 1.0,
        partitions=partitions,
    )
