"""One label string per partition number, shared by every series of a conversion."""

from __future__ import annotations


class PartitionLabels(dict[int, str]):
    """partition number -> its `partition` label value, made once: `labels[3]` is "3".

    A conversion emits several series per partition; sharing one string per number (rather than
    a new `str(number)` per series) keeps the rows of a large snapshot small.
    """

    def __missing__(self, number: int) -> str:
        text = self[number] = str(number)
        return text
