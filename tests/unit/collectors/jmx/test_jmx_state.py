"""Unit tests of the jmx collector's interpretation: object names, what the readings say about the
Kafka Streams clients and the JVM, extra beans, and health when JMX does not answer."""

from __future__ import annotations

from exporter.collectors.base import Health
from exporter.collectors.jmx import JmxCollector
from exporter.collectors.jmx.object_names import canonical_name, parse_object_name
from exporter.collectors.jmx.query import Query
from exporter.collectors.jmx.state import ClientState
from exporter.collectors.jmx.state import JvmStart as JvmRuntime
from exporter.collectors.jmx.streams_beans import interpret
from exporter.collectors.jmx.streams_beans import jvm_start_of as runtime_of
from exporter.collectors.jmx.verdict import streams_alive, streams_health
from tests.support.jmx_inputs import CLIENT, COUNT, jmx_reading, parse_jmx_config


def test_object_names_parse_with_quotes_and_any_key_order() -> None:
    assert parse_object_name('kafka.streams:type=stream-metrics,client-id="a,b=\\"c\\""') == (
        "kafka.streams",
        {"type": "stream-metrics", "client-id": 'a,b="c"'},
    )
    assert canonical_name("d:b=2,a=1") == canonical_name("d:a=1,b=2") == "d:a=1,b=2"


def test_interpret_4x_string_state_and_numeric_client_state() -> None:
    reading = interpret(
        [
            jmx_reading(COUNT, "count", 57.0),
            jmx_reading(CLIENT, "state", "RUNNING"),
            jmx_reading(CLIENT, "alive-stream-threads", 2),
            jmx_reading(CLIENT, "failed-stream-threads", 0.0),
            jmx_reading(CLIENT + ",process-id=p-1", "client-state", 2),
            jmx_reading("kafka.consumer:type=kafka-metrics-count", "count", 250.0),
        ]
    )
    assert reading.count == 57.0 and streams_alive(reading)
    assert reading.clients == (ClientState("app-1", "RUNNING", 2, 0.0),)
    # Only the numeric client-state readable: its ordinal names the state.
    only_numeric = interpret(
        [
            jmx_reading(CLIENT, "state", None),
            jmx_reading(CLIENT + ",process-id=p", "client-state", 6),
        ]
    )
    assert only_numeric.clients[0].state == "ERROR" and not streams_alive(only_numeric)


def test_interpret_null_enum_state_is_unknown_not_dead() -> None:
    alive = interpret(
        [
            jmx_reading(COUNT, "count", 57.0),
            jmx_reading(CLIENT, "state", None),
            jmx_reading(CLIENT, "alive-stream-threads", 1),
        ]
    )
    assert alive.clients[0].state is None and streams_alive(alive) and streams_health(alive).healthy
    dead = interpret(
        [
            jmx_reading(COUNT, "count", 1.0),
            jmx_reading(CLIENT, "state", None),
            jmx_reading(CLIENT, "alive-stream-threads", 0),
        ]
    )
    assert not streams_alive(dead)
    assert streams_health(dead) == Health(
        False, "Kafka Streams not alive: client app-1: state unknown, 0 alive stream thread(s)"
    )
    # Nothing but a null state: fall back to the count; a null state alone is never death.
    assert streams_alive(
        interpret([jmx_reading(COUNT, "count", 40.0), jmx_reading(CLIENT, "state", None)])
    )
    assert not streams_alive(
        interpret([jmx_reading(COUNT, "count", 1.0), jmx_reading(CLIENT, "state", None)])
    )
    assert streams_alive(interpret([jmx_reading(CLIENT, "state", None)]))


def test_interpret_old_client_uses_the_count() -> None:
    thread_bean = "kafka.streams:type=stream-metrics,client-id=app-1-StreamThread-1"
    running = interpret([jmx_reading(COUNT, "count", 57.0)])
    assert streams_alive(running) and running.clients == () and streams_health(running).healthy
    dead = interpret([jmx_reading(COUNT, "count", 1.0)])
    assert not streams_alive(dead) and "kafka-metrics-count 1" in streams_health(dead).reason
    assert streams_alive(
        interpret(
            [jmx_reading(COUNT, "count", 57.0), jmx_reading(thread_bean, "commit-latency-avg", 3.5)]
        )
    )


def test_one_dead_client_of_two_is_not_alive() -> None:
    other = "kafka.streams:type=stream-metrics,client-id=app-2"
    reading = interpret(
        [
            jmx_reading(COUNT, "count", 80.0),
            jmx_reading(CLIENT, "state", "RUNNING"),
            jmx_reading(other, "state", "ERROR"),
        ]
    )
    assert not streams_alive(reading)
    assert "client app-2: state ERROR" in streams_health(reading).reason


def test_a_created_client_is_starting_only_within_the_grace() -> None:
    readings = [jmx_reading(COUNT, "count", 30.0), jmx_reading(CLIENT, "state", "CREATED")]
    young = interpret(readings, since_start=5, grace=60)
    assert not streams_alive(young)
    assert streams_health(young) == Health(True, "starting: client app-1: state CREATED")
    assert not streams_health(interpret(readings, since_start=60, grace=60)).healthy
    other = "kafka.streams:type=stream-metrics,client-id=app-2"
    errored = interpret([*readings, jmx_reading(other, "state", "ERROR")], since_start=5, grace=60)
    assert not streams_health(errored).healthy


def test_beans_gone_is_dead_after_seen_or_past_grace() -> None:
    assert streams_health(interpret([], seen_before=True, since_start=1, grace=60)) == Health(
        False, "JMX answers but the Kafka Streams MBeans are gone (client closed)"
    )
    starting = interpret([], since_start=10, grace=60)
    assert not streams_alive(starting) and streams_health(starting).healthy
    late = streams_health(interpret([], since_start=61, grace=60))
    assert not late.healthy and "no Kafka Streams MBeans 61s after the JVM started" in late.reason


def test_runtime_identifies_the_jvm() -> None:
    runtime = runtime_of(
        [
            jmx_reading("java.lang:type=Runtime", "StartTime", 1795690634654),
            jmx_reading("java.lang:type=Runtime", "Uptime", 2252),
        ]
    )
    assert runtime == JvmRuntime(1795690634654.0, 2.252)
    assert runtime_of([]) == JvmRuntime(None, None)


def test_extra_beans_match_whatever_key_order_the_jar_reports() -> None:
    query = Query(
        "kafka.consumer:type=consumer-fetch-manager-metrics,client-id=c", "records-lag-max"
    )
    reading = interpret(
        [
            jmx_reading(
                "kafka.consumer:client-id=c,type=consumer-fetch-manager-metrics",
                "records-lag-max",
                12.0,
            ),
            jmx_reading("x:type=y", "name", "not a number"),
        ],
        [
            ("lag_max", query),
            ("text", Query("x:type=y", "name")),
            ("absent", Query("z:type=q", "a")),
        ],
    )
    assert reading.beans == {"lag_max": 12.0, "text": None, "absent": None}


def test_unreachable_counts_only_after_the_grace() -> None:
    collector = JmxCollector(
        parse_jmx_config("collectors:\n  - {name: o, type: jmx, port: 1, unreachable_grace: 30s}\n")
    )
    within = collector.health_when_failing(29.0, True, "connection-error: refused")
    assert within.healthy and "within the grace of 30s" in within.reason
    past = collector.health_when_failing(30.0, True, "connection-error: refused")
    assert not past.healthy and past.reason == (
        "JMX not answering for 30s (grace 30s): connection-error: refused"
    )
