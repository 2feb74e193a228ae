"""Requests and decoders for Kafka's group APIs (KIP-848, KIP-932, KIP-1071) on aiokafka."""
