"""Stage 2 of a `kafka` refresh: the bounded history kept between refreshes.

`history.History` holds, per partition, a `watermarks.WatermarkTable` of past high watermarks,
per group-partition the `commit_windows.CommitWindows` of the last committed offsets, and the
timestamps of records at committed offsets.
"""
