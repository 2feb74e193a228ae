"""Members and state of every group, batched per coordinator, each type through its own API:
DescribeGroups (classic), ConsumerGroupDescribe (KIP-848), StreamsGroupDescribe (KIP-1071) and
ShareGroupDescribe (KIP-932). DescribeGroups answers `Dead` with no members for a KIP-848 group,
so a group is described only by the API of its type. With the `members` option each member's
ids, host and assigned partitions are kept too (DescribeGroups then up to v4, for the group
instance id); without it only the state and the member count."""

from __future__ import annotations

import logging
from typing import Any

from aiokafka.errors import KafkaConnectionError, KafkaError
from aiokafka.protocol.api import Request, Response

from exporter.collectors.kafka.protocol import classic
from exporter.collectors.kafka.protocol.classic import Send
from exporter.collectors.kafka.protocol.group_describe import (
    ConsumerGroupDescribeRequest,
    GroupDescription,
    ShareGroupDescribeRequest,
    StreamsGroupDescribeRequest,
    decode_group_describe,
)
from exporter.collectors.kafka.read.group_listing import CLASSIC

log = logging.getLogger(__name__)

Descriptions = dict[str, GroupDescription]
"""group -> its state, member count and (with `members`) member details."""

DESCRIBE_BATCH = 100
"""Groups per describe request (where the brokers answer batches well-formed)."""

NEW_DESCRIBE_APIS: dict[str, type[Request[Any]]] = {
    "consumer": ConsumerGroupDescribeRequest,
    "streams": StreamsGroupDescribeRequest,
    "share": ShareGroupDescribeRequest,
}
"""Group type -> the request of the describe API for groups of that type."""


class GroupDescriber:
    """Describes groups; learns once per client whether batched DescribeGroups is well-formed."""

    def __init__(self, name: str, members: bool = False) -> None:
        self.name = name
        self.members = members
        """Keep each member's details (the `members` option)."""
        self.batch_describe: bool | None = None
        """Whether batched DescribeGroups answers are well-formed; None: not known yet."""

    def forget_brokers(self) -> None:
        """A new client: what the brokers support is to be probed again."""
        self.batch_describe = None

    def batch_size(self, group_type: str) -> int:
        """Groups per describe request; one where batched DescribeGroups comes back garbled
        (the requests then run in parallel)."""
        if group_type not in NEW_DESCRIBE_APIS and self.batch_describe is False:
            return 1
        return DESCRIBE_BATCH

    async def probe_batch_describe(self, send: Send, node: int, groups: list[str]) -> None:
        """Learn whether a batched DescribeGroups of two classic groups comes back well-formed."""
        if self.batch_describe is not None or len(groups) < 2:
            return
        try:
            response = await send(node, classic.describe_groups_request(groups[:2]))
            classic.decode_describe_groups(response, groups[:2])
            self.batch_describe = True
        except (classic.MalformedResponse, KafkaConnectionError) as exc:
            log.info(
                "%s: batched DescribeGroups fails (%s); describing one group per request",
                self.name,
                exc,
            )
            self.batch_describe = False

    async def describe(
        self, send: Send, node: int, group_type: str, groups: list[str]
    ) -> Descriptions:
        """Describe `groups` (all of `group_type`, all coordinated by `node`)."""
        if group_type in NEW_DESCRIBE_APIS:
            return await self._describe_new(send, node, group_type, groups)
        return await self._describe_classic(send, node, groups)

    async def _describe_new(
        self, send: Send, node: int, group_type: str, groups: list[str]
    ) -> Descriptions:
        """Describe groups through the API of their type, batched."""
        request = NEW_DESCRIBE_APIS[group_type](groups)
        try:
            answers = decode_group_describe(await send(node, request), groups, self.members)
        except classic.MalformedResponse as exc:
            # logged (with API, broker and offset) and counted where it was read
            log.debug("%s: %s describe is malformed: %s", self.name, group_type, exc)
            return {}
        found = {g: a for g, a in answers.items() if isinstance(a, GroupDescription)}
        self._log_failed(group_type, groups, found, answers)
        return found

    async def _describe_classic(self, send: Send, node: int, groups: list[str]) -> Descriptions:
        """DescribeGroups, batched; one group per request when the broker garbles batches."""
        if self.batch_describe is not False and len(groups) > 1:
            response = await send(node, classic.describe_groups_request(groups, self.members))
            try:
                found = self._classic_answers(response, groups)
                self._log_failed(CLASSIC, groups, found)
                return found
            except classic.MalformedResponse as exc:
                log.warning("%s: batched DescribeGroups is malformed: %s", self.name, exc)
        out: Descriptions = {}
        for group in groups:
            response = await send(node, classic.describe_groups_request([group], self.members))
            try:
                out.update(self._classic_answers(response, [group]))
            except classic.MalformedResponse as exc:
                log.warning("%s: cannot describe group %s: %s", self.name, group, exc)
        self._log_failed(CLASSIC, groups, out)
        return out

    def _classic_answers(self, response: Response, groups: list[str]) -> Descriptions:
        """The DescribeGroups answers for `groups`, with member details when kept."""
        found = classic.decode_describe_groups(response, groups)
        details = classic.decode_group_members(response) if self.members else {}
        return {
            group: GroupDescription(state, members, details.get(group, ()))
            for group, (state, members) in found.items()
        }

    def _log_failed(
        self,
        group_type: str,
        asked: list[str],
        found: Descriptions,
        answers: dict[str, GroupDescription | KafkaError] | None = None,
    ) -> None:
        """One warning for the groups the broker answered with an error."""
        failed = [g for g in asked if g not in found]
        if not failed:
            return
        error = answers.get(failed[0]) if answers else None
        log.warning(
            "%s: describing %d %s group(s) returned an error, e.g. %s%s; their members are not"
            " reported this refresh",
            self.name,
            len(failed),
            group_type,
            failed[0],
            f" ({error!r})" if isinstance(error, KafkaError) else "",
        )
