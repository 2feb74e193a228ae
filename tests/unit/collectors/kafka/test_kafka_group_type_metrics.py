"""Pure conversion of group types and share groups: kafka_consumergroup_info, each type's
states, and the kafka_sharegroup_* families (an unknown lag is no series, never -1)."""

from __future__ import annotations

from exporter.collectors.kafka.evaluate.evaluation import Evaluation
from exporter.collectors.kafka.metrics import evaluation_metrics, share_group_metrics
from exporter.collectors.kafka.metrics.cluster_metrics import to_metrics
from exporter.collectors.kafka.state import (
    ClusterState,
    GroupInfo,
    PartitionInfo,
    ShareGroupInfo,
    SharePartition,
)

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]

STATE = ClusterState(
    brokers=(),
    topics={"t": {0: PartitionInfo(leader=1, newest=10, oldest=0)}},
    groups={
        "old": GroupInfo(members=2, state="Stable", offsets={("t", 0): 4}),
        "new": GroupInfo(members=3, state="Reconciling", offsets={("t", 0): 7}, type="consumer"),
        "app": GroupInfo(members=1, state="NotReady", type="streams", protocol_type="streams"),
    },
    share_groups={
        "q": ShareGroupInfo(
            members=2,
            state="Stable",
            partitions={
                ("t", 0): SharePartition(start_offset=3, lag=5),
                ("t", 1): SharePartition(start_offset=6, lag=None),
                ("u", 0): SharePartition(start_offset=0, lag=2),
            },
        ),
        "idle": ShareGroupInfo(members=0, state="Empty"),
    },
)


def _samples(families: list) -> Samples:  # type: ignore[type-arg]
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for f in families for s in f.samples}


def _key(name: str, **labels: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    return name, tuple(sorted({"cluster": "c", **labels}.items()))


def test_every_group_has_an_info_series_with_its_type() -> None:
    s = _samples(to_metrics(STATE, "c", {}))
    info = "kafka_consumergroup_info"
    assert s[_key(info, consumergroup="old", type="classic", protocol_type="consumer")] == 1
    assert s[_key(info, consumergroup="new", type="consumer", protocol_type="consumer")] == 1
    assert s[_key(info, consumergroup="app", type="streams", protocol_type="streams")] == 1
    assert len([k for k in s if k[0] == info]) == 3
    assert s[_key("kafka_consumergroup_members", consumergroup="new")] == 3


def test_states_are_those_of_the_group_type() -> None:
    families = evaluation_metrics.to_metrics(STATE, Evaluation(observed_at=0.0), "c", {}, False)
    s = _samples(families)
    state = "kafka_consumergroup_state"
    new = {
        dict(k[1])["state"]: v
        for k, v in s.items()
        if k[0] == state and dict(k[1])["consumergroup"] == "new"
    }
    assert new == {"Empty": 0, "Assigning": 0, "Reconciling": 1, "Stable": 0, "Dead": 0}
    app = {
        dict(k[1])["state"]: v
        for k, v in s.items()
        if k[0] == state and dict(k[1])["consumergroup"] == "app"
    }
    assert app == {
        "Empty": 0, "NotReady": 1, "Assigning": 0, "Reconciling": 0, "Stable": 0, "Dead": 0,
    }  # fmt: skip
    assert s[_key(state, consumergroup="old", state="PreparingRebalance")] == 0
    assert s[_key(state, consumergroup="old", state="Stable")] == 1


def test_share_group_families() -> None:
    s = _samples(share_group_metrics.to_metrics(STATE, "c", {"env": "p"}))

    def key(name: str, **labels: str) -> tuple[str, tuple[tuple[str, str], ...]]:
        return _key(name, env="p", **labels)

    assert s[key("kafka_sharegroup_lag", sharegroup="q", topic="t", partition="0")] == 5
    assert key("kafka_sharegroup_lag", sharegroup="q", topic="t", partition="1") not in s
    assert s[key("kafka_sharegroup_start_offset", sharegroup="q", topic="t", partition="1")] == 6
    assert s[key("kafka_sharegroup_lag_sum", sharegroup="q", topic="t")] == 5
    assert s[key("kafka_sharegroup_lag_sum", sharegroup="q", topic="u")] == 2
    assert s[key("kafka_sharegroup_members", sharegroup="q")] == 2
    assert s[key("kafka_sharegroup_members", sharegroup="idle")] == 0
    assert s[key("kafka_sharegroup_state", sharegroup="idle", state="Empty")] == 1
    assert s[key("kafka_sharegroup_state", sharegroup="idle", state="Stable")] == 0
    assert all(v >= 0 for v in s.values()), "never a -1 sentinel"


def test_no_share_groups_no_share_families() -> None:
    plain = ClusterState(brokers=(), topics={}, groups={})
    assert share_group_metrics.to_metrics(plain, "c", {}) == []
