"""Stage 1 of a `kafka` refresh: reading the cluster over the Kafka protocol.

`reader.ClusterReader` does one refresh through a long-lived `connection.Connection`: the topics'
metadata and watermarks (`topics`), the groups' membership and committed offsets (`groups`).
`record_reads` plans which records at committed offsets to read (time_lag methods `auto` and
`timestamp`: budget, cache, background) and `record_times` fetches them.
`protocol` builds the requests and decodes the answers; `errors` explains a failed bootstrap.
"""
