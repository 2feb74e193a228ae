"""Memory and CPU of a process and everything it started, from /proc (Linux), sampled in a
background thread.

The exporter runs each collector in a process of its own (a fork server forks them), so "the
exporter" is a process tree: CPU is summed over it, RSS too (pages shared between the processes
count once per process: an upper bound) and PSS (shared pages split between their processes:
what the tree really holds) is sampled less often, as it costs a walk of the page tables.
"""

from __future__ import annotations

import contextlib
import glob
import os
import threading
import time
from dataclasses import dataclass, field

_TICKS = os.sysconf("SC_CLK_TCK")
PSS_EVERY = 10
"""Samples between two PSS samples."""


def status_kib(pid: int, key: str) -> int:
    """A `VmRSS`/`VmHWM`-style field of /proc/<pid>/status, in KiB."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise KeyError(key)


def tree(pid: int) -> list[int]:
    """`pid` and its descendants (alive now), parents first."""
    out, todo = [], [pid]
    while todo:
        current = todo.pop(0)
        out.append(current)
        for path in glob.glob(f"/proc/{current}/task/*/children"):
            with contextlib.suppress(OSError), open(path) as children:
                todo += [int(c) for c in children.read().split()]
    return out


def _cpu_of(pid: int) -> float:
    """User + system CPU seconds of `pid` and of its children it has waited for."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return sum(int(fields[i]) for i in (11, 12, 13, 14)) / _TICKS


def cpu_seconds(pid: int) -> float:
    """CPU seconds so far of `pid`'s tree (all threads; exited children once reaped)."""
    total = 0.0
    for member in tree(pid):
        with contextlib.suppress(OSError):
            total += _cpu_of(member)
    return total


def _sum_kib(pids: list[int], read: str) -> float:
    total = 0
    for member in pids:
        with contextlib.suppress(OSError, KeyError, ValueError):
            if read == "Pss":
                with open(f"/proc/{member}/smaps_rollup") as rollup:
                    total += next(int(x.split()[1]) for x in rollup if x.startswith("Pss:"))
            else:
                total += status_kib(member, read)
    return total / 1024


@dataclass
class RssSampler:
    """Samples the tree's summed VmRSS every `period` seconds, and its PSS every PSS_EVERY
    samples: (unix time, MiB) pairs."""

    pid: int
    period: float = 0.05
    samples: list[tuple[float, float]] = field(default_factory=list)
    pss_samples: list[tuple[float, float]] = field(default_factory=list)
    processes: int = 1
    """The most processes the tree had at a sample."""
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> RssSampler:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def _run(self) -> None:
        count = 0
        members = tree(self.pid)
        while not self._stop.wait(self.period):
            if not os.path.exists(f"/proc/{self.pid}"):
                return
            if count % PSS_EVERY == 0:
                members = tree(self.pid)
                self.processes = max(self.processes, len(members))
                self.pss_samples.append((time.time(), _sum_kib(members, "Pss")))
            self.samples.append((time.time(), _sum_kib(members, "VmRSS")))
            count += 1

    def peak_mib(self) -> float:
        """A single process: VmHWM, the kernel's own high-water mark of resident memory; a
        tree: the highest summed VmRSS sampled (the processes peak at different times)."""
        if self.processes == 1 and len(tree(self.pid)) == 1:
            return status_kib(self.pid, "VmHWM") / 1024
        return max((mib for _, mib in self.samples), default=float("nan"))
