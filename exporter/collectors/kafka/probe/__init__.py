"""The end-to-end probe (`e2e_probe`): produce to a canary topic, consume it back, commit, and
count and time each step per partition (kminion's end-to-end test, with its metric names)."""
