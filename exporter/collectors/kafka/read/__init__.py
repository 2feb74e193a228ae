"""Stage 1 of a `kafka` refresh: reading the cluster over the Kafka protocol.

`reader.ClusterReader` does one refresh through a long-lived `connection.Connection`: the topics'
metadata and watermarks (`topics`), then the groups (`groups`): listed with their types
(`group_listing`), described by their type's API (`group_describe`), their committed offsets
(`committed_offsets`) and share groups' offsets (`share_reads`); `broker_features` says what the
brokers' versions leave out. `record_reads` plans which records at committed offsets to read
(time_lag methods `auto` and `timestamp`: budget, cache, background) and `record_times` fetches
them. The requests and decoders are in `exporter.collectors.kafka.protocol`; `errors` explains a
failed bootstrap.
"""
