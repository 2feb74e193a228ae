"""Topic configs (the `topic_configs` option): DescribeConfigs (key 32, v1-v2) naming only the
configs asked for, BATCH topics a request, the batches spread over the brokers under the
collector's concurrency. Any broker answers for a topic. A config the broker does not know (or
sends as null, e.g. sensitive) has the empty value; a topic answered with an error, or in a batch
that failed, is left out of this refresh, and a warning says so when the set of such topics
changes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from typing import Any

from aiokafka.errors import KafkaError
from aiokafka.protocol.admin import DescribeConfigsRequest
from aiokafka.protocol.api import Response

from exporter.collectors.kafka.protocol.classic import MalformedResponse, Send

log = logging.getLogger(__name__)

TOPIC_RESOURCE = 2
"""DescribeConfigs resource type of a topic."""
BATCH = 200
"""Topics per DescribeConfigs request."""

TopicConfigs = dict[str, dict[str, str]]
"""topic -> config name -> value ("" where the broker has none)."""


def describe_configs_request(topics: Sequence[str], names: Sequence[str]) -> DescribeConfigsRequest:
    """DescribeConfigs for `topics`, asking only for the configs `names`."""
    return DescribeConfigsRequest([(TOPIC_RESOURCE, topic, list(names)) for topic in topics])


def decode_describe_configs(
    response: Response, asked: Iterable[str], names: Sequence[str]
) -> tuple[TopicConfigs, dict[str, str]]:
    """(topic -> the `names` configs, topic -> error name) from a DescribeConfigs answer; an
    answer for a topic not asked for, or twice, is MalformedResponse."""
    wanted = set(asked)
    configs: TopicConfigs = {}
    errors: dict[str, str] = {}
    resources: Any = response.resources
    if resources is None:
        raise MalformedResponse("DescribeConfigs resources is a null array")
    for error_code, error_message, resource_type, name, entries in resources:
        if (
            resource_type != TOPIC_RESOURCE
            or name not in wanted
            or name in configs
            or name in errors
        ):
            raise MalformedResponse(f"DescribeConfigs answered for unexpected topic {name!r}")
        if error_code:
            errors[name] = f"error {error_code}" + (f": {error_message}" if error_message else "")
            continue
        found = {entry[0]: entry[1] for entry in entries or ()}
        configs[name] = {config: found.get(config) or "" for config in names}
    return configs, errors


class TopicConfigReads:
    """Reads the selected topics' configs; remembers which topics failed, to warn on change."""

    def __init__(self, name: str, max_concurrency: int, names: Sequence[str]) -> None:
        self.name = name
        self.max_concurrency = max_concurrency
        self.names = tuple(names)
        self.failed: dict[str, str] = {}
        """Topics whose last DescribeConfigs failed -> why."""

    async def read(self, send: Send, nodes: Sequence[int], topics: Iterable[str]) -> TopicConfigs:
        """The configs of `topics`, asked of `nodes` in turn; topics that failed left out."""
        ordered = sorted(topics)
        if not self.names or not ordered or not nodes:
            return {}
        limit = asyncio.Semaphore(self.max_concurrency)
        batches = [ordered[i : i + BATCH] for i in range(0, len(ordered), BATCH)]

        async def one(index: int, batch: list[str]) -> tuple[TopicConfigs, dict[str, str]]:
            node = nodes[index % len(nodes)]
            async with limit:
                try:
                    reply = await send(node, describe_configs_request(batch, self.names))
                    return decode_describe_configs(reply, batch, self.names)
                except KafkaError as exc:
                    why = f"broker {node}: {type(exc).__name__}: {exc}"
                    return {}, dict.fromkeys(batch, why)

        out: TopicConfigs = {}
        failed: dict[str, str] = {}
        for configs, errors in await asyncio.gather(*(one(i, b) for i, b in enumerate(batches))):
            out.update(configs)
            failed.update(errors)
        self._say(failed)
        return out

    def _say(self, failed: dict[str, str]) -> None:
        if failed and set(failed) != set(self.failed):
            topic, why = next(iter(sorted(failed.items())))
            log.warning(
                "%s: configs of %d topic(s) left out (DescribeConfigs failed), e.g. %s: %s",
                self.name,
                len(failed),
                topic,
                why,
                extra={"collector": self.name, "api": "DescribeConfigs"},
            )
        elif not failed and self.failed:
            log.info("%s: configs of every topic read again", self.name)
        self.failed = failed
