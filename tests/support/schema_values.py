"""Hypothesis strategies for values of aiokafka schema fields (and our own wire types): a
response's fields drawn from its SCHEMA, biased to the values decoders look at."""

from __future__ import annotations

import uuid
from typing import Any

from aiokafka.protocol.api import Response
from aiokafka.protocol.types import (
    Array,
    Boolean,
    Bytes,
    CompactBytes,
    Float64,
    Int8,
    Int16,
    Int32,
    Int64,
    Schema,
    String,
    TaggedFields,
    UInt32,
    UnsignedVarInt32,
    VarInt32,
    VarInt64,
)
from hypothesis import strategies as st

from exporter.collectors.kafka.protocol.wire_types import NullableStruct, UInt16, Uuid

INTS = {Int8: 8, Int16: 16, Int32: 32, Int64: 64, VarInt32: 32, VarInt64: 64}
WORDS = st.sampled_from(["g1", "g2", "t", "", "Stable", "Empty", "Dead", "PreparingRebalance"])


def field_values(field: Any) -> st.SearchStrategy[Any]:
    """Values of one schema field type."""
    if field in INTS:
        bits = INTS[field]
        edges = st.sampled_from([-1, 0, 1, 3, 15, 16, 25, 69, -(2 ** (bits - 1))])
        return st.just(0) | edges | st.integers(-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    if field in (UInt32, UnsignedVarInt32):
        return st.integers(0, 2**32 - 1)
    if field is UInt16:
        return st.integers(0, 2**16 - 1)
    if field is Boolean:
        return st.booleans()
    if field is Float64:
        return st.floats()
    if field in (Bytes, CompactBytes):
        return st.none() | st.binary(max_size=8)
    if field is TaggedFields:
        return st.just({})
    if field is Uuid:
        return st.binary(min_size=16, max_size=16).map(lambda raw: uuid.UUID(bytes=raw))
    if isinstance(field, String):
        return st.none() | WORDS | st.text(max_size=8)
    if isinstance(field, Array):  # null (a length of -1) in one draw of eight
        items = st.lists(field_values(field.array_of), max_size=4)
        return st.integers(0, 7).flatmap(lambda i: st.none() if i == 0 else items)
    if isinstance(field, NullableStruct):
        return st.none() | st.tuples(*(field_values(f) for f in field.fields))
    if isinstance(field, Schema):
        return st.tuples(*(field_values(f) for f in field.fields))
    raise AssertionError(f"no strategy for schema field {field!r}")


def responses(cls: type[Response]) -> st.SearchStrategy[Response]:
    """Structurally valid responses of `cls` with random field values."""
    return st.tuples(*(field_values(f) for f in cls.SCHEMA.fields)).map(lambda v: cls(*v))


def damaged(cls: type[Response]) -> st.SearchStrategy[bytes]:
    """Encodings of valid responses of `cls` cut short or with random bytes spliced in."""
    encoded = responses(cls).map(lambda r: r.encode())
    cut = st.tuples(encoded, st.integers(0, 64)).map(lambda t: t[0][: len(t[0]) - t[1]])
    spliced = st.tuples(encoded, st.integers(0, 64), st.binary(max_size=8)).map(
        lambda t: t[0][: t[1]] + t[2] + t[0][t[1] + len(t[2]) :]
    )
    return cut | spliced
