"""Stage 3 of a `kafka` refresh: what the history says, as plain numbers.

`evaluation.evaluate` computes lag in seconds (`lag_time`) and the Burrow-style consumer status
of every group (`consumer_status`) right after the history was updated.
"""
