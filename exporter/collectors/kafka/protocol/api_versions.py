"""The API versions a broker offers (its ApiVersions answer, kept by aiokafka's connection), and
version negotiation that fails as a KafkaError when no version fits."""

from __future__ import annotations

from typing import Any

from aiokafka import AIOKafkaClient
from aiokafka.errors import IncompatibleBrokerVersion, NodeNotReadyError
from aiokafka.protocol.api import Request

ApiVersions = dict[int, tuple[int, int]]
"""API key -> (lowest, highest) version a broker offers."""


async def node_versions(client: AIOKafkaClient, node_id: int) -> ApiVersions:
    """The versions broker `node_id` offers, as its ApiVersions answered when aiokafka connected
    to it (connecting now if needed); NodeNotReadyError when it cannot be reached."""
    # aiokafka asks ApiVersions on every new connection and keeps the answer on it, with no
    # public accessor: `_get_conn` returns the (possibly new) connection, `_versions` the answer.
    conn: Any = await client._get_conn(node_id)
    if conn is None:
        raise NodeNotReadyError(f"broker {node_id} is not reachable")
    return dict(conn._versions)


def supports(versions: ApiVersions, api_key: int, version: int) -> bool:
    """Whether a broker with `versions` speaks `api_key` at `version`."""
    low, high = versions.get(api_key, (0, -1))
    return low <= version <= high


def negotiate(request: Request, versions: ApiVersions) -> Any:
    """`Request.prepare`, but IncompatibleBrokerVersion (a KafkaError) also when the broker has
    the API with no version the request defines (aiokafka raises NotImplementedError there)."""
    try:
        return Request.prepare(request, versions)
    except NotImplementedError:
        offered = versions.get(request.API_KEY)
        raise IncompatibleBrokerVersion(
            f"{type(request).__name__}: the broker offers versions {offered}"
        ) from None


def speaks(versions: ApiVersions, request: type[Request[Any]]) -> bool:
    """Whether a broker with `versions` offers a version of `request` that it defines (e.g.
    Kafka 4.1+ offers ShareGroupDescribe v1 only: v0 was 4.0's early access)."""
    return any(
        supports(versions, struct.API_KEY, struct.API_VERSION)
        for struct in request._CLASSES  # the versions the Request type declares
    )


API_NAMES: dict[int, str] = {
    1: "Fetch",
    2: "ListOffsets",
    3: "Metadata",
    9: "OffsetFetch",
    15: "DescribeGroups",
    16: "ListGroups",
    18: "ApiVersions",
    69: "ConsumerGroupDescribe",
    77: "ShareGroupDescribe",
    89: "StreamsGroupDescribe",
    90: "DescribeShareGroupOffsets",
}
"""Kafka's names of the APIs the collector sends, by key (for logs and the `api` label)."""


def api_name(request: Any) -> str:
    """Kafka's name of `request`'s API (its class name where the key is not listed)."""
    return API_NAMES.get(request.API_KEY, type(request).__name__.removesuffix("Request"))
