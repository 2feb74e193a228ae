"""kafka-health-exporter: Kafka lag, CloudMonitor backlog and Kafka Streams health for Prometheus."""

__version__ = "0.1.0"
