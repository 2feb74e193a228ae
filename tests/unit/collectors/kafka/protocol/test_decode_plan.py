"""The compiled decoders (`decode_plan`): every response type the exporter decodes has one, and on
any bytes, valid, cut or spliced, a plan gives what the field-by-field walk gives (the value, or
the same bounds error), and never a value where the walk finds a malformed field."""

from __future__ import annotations

import importlib
import pkgutil
import struct
import threading
from collections.abc import Callable
from io import BytesIO

import pytest
from aiokafka.protocol import admin, commit, metadata, offset
from aiokafka.protocol.api import Response
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import exporter.collectors.kafka.protocol as protocol
from exporter.collectors.kafka.protocol.bounded_decode import _walk, decode_bounded
from exporter.collectors.kafka.protocol.classic import MalformedResponse
from exporter.collectors.kafka.protocol.decode_bounds import Bounds, DecodeStopped
from exporter.collectors.kafka.protocol.decode_plan import plan_of
from exporter.collectors.kafka.protocol.offset_fetch import OffsetFetchResponse_v8
from tests.support.schema_values import damaged, responses

OURS = sorted(
    {
        value
        for info in pkgutil.iter_modules(protocol.__path__)
        for value in vars(importlib.import_module(f"{protocol.__name__}.{info.name}")).values()
        if isinstance(value, type)
        and issubclass(value, Response)
        and value is not Response
        and hasattr(value, "SCHEMA")
    },
    key=lambda cls: cls.__name__,
)
AIOKAFKA = [
    getattr(module, name)
    for module in (metadata, admin, commit, offset)
    for name in sorted(dir(module))
    if name.startswith(("Metadata", "ListGroups", "Offset", "DescribeGroups", "DescribeConfigs"))
    and name.split("_v")[0].endswith("Response")
]
CASES = sorted(set(OURS) | set(AIOKAFKA), key=lambda cls: cls.__name__)
FIELD_ERROR = (ValueError, IndexError, OverflowError, struct.error)


def test_every_response_type_decoded_here_has_a_plan() -> None:
    assert len(OURS) >= 15 and len(AIOKAFKA) >= 20
    assert [cls.__name__ for cls in CASES if plan_of(cls.SCHEMA, cls.__name__) is None] == []


def _mutated(cls: type[Response]) -> st.SearchStrategy[bytes]:
    return responses(cls).map(lambda r: r.encode()) | damaged(cls)


def _outcome(run: Callable[[], object]) -> tuple[str, object]:
    try:
        return "value", run()
    except MalformedResponse as exc:
        return "refused", str(exc)
    except FIELD_ERROR:
        return "malformed field", None


@settings(
    max_examples=400,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.sampled_from(CASES).flatmap(lambda cls: st.tuples(st.just(cls), _mutated(cls))))
def test_a_plan_decodes_any_bytes_as_the_walk_does(drawn: tuple[type[Response], bytes]) -> None:
    cls, data = drawn
    plan = plan_of(cls.SCHEMA, cls.__name__)
    assert plan is not None
    planned = _outcome(lambda: cls(*plan(data, 0, Bounds(len(data), None))[0]))
    walked = _outcome(lambda: _walk(cls, BytesIO(data), None))
    if walked[0] == "value" or planned[0] == "value":
        assert planned == walked
    elif planned[0] == "refused":
        assert planned == walked  # the same bound, the same words
    else:  # a malformed field: decode_bounded's walk names it
        assert walked[0] == "refused"
        with pytest.raises(MalformedResponse, match=" at byte "):
            decode_bounded(cls, BytesIO(data))


def test_a_plan_decodes_a_reply_of_5000_partitions_as_aiokafka_does() -> None:
    part = [(p, 1_000_000 + p, -1, "", 0, {}) for p in range(50)]
    groups = [(f"g{g:05d}", [("topic", part, {})], 0, {}) for g in range(100)]
    raw = OffsetFetchResponse_v8(0, groups, {}).encode()
    decoded = decode_bounded(OffsetFetchResponse_v8, BytesIO(raw))
    assert decoded == OffsetFetchResponse_v8.decode(BytesIO(raw))
    assert decoded.groups[99][1][0][1][49][1] == 1_000_049


def test_a_stopped_decode_of_an_empty_array_ends_as_the_walk_ends() -> None:
    from aiokafka.protocol.types import Array, Int32, Schema

    class Ids(Response):  # a reply of one empty fixed-width array, decoded with the stop set
        API_KEY, API_VERSION = 0, 0
        SCHEMA = Schema(("ids", Array(Int32)), ("more", Array(Schema(("x", Int32)))))

    stop = threading.Event()
    stop.set()
    raw = Ids([], []).encode()
    assert decode_bounded(Ids, BytesIO(raw), stop) == _walk(Ids, BytesIO(raw), stop) == Ids([], [])
    with pytest.raises(DecodeStopped):
        decode_bounded(Ids, BytesIO(Ids([1], []).encode()), stop)
