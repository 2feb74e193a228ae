"""A probe's verdict and the lines that explain it (standard library only)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProbeResult:
    """The verdict and the lines explaining it."""

    healthy: bool
    lines: tuple[str, ...]

    @property
    def exit_code(self) -> int:
        """0 when healthy, 1 otherwise."""
        return 0 if self.healthy else 1
