"""Wire types aiokafka 0.14 lacks: UUIDs, unsigned 16-bit ints and nullable structs.

Compact (nullable) strings and arrays come from aiokafka itself: its `CompactString` and
`CompactArray` already decode length 0 as null.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from io import BytesIO
from typing import Any

from aiokafka.protocol.abstract import AbstractType
from aiokafka.protocol.types import CompactArray, CompactString, Int8, Schema, TaggedFields

COMPACT_STRING = CompactString("utf-8")
"""A compact string; also the compact *nullable* string (length 0 decodes as None)."""

STRINGS = CompactArray(COMPACT_STRING)
"""A compact array of compact strings."""

TAGS = ("_tagged_fields", TaggedFields)
"""The tagged-field section that ends every struct of a flexible version (encoded empty)."""

NO_TAGS: dict[int, bytes] = {}


class Uuid(AbstractType[uuid.UUID]):
    """A UUID: 16 bytes, most significant first (Kafka's `uuid`, e.g. topic ids)."""

    @classmethod
    def encode(cls, value: uuid.UUID) -> bytes:
        return value.bytes

    @classmethod
    def decode(cls, data: BytesIO) -> uuid.UUID:
        raw = data.read(16)
        if len(raw) != 16:
            raise ValueError("Buffer underrun decoding UUID")
        return uuid.UUID(bytes=raw)


class UInt16(AbstractType[int]):
    """An unsigned 16-bit integer, big-endian (Kafka's `uint16`, e.g. a port)."""

    @classmethod
    def encode(cls, value: int) -> bytes:
        return value.to_bytes(2, "big", signed=False)

    @classmethod
    def decode(cls, data: BytesIO) -> int:
        raw = data.read(2)
        if len(raw) != 2:
            raise ValueError("Buffer underrun decoding uint16")
        return int.from_bytes(raw, "big", signed=False)


class NullableStruct(Schema):
    """A struct that may be null: one int8 marker (-1 null, 1 present), then the struct."""

    def encode(self, item: Sequence[Any] | None) -> bytes:
        if item is None:
            return Int8.encode(-1)
        return Int8.encode(1) + super().encode(item)

    def decode(self, data: BytesIO) -> Any:
        if Int8.decode(data) < 0:
            return None
        return super().decode(data)
