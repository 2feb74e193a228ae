"""Log-dir sizes (the `log_dirs` option): one DescribeLogDirs per broker for every topic it holds
(null topics), all brokers at once under the collector's concurrency; the partitions kept are
those of the topics the filter selects and the metadata has. A broker that fails (no
DescribeLogDirs, unreachable, an error, a malformed reply) is left out of this refresh: its log
dirs have no series, and a warning says so when the set of such brokers changes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from dataclasses import replace

from aiokafka.errors import KafkaError

from exporter.collectors.kafka.protocol.classic import Send
from exporter.collectors.kafka.protocol.log_dirs import DescribeLogDirsRequest, decode_log_dirs
from exporter.collectors.kafka.state import Broker, LogDir

log = logging.getLogger(__name__)

BrokerLogDirs = dict[int, tuple[LogDir, ...]]
"""broker node id -> its log dirs."""


class LogDirReads:
    """Reads the log dirs of every broker; remembers which brokers failed, to warn on change."""

    def __init__(self, name: str, max_concurrency: int) -> None:
        self.name = name
        self.max_concurrency = max_concurrency
        self.failed: dict[int, str] = {}
        """Brokers whose last DescribeLogDirs failed -> why."""

    async def read(
        self, send: Send, brokers: Iterable[Broker], topics: Mapping[str, Iterable[int]]
    ) -> BrokerLogDirs:
        """The log dirs of `brokers`, their partitions limited to `topics` (topic ->
        partition numbers); brokers that failed left out."""
        limit = asyncio.Semaphore(self.max_concurrency)
        keep = {(topic, number) for topic, numbers in topics.items() for number in numbers}

        async def one(node: int) -> tuple[LogDir, ...] | KafkaError:
            async with limit:
                try:
                    return decode_log_dirs(await send(node, DescribeLogDirsRequest()))
                except KafkaError as exc:
                    return exc

        nodes = sorted({b.node_id for b in brokers})
        answers = await asyncio.gather(*(one(node) for node in nodes))
        out: BrokerLogDirs = {}
        failed: dict[int, str] = {}
        for node, answer in zip(nodes, answers, strict=True):
            if isinstance(answer, KafkaError):
                failed[node] = f"{type(answer).__name__}: {answer}"
                continue
            out[node] = tuple(_kept(found, keep) for found in answer)
        self._say(failed)
        return out

    def _say(self, failed: dict[int, str]) -> None:
        if set(failed) != set(self.failed) and failed:
            node, why = next(iter(failed.items()))
            log.warning(
                "%s: log dirs of %d broker(s) left out (DescribeLogDirs failed), e.g. %s: %s",
                self.name,
                len(failed),
                f"broker {node}",
                why,
                extra={"collector": self.name, "api": "DescribeLogDirs"},
            )
        elif failed:
            log.debug("%s: log dirs of brokers %s left out again", self.name, sorted(failed))
        elif self.failed:
            log.info("%s: log dirs of every broker read again", self.name)
        self.failed = failed


def _kept(found: LogDir, keep: set[tuple[str, int]]) -> LogDir:
    """`found` with only the partitions in `keep`."""
    sizes = {key: size for key, size in found.sizes.items() if key in keep}
    return found if len(sizes) == len(found.sizes) else replace(found, sizes=sizes)
