"""`aliyun_cms` against a hostile CloudMonitor: `python -m exporter run` as a subprocess and the
local server sending huge, endless, HTML and dripped answers (tests/support/cms_hostile.py), a
15 MB answer of `{}` points, negative and non-numeric values, and fields of the wrong JSON type.

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


FIFTEEN_MB = 15 * 1024 * 1024
DURATION = "kafka_health_exporter_collector_duration_seconds"
LAST_SUCCESS = "kafka_health_exporter_collector_last_success_timestamp_seconds"
INVALID = "aliyun_cms_datapoints_invalid_total"


def _peak_rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    line = next(x for x in status.splitlines() if x.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def _tree(pid: int) -> list[int]:
    """`pid` and its descendants (the collector processes under the fork server)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int(
                    (entry / "stat").read_text().rsplit(")", 1)[1].split()[1]
                )
            except (OSError, ValueError, IndexError):
                continue
    found, todo = [pid], [pid]
    while todo:
        parent = todo.pop()
        children = [child for child, of in parents.items() if of == parent]
        found += children
        todo += children
    return found


def _tree_peak_rss_mb(exporter: ExporterProcess) -> float:
    """The highest peak RSS (VmHWM) of the server and any process under it."""
    assert exporter.process is not None
    peaks = []
    for pid in _tree(exporter.process.pid):
        try:
            peaks.append(_peak_rss_mb(pid))
        except (OSError, StopIteration):  # gone, or a zombie without memory lines
            continue
    return max(peaks)


def _refreshes_failing(exporter: ExporterProcess, cms: CmsServer, count: int) -> str:
    """Wait for `count` answered calls and a failed refresh; `/live` stays fast meanwhile."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert _live_ms(exporter) < 500
        error = _last_error(exporter)
        if error and len(cms.calls()) >= count:
            return error
        time.sleep(0.2)
    raise AssertionError(f"no failed refresh: {exporter.log()[-2000:]}")


@pytest.mark.parametrize("isolation", ["thread", "process"])
@pytest.mark.parametrize(
    ("escaped", "expected"),
    [
        (False, "the answer holds 5242881 JSON objects; the limit is 100000 per reply"),
        (True, "Datapoints of one answer holds more than 100000 points (the limit per reply)"),
    ],
)
def test_a_15mb_reply_of_empty_datapoints_costs_bounded_memory_and_time(
    cms: CmsServer, tmp_path: Path, escaped: bool, expected: str, isolation: str
) -> None:
    # 15 MB (under the 16 MiB byte cap) of `{}`: 5 million points, or 1.2 million written as
    # `\u007b}\u002c`, which a scan of the bytes does not see and only the decoder's count stops
    cms.escape_points = escaped
    n = FIFTEEN_MB // (13 if escaped else 3)
    cms.scenario.datapoints = "[" + ",".join(["{}"] * n) + "]"
    now = int(time.time() * 1000) - 60_000
    with CmsServer() as healthy:
        healthy.points = [
            {"timestamp": now, "instanceId": "alikafka-a", "consumerGroup": "g", "Value": 1}
        ]
        text = (
            f"server: {{collector_isolation: {isolation}}}\n"
            + _config(cms, interval="4s", timeout="3s")
            + _config(healthy, timeout="800ms")
            .split("collectors:\n", 1)[1]
            .replace("name: ali", "name: ok")
        )
        with ExporterProcess(text, tmp_path) as exporter:
            before = _tree_peak_rss_mb(exporter)
            deadline = time.monotonic() + 30
            error, oldest, live = "", 0.0, 0.0
            while not (error and len(cms.calls()) >= 2) and time.monotonic() < deadline:
                live = max(live, _live_ms(exporter))
                m = exporter.metrics()
                last = value(m, LAST_SUCCESS, collector="ok")
                if last is not None:
                    oldest = max(oldest, time.time() - last)
                error = _last_error(exporter)
                time.sleep(0.2)
            peak = _tree_peak_rss_mb(exporter)
            duration = value(exporter.metrics(), DURATION, collector="ali")
            log = exporter.log()
        print(f"15 MB of {{}} ({isolation}, escaped {escaped}): peak rss {before:.0f} MB before,"
              f" {peak:.0f} MB after; refresh {duration}s; healthy collector's success at most"
              f" {oldest:.1f}s old; /live max {live:.0f} ms; {error}")  # fmt: skip
        assert peak < 400
        assert error.startswith("invalid_response: ") and expected in error, log[-2000:]
        assert duration is not None and duration < 3.0  # the timeout holds: our error, in time
        assert expected in log and "timed out" not in log and "Traceback" not in log
        assert live < 500
        assert 0 < oldest < 1.0 + 0.8 + 0.5  # interval + timeout (+ the sampling's own delay)


def test_negative_and_non_numeric_values_are_dropped_and_counted(
    cms: CmsServer, tmp_path: Path
) -> None:
    now = int(time.time() * 1000) - 60_000

    def point(group: str, value: object) -> dict[str, object]:
        return {"timestamp": now, "instanceId": "alikafka-a", "consumerGroup": group,
                "Value": value}  # fmt: skip

    cms.points = [point("neg", -5), point("text", "lots"), point("nan", "NaN"), point("ok", 3)]
    with ExporterProcess(_config(cms, interval="60s"), tmp_path) as exporter:
        exporter.wait_ready()
        m = exporter.metrics()
        assert value(m, ACC, instance_id="alikafka-a", consumer_group="ok") == 3
        for group in ("neg", "text", "nan"):
            assert value(m, ACC, instance_id="alikafka-a", consumer_group=group) is None, group
        counts = {
            reason: value(m, INVALID, collector="ali", metric="message_accumulation", reason=reason)
            for reason in ("negative", "not_a_number", "not_finite", "missing_label")
        }
        assert counts == {"negative": 1, "not_a_number": 1, "not_finite": 1, "missing_label": 0}


@pytest.mark.parametrize(
    ("fields", "datapoints", "expected"),
    [
        ({"Datapoints": 5}, None, "Datapoints is a JSON number, expected a string or array"),
        ({}, "[5]", "Datapoints[0] is a JSON number, expected an object"),
        (
            {},
            '[{"timestamp": 1, "instanceId": "alikafka-a", "consumerGroup": ["g"], "Value": 1}]',
            "Datapoints[0].consumerGroup is a JSON array, expected a string",
        ),
        ({"NextToken": ["t"]}, "[]", "NextToken is a JSON array, expected a string"),
        ({"Code": {"x": 1}}, "[]", "Code is a JSON object, expected a string or number"),
    ],
)
def test_a_wrong_json_type_is_invalid_response_naming_the_field(
    cms: CmsServer, tmp_path: Path, fields: dict[str, object], datapoints: str | None,
    expected: str,
) -> None:  # fmt: skip
    cms.fields = fields
    cms.scenario.datapoints = datapoints
    with ExporterProcess(_config(cms, interval="2s"), tmp_path) as exporter:
        error = _refreshes_failing(exporter, cms, 1)
        assert error.startswith("invalid_response: ") and expected in error, error
        log = exporter.log()
        assert expected in log and "TypeError" not in log and "Traceback" not in log


def test_a_refresh_decodes_at_most_max_datapoints(cms: CmsServer, tmp_path: Path) -> None:
    now = int(time.time() * 1000) - 60_000
    cms.points = [
        {"timestamp": now, "instanceId": "alikafka-a", "consumerGroup": f"g{n}", "Value": n}
        for n in range(2000)
    ]
    extra = "    page_size: 1440\n    max_datapoints: 1500\n"
    with ExporterProcess(
        _config(cms, extra, interval="2s", timeout="1500ms"), tmp_path
    ) as exporter:
        error = _refreshes_failing(exporter, cms, 2)
        assert error.startswith("invalid_response: "), error
        assert "this refresh decoded more than max_datapoints (1500) points" in error
