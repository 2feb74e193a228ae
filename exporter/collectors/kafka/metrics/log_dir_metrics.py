"""Log-dir sizes (the `log_dirs` option, DescribeLogDirs per broker): catalogue and pure
conversion from what one refresh read. Sizes are the bytes of the log segments, as the broker
reports them (what `kafka-log-dirs --describe` prints); a replica being moved into a dir
(AlterReplicaLogDirs' future log) counts in that dir too."""

from __future__ import annotations

from prometheus_client.core import Metric

from exporter.collectors.families import MetricSpec, build_families
from exporter.collectors.kafka.metrics.partition_labels import PartitionLabels
from exporter.collectors.kafka.state import ClusterState

_DIR = ("cluster", "broker", "log_dir")
PARTITION_SIZE = MetricSpec(
    "kafka_log_dir_partition_size_bytes",
    "gauge",
    "Bytes of the partition replica's log segments in the broker's log dir (DescribeLogDirs).",
    (*_DIR, "topic", "partition"),
)
TOPIC_SIZE = MetricSpec(
    "kafka_log_dir_topic_size_bytes",
    "gauge",
    "Bytes of the topic's log segments summed over every replica on every broker and log dir "
    "that answered.",
    ("cluster", "topic"),
)
DIR_SIZE = MetricSpec(
    "kafka_log_dir_size_bytes",
    "gauge",
    "Bytes of every partition in the broker's log dir, topics the topics filter leaves out "
    "included.",
    _DIR,
)
VOLUME_TOTAL = MetricSpec(
    "kafka_log_dir_volume_total_bytes",
    "gauge",
    "Size of the volume the log dir is on (DescribeLogDirs v4, Kafka 3.3+).",
    _DIR,
)
VOLUME_USABLE = MetricSpec(
    "kafka_log_dir_volume_usable_bytes",
    "gauge",
    "Usable bytes left on the volume the log dir is on (DescribeLogDirs v4, Kafka 3.3+).",
    _DIR,
)
DIR_ERROR = MetricSpec(
    "kafka_log_dir_error",
    "gauge",
    "1 for a log dir the broker answers with an error (e.g. KAFKA_STORAGE_ERROR: the dir is "
    "offline); such a dir has no size series. No series for a healthy dir.",
    (*_DIR, "error"),
)

CATALOGUE: tuple[MetricSpec, ...] = (
    PARTITION_SIZE,
    TOPIC_SIZE,
    DIR_SIZE,
    VOLUME_TOTAL,
    VOLUME_USABLE,
    DIR_ERROR,
)


def to_metrics(state: ClusterState, cluster: str, const: dict[str, str]) -> list[Metric]:
    """Families of the log dirs in `state` (none when the option is off: nothing was read)."""
    partition = PARTITION_SIZE.family(const)
    topic_size = TOPIC_SIZE.family(const)
    dir_size = DIR_SIZE.family(const)
    total = VOLUME_TOTAL.family(const)
    usable = VOLUME_USABLE.family(const)
    error = DIR_ERROR.family(const)
    numbers = PartitionLabels()
    topics: dict[str, int] = {}
    for node, dirs in sorted(state.log_dirs.items()):
        broker = str(node)
        for found in sorted(dirs, key=lambda d: d.path):
            labels = (cluster, broker, found.path)
            if found.total_bytes is not None:
                total.add(labels, found.total_bytes)
            if found.usable_bytes is not None:
                usable.add(labels, found.usable_bytes)
            if found.error is not None:
                error.add((*labels, found.error), 1)
                continue
            dir_size.add(labels, found.used_bytes)
            for (topic, number), size in sorted(found.sizes.items()):
                partition.add((*labels, topic, numbers[number]), size)
                topics[topic] = topics.get(topic, 0) + size
    for topic, size in sorted(topics.items()):
        topic_size.add((cluster, topic), size)
    return build_families([partition, topic_size, dir_size, total, usable, error])
