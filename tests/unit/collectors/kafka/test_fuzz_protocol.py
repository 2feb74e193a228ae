"""Property-based fuzzing of the Kafka response decoders (`read/classic.py` decode_*): aiokafka
response objects decoded from random bytes, and structurally valid responses with random field
values built from each class's SCHEMA, either decode or raise a documented error
(MalformedResponse or the broker's Kafka error class), never another exception, never a hang.

`decode` of random bytes may fail in aiokafka itself (struct.error, ValueError, ...): that is the
library's rejection of the bytes, counted as "rejected", not a decoder failure.

The default suite runs a short pass; `pytest -m fuzz` runs the long one.
"""

from __future__ import annotations

import struct
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from io import BytesIO
from typing import Any

import pytest
from aiokafka.errors import KafkaError
from aiokafka.protocol import admin, commit, metadata, offset
from aiokafka.protocol.api import Response
from aiokafka.protocol.types import (
    Array,
    TaggedFields,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exporter.collectors.kafka.protocol import classic
from exporter.collectors.kafka.protocol.classic import MalformedResponse
from tests.support.schema_values import damaged, responses

SHORT = settings(  # the default suite: the same inputs every run
    max_examples=200,
    derandomize=True,
    deadline=timedelta(seconds=2),  # a decode takes well under 1ms: only a hang trips it
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
LONG = settings(SHORT, max_examples=10_000, derandomize=False)  # a few minutes
DOCUMENTED = (MalformedResponse, KafkaError)
LIBRARY_REJECTS = (struct.error, ValueError, UnicodeDecodeError, OverflowError, IndexError)

Decoder = Callable[[Response], object]
_GROUPS = ["g1", "g2", ""]
DECODERS: list[tuple[str, Decoder]] = [
    ("Metadata", classic.decode_metadata),
    ("ListGroups", classic.decode_list_groups),
    ("Offset", classic.decode_list_offsets),
    ("DescribeGroups", lambda r: classic.decode_describe_groups(r, _GROUPS)),
    ("OffsetFetch", classic.decode_offset_fetch),
]
_MODULES = (metadata, admin, commit, offset)
CASES: list[tuple[type[Response], Decoder]] = [
    (getattr(module, name), decoder)
    for prefix, decoder in DECODERS
    for module in _MODULES
    for name in sorted(dir(module))
    if name.startswith(f"{prefix}Response_v")
]
_EMPTY: dict[Any, Any] = {TaggedFields: {}}


def _check(decoder: Decoder, response: Response) -> str:
    try:
        decoder(response)
    except DOCUMENTED:
        return "documented error"
    return "decoded"


def _from_bytes(cls: type[Response], data: bytes) -> Response | None:
    try:
        return cls.decode(BytesIO(data))
    except LIBRARY_REJECTS:
        return None  # aiokafka rejected the bytes


def _prefixed(cls: type[Response]) -> st.SearchStrategy[bytes]:
    """Random bytes, and the encoding of a valid response cut or with random bytes spliced in."""
    return st.binary(max_size=256) | damaged(cls)


_CASE = st.sampled_from(CASES)


def _structured_run(config: settings) -> Counter[str]:
    seen: Counter[str] = Counter()

    @config
    @given(_CASE.flatmap(lambda case: st.tuples(st.just(case[1]), responses(case[0]))))
    def run(drawn: tuple[Decoder, Response]) -> None:
        decoder, response = drawn
        seen[_check(decoder, response)] += 1

    run()
    return seen


def _bytes_run(config: settings) -> Counter[str]:
    seen: Counter[str] = Counter()

    @config
    @given(_CASE.flatmap(lambda case: st.tuples(st.just(case), _prefixed(case[0]))))
    def run(drawn: tuple[tuple[type[Response], Decoder], bytes]) -> None:
        (cls, decoder), data = drawn
        response = _from_bytes(cls, data)
        seen["rejected by aiokafka" if response is None else _check(decoder, response)] += 1

    run()
    return seen


def test_every_decoder_has_cases() -> None:
    assert {decoder for _, decoder in CASES} == {decoder for _, decoder in DECODERS}
    assert len(CASES) >= 20


def test_a_valid_response_decodes() -> None:
    groups = admin.DescribeGroupsResponse_v0(
        [(0, "g1", "Stable", "consumer", "range", []), (0, "g2", "Empty", "", "", [])]
    )
    assert classic.decode_describe_groups(groups, ["g1", "g2"]) == {
        "g1": ("Stable", 0),
        "g2": ("Empty", 0),
    }


WITH_ARRAYS = [case for case in CASES if any(isinstance(f, Array) for f in case[0].SCHEMA.fields)]


@pytest.mark.parametrize("case", WITH_ARRAYS, ids=lambda case: case[0].__name__)
def test_a_null_array_is_malformed(case: tuple[type[Response], Decoder]) -> None:
    cls, decoder = case
    nulls = [None if isinstance(f, Array) else _EMPTY.get(f, 0) for f in cls.SCHEMA.fields]
    with pytest.raises(MalformedResponse):
        decoder(cls(*nulls))


def test_structured_responses_short() -> None:
    seen = _structured_run(SHORT)
    assert seen["decoded"] and seen["documented error"]


def test_responses_from_bytes_short() -> None:
    seen = _bytes_run(SHORT)
    assert seen["rejected by aiokafka"]


@pytest.mark.fuzz
@pytest.mark.timeout(900)
def test_structured_responses_long() -> None:
    print("structured:", dict(_structured_run(LONG)))


@pytest.mark.fuzz
@pytest.mark.timeout(900)
def test_responses_from_bytes_long() -> None:
    print("from bytes:", dict(_bytes_run(LONG)))
