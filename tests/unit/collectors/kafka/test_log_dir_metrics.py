"""Log-dir series from a read state: one partition series per replica and dir, the topic sum
over brokers and dirs, the dir total as the broker counts it, volume bytes where known, and an
offline dir as an error series without sizes; no state, no series."""

from __future__ import annotations

from exporter.collectors.kafka.metrics import log_dir_metrics
from exporter.collectors.kafka.state import ClusterState, LogDir


def _series(state: ClusterState) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    out: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in log_dir_metrics.to_metrics(state, "c", {"env": "t"}):
        for s in family.samples:
            out.setdefault(s.name, {})[tuple(sorted(s.labels.items()))] = s.value
    return out


def _dir(broker: str, path: str, *more: tuple[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(
        sorted((("cluster", "c"), ("env", "t"), ("broker", broker), ("log_dir", path), *more))
    )


def test_sizes_sums_volumes_and_an_offline_dir() -> None:
    state = ClusterState(
        brokers=(),
        topics={},
        groups={},
        log_dirs={
            1: (
                LogDir("/a", None, {("t", 0): 100, ("t", 1): 5}, 900, 10_000, 4_000),
                LogDir("/b", "KAFKA_STORAGE_ERROR", {}, 0),
            ),
            2: (LogDir("/a", None, {("t", 0): 98}, 98),),
        },
    )
    got = _series(state)
    part = lambda b, t, p: _dir(b, "/a", ("topic", t), ("partition", p))  # noqa: E731
    assert got["kafka_log_dir_partition_size_bytes"] == {
        part("1", "t", "0"): 100,
        part("1", "t", "1"): 5,
        part("2", "t", "0"): 98,
    }
    assert got["kafka_log_dir_topic_size_bytes"] == {
        (("cluster", "c"), ("env", "t"), ("topic", "t")): 203
    }
    assert got["kafka_log_dir_size_bytes"] == {_dir("1", "/a"): 900, _dir("2", "/a"): 98}
    assert got["kafka_log_dir_volume_total_bytes"] == {_dir("1", "/a"): 10_000}
    assert got["kafka_log_dir_volume_usable_bytes"] == {_dir("1", "/a"): 4_000}
    assert got["kafka_log_dir_error"] == {_dir("1", "/b", ("error", "KAFKA_STORAGE_ERROR")): 1}


def test_no_log_dirs_read_means_no_series() -> None:
    assert log_dir_metrics.to_metrics(ClusterState((), {}, {}), "c", {}) == []
