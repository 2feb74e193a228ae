"""Unit tests of the jmx bridge's protocol: the request line and reading its replies."""

from __future__ import annotations

import json

import pytest

from exporter.collectors.jmx.bridge import parse_reply, request_line
from exporter.collectors.jmx.query import Endpoint, JmxError, Query, Reading
from exporter.collectors.jmx.streams_beans import STREAMS_QUERIES
from tests.support.jmx_inputs import CLIENT

URL = "service:jmx:rmi:///jndi/rmi://127.0.0.1:9999/jmxrmi"


def test_request_carries_every_query_the_credentials_and_a_deadline_inside_the_timeout() -> None:
    queries = [*STREAMS_QUERIES, Query("java.lang:type=Memory", "HeapMemoryUsage", "used")]
    line = request_line(7, Endpoint(URL, "mon", "pw"), queries, 2.5)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    request = json.loads(line)
    assert (request["id"], request["url"], request["username"], request["password"]) == (
        7,
        URL,
        "mon",
        "pw",
    )
    assert request["timeout_ms"] == 2250
    assert request["queries"][-1] == {
        "object_name": "java.lang:type=Memory",
        "attribute": "HeapMemoryUsage",
        "key": "used",
    }
    assert len(request["queries"]) == len(queries)
    assert json.loads(request_line(1, Endpoint(URL), queries, 0.1))["timeout_ms"] == 100


def test_reply_readings_and_errors() -> None:
    reply = {
        "id": 1.0,
        "readings": [
            {
                "object_name": "kafka.streams:type=kafka-metrics-count",
                "attribute": "count",
                "key": None,
                "type": "Double",
                "value": 57.0,
            },
            {"object_name": CLIENT, "attribute": "state", "key": None, "type": "Null"},
        ],
    }
    assert parse_reply(reply, Endpoint(URL), 1) == [
        Reading("kafka.streams:type=kafka-metrics-count", "count", None, "Double", 57.0),
        Reading(CLIENT, "state", None, "Null", None),
    ]
    assert parse_reply({"id": 2, "readings": []}, Endpoint(URL), 1) == []
    refused = {
        "id": 3,
        "error": "connection-error",
        "message": "java.io.IOException: Failed to retrieve RMIServer stub:\n\tConnection refused",
    }
    with pytest.raises(JmxError, match=r"^connection-error: java\.io\.IOException: .* refused$"):
        parse_reply(refused, Endpoint(URL), 1)
    with pytest.raises(JmxError, match=rf"^no answer from {URL} within 1\.5s$"):
        parse_reply({"id": 4, "error": "timeout", "message": "x"}, Endpoint(URL), 1.5)
    with pytest.raises(JmxError, match="unexpected bridge reply"):
        parse_reply({"id": 5}, Endpoint(URL), 1)
    with pytest.raises(JmxError, match="unexpected bridge reading"):
        parse_reply({"id": 6, "readings": [{"value": 1}]}, Endpoint(URL), 1)
