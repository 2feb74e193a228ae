"""kafka-health-exporter: Kafka lag, CloudMonitor backlog and Kafka Streams health."""

__version__ = "0.1.0"
