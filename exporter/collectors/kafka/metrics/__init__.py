"""Stage 4 of a `kafka` refresh: metric families, without I/O.

`cluster_metrics` turns what was read into kafka_exporter's families; `evaluation_metrics` adds
lag in seconds, consumer status and group state; `share_group_metrics` the share groups;
`partition_labels` shares one label string per partition number among them.
"""
