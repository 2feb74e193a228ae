"""Decoding a response frame with bounds: aiokafka's schemas walked field by field, every array
length checked against a cap (by field name), the bytes left and a budget for the whole reply
before anything is built, and a stop flag looked at while decoding (so a decode in a worker
thread ends soon after its refresh is cancelled). Every decode error becomes MalformedResponse
naming the field and the byte offset."""

from __future__ import annotations

import struct
import threading
from dataclasses import dataclass
from io import BytesIO
from typing import Any

from aiokafka.protocol.api import Response
from aiokafka.protocol.types import Array, CompactArray, Int8, Int32, Schema, UnsignedVarInt32

from exporter.collectors.kafka.protocol.classic import MalformedResponse
from exporter.collectors.kafka.protocol.wire_types import NullableStruct

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
_STOP_EVERY = 4096
"""Elements decoded between two looks at the stop flag."""


class ResponseLimitExceeded(MalformedResponse):
    """A reply larger than a cap (frame bytes or element count): refused, not decoded."""


class DecodeStopped(Exception):
    """The decode was stopped (its request was cancelled)."""


@dataclass
class _Walk:
    data: BytesIO
    size: int
    stop: threading.Event | None
    budget: int = REPLY_ELEMENT_BUDGET
    seen: int = 0
    path: str = ""
    """The field being decoded (for errors)."""
    at: int = 0
    """The byte offset where that field starts."""


def decode_bounded(
    response_type: type[Response], data: BytesIO, stop: threading.Event | None = None
) -> Response:
    """`response_type` decoded from `data` (positioned after the response header).

    MalformedResponse (ResponseLimitExceeded for a cap) with the field and byte offset;
    DecodeStopped when `stop` is set meanwhile."""
    size = len(data.getbuffer())
    walk = _Walk(data, size, stop)
    schema: Schema = response_type.SCHEMA
    path = response_type.__name__
    try:
        values = [
            _value(walk, field, f"{path}.{name}")
            for name, field in zip(schema.names, schema.fields, strict=True)
        ]
    except (ValueError, struct.error) as exc:  # underrun, invalid UTF-8, bad varint
        raise MalformedResponse(
            f"{walk.path} at byte {walk.at} of the {size}-byte frame:"
            f" {exc.__class__.__name__}: {_short(exc)}"
        ) from None
    return response_type(*values)


def _value(walk: _Walk, field: Any, path: str) -> Any:
    walk.path, walk.at = path, walk.data.tell()
    if isinstance(field, NullableStruct):
        if Int8.decode(walk.data) < 0:
            return None
        return _struct(walk, field, path)
    if isinstance(field, Schema):
        return _struct(walk, field, path)
    if isinstance(field, Array):
        return _array(walk, field, path)
    return field.decode(walk.data)


def _struct(walk: _Walk, schema: Schema, path: str) -> tuple[Any, ...]:
    return tuple(
        _value(walk, field, f"{path}.{name}")
        for name, field in zip(schema.names, schema.fields, strict=True)
    )


def _array(walk: _Walk, field: Array, path: str) -> list[Any] | None:
    at = walk.data.tell()
    if isinstance(field, CompactArray):
        length = UnsignedVarInt32.decode(walk.data) - 1
    else:
        length = Int32.decode(walk.data)
    if length == -1:
        return None
    name = path.rsplit(".", 1)[-1]
    limit = ARRAY_LIMITS.get(name, DEFAULT_ARRAY_LIMIT)
    left = walk.size - walk.data.tell()
    where = f"{path} at byte {at} of the {walk.size}-byte frame"
    if length < 0 or length > left:
        raise MalformedResponse(f"{where}: array length {length} with {left} bytes left")
    if length > limit:
        raise ResponseLimitExceeded(f"{where}: {length} elements, over the limit of {limit}")
    walk.seen += length
    if walk.seen > walk.budget:
        raise ResponseLimitExceeded(
            f"{where}: over {walk.budget} array elements in one reply (the limit)"
        )
    out = []
    element = field.array_of
    for i in range(length):
        if walk.stop is not None and i % _STOP_EVERY == 0 and walk.stop.is_set():
            raise DecodeStopped(path)
        out.append(_value(walk, element, path))
    return out


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) <= 200 else text[:200] + "..."
