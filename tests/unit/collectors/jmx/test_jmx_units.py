"""Unit tests of the jmx collector's pure parts: config, output parsing, interpretation, metrics."""

from __future__ import annotations

import pytest
from prometheus_client.core import Metric

from exporter.cli.probe_jmx import jmx_url
from exporter.collectors.base import Health
from exporter.collectors.jmx import JmxCollector
from exporter.collectors.jmx.config import JmxConfig
from exporter.collectors.jmx.metrics import to_metrics
from exporter.collectors.jmx.query import (
    Endpoint,
    JmxError,
    Query,
    Reading,
    build_command,
    parse_output,
)
from exporter.collectors.jmx.state import (
    STREAMS_QUERIES,
    ClientState,
    JvmRuntime,
    StreamsReading,
    canonical_name,
    interpret,
    parse_object_name,
    runtime_of,
)
from exporter.config.loader import parse_config
from exporter.schema.errors import ConfigError

CLIENT = "kafka.streams:type=stream-metrics,client-id=app-1"


def _config(text: str, env: dict[str, str] | None = None) -> JmxConfig:
    config = parse_config(text, "test.yaml", env or {})
    entry = config.collectors[0]
    assert isinstance(entry, JmxConfig)
    return entry


def _problems(text: str, env: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "test.yaml", env or {})
    return str(info.value)


def _samples(families: list[Metric]) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in families
        for s in family.samples
    }


def test_config_defaults_and_env_credentials() -> None:
    entry = _config(
        "collectors:\n"
        "  - {name: orders, type: jmx, port: 5555,"
        " username: '${JMX_USER:-}', password: '${JMX_PASSWORD:-}'}\n"
    )
    assert (entry.interval, entry.timeout, entry.health) == (15.0, 10.0, True)
    assert entry.unreachable_grace == 60.0
    assert entry.username is None and entry.password is None
    assert entry.url == "service:jmx:rmi:///jndi/rmi://127.0.0.1:5555/jmxrmi"
    with_auth = _config(
        "collectors:\n  - {name: o, type: jmx, host: app, port: 7, username: '${U}',"
        " password: '${P}', unreachable_grace: 2m, health: false}\n",
        {"U": "monitor", "P": "s3cret"},
    )
    assert (with_auth.username, with_auth.password, with_auth.health) == (
        "monitor",
        "s3cret",
        False,
    )
    assert with_auth.unreachable_grace == 120.0
    assert "s3cret" not in with_auth.summary()
    url = "service:jmx:rmi:///jndi/rmi://h:9/jmxrmi"
    assert _config(f"collectors:\n  - {{name: o, type: jmx, service_url: '{url}'}}\n").url == url


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("{name: o, type: jmx}", "set port (with host) or service_url"),
        (
            "{name: o, type: jmx, port: 1, service_url: 'service:jmx:rmi:///x'}",
            "not both",
        ),
        ("{name: o, type: jmx, port: 70000}", "collectors[0].port: invalid value 70000"),
        ("{name: o, type: jmx, service_url: 'rmi://h:1'}", "collectors[0].service_url"),
        ("{name: o, type: jmx, port: 1, password: 'pw'}", "password is set but username is not"),
        ("{name: o, type: jmx, port: 1, unreachable_grace: soon}", "unreachable_grace"),
        ("{name: o, type: jmx, port: 1, jmx_port: 2}", "collectors[0].jmx_port: unknown key"),
        (
            "{name: o, type: jmx, port: 1, beans: [{object_name: 'a:type=*', attribute: x,"
            " name: y}]}",
            "collectors[0].beans[0].object_name: invalid value 'a:type=*'",
        ),
        (
            "{name: o, type: jmx, port: 1, beans: [{object_name: 'a:type=b', attribute: x,"
            " name: 'bad name'}]}",
            "collectors[0].beans[0].name",
        ),
        (
            "{name: o, type: jmx, port: 1, beans: [{object_name: 'a:type=b', attribute: x,"
            " name: kafka_streams_alive}]}",
            "reserved prefix",
        ),
        (
            "{name: o, type: jmx, port: 1, interval: 5s, timeout: 5s}",
            "must be shorter than the interval",
        ),
    ],
)
def test_config_errors_name_key_and_value(entry: str, expected: str) -> None:
    message = _problems(f"collectors:\n  - {entry}\n")
    assert "test.yaml" in message and expected in message, message


def test_password_is_masked_in_errors() -> None:
    message = _problems("collectors:\n  - {name: o, type: jmx, port: 1, password: hunter2}\n")
    assert "hunter2" not in message


def test_object_names_parse_with_quotes_and_any_key_order() -> None:
    assert parse_object_name('kafka.streams:type=stream-metrics,client-id="a,b=\\"c\\""') == (
        "kafka.streams",
        {"type": "stream-metrics", "client-id": 'a,b="c"'},
    )
    assert canonical_name("d:b=2,a=1") == canonical_name("d:a=1,b=2") == "d:a=1,b=2"


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


def _r(name: str, attribute: str, value: object) -> Reading:
    return Reading(name, attribute, None, "Null" if value is None else "X", value)


COUNT = "kafka.streams:type=kafka-metrics-count"


def test_interpret_4x_string_state_and_numeric_client_state() -> None:
    reading = interpret(
        [
            _r(COUNT, "count", 57.0),
            _r(CLIENT, "state", "RUNNING"),
            _r(CLIENT, "alive-stream-threads", 2),
            _r(CLIENT, "failed-stream-threads", 0.0),
            _r(CLIENT + ",process-id=p-1", "client-state", 2),
            _r("kafka.consumer:type=kafka-metrics-count", "count", 250.0),
        ]
    )
    assert reading.count == 57.0 and reading.alive
    assert reading.clients == (ClientState("app-1", "RUNNING", 2, 0.0),)
    # Only the numeric client-state readable: its ordinal names the state.
    only_numeric = interpret(
        [_r(CLIENT, "state", None), _r(CLIENT + ",process-id=p", "client-state", 6)]
    )
    assert only_numeric.clients[0].state == "ERROR" and not only_numeric.alive


def test_interpret_null_enum_state_is_unknown_not_dead() -> None:
    alive = interpret(
        [_r(COUNT, "count", 57.0), _r(CLIENT, "state", None), _r(CLIENT, "alive-stream-threads", 1)]
    )
    assert alive.clients[0].state is None and alive.alive and alive.health().healthy
    dead = interpret(
        [_r(COUNT, "count", 1.0), _r(CLIENT, "state", None), _r(CLIENT, "alive-stream-threads", 0)]
    )
    assert not dead.alive
    assert dead.health() == Health(
        False, "Kafka Streams not alive: client app-1: state unknown, 0 alive stream thread(s)"
    )
    # Nothing but a null state: fall back to the count; a null state alone is never death.
    assert interpret([_r(COUNT, "count", 40.0), _r(CLIENT, "state", None)]).alive
    assert not interpret([_r(COUNT, "count", 1.0), _r(CLIENT, "state", None)]).alive
    assert interpret([_r(CLIENT, "state", None)]).alive


def test_interpret_old_client_uses_the_count() -> None:
    thread_bean = "kafka.streams:type=stream-metrics,client-id=app-1-StreamThread-1"
    running = interpret([_r(COUNT, "count", 57.0)])
    assert running.alive and running.clients == () and running.health().healthy
    dead = interpret([_r(COUNT, "count", 1.0)])
    assert not dead.alive and "kafka-metrics-count 1" in dead.health().reason
    assert interpret([_r(COUNT, "count", 57.0), _r(thread_bean, "commit-latency-avg", 3.5)]).alive


def test_one_dead_client_of_two_is_not_alive() -> None:
    other = "kafka.streams:type=stream-metrics,client-id=app-2"
    reading = interpret(
        [_r(COUNT, "count", 80.0), _r(CLIENT, "state", "RUNNING"), _r(other, "state", "ERROR")]
    )
    assert not reading.alive
    assert "client app-2: state ERROR" in reading.health().reason


def test_a_created_client_is_starting_only_within_the_grace() -> None:
    readings = [_r(COUNT, "count", 30.0), _r(CLIENT, "state", "CREATED")]
    young = interpret(readings, since_start=5, grace=60)
    assert not young.alive
    assert young.health() == Health(True, "starting: client app-1: state CREATED")
    assert not interpret(readings, since_start=60, grace=60).health().healthy
    other = "kafka.streams:type=stream-metrics,client-id=app-2"
    errored = interpret([*readings, _r(other, "state", "ERROR")], since_start=5, grace=60)
    assert not errored.health().healthy


def test_beans_gone_is_dead_after_seen_or_past_grace() -> None:
    assert interpret([], seen_before=True, since_start=1, grace=60).health() == Health(
        False, "JMX answers but the Kafka Streams MBeans are gone (client closed)"
    )
    starting = interpret([], since_start=10, grace=60)
    assert not starting.alive and starting.health().healthy
    late = interpret([], since_start=61, grace=60).health()
    assert not late.healthy and "no Kafka Streams MBeans 61s after the JVM started" in late.reason


def test_runtime_identifies_the_jvm() -> None:
    runtime = runtime_of(
        [
            _r("java.lang:type=Runtime", "StartTime", 1795690634654),
            _r("java.lang:type=Runtime", "Uptime", 2252),
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
            _r(
                "kafka.consumer:client-id=c,type=consumer-fetch-manager-metrics",
                "records-lag-max",
                12.0,
            ),
            _r("x:type=y", "name", "not a number"),
        ],
        [
            ("lag_max", query),
            ("text", Query("x:type=y", "name")),
            ("absent", Query("z:type=q", "a")),
        ],
    )
    assert reading.beans == {"lag_max": 12.0, "text": None, "absent": None}


def test_to_metrics_labels_every_series_with_target() -> None:
    config = _config(
        "collectors:\n  - {name: orders, type: jmx, port: 1, labels: {team: core}, beans: ["
        "{object_name: 'k:type=c', attribute: lag, name: orders_lag_max},"
        "{object_name: 'k:type=d', attribute: gone, name: orders_gone}]}\n"
    )
    reading = StreamsReading(
        count=57.0, clients=(ClientState("app-1", "REBALANCING", 3),), beans={"orders_lag_max": 4.0}
    )
    samples = _samples(to_metrics(reading, "orders", config.labels, config.beans))
    base = {("target", "orders"), ("team", "core")}
    assert samples[("kafka_streams_kafka_metrics_count_count", frozenset(base))] == 57.0
    assert samples[("kafka_streams_alive", frozenset(base))] == 1.0
    threads = frozenset(base | {("client_id", "app-1")})
    assert samples[("kafka_streams_alive_stream_threads", threads)] == 3
    states = {
        dict(labels)["state"]: value
        for (name, labels), value in samples.items()
        if name == "kafka_streams_state"
    }
    assert states["REBALANCING"] == 1.0 and states["RUNNING"] == 0.0 and states["unknown"] == 0.0
    assert sum(states.values()) == 1.0
    assert samples[("orders_lag_max", frozenset(base))] == 4.0
    assert not any(name == "orders_gone" for name, _ in samples)

    gone = _samples(to_metrics(StreamsReading(count=None), "orders", {}, ()))
    assert gone == {("kafka_streams_alive", frozenset({("target", "orders")})): 0.0}
    unknown = _samples(to_metrics(StreamsReading(None, (ClientState("c", None, 1),)), "t", {}, ()))
    assert (
        unknown[
            (
                "kafka_streams_state",
                frozenset({("target", "t"), ("client_id", "c"), ("state", "unknown")}),
            )
        ]
        == 1.0
    )


def test_unreachable_counts_only_after_the_grace() -> None:
    collector = JmxCollector(
        _config("collectors:\n  - {name: o, type: jmx, port: 1, unreachable_grace: 30s}\n")
    )
    within = collector.health_when_failing(29.0, True, "connection-error: refused")
    assert within.healthy and "within the grace of 30s" in within.reason
    past = collector.health_when_failing(30.0, True, "connection-error: refused")
    assert not past.healthy and past.reason == (
        "JMX not answering for 30s (grace 30s): connection-error: refused"
    )


def test_probe_targets() -> None:
    assert jmx_url("10.0.0.1:5555") == "service:jmx:rmi:///jndi/rmi://10.0.0.1:5555/jmxrmi"
    assert jmx_url("service:jmx:rmi:///jndi/rmi://h:1/jmxrmi").endswith("h:1/jmxrmi")
    with pytest.raises(ValueError, match="HOST:PORT"):
        jmx_url("localhost")
