"""The bounds every decode of a broker reply keeps, whichever decoder runs: a cap per array (by
field name), the bytes left, a budget of array elements for the whole reply, and a stop flag
looked at while decoding. An array's length is checked before any of it is built."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from exporter.collectors.kafka.protocol.classic import MalformedResponse

ARRAY_LIMITS: dict[str, int] = {
    "members": 100_000,
    "groups": 500_000,
    "topics": 200_000,
    "partitions": 100_000,
}
"""Elements an array of that field name may have (members per group, groups per reply,
topics per reply, partitions per topic); far above what a real cluster answers."""
DEFAULT_ARRAY_LIMIT = 1_000_000
"""Elements any other array may have."""
REPLY_ELEMENT_BUDGET = 4_000_000
"""Array elements one reply may have in all (a 200,000-partition Metadata has about 1.4 million)."""
STOP_EVERY = 4096
"""Elements decoded between two looks at the stop flag."""


class ResponseLimitExceeded(MalformedResponse):
    """A reply larger than a cap (frame bytes or element count): refused, not decoded."""


class DecodeStopped(Exception):
    """The decode was stopped (its request was cancelled)."""


@dataclass
class Bounds:
    """What one reply's decode has used of its bounds."""

    size: int
    """Bytes in the frame."""
    stop: threading.Event | None
    budget: int = REPLY_ELEMENT_BUDGET
    seen: int = 0
    """Array elements announced so far."""

    def check_array(self, length: int, path: str, at: int, end: int) -> None:
        """Refuse an array of `length` elements of field `path` whose length field starts at
        byte `at` and ends at byte `end`: more elements than bytes left, over its cap, or over the
        reply's budget."""
        limit = ARRAY_LIMITS.get(path.rsplit(".", 1)[-1], DEFAULT_ARRAY_LIMIT)
        left = self.size - end
        where = f"{path} at byte {at} of the {self.size}-byte frame"
        if length < 0 or length > left:
            raise MalformedResponse(f"{where}: array length {length} with {left} bytes left")
        if length > limit:
            raise ResponseLimitExceeded(f"{where}: {length} elements, over the limit of {limit}")
        self.seen += length
        if self.seen > self.budget:
            raise ResponseLimitExceeded(
                f"{where}: over {self.budget} array elements in one reply (the limit)"
            )

    def check_stop(self, index: int, path: str) -> None:
        """Raise DecodeStopped every `STOP_EVERY` elements once the stop flag is set."""
        if self.stop is not None and index % STOP_EVERY == 0 and self.stop.is_set():
            raise DecodeStopped(path)
