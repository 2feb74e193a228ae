"""Unit tests of the jmx collector's query: the jmxquery command line and parsing its output."""

from __future__ import annotations

import pytest

from exporter.collectors.jmx.query import (
    Endpoint,
    JmxError,
    Query,
    Reading,
    build_command,
    parse_output,
)
from exporter.collectors.jmx.streams_beans import STREAMS_QUERIES
from tests.support.jmx_inputs import CLIENT


def test_command_batches_every_query_and_adds_credentials_only_when_set() -> None:
    queries = [*STREAMS_QUERIES, Query("java.lang:type=Memory", "HeapMemoryUsage", "used")]
    plain = build_command(Endpoint("service:jmx:rmi:///x"), queries, 5)
    assert "-u" not in plain and "-p" not in plain
    query_arg = plain[plain.index("-q") + 1]
    assert query_arg.split(";")[:-1] == [q.to_query_string() for q in queries]
    assert "kafka.streams:type=kafka-metrics-count/count" in query_arg.split(";")
    assert "java.lang:type=Memory/HeapMemoryUsage/used" in query_arg.split(";")
    auth = build_command(Endpoint("service:jmx:rmi:///x", "mon", "pw"), queries, 5)
    assert auth[auth.index("-u") + 1] == "mon" and auth[auth.index("-p") + 1] == "pw"


def test_parse_output_reads_values_nulls_and_errors() -> None:
    stdout = (
        b'[\n{"mBeanName" : "kafka.streams:type=kafka-metrics-count", "attribute" : "count",'
        b' "attributeType" : "Double", "value" : 57.0}, \n'
        b'{"mBeanName" : "' + CLIENT.encode() + b'", "attribute" : "state",'
        b' "attributeType" : "Null"}]\n'
    )
    assert parse_output(stdout, b"", 0) == [
        Reading("kafka.streams:type=kafka-metrics-count", "count", None, "Double", 57.0),
        Reading(CLIENT, "state", None, "Null", None),
    ]
    assert parse_output(b"[\n]\n", b"", 0) == []
    refused = (
        b'{ "error": "connection-error", "message":"Failed to retrieve RMIServer stub: '
        b"javax.naming.ServiceUnavailableException [Root exception is java.rmi.ConnectException:"
        b' Connection refused to host: 127.0.0.1; nested exception is: \n\tjava.net.Connect"}\n'
    )
    with pytest.raises(JmxError, match=r"^connection-error: Failed to retrieve .* nested"):
        parse_output(refused, b"", 2)
    uncaught = (
        b'Exception in thread "main" java.lang.SecurityException: Authentication failed! Bad\n'
        b"\tat java.management/com.sun.jmx.remote.security.JMXPluggableAuthenticator\n"
    )
    with pytest.raises(JmxError, match=r"code 1: java\.lang\.SecurityException: .* failed! Bad$"):
        parse_output(b"", uncaught, 1)
    with pytest.raises(JmxError, match="exited with code 1: Error: Unable to access jarfile"):
        parse_output(b"", b"Error: Unable to access jarfile x.jar\n", 1)
    # A whole bean includes topology-description, whose quotes the JAR does not escape.
    broken = b'[\n{"mBeanName" : "x:a=b", "attribute" : "t", "value" : "(topics: ["o"])"}]'
    with pytest.raises(JmxError, match="cannot parse jmxquery output"):
        parse_output(broken, b"", 0)
