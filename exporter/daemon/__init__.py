"""The running exporter: wiring and ordered stop, refresh loops, the collector set, reloads."""
