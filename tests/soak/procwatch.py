"""Resource samples of a process tree from /proc: the exporter with its collector processes (fork
server, resource tracker, one per collector: their fds, threads and RSS summed) and the query JVMs
among its descendants."""

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
    """Live descendant JVMs (the jmx collector's queries)."""
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


def _is_java(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip() == "java"
    except OSError:
        return False


def sample(pid: int, started: float, tasks: int | None) -> ProcSample:
    """Read the tree now (a process that ends while being read counts as gone)."""
    below = descendants(pid)
    jvms = [p for p in below if _is_java(p)]
    fds = threads = rss_kib = 0
    for member in [pid, *(p for p in below if p not in jvms)]:
        try:
            status = _status(member)
            fds += len(os.listdir(f"/proc/{member}/fd"))
        except OSError:
            continue
        threads += int(status["Threads"])
        rss_kib += int(status["VmRSS"].split()[0])
    return ProcSample(
        t=round(time.monotonic() - started, 1),
        fds=fds,
        threads=threads,
        children=len(jvms),
        rss_mib=round(rss_kib / 1024, 1),
        tasks=tasks,
    )
