"""Fault and soak tests: a short run of every fault kind in the normal suite, and the long soak
(`pytest -m soak`, minutes from KHE_SOAK_MINUTES, default 3; report JSON to KHE_SOAK_REPORT)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.soak.faults import FAULTS, INTERVAL, STALE_AFTER, TIMEOUT
from tests.soak.harness import Soak
from tests.soak.soak_report import Bounds, SoakReport
from tests.support.jmx_app import compile_fake_app

SLACK = float(os.environ.get("KHE_SOAK_SLACK", "2.0"))
"""Seconds of scheduling slack on a loaded CI machine, added to the recovery and stale bounds."""
MINUTES = float(os.environ.get("KHE_SOAK_MINUTES", "3"))


def _bounds(warmup_s: float) -> Bounds:
    return Bounds(
        recovery_s=2 * INTERVAL + SLACK,
        stale_s=STALE_AFTER + INTERVAL + TIMEOUT + SLACK,
        warmup_s=warmup_s,
    )


def _run(tmp_path: Path, duration_s: float, warmup_s: float) -> SoakReport:
    classes = compile_fake_app(tmp_path / "classes")
    report = Soak(tmp_path, classes, duration_s, _bounds(warmup_s)).run()
    summary = report.summary()
    text = json.dumps(summary, indent=1)
    (tmp_path / "soak-report.json").write_text(text)
    if os.environ.get("KHE_SOAK_REPORT"):
        Path(os.environ["KHE_SOAK_REPORT"]).write_text(text)
    print(json.dumps({k: v for k, v in summary.items() if k != "samples"}, indent=1))
    return report


def _assert_healthy_run(report: SoakReport) -> None:
    assert not report.problems, report.problems[:20]
    assert set(report.faults) == set(FAULTS), report.faults
    assert all(report.recoveries.get(kind) for kind in FAULTS), report.recoveries
    assert report.stale_vanish_s, "the broker was never down long enough to go stale"
    assert report.scrapes > 100 and report.live_probes > 100


@pytest.mark.timeout(300)
def test_every_fault_kind_once_with_recovery_and_flat_resources(tmp_path: Path) -> None:
    """The CI version: ~60 s, every fault kind, the same assertions with a 20 s warm-up."""
    _assert_healthy_run(_run(tmp_path, duration_s=45, warmup_s=20))


@pytest.mark.soak
@pytest.mark.timeout(int(MINUTES * 60) + 300)
def test_soak(tmp_path: Path) -> None:
    """The long run: faults in rotation for KHE_SOAK_MINUTES; resources flat after a minute."""
    report = _run(tmp_path, duration_s=MINUTES * 60, warmup_s=60)
    _assert_healthy_run(report)
    assert len(report.samples) >= MINUTES * 60 / 6  # one every 5-5.7 s
