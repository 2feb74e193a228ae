"""Decoding a response frame with bounds: every array length checked against a cap (by field
name), the bytes left and a budget for the whole reply before anything is built, and a stop flag
looked at while decoding (so a decode in a worker thread ends soon after its refresh is
cancelled). Every decode error becomes MalformedResponse naming the field and the byte offset.

The response type's compiled plan (`decode_plan`) decodes the frame; when a field is malformed,
or the schema has no plan, aiokafka's schema is walked field by field (keeping the same bounds),
which names the field and the offset where decoding failed."""

from __future__ import annotations

import struct
import threading
from dataclasses import dataclass
from io import BytesIO
from typing import Any

from aiokafka.protocol.api import Response
from aiokafka.protocol.types import Array, CompactArray, Int8, Int32, Schema, UnsignedVarInt32

from exporter.collectors.kafka.protocol.classic import MalformedResponse
from exporter.collectors.kafka.protocol.decode_bounds import Bounds
from exporter.collectors.kafka.protocol.decode_plan import plan_of
from exporter.collectors.kafka.protocol.wire_types import NullableStruct

_FIELD_ERRORS = (ValueError, IndexError, struct.error)
"""What a malformed field raises (underrun, invalid UTF-8, bad varint)."""


@dataclass
class _Walk:
    data: BytesIO
    bounds: Bounds
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
    start = data.tell()
    plan = plan_of(response_type.SCHEMA, response_type.__name__)
    if plan is not None:
        buf = data.getvalue()
        try:
            values, end = plan(buf, start, Bounds(len(buf), stop))
        except _FIELD_ERRORS:
            data.seek(start)  # the walk below names the field and the offset
        else:
            data.seek(end)
            return response_type(*values)
    return _walk(response_type, data, stop)


def _walk(response_type: type[Response], data: BytesIO, stop: threading.Event | None) -> Response:
    size = len(data.getbuffer())
    walk = _Walk(data, Bounds(size, stop))
    schema: Schema = response_type.SCHEMA
    path = response_type.__name__
    try:
        values = [
            _value(walk, field, f"{path}.{name}")
            for name, field in zip(schema.names, schema.fields, strict=True)
        ]
    except _FIELD_ERRORS as exc:
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
    walk.bounds.check_array(length, path, at, walk.data.tell())
    out = []
    element = field.array_of
    for i in range(length):
        walk.bounds.check_stop(i, path)
        out.append(_value(walk, element, path))
    return out


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) <= 200 else text[:200] + "..."
