"""What the tests run against and with: real brokers (Apache Kafka from Maven Central jars, Tansu),
Kafka Streams and fake JVMs, the CloudMonitor server, Prometheus, certificates, the exporter
process, and the chart and metric-name helpers."""
