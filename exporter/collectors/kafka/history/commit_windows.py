"""`CommitWindows`: the last N observations of every (group, topic, partition), in flat arrays.

A cluster with thousands of groups has hundreds of thousands of group-partitions. One object per
observation (tens of bytes of header each, all tracked by the garbage collector) made the history
the largest part of the exporter's memory and its full collections stall every thread. Here each
group-partition is a slot number: its observations live in rings inside a few `array`s (8 bytes
per number, invisible to the garbage collector), and what the status rules ask of a window is kept
as bit registers updated on each observation (bit 0 = the newest):

- `zero`: observations with lag 0 (one bit per observation in the window);
- `moved`, `rewound`, `decreased`: pairs of consecutive observations whose committed offset
  changed, went down, or whose lag went down (one bit per pair in the window).

Freed slots are reused, so memory follows the number of live group-partitions.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, MutableSequence, Sequence
from typing import NamedTuple

GroupPartition = tuple[str, str, int]
"""(group, topic, partition)"""
TopicPartition = tuple[str, int]


class Observation(NamedTuple):
    """One group's position on one partition as seen by one refresh."""

    offset: int
    """Committed offset."""
    lag: int
    """High watermark - committed offset (>= 0)."""
    since: float
    """When this committed offset was first observed (epoch seconds): the derived time of its
    commit. Only the newest observation's own time is kept (`CommitWindows.observed_at`)."""


class WindowFlags(NamedTuple):
    """The newest observation of one window and what the status rules need to know about it."""

    time: float
    """When the newest observation was made."""
    offset: int
    lag: int
    """Committed offset and lag of the newest observation."""
    full: bool
    """The window holds `size` observations."""
    zero: int
    rewound: int
    moved: int
    decreased: int
    """Bit registers (non-zero when any observation or pair in the window has the property)."""
    first_since: float
    """`since` of the oldest observation in the window."""
    last_since: float
    """`since` of the newest observation."""


Registers = MutableSequence[int]
"""One bit register per slot: an `array` of unsigned 64-bit numbers when a window fits in them
(the usual case), a list of Python ints above. A full garbage collection, which stops every
thread, follows each entry of a list to its int (50,000 a register at 50,000 series, 7 ms a
collection); it never looks into an array."""


def _registers(size: int) -> Registers:
    return array("Q") if size <= 64 else []


class WindowArrays(NamedTuple):
    """`CommitWindows`' storage, for a reader that walks many slots at once (read only): the
    window of slot s holds observations s * size + i % size for i < counts[s]."""

    size: int
    counts: array[int]
    times: array[float]
    offsets: array[int]
    lags: array[int]
    since: array[float]
    zero: Registers
    rewound: Registers
    moved: Registers
    decreased: Registers


_make_tuple = tuple.__new__


class CommitWindows:
    """The last `size` observations of each group-partition, oldest first, in rings of slots."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._all = (1 << size) - 1
        self._pairs = (1 << (size - 1)) - 1
        self._slots: dict[str, dict[TopicPartition, int]] = {}
        """group -> (topic, partition) -> slot"""
        self._free: list[int] = []
        self._generation = 0
        # Rings: observation i of a slot is at slot * size + i % size.
        self._offsets = array("q")
        self._lags = array("q")
        self._since = array("d")
        # Per slot.
        self._count = array("q")
        self._time = array("d")
        self._seen = array("q")
        self._zero = _registers(size)
        self._moved = _registers(size)
        self._rewound = _registers(size)
        self._decreased = _registers(size)

    def begin(self) -> None:
        """Start an update: slots not observed or kept from now until `end()` are then freed."""
        self._generation += 1

    def of_group(self, group: str) -> dict[TopicPartition, int]:
        """The slots of `group`'s partitions (read-only use); empty when it has none."""
        return self._slots.get(group, {})

    def observe(
        self, group: str, partition: TopicPartition, offset: int, lag: int, time: float
    ) -> int:
        """Append one refresh's view of `group` on `partition` (ignored unless newer than the
        last); its slot."""
        return self.observe_group(group, [(partition, offset, lag)], time)[0]

    def observe_group(
        self,
        group: str,
        positions: Sequence[tuple[TopicPartition, int, int]],
        time: float,
        latest: list[int] | None = None,
    ) -> list[int]:
        """`observe` for each (partition, committed offset, lag) of `group` seen at `time`; their
        slots, in order. One call per group keeps the per-observation work to array updates.
        `latest`, when given, gets each slot's newest committed offset after the call, in order
        (the one given, or the one kept when the observation was not newer)."""
        slots = self._slots.get(group)
        if slots is None:
            slots = self._slots[group] = {}
        size, pairs, every = self.size, self._pairs, self._all
        generation, seen, counts, times = self._generation, self._seen, self._count, self._time
        offsets, lags, since_of = self._offsets, self._lags, self._since
        zero, moved, rewound, decreased = self._zero, self._moved, self._rewound, self._decreased
        out: list[int] = []
        for partition, offset, lag in positions:
            slot = slots.get(partition)
            if slot is None:
                slot = self._allocate(group, partition)
            out.append(slot)
            seen[slot] = generation
            count = counts[slot]
            if count and time <= times[slot]:
                if latest is not None:
                    latest.append(offsets[slot * size + (count - 1) % size])
                continue
            if latest is not None:
                latest.append(offset)
            since = time
            if count:
                newest = slot * size + (count - 1) % size
                previous, previous_lag = offsets[newest], lags[newest]
                if previous == offset:
                    since = since_of[newest]
                moved[slot] = (moved[slot] << 1 | (offset != previous)) & pairs
                rewound[slot] = (rewound[slot] << 1 | (offset < previous)) & pairs
                decreased[slot] = (decreased[slot] << 1 | (lag < previous_lag)) & pairs
            zero[slot] = (zero[slot] << 1 | (lag == 0)) & every
            position = slot * size + count % size
            offsets[position] = offset
            lags[position] = lag
            since_of[position] = since
            counts[slot] = count + 1
            times[slot] = time
        return out

    def keep(self, group: str, partition: TopicPartition) -> None:
        """Keep a window through this update without observing it (if there is one)."""
        slot = self._slots.get(group, {}).get(partition)
        if slot is not None:
            self._seen[slot] = self._generation

    def end(self) -> None:
        """Free the slots neither observed nor kept since `begin()`."""
        generation, seen = self._generation, self._seen
        for group, slots in list(self._slots.items()):
            for partition in [p for p, slot in slots.items() if seen[slot] != generation]:
                self._free.append(slots.pop(partition))
            if not slots:
                del self._slots[group]

    def flags(self, slot: int) -> WindowFlags:
        """The window of `slot` as the status rules read it."""
        size, count = self.size, self._count[slot]
        first = slot * size + (count % size if count >= size else 0)
        newest = slot * size + (count - 1) % size
        # tuple.__new__ skips WindowFlags' Python-level __new__ (read once per lag series)
        return _make_tuple(
            WindowFlags,
            (
                self._time[slot],
                self._offsets[newest],
                self._lags[newest],
                count >= size,
                self._zero[slot],
                self._rewound[slot],
                self._moved[slot],
                self._decreased[slot],
                self._since[first],
                self._since[newest],
            ),
        )

    def arrays(self) -> WindowArrays:
        """The storage itself (valid until the next update), for `flags` over many slots."""
        return WindowArrays(
            self.size,
            self._count,
            self._time,
            self._offsets,
            self._lags,
            self._since,
            self._zero,
            self._rewound,
            self._moved,
            self._decreased,
        )

    def observations(self, key: GroupPartition) -> tuple[Observation, ...]:
        """The window of `key`, oldest first (empty when it has none)."""
        group, topic, number = key
        slot = self._slots.get(group, {}).get((topic, number))
        if slot is None:
            return ()
        size, count = self.size, self._count[slot]
        held = range(count - size, count) if count > size else range(count)
        return tuple(self._at(slot * size + i % size) for i in held)

    def _at(self, position: int) -> Observation:
        return Observation(self._offsets[position], self._lags[position], self._since[position])

    def _allocate(self, group: str, partition: TopicPartition) -> int:
        if self._free:
            slot = self._free.pop()
            self._count[slot] = 0
            self._zero[slot] = self._moved[slot] = self._rewound[slot] = 0
            self._decreased[slot] = 0
        else:
            slot = len(self._count)
            self._offsets.extend([0] * self.size)
            self._lags.extend([0] * self.size)
            self._since.extend([0.0] * self.size)
            self._count.append(0)
            self._time.append(0.0)
            self._seen.append(0)
            for register in (self._zero, self._moved, self._rewound, self._decreased):
                register.append(0)
        self._slots.setdefault(group, {})[partition] = slot
        return slot

    def __iter__(self) -> Iterator[GroupPartition]:
        """Every group-partition with a window."""
        for group, slots in self._slots.items():
            for topic, number in slots:
                yield group, topic, number

    def __len__(self) -> int:
        return sum(len(slots) for slots in self._slots.values())
