"""The canary topic, made when missing: CreateTopics (API key 19) v4, the first version where
`replication_factor` -1 means the cluster's `default.replication.factor` (aiokafka 0.14 has up
to v3). Kafka 4.x still speaks v2-v7; v4 is the v1 schema."""

from __future__ import annotations

from typing import Any

from aiokafka import AIOKafkaClient
from aiokafka.errors import KafkaError, TopicAlreadyExistsError, for_code
from aiokafka.protocol.admin import CreateTopicsRequest_v1, CreateTopicsResponse_v3
from aiokafka.protocol.api import Request, RequestStruct, Response

API_KEY = 19
CLUSTER_DEFAULT = -1
"""`replication_factor` of a topic that takes the cluster's default (v4+)."""


class CreateTopicsResponse_v4(Response):
    API_KEY = API_KEY
    API_VERSION = 4
    SCHEMA = CreateTopicsResponse_v3.SCHEMA


class CreateTopicsRequest_v4(RequestStruct):
    API_KEY = API_KEY
    API_VERSION = 4
    RESPONSE_TYPE = CreateTopicsResponse_v4
    SCHEMA = CreateTopicsRequest_v1.SCHEMA


class CreateTopicRequest(Request[CreateTopicsRequest_v4]):
    """One topic of `partitions` partitions and `replication` replicas (-1: the default)."""

    API_KEY = API_KEY

    def __init__(self, topic: str, partitions: int, replication: int, timeout_ms: int) -> None:
        self.topic, self.partitions = topic, partitions
        self.replication, self.timeout_ms = replication, timeout_ms

    def build(self, request_struct_class: type[Any]) -> Any:
        """The v4 request struct."""
        entry: tuple[Any, ...] = (self.topic, self.partitions, self.replication, [], [])
        return request_struct_class([entry], self.timeout_ms, False)


class TopicCreationError(Exception):
    """The canary topic could not be made (the broker's error, in its words)."""


async def create_topic(
    client: AIOKafkaClient, topic: str, partitions: int, replication: int, timeout: float
) -> bool:
    """Make `topic`; False when it exists already. Any broker takes CreateTopics (KRaft brokers
    forward it to the controller). Raises TopicCreationError."""
    node = client.get_random_node()
    if node is None:
        raise TopicCreationError("no broker is known to send CreateTopics to")
    request = CreateTopicRequest(topic, partitions, replication, int(timeout * 1000))
    try:
        response = await client.send(node, request)  # aiokafka picks the version (4 only)
    except NotImplementedError as exc:  # the broker offers no version 4
        raise TopicCreationError(f"CreateTopics v4 for {topic!r}: {exc}") from exc
    except KafkaError as exc:
        raise TopicCreationError(f"CreateTopics for {topic!r} failed: {exc!r}") from exc
    for name, code, message in response.topic_errors:
        if name != topic or code == 0:
            continue
        error = for_code(code)
        if error is TopicAlreadyExistsError:
            return False
        raise TopicCreationError(
            f"CreateTopics for {topic!r} ({partitions} partitions, replication"
            f" {'cluster default' if replication == CLUSTER_DEFAULT else replication}) failed:"
            f" {error.__name__}{': ' + message if message else ''}"
        )
    return True
