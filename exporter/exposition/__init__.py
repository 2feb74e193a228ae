"""The /metrics page: snapshots of refreshes, rendering, gzip, self and process metrics."""
