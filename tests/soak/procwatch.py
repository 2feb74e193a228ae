"""Resource samples of a process from /proc: open fds, threads, descendants, RSS."""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class ProcSample:
    """One reading of the watched process (and the exporter's own task count)."""

    t: float
    """Seconds since the soak started."""
    fds: int
    threads: int
    children: int
    """Live descendant processes (query JVMs)."""
    rss_mib: float
    tasks: int | None
    """asyncio tasks, from the exporter's self-metric."""

    def as_dict(self) -> dict[str, float | int | None]:
        """JSON-friendly form."""
        return asdict(self)


def _status(pid: int) -> dict[str, str]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        out[key] = rest.strip()
    return out


def descendants(pid: int) -> list[int]:
    """PIDs of every live (non-zombie) descendant of `pid`."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] == "Z":
            continue
        parents.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def sample(pid: int, started: float, tasks: int | None) -> ProcSample:
    """Read the process now."""
    status = _status(pid)
    return ProcSample(
        t=round(time.monotonic() - started, 1),
        fds=len(os.listdir(f"/proc/{pid}/fd")),
        threads=int(status["Threads"]),
        children=len(descendants(pid)),
        rss_mib=round(int(status["VmRSS"].split()[0]) / 1024, 1),
        tasks=tasks,
    )
