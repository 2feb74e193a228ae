"""DescribeLogDirs (API key 35) v1-v4: the log directories of one broker, with the size of every
partition replica in each. One request per broker, null topics (every topic the broker holds: the
request stays a few bytes whatever the partition count, and a log dir's total covers all of it).

Versions (Kafka's DescribeLogDirsRequest/Response.json): v1 as v0 (v0, deprecated, is gone in
Kafka 4.0), flexible from v2, a top-level error code from v3, the volume's total and usable bytes
per log dir from v4 (-1: not known).
"""

from __future__ import annotations

from typing import Any

from aiokafka.errors import for_code
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import (
    Array,
    Boolean,
    CompactArray,
    Int16,
    Int32,
    Int64,
    Schema,
    String,
)

from exporter.collectors.kafka.protocol.api_versions import ApiVersions, negotiate
from exporter.collectors.kafka.protocol.classic import MalformedResponse
from exporter.collectors.kafka.protocol.rows import Row, raise_top_error
from exporter.collectors.kafka.protocol.wire_types import COMPACT_STRING, NO_TAGS, TAGS
from exporter.collectors.kafka.state import LogDir

API_KEY = 35

_STRING = String("utf-8")


def _request(flexible: bool) -> Schema:
    if not flexible:
        topic = Array(("topic", _STRING), ("partitions", Array(Int32)))
        return Schema(("topics", topic))  # nullable: null asks for every topic
    topic = CompactArray(("topic", COMPACT_STRING), ("partitions", CompactArray(Int32)), TAGS)
    return Schema(("topics", topic), TAGS)


def _response(version: int) -> Schema:
    flexible = version >= 2
    array, string = (CompactArray, COMPACT_STRING) if flexible else (Array, _STRING)
    tags = (TAGS,) if flexible else ()
    partition = array(
        ("partition_index", Int32),
        ("partition_size", Int64),
        ("offset_lag", Int64),
        ("is_future_key", Boolean),
        *tags,
    )
    topic = array(("name", string), ("partitions", partition), *tags)
    volume = (("total_bytes", Int64), ("usable_bytes", Int64)) if version >= 4 else ()
    result = array(
        ("error_code", Int16),
        ("log_dir", string),
        ("topics", topic),
        *volume,
        *tags,
    )
    top_error = (("error_code", Int16),) if version >= 3 else ()
    return Schema(("throttle_time_ms", Int32), *top_error, ("results", result), *tags)


class DescribeLogDirsResponse_v1(Response):
    API_KEY = API_KEY
    API_VERSION = 1
    SCHEMA = _response(1)


class DescribeLogDirsResponse_v2(Response):
    API_KEY = API_KEY
    API_VERSION = 2
    SCHEMA = _response(2)


class DescribeLogDirsResponse_v3(Response):
    API_KEY = API_KEY
    API_VERSION = 3
    SCHEMA = _response(3)


class DescribeLogDirsResponse_v4(Response):
    API_KEY = API_KEY
    API_VERSION = 4
    SCHEMA = _response(4)


class DescribeLogDirsRequest_v1(RequestStruct):
    API_KEY = API_KEY
    API_VERSION = 1
    RESPONSE_TYPE = DescribeLogDirsResponse_v1
    SCHEMA = _request(False)


class DescribeLogDirsRequest_v2(RequestStruct):
    FLEXIBLE_VERSION = True
    API_KEY = API_KEY
    API_VERSION = 2
    RESPONSE_TYPE = DescribeLogDirsResponse_v2
    SCHEMA = _request(True)


class DescribeLogDirsRequest_v3(RequestStruct):
    FLEXIBLE_VERSION = True
    API_KEY = API_KEY
    API_VERSION = 3
    RESPONSE_TYPE = DescribeLogDirsResponse_v3
    SCHEMA = _request(True)


class DescribeLogDirsRequest_v4(RequestStruct):
    FLEXIBLE_VERSION = True
    API_KEY = API_KEY
    API_VERSION = 4
    RESPONSE_TYPE = DescribeLogDirsResponse_v4
    SCHEMA = _request(True)


class DescribeLogDirsRequest(
    Request[
        DescribeLogDirsRequest_v1
        | DescribeLogDirsRequest_v2
        | DescribeLogDirsRequest_v3
        | DescribeLogDirsRequest_v4
    ]
):
    """Every log dir of the receiving broker with every partition replica it holds (null
    topics); the highest version both sides speak."""

    API_KEY = API_KEY

    def build(self, request_struct_class: type[Any]) -> Any:
        """The request struct of the negotiated version: null topics (all of them)."""
        if request_struct_class.FLEXIBLE_VERSION:
            return request_struct_class(None, NO_TAGS)
        return request_struct_class(None)

    def prepare(self, versions: ApiVersions) -> Any:
        """The request struct for a broker offering `versions`."""
        return negotiate(self, versions)


def decode_log_dirs(response: Response) -> tuple[LogDir, ...]:
    """The log dirs of one broker's answer, in its order. The broker's top-level error (v3+,
    e.g. CLUSTER_AUTHORIZATION_FAILED) is raised as its KafkaError; MalformedResponse for a
    null array or string, a log dir named twice, or a partition named twice in one dir."""
    top = Row.of(response)
    if top.has("error_code"):
        raise_top_error(top, "DescribeLogDirs failed")
    out: list[LogDir] = []
    seen: set[str] = set()
    for result in top.rows("results"):
        path = result.text("log_dir")
        if path in seen:
            raise MalformedResponse(f"{result.what}: log dir {path!r} answered twice")
        seen.add(path)
        total, usable = result.optional("total_bytes"), result.optional("usable_bytes")
        volume = {
            "total_bytes": total if total is not None and total >= 0 else None,
            "usable_bytes": usable if usable is not None and usable >= 0 else None,
        }
        code = result.get("error_code")
        if code:
            out.append(LogDir(path, error_name(code), {}, 0, **volume))
            continue
        sizes: dict[tuple[str, int], int] = {}
        for topic in result.rows("topics"):
            name = topic.text("name")
            for number, size in topic.columns("partitions", "partition_index", "partition_size"):
                if (name, number) in sizes:
                    raise MalformedResponse(
                        f"{topic.what}: partition {name}-{number} answered twice in {path!r}"
                    )
                sizes[(name, number)] = size
        out.append(LogDir(path, None, sizes, sum(sizes.values()), **volume))
    return tuple(out)


def error_name(code: int) -> str:
    """Kafka's name of error `code` (e.g. KAFKA_STORAGE_ERROR; UNKNOWN_SERVER_ERROR for -1,
    what a broker answers for a dir whose path is gone before it marks the dir offline),
    `UNKNOWN_ERROR_<code>` for a code aiokafka does not know."""
    if code == -1:
        return "UNKNOWN_SERVER_ERROR"  # aiokafka calls it UNKNOWN
    error = for_code(code)
    return str(error.message) if error.errno == code else f"UNKNOWN_ERROR_{code}"
