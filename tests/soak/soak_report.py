"""What one soak run measured (`SoakReport`) and the bounds it is judged by (`Bounds`)."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from tests.soak.procwatch import ProcSample


@dataclass(frozen=True)
class Bounds:
    """What the soak asserts; stated in the report."""

    recovery_s: float
    """A collector shows its source's new values within this long after the source recovers."""
    stale_s: float
    """Series vanish within this long after their last successful refresh."""
    warmup_s: float
    """Resource figures are compared only after this."""
    fds: int = 16
    threads: int = 8
    tasks: int = 10
    children: int = 2
    rss_mib: float = 30.0


@dataclass
class SoakReport:
    """Everything one soak run measured."""

    duration_s: float
    bounds: Bounds
    faults: Counter[str] = field(default_factory=Counter)
    recoveries: dict[str, list[float]] = field(default_factory=dict)
    stale_vanish_s: list[float] = field(default_factory=list)
    samples: list[ProcSample] = field(default_factory=list)
    scrapes: int = 0
    live_probes: int = 0
    problems: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """JSON-friendly figures: faults, recoveries (median/max), resource ranges."""
        after = [s for s in self.samples if s.t >= self.bounds.warmup_s]

        def spread(key: str) -> dict[str, float | None]:
            values = [getattr(s, key) for s in after if getattr(s, key) is not None]
            if not values:
                return {"min": None, "max": None}
            return {"min": min(values), "max": max(values)}

        return {
            "duration_s": self.duration_s,
            "bounds": self.bounds.__dict__,
            "faults": dict(self.faults),
            "recoveries": {
                kind: {
                    "count": len(times),
                    "median_s": round(statistics.median(times), 2),
                    "max_s": round(max(times), 2),
                }
                for kind, times in self.recoveries.items()
                if times
            },
            "stale_vanish_s": {
                "count": len(self.stale_vanish_s),
                "max_s": round(max(self.stale_vanish_s), 2) if self.stale_vanish_s else None,
            },
            "after_warmup": {
                k: spread(k) for k in ("fds", "threads", "children", "rss_mib", "tasks")
            },
            "per_minute": self.per_minute(),
            "scrapes": self.scrapes,
            "live_probes": self.live_probes,
            "problems": self.problems,
            "samples": [s.as_dict() for s in self.samples],
        }

    def per_minute(self) -> list[dict[str, float]]:
        """The resource curves: min and max of each figure per minute of the run."""
        out = []
        for minute in range(int(max((s.t for s in self.samples), default=0) // 60) + 1):
            chunk = [s for s in self.samples if minute * 60 <= s.t < (minute + 1) * 60]
            if not chunk:
                continue
            row: dict[str, float] = {"minute": minute}
            for key in ("fds", "threads", "children", "rss_mib", "tasks"):
                values = [v for s in chunk if (v := getattr(s, key)) is not None]
                if values:
                    row[f"{key}_min"], row[f"{key}_max"] = min(values), max(values)
            out.append(row)
        return out
