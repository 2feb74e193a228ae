"""`kafka-health-exporter probe`: a one-shot health check that exits 0 (healthy) or 1 (not).

Two modes:
- `probe [--url URL] [--timeout 2s]` asks a running exporter's `/health` (an exec liveness
  probe for images without curl);
- `probe --jmx HOST:PORT` reads one JVM's Kafka Streams MBeans directly, without a daemon (what
  a jmxterm script in the image used to do).
Either way it prints why. The `--url` path imports only the standard library (an exec probe runs
every few seconds); `--jmx` loads the jmx collector's code when it is asked for.
"""

from __future__ import annotations

import argparse
import json
import os
import urllib.error
import urllib.request
from typing import Any

from exporter.cli.probe_result import ProbeResult
from exporter.schema.durations import parse_duration

DEFAULT_URL = "http://127.0.0.1:9876/health"


def probe_url(url: str, timeout: float) -> ProbeResult:
    """GET a `/health` URL: healthy on 200, with one line per collector from its JSON."""
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read()
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return ProbeResult(False, (f"unhealthy: cannot get {url}: {reason}",))
    lines = [f"{'healthy' if status == 200 else 'unhealthy'}: {url} answered {status}"]
    lines += _describe_health_body(body)
    return ProbeResult(status == 200, tuple(lines))


def _describe_health_body(body: bytes) -> list[str]:
    try:
        data: Any = json.loads(body)
    except ValueError:
        text = body.decode("utf-8", errors="replace").strip()
        return [f"  {text[:300]}"] if text else []
    if not isinstance(data, dict):
        return [f"  {str(data)[:300]}"]
    collectors = data.get("collectors")
    if not isinstance(collectors, dict):
        return [f"  {json.dumps(data)[:300]}"]
    lines = []
    for name, entry in collectors.items():
        if not isinstance(entry, dict):
            continue
        verdict = "healthy" if entry.get("healthy") else "UNHEALTHY"
        reason = entry.get("reason") or entry.get("last_error") or ""
        lines.append(f"  {name}: {verdict}" + (f": {reason}" if reason else ""))
    return lines


def _timeout(value: str) -> float:
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"invalid --timeout {value!r}: {exc}") from None


def add_probe_arguments(parser: argparse.ArgumentParser) -> None:
    """The `probe` subcommand's options."""
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--url",
        default=DEFAULT_URL,
        help="the exporter's health URL, e.g. .../health?collector=NAME (default %(default)s)",
    )
    where.add_argument(
        "--jmx",
        metavar="HOST:PORT",
        help="check this JVM's Kafka Streams MBeans directly (or a service:jmx: URL)",
    )
    parser.add_argument(
        "--timeout", type=_timeout, default=None, help="default 2s for --url, 10s for --jmx"
    )
    parser.add_argument(
        "--username",
        default=os.environ.get("JMX_USER") or None,
        help="JMX user (default $JMX_USER)",
    )
    parser.add_argument(
        "--password",
        default=os.environ.get("JMX_PASSWORD") or None,
        help="JMX password (default $JMX_PASSWORD; prefer the variable)",
    )


def run_probe(args: argparse.Namespace) -> int:
    """Run the probe the parsed `args` describe, print why, return the exit code."""
    if args.jmx:
        import asyncio

        from exporter.cli.probe_jmx import jmx_url, probe_jmx

        try:
            jmx_url(args.jmx)
        except ValueError as exc:
            print(f"kafka-health-exporter probe: {exc}")
            return 2
        result = asyncio.run(
            probe_jmx(args.jmx, args.timeout or 10.0, args.username, args.password)
        )
    else:
        result = probe_url(args.url, args.timeout or 2.0)
    for line in result.lines:
        print(line)
    return result.exit_code
