"""bench/peer.py end to end on 127.0.0.1: a stand-in exporter (a tiny HTTP server serving a static
/metrics) is started from a `--peer` command, scraped in every mode, measured and reaped."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench import peer as peer_module
from bench.peer import PeerProcess, PeerRun, fill, measure_peer
from bench.report import _peer_table
from bench.run import _peer

STAND_IN = """
import argparse, gzip, http.server, json, os, sys
parser = argparse.ArgumentParser()
parser.add_argument("--kafka.server", dest="bootstrap", required=True)
parser.add_argument("--web.listen-address", dest="listen", required=True)
parser.add_argument("--record", required=True)
args = parser.parse_args()
host, port = args.listen.rsplit(":", 1)
with open(args.record, "w") as out:
    json.dump(
        {"pid": os.getpid(), "bootstrap": args.bootstrap, "port": int(port),
         "env": os.environ.get("PEER_SEEN_BOOTSTRAP")},
        out,
    )
BODY = ("# TYPE kafka_brokers gauge\\nkafka_brokers 1\\n" * 200).encode()
ZIPPED = gzip.compress(BODY)

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path != "/metrics":
            self.send_error(404)
            return
        zipped = "gzip" in self.headers.get("Accept-Encoding", "")
        body = ZIPPED if zipped else BODY
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        if zipped:
            self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

http.server.ThreadingHTTPServer((host, int(port)), Handler).serve_forever()
"""

MODES = ((1, False), (1, True), (10, True))


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.fixture
def stand_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The stand-in exporter's script; short idle windows."""
    monkeypatch.setattr(peer_module, "IDLE_S", 0.3)
    script = tmp_path / "stand_in_exporter.py"
    script.write_text(STAND_IN)
    return script


def _command(script: Path, record: Path) -> str:
    return (
        f"PEER_SEEN_BOOTSTRAP={{bootstrap}} {sys.executable} {script} --kafka.server={{bootstrap}} "
        f"--web.listen-address=127.0.0.1:{{port}} --record {record}"
    )


def test_peer_is_started_scraped_measured_and_reaped(stand_in: Path, tmp_path: Path) -> None:
    record = tmp_path / "record.json"
    run = PeerRun(
        _command(stand_in, record),
        "127.0.0.1:19092",
        tmp_path,
        MODES,
        duration=0.5,
        ready_timeout=20,
        scrape_timeout=10,
    )
    result = _peer(run.command, run.bootstrap, tmp_path, MODES, 0.5)  # the harness's path
    seen = json.loads(record.read_text())
    assert seen["bootstrap"] == "127.0.0.1:19092"
    assert seen["env"] == "127.0.0.1:19092"  # a leading NAME=value word reached its environment
    assert _gone(seen["pid"])
    assert "error" not in result, result
    assert result["argv0"] == Path(sys.executable).name
    assert set(result["scrapes"]) == {"1x plain", "1x gzip", "10x gzip"}
    for mode in result["scrapes"].values():
        assert mode["count"] > 0
        assert set(mode["statuses"]) == {200}
        assert mode["p50_ms"] <= mode["p99_ms"]
        assert mode["cpu_s_per_s"] >= 0
    assert result["scrapes"]["1x gzip"]["bytes"] < result["scrapes"]["1x plain"]["bytes"]
    assert result["rss_mib"]["peak"] > 1
    assert result["rss_mib"]["idle_after"] > 1
    assert result["exit_code"] is not None

    ours = {"all": {"count": 3, "p50_ms": 1.0, "p99_ms": 2.0}, "cpu_s_per_s": 0.1}
    results = {
        "peer": run.command,
        "sizes": {
            "10x1x10": {
                "exporter": {
                    "scrape_phase": {
                        "scrapes": {"1x gzip": ours, "10x gzip": ours},
                        "peak_rss_mib_with_scrapers": 60.0,
                        "gzip_bytes": 4000,
                    },
                    "refresh_phase": {"rss_mib": {"steady": 56.0}},
                },
                "peer": result,
            }
        },
    }
    table = "\n".join(_peer_table(results))
    assert "| 10x1x10 | kafka-health-exporter |" in table
    assert f"| 10x1x10 | {Path(sys.executable).name} |" in table


def test_a_peer_that_exits_fails_with_its_output(stand_in: Path, tmp_path: Path) -> None:
    command = f"{sys.executable} {stand_in} --web.listen-address=127.0.0.1:{{port}}"
    run = PeerRun(command, "127.0.0.1:1", tmp_path, MODES, 0.2, ready_timeout=20)
    with pytest.raises(RuntimeError, match=r"(?s)peer exited with 2.*required"):
        measure_peer(run)
    assert "required" in _peer(command, "127.0.0.1:1", tmp_path, MODES, 0.2)["error"]


def test_a_peer_that_never_serves_is_reaped_after_the_timeout(tmp_path: Path) -> None:
    script = tmp_path / "silent.py"
    script.write_text(
        "import os, sys, time\nopen(sys.argv[1], 'w').write(str(os.getpid()))\ntime.sleep(60)\n"
    )
    pid_file = tmp_path / "pid"
    run = PeerRun(
        f"{sys.executable} {script} {pid_file} {{port}}",
        "b:1",
        tmp_path,
        MODES,
        0.2,
        ready_timeout=1.0,
    )
    started = time.monotonic()
    with pytest.raises(RuntimeError, match="not serving"):
        measure_peer(run)
    assert time.monotonic() - started < 15
    assert _gone(int(pid_file.read_text()))


def test_stop_kills_the_whole_group_when_sigterm_is_ignored(tmp_path: Path) -> None:
    script = tmp_path / "stubborn.py"
    script.write_text(
        "import signal, subprocess, sys, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        "open(sys.argv[1], 'w').write(str(child.pid))\n"
        "time.sleep(60)\n"
    )
    pid_file = tmp_path / "child"
    process = PeerProcess([sys.executable, str(script), str(pid_file)], 1, tmp_path / "log")
    with process:
        deadline = time.monotonic() + 10
        while not pid_file.exists() or not pid_file.read_text():
            assert time.monotonic() < deadline
            time.sleep(0.05)
        code = process.stop(timeout=0.5)
    assert code == -9
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while not _gone(child) and time.monotonic() < deadline:  # reaped by init once killed
        time.sleep(0.05)
    assert _gone(child) or _zombie(child)


def _zombie(pid: int) -> bool:
    try:
        status = subprocess.run(
            ["ps", "-o", "stat=", "-p", str(pid)], capture_output=True, text=True, timeout=5
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return status.strip().startswith("Z")


def test_fill_needs_the_port_and_splits_like_a_shell() -> None:
    assert fill("x --s={bootstrap} --l=':{port}'", "h:1", 5) == ({}, ["x", "--s=h:1", "--l=:5"])
    with pytest.raises(ValueError, match="port"):
        fill("x --s={bootstrap}", "h:1", 5)


def test_fill_takes_leading_name_value_words_as_the_environment() -> None:
    env, argv = fill("KAFKA_BROKERS={bootstrap} EXPORTER_PORT={port} /bin/km --a=B=c", "h:1", 5)
    assert env == {"KAFKA_BROKERS": "h:1", "EXPORTER_PORT": "5"}
    assert argv == ["/bin/km", "--a=B=c"]
    with pytest.raises(ValueError, match="no program"):
        fill("A={port}", "h:1", 5)
