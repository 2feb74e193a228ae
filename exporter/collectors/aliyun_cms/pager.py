"""One refresh: every configured metric, instances in batches of 50, pages followed by NextToken.

Calls run in a worker thread under one deadline a little shorter than the collector timeout;
throttling, HTTP 429 and 5xx are retried with backoff while time remains. Every call is counted
by result code in the collector's CallCounter.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

from exporter.collectors.aliyun_cms.client import CmsClient, CmsError, PageRequest, ResultPage
from exporter.collectors.aliyun_cms.config import (
    MAX_DATAPOINTS_PER_REPLY,
    MAX_INSTANCES_PER_CALL,
    AliyunCmsConfig,
)
from exporter.collectors.aliyun_cms.datapoints import (
    MalformedDatapoints,
    TooManyDatapoints,
    iter_datapoints,
    merge_newest,
    select,
)
from exporter.collectors.aliyun_cms.state import CmsState, Datapoint, SeriesKey

log = logging.getLogger(__name__)

MIN_CALL_S = 0.2
"""Do not start a call (or a retry) with less time than this left."""


class CallCounter:
    """API calls by result code since the collector started (one per collector instance)."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}

    def add(self, code: str) -> None:
        """Count one call that ended with `code`."""
        self._counts[code] = self._counts.get(code, 0) + 1

    def snapshot(self) -> dict[str, int]:
        """A copy of the counts."""
        return dict(self._counts)


def backoff_s(attempt: int) -> float:
    """Exponential backoff with jitter: about 0.5 s, 1 s, 2 s, then 4 s."""
    return min(4.0, 0.5 * 2**attempt) * random.uniform(0.8, 1.2)


def dimensions(instances: list[str]) -> str:
    """The `Dimensions` JSON for a batch of instances: a list of {"instanceId": ...} objects."""
    return json.dumps([{"instanceId": i} for i in instances], separators=(",", ":"))


def batches(items: list[str], size: int = MAX_INSTANCES_PER_CALL) -> Iterator[list[str]]:
    """`items` in consecutive chunks of at most `size`."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _counting(points: Iterator[dict[str, Any]], counted: list[int]) -> Iterator[dict[str, Any]]:
    for point in points:
        counted[0] += 1
        yield point


class MetricReader:
    """Reads the configured metrics of one collector; `read()` is one refresh."""

    def __init__(
        self,
        config: AliyunCmsConfig,
        client: CmsClient,
        counter: CallCounter,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self._client = client
        self._counter = counter
        self._clock = clock
        self.invalid: Counter[tuple[str, str]] = Counter()
        """(cms_metric, reason) -> points dropped as invalid since start (all refreshes)."""

    @property
    def budget_s(self) -> float:
        """Time a refresh may use: the timeout minus a margin, so our error comes first."""
        timeout = self.config.timeout
        return timeout - min(1.0, 0.1 * timeout)

    async def read(self) -> CmsState:
        """All metrics of all configured instances, newest point per series."""
        deadline = time.monotonic() + self.budget_s
        start_ms = int((self._clock() - self.config.lookback) * 1000)
        calls = 0
        decoded = [0]  # points decoded by this refresh, all pages of all metrics
        series: dict[str, dict[SeriesKey, Datapoint]] = {}
        for metric in self.config.metrics:
            newest: dict[SeriesKey, Datapoint] = {}
            for batch in batches(self.config.instance_ids):
                request = PageRequest(
                    metric.cms_metric, dimensions(batch), start_ms, self.config.page_size
                )
                calls += await self._read_pages(request, newest, deadline, decoded)
            series[metric.cms_metric] = select(
                newest, self.config.instance_ids, self.config.groups, self.config.skip_zero
            )
        return CmsState(series, self._counter.snapshot(), calls, self.invalid_snapshot())

    def invalid_snapshot(self) -> dict[tuple[str, str], int]:
        """A copy of the invalid point counts."""
        return dict(self.invalid)

    async def _read_pages(
        self,
        request: PageRequest,
        newest: dict[SeriesKey, Datapoint],
        deadline: float,
        decoded: list[int],
    ) -> int:
        seen: set[str] = set()
        calls = 0
        while True:
            page, attempts = await self._call(request, deadline)
            calls += attempts
            await self._fold(request.metric, page, newest, deadline, decoded)
            if not page.next_token:
                return calls
            if page.next_token in seen:
                raise CmsError(
                    f"NextToken {page.next_token[:40]!r} came back a second time; stopped paging",
                    code="RepeatedNextToken",
                    request_id=page.request_id,
                    status=200,
                )
            seen.add(page.next_token)
            request = replace(request, next_token=page.next_token)

    async def _fold(
        self,
        metric: str,
        page: ResultPage,
        newest: dict[SeriesKey, Datapoint],
        deadline: float,
        decoded: list[int],
    ) -> None:
        """Decode one page's points into `newest` in a worker thread, within the deadline and
        the count limits (per reply, and `max_datapoints` per refresh)."""
        left = self.config.max_datapoints - decoded[0]
        limit = min(MAX_DATAPOINTS_PER_REPLY, left)
        invalid: Counter[str] = Counter()
        counted = [0]
        fold_timed_out = False

        def fold() -> int:
            points = iter_datapoints(page.datapoints, limit, deadline)
            return merge_newest(newest, _counting(points, counted), invalid)

        try:
            dropped = await asyncio.wait_for(
                asyncio.to_thread(fold), max(deadline - time.monotonic(), 0) + 0.5
            )
        except asyncio.TimeoutError:
            fold_timed_out = True
            raise CmsError(
                f"the points of a DescribeMetricList answer were not decoded within"
                f" {self.budget_s:.1f}s",
                code="timeout",
                request_id=page.request_id,
            ) from None
        except MalformedDatapoints as exc:
            message = str(exc)
            if isinstance(exc, TooManyDatapoints) and left < MAX_DATAPOINTS_PER_REPLY:
                message = (
                    f"this refresh decoded more than max_datapoints ({self.config.max_datapoints})"
                    " points"
                )
            elif isinstance(exc, TooManyDatapoints):
                message = (
                    f"Datapoints of one answer holds more than {MAX_DATAPOINTS_PER_REPLY} points"
                    " (the limit per reply)"
                )
            raise CmsError(message, code=exc.code, request_id=page.request_id, status=200) from None
        finally:
            if not fold_timed_out:  # else the thread may still be counting (it ends by itself)
                self._count_invalid(metric, invalid)
        decoded[0] += counted[0]
        if dropped:
            log.debug(
                "collector %s: dropped %d invalid points of %s (%s; RequestId %s)",
                self.config.name,
                dropped,
                metric,
                ", ".join(f"{reason} {n}" for reason, n in sorted(invalid.items())),
                page.request_id,
            )

    def _count_invalid(self, metric: str, invalid: Counter[str]) -> None:
        for reason, count in invalid.items():
            self.invalid[(metric, reason)] += count

    async def _call(self, request: PageRequest, deadline: float) -> tuple[ResultPage, int]:
        """One page, retried on throttling/429/5xx while time remains; returns (page, attempts)."""
        attempt = 0
        while True:
            remaining = deadline - time.monotonic()
            if remaining < MIN_CALL_S:
                raise CmsError(
                    f"no time left for DescribeMetricList within {self.budget_s:.1f}s",
                    code="timeout",
                )
            attempt += 1
            guard = self._client.new_guard()
            try:
                page = await asyncio.wait_for(
                    asyncio.to_thread(self._client.describe_page, request, remaining, guard),
                    remaining + 0.5,
                )
            except asyncio.CancelledError:
                guard.abort()  # the refresh was cancelled: end the thread's I/O now
                raise
            except asyncio.TimeoutError:
                guard.abort()
                self._counter.add("timeout")
                raise CmsError(
                    f"no answer from {self._client.endpoint} within {remaining:.1f}s",
                    code="timeout",
                ) from None
            except CmsError as exc:
                self._counter.add(exc.code)
                delay = backoff_s(attempt - 1)
                if not exc.retryable or deadline - time.monotonic() < delay + MIN_CALL_S:
                    raise
                log.warning(
                    "collector %s: DescribeMetricList failed (%s); retry %d in %.1fs",
                    self.config.name,
                    exc,
                    attempt,
                    delay,
                    extra={"collector": self.config.name},
                )
                await asyncio.sleep(delay)
                continue
            self._counter.add(page.code or "200")
            return page, attempt
