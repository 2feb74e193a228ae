"""The peer lag check: both naming schemes read, right/wrong/missing counted against the
workload's truth."""

from __future__ import annotations

from bench.peer_lag import judge, lag_by_partition
from bench.workload import RECORDS_PER_PARTITION, Workload

WORKLOAD = Workload(4, 1, 2)


def _truth(index: int, partition: int) -> int:
    return RECORDS_PER_PARTITION - WORKLOAD.committed(index, partition)


def test_kafka_exporter_names_judged_right_wrong_and_missing() -> None:
    g1, g3 = WORKLOAD.group_names()[1], WORKLOAD.group_names()[3]
    topic = WORKLOAD.topic_names()[0]
    page = (
        "# TYPE kafka_consumergroup_lag gauge\n"
        f'kafka_consumergroup_lag{{consumergroup="{g1}",partition="0",topic="{topic}"}} '
        f"{_truth(1, 0)}\n"
        f'kafka_consumergroup_lag{{consumergroup="{g1}",partition="1",topic="{topic}"}} '
        f"{_truth(1, 1) + 1}\n"
        f'kafka_consumergroup_lag{{consumergroup="{g3}",partition="0",topic="{topic}"}} '
        f"{_truth(3, 0)}\n"
        f'kafka_consumergroup_lag{{consumergroup="{WORKLOAD.group_names()[0]}",'
        f'partition="0",topic="{topic}"}} -7\n'
    )
    result = judge(lag_by_partition(page), WORKLOAD)
    assert (result["right"], result["wrong"], result["missing"]) == (2, 1, 1)
    assert result["wrong_examples"] == [f"{g1}/{topic}/1: {_truth(1, 1) + 1}, truth {_truth(1, 1)}"]
    assert result["committed_above_log_end_reported_as"] == {"absent": 3, "-7": 1}


def test_kminion_names_are_read() -> None:
    topic = WORKLOAD.topic_names()[0]
    lines = ["# TYPE kminion_kafka_consumer_group_topic_partition_lag gauge"]
    for index in (1, 3):
        for partition in (0, 1):
            lines.append(
                "kminion_kafka_consumer_group_topic_partition_lag{"
                f'group_id="{WORKLOAD.group_names()[index]}",partition_id="{partition}",'
                f'topic_name="{topic}"}} {_truth(index, partition)}'
            )
    result = judge(lag_by_partition("\n".join(lines) + "\n"), WORKLOAD)
    assert (result["right"], result["wrong"], result["missing"]) == (4, 0, 0)
