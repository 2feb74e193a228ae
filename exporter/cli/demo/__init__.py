"""The `demo` command: a local Tansu broker, a producer, two consumer groups and the exporter."""
