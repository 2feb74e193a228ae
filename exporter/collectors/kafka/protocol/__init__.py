"""Kafka requests the `kafka` collector sends and their decoders, on aiokafka's structs:
`classic` (what aiokafka defines), the group APIs of Kafka 3.0-4.x (KIP-709, KIP-848, KIP-932,
KIP-1071) in one module each."""
