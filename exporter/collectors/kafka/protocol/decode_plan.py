"""Response schemas compiled once into decoders over the frame's bytes: the fast path of
`decode_bounded`.

aiokafka decodes a reply by walking its schema for every value, a method call and a
`BytesIO.read` per field; the bounded walk adds a field path and an offset per field. A plan is
made once per response type: each struct becomes a function of straight-line code (made from
the schema with `exec`, as dataclasses and namedtuple make theirs), a run of fixed-width fields
(int8/16/32/64, uint16/32, float64, boolean) one `struct.unpack_from`, strings, bytes, UUIDs,
varints and tagged fields read from the buffer at an offset, an array of a fixed-width type in
one unpack. Arrays keep every bound (`Bounds`), with the same errors as the walk. What a plan
decodes is what aiokafka decodes; a schema holding a type not listed here has no plan. A
malformed field raises ValueError, IndexError or struct.error without saying where: the caller
walks the reply again to name the field and the offset.
"""

from __future__ import annotations

import functools
import struct
import uuid
from collections.abc import Callable
from typing import Any

from aiokafka.protocol.types import (
    Array,
    Boolean,
    Bytes,
    CompactArray,
    CompactBytes,
    CompactString,
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
)

from exporter.collectors.kafka.protocol.decode_bounds import STOP_EVERY, Bounds
from exporter.collectors.kafka.protocol.wire_types import NullableStruct, UInt16, Uuid

Step = Callable[[bytes, int, Bounds], tuple[Any, int]]
"""Decodes one value at an offset of the frame: (value, offset after it)."""
FIXED: dict[type, str] = {
    Int8: "b",
    Int16: "h",
    Int32: "i",
    Int64: "q",
    UInt16: "H",
    UInt32: "I",
    Float64: "d",
    Boolean: "?",
}
"""Fixed-width wire types and their `struct` codes (big-endian)."""
_INT8 = struct.Struct(">b").unpack_from
_INT16 = struct.Struct(">h").unpack_from
_INT32 = struct.Struct(">i").unpack_from
_UNDERRUN = "Buffer underrun decoding string"


class Unplanned(Exception):
    """The schema holds a wire type no step decodes."""


@functools.cache
def plan_of(schema: Schema, name: str) -> Step | None:
    """The decoder of a response schema's fields (a tuple of them; `name`: the response type's,
    the root of every field path), made on first use; None when the schema holds a type no step
    decodes. Cached: a plan depends only on the (immutable) schema."""
    try:
        return _struct(schema, name)
    except Unplanned:
        return None


def _kind(field: Any) -> type:
    return field if isinstance(field, type) else type(field)


def _step(field: Any, path: str) -> Step:
    if isinstance(field, NullableStruct):
        return _nullable(_struct(field, path))
    if isinstance(field, Schema):
        return _struct(field, path)
    if isinstance(field, Array):
        return _array(field, path)
    kind = _kind(field)
    if kind in FIXED:
        return _fixed(FIXED[kind])
    if kind is CompactString or kind is String:
        return _sized(kind is CompactString, False, field.encoding)
    if kind is Bytes or kind is CompactBytes:
        return _sized(kind is CompactBytes, True, None)
    if kind is UnsignedVarInt32:
        return _uvarint
    if kind is TaggedFields:
        return _tagged
    if kind is Uuid:
        return _uuid
    raise Unplanned(f"{path}: {kind.__name__}")


def _struct(schema: Schema, path: str) -> Step:
    """A struct: one function made for it, its fields decoded in order by straight-line code
    (each run of fixed-width fields one unpack; empty tagged fields and short compact strings,
    nearly every one in a reply, read inline), the rest by the fields' steps."""
    lines: list[str] = []
    parts: list[str] = []  # the tuple's items
    names: dict[str, Any] = {"_underrun": _UNDERRUN}
    codes = ""

    def flush() -> None:
        nonlocal codes
        if codes:
            layout = struct.Struct(">" + codes)
            name = f"u{len(names)}"
            names[name] = layout.unpack_from
            lines.append(f"    {name}v = {name}(buf, pos); pos += {layout.size}")
            parts.append(f"*{name}v")
            codes = ""

    for field_name, field in zip(schema.names, schema.fields, strict=True):
        code = FIXED.get(_kind(field))
        if code is not None:
            codes += code
            continue
        flush()
        name = f"s{len(names)}"
        names[name] = _step(field, f"{path}.{field_name}")
        kind = _kind(field)
        if kind is TaggedFields:
            lines.append(f"    if buf[pos] == 0: {name}v = {{}}; pos += 1")
            lines.append(f"    else: {name}v, pos = {name}(buf, pos, bounds)")
        elif kind is CompactString:
            names[f"{name}e"] = field.encoding
            lines.append("    n = buf[pos]")
            lines.append("    if 0 < n < 0x80:")
            lines.append("        end = pos + n")
            lines.append("        if end > len(buf): raise ValueError(_underrun)")
            lines.append(f"        {name}v = buf[pos + 1 : end].decode({name}e); pos = end")
            lines.append(f"    else: {name}v, pos = {name}(buf, pos, bounds)")
        else:
            lines.append(f"    {name}v, pos = {name}(buf, pos, bounds)")
        parts.append(f"{name}v")
    flush()
    if len(parts) == 1 and parts[0].startswith("*"):
        return _run(_codes(schema))  # fixed-width fields only: the unpacked tuple
    source = "def decode(buf, pos, bounds):\n" + "\n".join(lines)
    source += f"\n    return ({''.join(part + ', ' for part in parts)}), pos\n"
    exec(source, names)  # code made here from a schema, as dataclasses and namedtuple do
    decode: Step = names["decode"]
    return decode


def _codes(schema: Schema) -> str:
    """The `struct` codes of a struct of fixed-width fields only."""
    return "".join(FIXED[_kind(field)] for field in schema.fields)


def _run(codes: str) -> Step:
    """Several fixed-width fields in a row: their values as a tuple."""
    layout = struct.Struct(">" + codes)
    unpack, size = layout.unpack_from, layout.size

    def decode(buf: bytes, pos: int, bounds: Bounds) -> tuple[Any, int]:
        return unpack(buf, pos), pos + size

    return decode


def _fixed(code: str) -> Step:
    layout = struct.Struct(">" + code)
    unpack, size = layout.unpack_from, layout.size

    def decode(buf: bytes, pos: int, bounds: Bounds) -> tuple[Any, int]:
        return unpack(buf, pos)[0], pos + size

    return decode


def _nullable(inner: Step) -> Step:
    def decode(buf: bytes, pos: int, bounds: Bounds) -> tuple[Any, int]:
        if _INT8(buf, pos)[0] < 0:
            return None, pos + 1
        return inner(buf, pos + 1, bounds)

    return decode


def _array(field: Array, path: str) -> Step:
    """An array (classic: int32 length; compact: varint length + 1): -1 is null; the length is
    checked against the bounds before any element is decoded."""
    compact = isinstance(field, CompactArray)
    element = field.array_of
    code = FIXED.get(_kind(element))
    width = 0 if code is None else struct.calcsize(">" + code)
    step = None if code is not None else _step(element, path)

    def decode(buf: bytes, pos: int, bounds: Bounds) -> tuple[Any, int]:
        at = pos
        if compact:
            length, pos = _uvarint(buf, pos, bounds)
            length -= 1
        else:
            length = _INT32(buf, pos)[0]
            pos += 4
        if length == -1:
            return None, pos
        bounds.check_array(length, path, at, pos)
        if step is None:  # fixed-width elements: one unpack
            if length:
                bounds.check_stop(0, path)  # as the walk: before the first element
            values = struct.unpack_from(f">{length}{code}", buf, pos)
            return list(values), pos + length * width
        out: list[Any] = []
        append = out.append
        for start in range(0, length, STOP_EVERY):
            bounds.check_stop(start, path)
            for _ in range(min(STOP_EVERY, length - start)):
                value, pos = step(buf, pos, bounds)
                append(value)
        return out, pos

    return decode


def _uvarint(buf: bytes, pos: int, bounds: Bounds | None = None) -> tuple[int, int]:
    """An unsigned varint of at most 5 bytes (aiokafka's UnsignedVarInt32)."""
    byte = buf[pos]
    pos += 1
    if byte < 0x80:
        return byte, pos
    value, shift = 0, 0
    while byte & 0x80:
        value |= (byte & 0x7F) << shift
        shift += 7
        if shift > 28:
            raise ValueError(f"Invalid value {value}")
        byte = buf[pos]
        pos += 1
    return value | byte << shift, pos


def _sized(compact: bool, wide: bool, encoding: str | None) -> Step:
    """A length-prefixed value (compact: varint length + 1; else int16, or int32 when `wide`),
    negative for null: text in `encoding`, or the raw bytes when it is None."""
    underrun = "Buffer underrun decoding Bytes" if encoding is None else _UNDERRUN

    def decode(buf: bytes, pos: int, bounds: Bounds) -> tuple[Any, int]:
        if compact:
            length, pos = _uvarint(buf, pos)
            length -= 1
        elif wide:
            length = _INT32(buf, pos)[0]
            pos += 4
        else:
            length = _INT16(buf, pos)[0]
            pos += 2
        if length < 0:
            return None, pos
        end = pos + length
        if end > len(buf):
            raise ValueError(underrun)
        raw = buf[pos:end]
        return (raw if encoding is None else raw.decode(encoding)), end

    return decode


def _tagged(buf: bytes, pos: int, bounds: Bounds) -> tuple[dict[int, bytes], int]:
    """Tagged fields: tag -> raw bytes, tags strictly increasing."""
    if buf[pos] == 0:
        return {}, pos + 1  # almost always: none
    count, pos = _uvarint(buf, pos)
    fields: dict[int, bytes] = {}
    previous = -1
    for _ in range(count):
        tag, pos = _uvarint(buf, pos)
        if tag <= previous:
            raise ValueError(f"Invalid or out-of-order tag {tag}")
        previous = tag
        size, pos = _uvarint(buf, pos)
        fields[tag] = buf[pos : pos + size]
        pos += size
    return fields, pos


def _uuid(buf: bytes, pos: int, bounds: Bounds) -> tuple[uuid.UUID, int]:
    raw = buf[pos : pos + 16]
    if len(raw) != 16:
        raise ValueError("Buffer underrun decoding UUID")
    return uuid.UUID(bytes=raw), pos + 16
