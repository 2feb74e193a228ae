"""`aliyun_cms` against a hostile CloudMonitor: `python -m exporter run` as a subprocess and the
local server sending huge, endless, HTML and dripped answers (tests/support/cms_hostile.py).

Each test asserts the bound (memory, error kind, time to recover) and that `/live` keeps
answering while the attack runs.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.support.cms_server import CmsServer
from tests.support.exporter_process import ExporterProcess, value, wait_for

ACC = "kafka_consumer_message_accumulation"
RSS_LIMIT_MB = 250


def _config(cms: CmsServer, extra: str = "", interval: str = "1s", timeout: str = "800ms") -> str:
    return f"""
collectors:
  - name: ali
    type: aliyun_cms
    interval: {interval}
    timeout: {timeout}
    region_id: cn-hangzhou
    access_key_id: {cms.access_key_id}
    access_key_secret: {cms.access_key_secret}
    endpoint: {cms.endpoint}
    instance_ids: ["alikafka-a"]
{extra}"""


def _rss_mb(exporter: ExporterProcess) -> float:
    assert exporter.process is not None
    status = Path(f"/proc/{exporter.process.pid}/status").read_text()
    line = next(x for x in status.splitlines() if x.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def _last_error(exporter: ExporterProcess) -> str:
    _, body = exporter.get("/ready")
    return str(json.loads(body)["collectors"]["ali"]["last_error"] or "")


def _live_ms(exporter: ExporterProcess) -> float:
    started = time.monotonic()
    status, _ = exporter.get("/live", timeout=2)
    assert status == 200
    return (time.monotonic() - started) * 1000


@pytest.mark.parametrize(
    ("body", "limit", "expected"),
    [
        ("huge", "", "declares 209715200 bytes; the limit is 16777216 bytes"),
        ("chunked", "    max_response_bytes: 1048576\n", "the limit is 1048576 bytes"),
        ("html", "", "not JSON (text/html)"),
    ],
)
def test_oversized_and_html_answers_are_invalid_response(
    cms: CmsServer, tmp_path: Path, body: str, limit: str, expected: str
) -> None:
    cms.scenario.body = body
    with ExporterProcess(_config(cms, limit), tmp_path) as exporter:
        deadline = time.monotonic() + 20
        errors: list[str] = []
        live: list[float] = []
        while len(errors) < 3 and time.monotonic() < deadline:  # three failed refreshes
            live.append(_live_ms(exporter))
            error = _last_error(exporter)
            if error and (not errors or error != errors[-1] or cms.drips.started > len(errors)):
                errors.append(error)
            time.sleep(0.3)
        rss = _rss_mb(exporter)
        print(f"{body}: errors {errors[:1]}, rss {rss:.0f} MB, /live max {max(live):.0f} ms")
        assert errors, exporter.log()[-2000:]
        assert errors[-1].startswith("invalid_response: "), errors
        assert expected in errors[-1]
        assert rss < RSS_LIMIT_MB
        assert max(live) < 1000
        assert "Traceback" not in exporter.log()
        wait_for(lambda: cms.drips.active == 0, 5, what="the client closed every answer")


def test_a_dripping_server_times_out_and_recovery_is_within_two_intervals(
    cms: CmsServer, tmp_path: Path
) -> None:
    now = int(time.time() * 1000) - 60_000
    cms.points = [{"timestamp": now, "instanceId": "alikafka-a", "consumerGroup": "g", "Value": 7}]
    cms.scenario.body = "drip"
    cms.scenario.drip_s = 0.5
    with ExporterProcess(_config(cms, interval="2s", timeout="1500ms"), tmp_path) as exporter:
        wait_for(lambda: _last_error(exporter).startswith("timeout: "), 10, what="a timeout")
        attack_end = time.monotonic() + 4
        while time.monotonic() < attack_end:  # several timed-out refreshes while we probe
            assert _live_ms(exporter) < 1000
            time.sleep(0.2)
        started = cms.drips.started
        # every abandoned call's connection is closed by the exporter, not left reading
        wait_for(lambda: cms.drips.active <= 1, 3, what="abandoned drips closed")
        cms.scenario.body = ""
        recovered = time.monotonic()
        wait_for(lambda: exporter.get("/ready")[0] == 200, 5, 0.1, what="recovery")
        took = time.monotonic() - recovered
        print(f"drip: {started} dripped calls, recovered {took:.1f}s after the server did")
        assert took < 2 * 2.0  # within two intervals of the server's recovery
        assert value(exporter.metrics(), ACC, instance_id="alikafka-a", consumer_group="g") == 7
        wait_for(lambda: cms.drips.active == 0, 3, what="no drip left reading")


def test_a_non_finite_datapoint_is_dropped(cms: CmsServer, tmp_path: Path) -> None:
    now = int(time.time() * 1000) - 60_000
    cms.scenario.datapoints = (
        f'[{{"timestamp": {now}, "instanceId": "alikafka-a", "consumerGroup": "inf",'
        f' "Value": 1e400}}, {{"timestamp": {now}, "instanceId": "alikafka-a",'
        f' "consumerGroup": "ok", "Value": 5}}]'
    )
    with ExporterProcess(_config(cms), tmp_path) as exporter:
        exporter.wait_ready()
        _, text = exporter.get("/metrics")
        m = exporter.metrics()
        assert value(m, ACC, instance_id="alikafka-a", consumer_group="ok") == 5
        assert value(m, ACC, instance_id="alikafka-a", consumer_group="inf") is None
        assert b"+Inf" not in text and b'inf"' not in text
