"""DescribeConfigs answers as aiokafka decodes them (v2): the asked configs kept, unknown ones
empty, a topic's error kept apart, an answer for a topic not asked for refused."""

from __future__ import annotations

import pytest
from aiokafka.protocol.admin import DescribeConfigsResponse_v2

from exporter.collectors.kafka.protocol.classic import MalformedResponse
from exporter.collectors.kafka.read.topic_configs import (
    decode_describe_configs,
    describe_configs_request,
)

NAMES = ("cleanup.policy", "retention.ms", "no.such.config")


def _entry(name: str, value: str | None) -> tuple[object, ...]:
    return (name, value, False, 1, False, [])


def _reply(*resources: tuple[object, ...]) -> DescribeConfigsResponse_v2:
    raw = DescribeConfigsResponse_v2(0, list(resources)).encode()
    return DescribeConfigsResponse_v2.decode(raw)


def test_request_asks_only_for_the_names() -> None:
    struct = describe_configs_request(["a", "b"], NAMES).prepare({32: (1, 4)})
    assert struct.API_VERSION == 2
    assert struct.resources == [(2, "a", list(NAMES)), (2, "b", list(NAMES))]


def test_values_unknown_empty_and_errors_apart() -> None:
    reply = _reply(
        (0, None, 2, "a", [_entry("cleanup.policy", "compact"), _entry("retention.ms", "1")]),
        (0, None, 2, "b", [_entry("cleanup.policy", "delete"), _entry("retention.ms", None)]),
        (3, "This server does not host this topic-partition.", 2, "gone", []),
    )
    configs, errors = decode_describe_configs(reply, ["a", "b", "gone"], NAMES)
    assert configs == {
        "a": {"cleanup.policy": "compact", "retention.ms": "1", "no.such.config": ""},
        "b": {"cleanup.policy": "delete", "retention.ms": "", "no.such.config": ""},
    }
    assert errors == {"gone": "error 3: This server does not host this topic-partition."}


def test_unexpected_or_twice_is_malformed() -> None:
    ok = (0, None, 2, "a", [])
    with pytest.raises(MalformedResponse, match="unexpected topic 'x'"):
        decode_describe_configs(_reply(ok, (0, None, 2, "x", [])), ["a"], NAMES)
    with pytest.raises(MalformedResponse, match="unexpected topic 'a'"):
        decode_describe_configs(_reply(ok, ok), ["a"], NAMES)
