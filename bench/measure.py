"""Measurements of one workload: the exporter daemon, the protocol floor, collect-on-scrape."""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

from bench.daemon import ROOT, ExporterDaemon, Refresh
from bench.procstat import RssSampler, cpu_seconds
from bench.scrape import Scrape, scrape_for
from bench.stats import latency_row, summary
from bench.workload import Workload
from exporter.cli.demo.processes import free_port, stop_process

SCRAPE_MODES = ((1, False), (1, True), (10, False), (10, True))
SCRAPER_PAUSE = 0.05
"""Seconds each scraper waits between its scrapes (10 scrapers: ~10 scrapes in flight)."""


def floor(bootstrap: str, workload: Workload, runs: int) -> dict[str, Any]:
    """The protocol floor, in a process of its own."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.floor",
            "--bootstrap",
            bootstrap,
            "--size",
            workload.label,
            "--runs",
            str(runs),
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        timeout=1800,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    return json.loads(out.stdout)


def _busy(refresh: Refresh) -> float:
    return refresh.published_at - refresh.started_at


def _classify(scrapes: list[Scrape], refreshes: list[Refresh]) -> dict[str, list[float]]:
    """Latencies of scrapes that overlapped a refresh (fetch to page swap) and of the others."""
    windows = [(r.started_at, r.published_at) for r in refreshes]
    during: list[float] = []
    between: list[float] = []
    for s in scrapes:
        overlaps = any(s.start < end and s.end > start for start, end in windows)
        (during if overlaps else between).append(s.latency)
    return {"during": during, "between": between}


def _get(url: str, gzip: bool) -> bytes:
    request = urllib.request.Request(
        url, headers={"Accept-Encoding": "gzip" if gzip else "identity"}
    )
    with urllib.request.urlopen(request, timeout=600) as response:
        return response.read()


def exporter_scrapes(
    bootstrap: str,
    floor_s: float,
    log_dir: Path,
    options: tuple[str, ...] = (),
    modes: tuple[tuple[int, bool], ...] = SCRAPE_MODES,
) -> dict[str, Any]:
    """Phase A: scrape latency with 1 and 10 scrapers, plain and gzip, during/between refreshes.

    The interval leaves an idle gap about as long as a refresh, so both kinds of scrape occur.
    """
    interval = _calibrate(bootstrap, floor_s, log_dir, options)
    daemon = ExporterDaemon(
        bootstrap, interval, interval - 0.1, options, workdir=log_dir / "scrapes"
    )
    daemon.workdir.mkdir(parents=True, exist_ok=True)
    with daemon, RssSampler(daemon.pid) as rss:
        daemon.wait_ready(60 + 10 * interval)
        daemon.wait_refreshes(3, 20 * interval)
        sizes = {
            "plain_bytes": len(_get(daemon.url + "/metrics", False)),
            "gzip_bytes": len(_get(daemon.url + "/metrics", True)),
        }
        collected: dict[str, list[Scrape]] = {}
        cpu_share: dict[str, float] = {}
        window = min(2.5 * interval, interval + 20)
        for scrapers, gzip in modes:
            cpu, started = cpu_seconds(daemon.pid), time.monotonic()
            scrapes = asyncio.run(
                scrape_for(
                    daemon.url + "/metrics", scrapers, gzip, duration=window, pause=SCRAPER_PAUSE
                )
            )
            if any(s.status != 200 for s in scrapes):
                raise RuntimeError(f"scrape failed: {Counter(s.status for s in scrapes)}")
            name = f"{scrapers}x {'gzip' if gzip else 'plain'}"
            collected[name] = scrapes
            cpu_share[name] = (cpu_seconds(daemon.pid) - cpu) / (time.monotonic() - started)
        # the refresh running when the last window closed must be logged before classifying
        daemon.wait_refreshes(len(daemon.refreshes()) + 1, 10 * interval)
        table = {
            name: {
                **{
                    kind: latency_row(values)
                    for kind, values in _classify(scrapes, daemon.refreshes()).items()
                },
                "all": latency_row([s.latency for s in scrapes]),
                "cpu_s_per_s": cpu_share[name],
            }
            for name, scrapes in collected.items()
        }
        refreshes = daemon.refreshes()
        peak = rss.peak_mib()
        warnings = daemon.warnings()
        code = daemon.stop()
    return {
        "interval_s": interval,
        "window_s": window,
        "busy_s": summary([_busy(r) for r in refreshes[1:]]),
        "scrapes": table,
        "peak_rss_mib_with_scrapers": peak,
        "processes": rss.processes,
        "warnings": warnings[:10],
        "exit_code": code,
        **sizes,
    }


def _calibrate(bootstrap: str, floor_s: float, log_dir: Path, options: tuple[str, ...]) -> float:
    """An interval twice a refresh (plus 0.5 s): three refreshes of a daemon with a generous
    interval (10 x the floor + 1 s) tell how long one takes here."""
    generous = round(10 * floor_s + 1, 1)
    daemon = ExporterDaemon(
        bootstrap, generous, generous - 0.1, options, workdir=log_dir / "calibrate"
    )
    daemon.workdir.mkdir(parents=True, exist_ok=True)
    with daemon:
        daemon.wait_ready(60 + 10 * generous)
        found = daemon.wait_refreshes(3, 5 * generous + 60)
        daemon.stop()
    busy = [_busy(r) for r in found[1:]] or [_busy(r) for r in found] or [generous]
    return max(1.0, round(2 * statistics.median(busy) + 0.5, 1))


def exporter_refreshes(
    bootstrap: str, busy: float, refreshes: int, log_dir: Path, options: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Phase B: back-to-back refreshes without scrapes: time split, CPU, requests, memory.

    `busy`: a typical refresh-to-page-swap time (the scrape phase's median); the interval leaves
    half of it again as a gap, so RSS can be sampled between refreshes."""
    interval = max(0.5, round(1.5 * busy + 0.3, 2))
    daemon = ExporterDaemon(
        bootstrap, interval, interval - 0.05, options, workdir=log_dir / "refreshes"
    )
    daemon.workdir.mkdir(parents=True, exist_ok=True)
    warm = min(10, refreshes // 4)
    with daemon, RssSampler(daemon.pid) as rss:
        daemon.wait_ready(60 + 10 * interval)
        daemon.wait_refreshes(warm, (warm + 5) * interval * 3)
        cpu_start, counted_from = cpu_seconds(daemon.pid), len(daemon.refreshes())
        found = daemon.wait_refreshes(refreshes, (refreshes + 5) * interval * 3)
        cpu_end, counted_to = cpu_seconds(daemon.pid), len(found)
        peak = rss.peak_mib()
        samples, pss, processes = list(rss.samples), list(rss.pss_samples), rss.processes
        warnings = daemon.warnings()
        code = daemon.stop()
    found = found[:counted_to]
    steady = _gap_rss(samples, found)
    timed = found[1:]  # the first refresh also probes the broker's quirks
    split = {
        key: summary([r.timings.get(key, 0.0) for r in timed])
        for key in ("fetch", "read", "convert", "render", "publish", "cpu")
    }
    split["refresh"] = summary(
        [r.timings["fetch"] + r.timings["convert"] + r.timings["render"] for r in timed]
    )
    # cumulative counts: requests a collector sends after its read (if any) land in the next one
    requests = Counter(timed[-1].requests_total)
    requests.subtract(timed[0].requests_total)
    requested = max(len(timed) - 1, 1)
    per_refresh = max(counted_to - counted_from, 1)
    return {
        "interval_s": interval,
        "refreshes": len(found),
        "timings": split,
        "cpu_s_per_refresh": (cpu_end - cpu_start) / per_refresh,
        "requests_per_refresh": {k: v / requested for k, v in sorted(requests.items()) if v},
        "rss_mib": {"peak": peak, **steady},
        "pss_mib": {k: v for k, v in _gap_rss(pss, found).items() if k != "per_gap"},
        "processes": processes,
        "warnings": warnings[:10],
        "exit_code": code,
    }


def _gap_rss(samples: list[tuple[float, float]], refreshes: list[Refresh]) -> dict[str, Any]:
    """RSS between refreshes: the median of each gap (after refresh i, before refresh i+1), the
    steady value (median over the last ten gaps) and the growth from gaps 20-30 (after every
    bounded history window has filled; 10-20 with fewer than 40 refreshes) to the last ten."""
    gaps = []
    for i, refresh in enumerate(refreshes):
        gap_end = refreshes[i + 1].started_at if i + 1 < len(refreshes) else float("inf")
        values = [m for t, m in samples if refresh.published_at < t < gap_end]
        gaps.append(statistics.median(values) if values else float("nan"))
    known = [g for g in gaps if g == g]
    if not known:
        nan = float("nan")
        return dict.fromkeys(("early", "steady", "growth"), nan) | {"per_gap": gaps}
    start = 20 if len(gaps) >= 40 else 10
    early = [g for g in gaps[start : min(start + 10, len(gaps) - 10)] if g == g]
    early = early or known[: max(len(known) // 4, 1)]
    late = [g for g in gaps[-10:] if g == g] or known[-max(len(known) // 4, 1) :]
    return {
        "early": statistics.median(early),
        "steady": statistics.median(late),
        "growth": statistics.median(late) - statistics.median(early),
        "min_after_warmup": min(known[10:] or known),
        "max_between_refreshes": max(known),
        "per_gap": [round(g, 1) for g in gaps],
    }


def collect_on_scrape(bootstrap: str, log_dir: Path, concurrent: bool = True) -> dict[str, Any]:
    """The reference exporter: scrape latency with 1 and 10 scrapers, and its memory.

    Without `concurrent` (huge sizes: each scrape holds the whole cluster in prometheus_client
    samples), one scrape of each kind only."""
    port = free_port()
    log = (log_dir / "collect-on-scrape.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bench.collect_on_scrape",
            "--bootstrap",
            bootstrap,
            "--port",
            str(port),
        ],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    url = f"http://127.0.0.1:{port}/metrics"
    try:
        deadline = time.monotonic() + 600
        while True:
            try:
                size = len(_get(url, False))  # warm-up: connections, first probes
                break
            except (urllib.error.URLError, OSError):
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.2)
        modes = {}
        with RssSampler(process.pid) as rss:
            runs = ((1, False, 3), (1, True, 3), (10, True, 1)) if concurrent else ((1, True, 1),)
            for scrapers, gzip, count in runs:
                scrapes = asyncio.run(scrape_for(url, scrapers, gzip, count=count))
                modes[f"{scrapers}x {'gzip' if gzip else 'plain'}"] = latency_row(
                    [s.latency for s in scrapes]
                )
            peak = rss.peak_mib()
        return {"scrapes": modes, "plain_bytes": size, "peak_rss_mib": peak}
    finally:
        stop_process(process, 10)
        log.close()
