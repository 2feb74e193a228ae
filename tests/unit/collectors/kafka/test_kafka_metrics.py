"""Pure conversion of a ClusterState into kafka_exporter-compatible families."""

from __future__ import annotations

from exporter.collectors.kafka.metrics.cluster_metrics import to_metrics
from exporter.collectors.kafka.state import Broker, ClusterState, GroupInfo, PartitionInfo
from exporter.schema.types import NameFilter


def _samples(state: ClusterState) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in to_metrics(state, "c1", {"env": "prod"})
        for s in family.samples
    }


def _key(name: str, **labels: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    return name, tuple(sorted({"cluster": "c1", "env": "prod", **labels}.items()))


STATE = ClusterState(
    brokers=(Broker(1, "a", 9092), Broker(2, "b", 9092)),
    topics={
        "orders": {
            0: PartitionInfo(leader=1, newest=100, oldest=10),
            1: PartitionInfo(leader=2, newest=50, oldest=0),
            2: PartitionInfo(leader=-1),  # leader unavailable: no watermarks
        }
    },
    groups={
        "billing": GroupInfo(
            members=3, state="Stable", offsets={("orders", 0): 90, ("orders", 1): 60}
        ),
        "idle": GroupInfo(members=0, state="Empty", offsets={("orders", 0): 100}),
        "ghost": GroupInfo(members=None, offsets={("deleted-topic", 0): 5, ("orders", 2): 7}),
    },
)


def test_topic_series() -> None:
    s = _samples(STATE)
    assert s[_key("kafka_brokers")] == 2
    assert s[_key("kafka_topic_partitions", topic="orders")] == 3
    assert s[_key("kafka_topic_partition_current_offset", topic="orders", partition="0")] == 100
    assert s[_key("kafka_topic_partition_oldest_offset", topic="orders", partition="0")] == 10
    assert _key("kafka_topic_partition_current_offset", topic="orders", partition="2") not in s


def test_lag_is_never_negative_and_sums_per_topic() -> None:
    s = _samples(STATE)
    lag = "kafka_consumergroup_lag"
    assert s[_key(lag, consumergroup="billing", topic="orders", partition="0")] == 10
    # committed ahead of the watermark (e.g. the watermark read first): clamp to 0, never negative
    assert s[_key(lag, consumergroup="billing", topic="orders", partition="1")] == 0
    assert s[_key("kafka_consumergroup_lag_sum", consumergroup="billing", topic="orders")] == 10
    assert (
        s[
            _key(
                "kafka_consumergroup_current_offset",
                consumergroup="billing",
                topic="orders",
                partition="1",
            )
        ]
        == 60
    )
    assert s[_key(lag, consumergroup="idle", topic="orders", partition="0")] == 0
    assert s[_key("kafka_consumergroup_members", consumergroup="idle")] == 0
    assert s[_key("kafka_consumergroup_members", consumergroup="billing")] == 3


def test_unknown_watermark_unknown_topic_and_failed_describe_give_no_series() -> None:
    s = _samples(STATE)
    names = {(n, dict(labels).get("consumergroup")) for n, labels in s}
    assert ("kafka_consumergroup_members", "ghost") not in names
    assert (
        _key("kafka_consumergroup_lag", consumergroup="ghost", topic="orders", partition="2")
        not in s
    )
    assert (
        _key(
            "kafka_consumergroup_current_offset",
            consumergroup="ghost",
            topic="orders",
            partition="2",
        )
        in s
    )
    assert not any(dict(labels).get("topic") == "deleted-topic" for _, labels in s)
    assert all(v >= 0 for (n, _), v in s.items())


def test_empty_cluster_still_reports_brokers() -> None:
    s = _samples(ClusterState(brokers=(), topics={}, groups={}))
    assert s == {_key("kafka_brokers"): 0}


def test_name_filter_full_match_include_and_exclude() -> None:
    f = NameFilter(include=["orders.*", "billing"], exclude=[".*-dlq"])
    assert f.matches("orders") and f.matches("orders-eu") and f.matches("billing")
    assert not f.matches("billing-eu")  # full match, not search
    assert not f.matches("orders-dlq")
    assert not f.matches("xorders")
    assert not NameFilter(include=[]).matches("anything")
