"""Committed offsets of the groups: OffsetFetch v8+ (KIP-709, Kafka 3.0+) for many groups of one
coordinator in one request; one group per request on brokers without it; named partitions where a
broker refuses a null topic list (Tansu)."""

from __future__ import annotations

import logging
import zlib

from aiokafka.errors import KafkaConnectionError, KafkaError

from exporter.collectors.kafka.protocol import classic
from exporter.collectors.kafka.protocol.classic import Send
from exporter.collectors.kafka.protocol.offset_fetch import (
    OffsetFetchGroupsRequest,
    decode_offset_fetch_groups,
)
from exporter.collectors.kafka.read.topics import Offsets, RawPartitions

log = logging.getLogger(__name__)
Explicit = dict[str, list[int]]
"""topic -> partitions, as an OffsetFetch that names partitions asks for them."""

OFFSET_FETCH_API = 9
GROUPS_VERSION = 8
"""The first OffsetFetch version that takes many groups (KIP-709, Kafka 3.0)."""
OFFSET_FETCH_BATCH = 100
"""Groups per batched OffsetFetch (see bench/ for the measured choice)."""
RESCAN_EVERY = 10
"""Where OffsetFetch must name partitions (the broker refuses a null topic list), a known group is
asked only for the topics it had commits on, and for every partition of every topic once every
RESCAN_EVERY reads; the groups take turns (by a hash of the name), so no read rescans them all.
New groups are asked for everything at once; what they answer is remembered even when the read
then fails or times out, so a first read too big for the timeout converges over the next ones."""


class CommittedOffsets:
    """Fetches committed offsets; keeps what the fetches learn between reads."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.null_offset_fetch: bool | None = None
        """Whether OffsetFetch for all partitions (null topic list) works; None: not known yet."""
        self.group_topics: dict[str, frozenset[str]] = {}
        """Topics each group had commits on at its last answer (for explicit OffsetFetch)."""
        self.previous: dict[str, Offsets] = {}
        """Offsets of the last successful read (they stand in for a refused fetch)."""
        self.reads = 0

    def forget_brokers(self) -> None:
        """A new client: what the brokers support is to be probed again."""
        self.null_offset_fetch = None

    def remember(self, offsets: dict[str, Offsets]) -> None:
        """End of a successful read: keep its offsets, forget the groups gone."""
        self.previous = offsets
        self.group_topics = {group: self.group_topics.get(group, frozenset()) for group in offsets}
        self.reads += 1

    async def probe(
        self, send: Send, node: int, group: str, topics: RawPartitions, batched: bool
    ) -> None:
        """Learn, alone, whether OffsetFetch with a null topic list works (KIP-88); Tansu
        answers it garbled, and a broker may drop the connection, which would fail every request
        in flight with it. `batched`: asked the
        way the read will ask (OffsetFetch v8+)."""
        if self.null_offset_fetch is not None:
            return
        try:
            if batched:
                await send(node, OffsetFetchGroupsRequest([group]))
            else:
                await send(node, classic.offset_fetch_request(group, None))
            self.null_offset_fetch = True
            return
        except (classic.MalformedResponse, KafkaConnectionError) as exc:
            failed: KafkaError = exc
        # A garbled answer or a closed connection (what Tansu gives for a null topic list)
        # means "refused" only when the same group asked for named partitions answers right
        # after; otherwise nothing is learnt and the next refresh asks again.
        try:
            await send(node, classic.offset_fetch_request(group, explicit_partitions(topics)))
        except NotImplementedError:  # aiokafka's: no one-group version (v0-v3) on this broker
            log.debug(
                "%s: OffsetFetch probe inconclusive (%r; the broker has no one-group version to"
                " compare with); again next refresh",
                self.name,
                failed,
            )
            return
        except KafkaError as again:
            log.debug(
                "%s: OffsetFetch probe inconclusive (%r, then %r); again next refresh",
                self.name,
                failed,
                again,
            )
            return
        log.info(
            "%s: broker refuses OffsetFetch for all partitions; naming partitions instead",
            self.name,
        )
        self.null_offset_fetch = False

    async def fetch_batch(self, send: Send, node: int, groups: list[str]) -> dict[str, Offsets]:
        """Offsets of `groups` (one coordinator) in one OffsetFetch v8+; a group answered with
        an error keeps its previous offsets (with a warning) or is left out."""
        try:
            answers = decode_offset_fetch_groups(
                await send(node, OffsetFetchGroupsRequest(groups)), groups
            )
        except classic.MalformedResponse as exc:  # this batch only (logged where it was read)
            log.debug("%s: offsets of %d group(s) left out: %s", self.name, len(groups), exc)
            return {}
        out: dict[str, Offsets] = {}
        failed: list[tuple[str, KafkaError]] = []
        for group in groups:
            found = answers[group]
            if isinstance(found, KafkaError):
                failed.append((group, found))
                if group in self.previous:
                    out[group] = self.previous[group]
                continue
            out[group] = found
            self.group_topics[group] = frozenset(topic for topic, _ in found)
        if failed:
            log.warning(
                "%s: cannot fetch offsets of %d group(s), e.g. %s: %s",
                self.name,
                len(failed),
                failed[0][0],
                failed[0][1],
            )
        return out

    async def fetch_one(
        self, send: Send, node: int, group: str, explicit: Explicit
    ) -> Offsets | None:
        """Committed offsets of one group; the previous ones (with a warning) when refused.
        `explicit` is every partition (`explicit_partitions`), named where the broker needs it."""
        partitions = None if self.null_offset_fetch else self._asked(group, explicit)
        try:
            request = classic.offset_fetch_request(group, partitions)
            found = classic.decode_offset_fetch(await send(node, request))
        except KafkaConnectionError:
            raise
        except KafkaError as exc:
            log.warning("%s: cannot fetch offsets of group %s: %s", self.name, group, exc)
            return self.previous.get(group)
        # Learnt at once, not at the end of the read: when a read with many new groups outlives
        # its timeout, the next one asks the groups answered so far only for their topics.
        self.group_topics[group] = frozenset(topic for topic, _ in found)
        return found

    def _asked(self, group: str, explicit: Explicit) -> Explicit:
        """The partitions to name for `group`: its known topics, or all of them on its turn."""
        rescan = zlib.crc32(group.encode()) % RESCAN_EVERY == self.reads % RESCAN_EVERY
        known = None if rescan else self.group_topics.get(group)
        only = {t: explicit[t] for t in known or () if t in explicit}
        return only or explicit


def explicit_partitions(topics: RawPartitions) -> Explicit:
    """topic -> its partitions, sorted: what an OffsetFetch naming partitions asks for."""
    return {topic: sorted(parts) for topic, parts in topics.items()}
