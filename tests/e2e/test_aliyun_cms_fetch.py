"""`aliyun_cms` fetch() through the real Alibaba SDK against the local CloudMonitor server."""

from __future__ import annotations

import asyncio
import json
import random
import time
import urllib.error
import urllib.request

import pytest

from exporter.collectors.aliyun_cms import AliyunCmsCollector
from exporter.collectors.aliyun_cms.client import CmsError
from exporter.collectors.aliyun_cms.config import AliyunCmsConfig
from exporter.collectors.aliyun_cms.state import CmsState, Datapoint
from tests.support.cms_api import Scenario, make_points
from tests.support.cms_server import CmsServer


def _collector(server: CmsServer, **overrides: object) -> AliyunCmsCollector:
    raw: dict[str, object] = {
        "name": "ali",
        "type": "aliyun_cms",
        "region_id": "cn-hangzhou",
        "access_key_id": server.access_key_id,
        "access_key_secret": server.access_key_secret,
        "endpoint": server.endpoint,
        "instance_ids": ["alikafka-a", "alikafka-b"],
        "interval": 60,
        "timeout": 5,
        **overrides,
    }
    return AliyunCmsCollector(AliyunCmsConfig.model_validate(raw))


async def _refresh(collector: AliyunCmsCollector) -> CmsState:
    """fetch() the way the scheduler runs it: under the collector timeout."""
    return await asyncio.wait_for(collector.fetch(), collector.config.timeout)


async def _failure(collector: AliyunCmsCollector) -> CmsError:
    with pytest.raises(CmsError) as caught:
        await _refresh(collector)
    return caught.value


def _now_ms() -> int:
    return int(time.time() * 1000)


async def test_one_call_for_all_instances_and_the_newest_point_per_group(cms: CmsServer) -> None:
    now = _now_ms()
    points = make_points(["alikafka-a", "alikafka-b"], ["orders", "billing", "audit"], now)
    random.Random(7).shuffle(points)
    cms.points = points
    state = await _refresh(_collector(cms))

    assert state.series == {
        "message_accumulation": {
            ("alikafka-a", "audit"): Datapoint(now / 1000, 22.0),
            ("alikafka-a", "billing"): Datapoint(now / 1000, 12.0),
            ("alikafka-a", "orders"): Datapoint(now / 1000, 2.0),
            ("alikafka-b", "audit"): Datapoint(now / 1000, 100022.0),
            ("alikafka-b", "billing"): Datapoint(now / 1000, 100012.0),
            ("alikafka-b", "orders"): Datapoint(now / 1000, 100002.0),
        }
    }
    assert state.calls == 1 and state.api_calls == {"200": 1}
    (call,) = cms.calls()
    assert call.status == 200 and call.access_key_id == cms.access_key_id
    params = dict(call.params)
    start = int(params.pop("StartTime"))
    assert abs(start - (now - 180_000)) < 5_000
    assert params == {
        "Namespace": "acs_kafka",
        "MetricName": "message_accumulation",
        "Period": "60",
        "Length": "100",
        "Dimensions": '[{"instanceId":"alikafka-a"},{"instanceId":"alikafka-b"}]',
    }


async def test_pages_are_followed_until_next_token_is_empty(cms: CmsServer) -> None:
    now = _now_ms()
    groups = [f"g{n}" for n in range(5)]
    cms.points = make_points(["alikafka-a", "alikafka-b"], groups, now, per_group=2)
    state = await _refresh(_collector(cms, page_size=4))

    calls = cms.calls()
    assert len(calls) == 5 and state.calls == 5  # 20 points, 4 per page
    assert "NextToken" not in calls[0].params
    assert all(c.params["NextToken"] for c in calls[1:])
    assert len({c.params["NextToken"] for c in calls[1:]}) == 4
    series = state.series["message_accumulation"]
    assert len(series) == 10
    assert series[("alikafka-b", "g3")] == Datapoint(now / 1000, 100031.0)
    assert state.api_calls == {"200": 5}


async def test_points_with_missing_fields(cms: CmsServer) -> None:
    now = _now_ms()

    def point(ago_s: int, group: str | None, **values: object) -> dict:
        base = {"timestamp": now - ago_s * 1000, "instanceId": "alikafka-a", "userId": "1208"}
        return {**base, **({"consumerGroup": group} if group else {}), **values}

    cms.points = [
        point(0, "value-wins", Value=5, Maximum=9, Average=7),
        point(0, "maximum", Maximum=9, Average=7),
        point(0, "average", Average=7),
        point(0, "zero", Value=0, Maximum=9, Average=7),
        point(60, "newest-has-no-value", Value=3),
        point(0, "newest-has-no-value", Minimum=1),
        point(0, None, Value=1),  # no consumerGroup: not a group series
        point(120, "old", Value=1),
        point(60, "old", Value=2),
    ]
    state = await _refresh(_collector(cms, instance_ids=["alikafka-a"]))
    values = {g: p.value for (_, g), p in state.series["message_accumulation"].items()}
    assert values == {
        "value-wins": 5.0,
        "maximum": 9.0,
        "average": 7.0,
        "zero": 0.0,
        "newest-has-no-value": 3.0,
        "old": 2.0,
    }
    newest_ts = state.series["message_accumulation"][("alikafka-a", "newest-has-no-value")]
    assert newest_ts.timestamp == (now - 60_000) / 1000


async def test_groups_filter_and_skip_zero(cms: CmsServer) -> None:
    now = _now_ms()
    cms.points = make_points(["alikafka-a"], ["orders", "orders-test", "billing"], now, 1)
    cms.points.append({**cms.points[0], "consumerGroup": "idle", "Value": 0})
    collector = _collector(
        cms,
        instance_ids=["alikafka-a"],
        groups={"include": ["orders.*", "idle", "billing"], "exclude": [".*-test"]},
        skip_zero=True,
    )
    state = await _refresh(collector)
    assert sorted(g for _, g in state.series["message_accumulation"]) == ["billing"]  # orders is 0


async def test_more_than_50_instances_take_one_call_per_50(cms: CmsServer) -> None:
    instances = [f"alikafka-{n:02d}" for n in range(60)]
    cms.points = make_points(instances, ["g"], _now_ms(), per_group=1)
    state = await _refresh(_collector(cms, instance_ids=instances))
    sizes = [len(json.loads(c.params["Dimensions"])) for c in cms.calls()]
    assert sizes == [50, 10]
    assert len(state.series["message_accumulation"]) == 60


async def test_wrong_secret_is_a_signature_error_with_request_id(cms: CmsServer) -> None:
    collector = _collector(cms, access_key_secret="not-the-secret")
    error = await _failure(collector)
    assert (error.code, error.status) == ("SignatureDoesNotMatch", 400)
    assert error.message.startswith("Specified signature is not matched with our calculation.")
    (call,) = cms.calls()  # not retried
    assert call.status == 400 and error.request_id == call.request_id
    text = collector.describe_error(error)
    assert text.startswith("SignatureDoesNotMatch: Specified signature is not matched")
    assert f"(HTTP 400, RequestId {error.request_id})" in text
    assert "not-the-secret" not in text and cms.access_key_id not in text


async def test_unknown_access_key(cms: CmsServer) -> None:
    error = await _failure(_collector(cms, access_key_id="LTAI5tSomebodyElse99"))
    assert (error.code, error.status) == ("InvalidAccessKeyId.NotFound", 404)
    assert error.message == "Specified access key is not found."


async def test_unknown_metric_is_resource_not_found(cms: CmsServer) -> None:
    collector = _collector(cms, metrics=[{"cms_metric": "no_such_metric", "name": "x"}])
    error = await _failure(collector)
    assert (error.code, error.status, error.message) == (
        "ResourceNotFound",
        404,
        "The specified resource is not found.",
    )


async def test_success_false_with_http_200_is_an_error(cms: CmsServer) -> None:
    cms.scenario = Scenario(success_false=("403", "The user is not authorized."))
    error = await _failure(_collector(cms))
    assert (error.code, error.status, error.message) == ("403", 200, "The user is not authorized.")
    assert error.request_id


@pytest.mark.parametrize(
    ("status", "code"),
    [(400, "Throttling.User"), (429, "Throttling.Api"), (503, "ServiceUnavailable")],
)
async def test_throttling_then_success(cms: CmsServer, status: int, code: str) -> None:
    cms.points = make_points(["alikafka-a"], ["g"], _now_ms(), per_group=1, value=11)
    cms.scenario = Scenario(throttle=2, throttle_status=status)
    state = await _refresh(_collector(cms))
    assert [c.code for c in cms.calls()] == [code, code, "200"]
    assert state.calls == 3 and state.api_calls == {code: 2, "200": 1}
    assert state.series["message_accumulation"][("alikafka-a", "g")].value == 11.0


async def test_endless_throttling_gives_up_with_the_api_error_inside_the_timeout(
    cms: CmsServer,
) -> None:
    cms.scenario = Scenario(throttle=1000)
    error = await _failure(_collector(cms, timeout=2))
    assert (error.code, error.status) == ("Throttling.User", 400)
    assert error.message == "Request was denied due to user flow control."
    assert 2 <= len(cms.calls()) <= 4  # backoff, not a hot loop


async def test_malformed_datapoints(cms: CmsServer) -> None:
    cms.scenario = Scenario(malformed_datapoints=True)
    error = await _failure(_collector(cms))
    assert error.code == "InvalidDatapoints" and "not valid JSON" in error.message
    assert error.request_id == cms.calls()[-1].request_id


async def test_repeated_next_token_stops_paging(cms: CmsServer) -> None:
    cms.points = make_points(["alikafka-a"], [f"g{n}" for n in range(10)], _now_ms(), 1)
    cms.scenario = Scenario(repeat_token=True)
    error = await _failure(_collector(cms, page_size=3))
    assert error.code == "RepeatedNextToken"
    assert len(cms.calls()) == 2


async def test_hang_past_the_timeout_is_our_timeout_error_not_the_schedulers(
    cms: CmsServer,
) -> None:
    cms.scenario = Scenario(hang_s=30)
    collector = _collector(cms, timeout=3)
    error = await _failure(collector)  # a TimeoutError from wait_for would fail this
    assert error.code == "timeout"
    assert collector.describe_error(error).startswith("timeout: no answer from http://127.0.0.1:")


async def test_unreachable_endpoint_is_a_network_error() -> None:
    server = CmsServer()
    endpoint = server.endpoint
    server.stop()  # the port is closed now
    collector = _collector(server, endpoint=endpoint, timeout=2)
    error = await _failure(collector)
    assert error.code == "network_error" and "cannot reach" in error.message


async def test_call_counts_survive_failed_refreshes(cms: CmsServer) -> None:
    collector = _collector(cms)
    cms.scenario = Scenario(error=(403, "AccessForbidden", "User not authorized to operate."))
    await _failure(collector)
    await _failure(collector)
    cms.scenario = Scenario()
    state = await _refresh(collector)
    assert state.api_calls == {"AccessForbidden": 2, "200": 1}
    assert state.calls == 1


def test_server_rejects_unsigned_requests_with_the_api_error_shape(cms: CmsServer) -> None:
    request = urllib.request.Request(
        f"{cms.endpoint}/?Namespace=acs_kafka&MetricName=message_accumulation",
        method="POST",
        headers={"x-acs-action": "DescribeMetricList", "x-acs-version": "2019-01-01"},
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=5)
    assert caught.value.code == 400
    body = json.loads(caught.value.read())
    assert set(body) == {"RequestId", "HostId", "Code", "Message", "Recommend"}
    assert body["Code"] == "IncompleteSignature"
    assert body["Recommend"].endswith(f"requestId={body['RequestId']}")
