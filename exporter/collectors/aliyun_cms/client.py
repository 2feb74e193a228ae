"""One DescribeMetricList call through the official SDK, with its failures turned into CmsError.

The SDK (`alibabacloud-cms20190101`) is synchronous: `describe_page` blocks and is meant to run in
a worker thread. The SDK's own retries are off; the pager retries with its own deadline. It is
imported when the first client is built (about 27 MB), so daemons without this kind never load it.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from exporter import __version__
from exporter.collectors.aliyun_cms.config import (
    MAX_DATAPOINTS_PER_REPLY,
    NAMESPACE,
    PERIOD_S,
    AliyunCmsConfig,
)
from exporter.collectors.aliyun_cms.transport import (
    CallAborted,
    CallGuard,
    InvalidResponse,
    ResponseTooLarge,
    TooManyValues,
    bounded_call,
    new_session,
)
from exporter.schema.json_types import json_type

if TYPE_CHECKING:
    from alibabacloud_tea_openapi.exceptions import AlibabaCloudException
    from Tea.exceptions import TeaException

_ERRNO_REASON = re.compile(r"\[Errno -?\d+\] ([^'\")]+)")


class CmsError(Exception):
    """A CloudMonitor call failed or answered something unusable.

    `code` is the API's error code (`Throttling.User`, `SignatureDoesNotMatch`, ...) or one of
    ours (`timeout`, `network_error`, `invalid_response`, `InvalidDatapoints`, `RepeatedNextToken`).
    """

    def __init__(
        self,
        message: str,
        *,
        code: str,
        request_id: str = "",
        status: int | None = None,
        retryable: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.request_id = request_id
        self.status = status
        self.retryable = retryable

    def __str__(self) -> str:
        details = [f"HTTP {self.status}"] if self.status is not None else []
        if self.request_id:
            details.append(f"RequestId {self.request_id}")
        suffix = f" ({', '.join(details)})" if details else ""
        return f"{self.code}: {self.message or 'no message'}{suffix}"


def is_retryable(code: str, status: int | None) -> bool:
    """Throttling codes, HTTP 429 and 5xx are worth another try; everything else is not."""
    return code.startswith("Throttling") or status == 429 or (status is not None and status >= 500)


@dataclass(frozen=True)
class ResultPage:
    """One successful DescribeMetricList answer: one page of points, and the token of the next."""

    datapoints: str | None
    next_token: str | None
    request_id: str
    code: str


@dataclass(frozen=True)
class PageRequest:
    """What one call asks for."""

    metric: str
    dimensions: str
    start_ms: int
    page_size: int
    next_token: str | None = None


class CmsClient:
    """The SDK client for one collector, configured from its endpoint and keys."""

    def __init__(self, config: AliyunCmsConfig) -> None:
        from alibabacloud_cms20190101.client import Client
        from alibabacloud_tea_openapi.utils_models import Config

        self.endpoint = f"{config.api_protocol}://{config.api_endpoint}"
        self.max_response_bytes = config.max_response_bytes
        self._session = new_session()
        self._sdk = Client(
            Config(
                access_key_id=config.access_key_id,
                access_key_secret=config.access_key_secret.get_secret_value(),
                region_id=config.region_id,
                endpoint=config.api_endpoint,
                protocol=config.api_protocol,
                user_agent=f"kafka-health-exporter/{__version__}",
            )
        )

    def new_guard(self) -> CallGuard:
        """The bounds of one call: `abort()` it to end the call's I/O from another thread."""
        return CallGuard(self.max_response_bytes, MAX_DATAPOINTS_PER_REPLY)

    def close(self) -> None:
        """Close the pooled connections."""
        self._session.close()

    def describe_page(
        self, request: PageRequest, timeout_s: float, guard: CallGuard | None = None
    ) -> ResultPage:
        """Make one call, all of it (connect, headers, body) within `timeout_s`. Raises CmsError.

        The answer is read up to `max_response_bytes`; at `timeout_s` (or `guard.abort()`) the
        connection is shut down, so no read outlives the call.
        """
        from alibabacloud_cms20190101.models import DescribeMetricListRequest
        from alibabacloud_tea_openapi.exceptions import AlibabaCloudException
        from darabonba.runtime import RuntimeOptions
        from Tea.exceptions import TeaException

        sdk_request = DescribeMetricListRequest(
            namespace=NAMESPACE,
            metric_name=request.metric,
            period=str(PERIOD_S),
            length=str(request.page_size),
            dimensions=request.dimensions,
            start_time=str(request.start_ms),
            next_token=request.next_token,
        )
        millis = max(int(timeout_s * 1000), 1)
        runtime = RuntimeOptions(read_timeout=millis, connect_timeout=min(millis, 5000))
        guard = guard or self.new_guard()
        watchdog = threading.Timer(timeout_s, guard.abort)
        watchdog.daemon = True
        watchdog.start()
        try:
            with bounded_call(self._session, guard):
                response = self._sdk.describe_metric_list_with_options(sdk_request, runtime)
        except AlibabaCloudException as exc:
            raise _api_error(exc) from None
        except TeaException as exc:
            raise self._transport_error(exc, timeout_s) from None
        finally:
            watchdog.cancel()
        body = response.body
        if body is not None:
            _check_types(body, response.status_code)
        code = str(body.code or "200") if body is not None else ""
        request_id = str(body.request_id or "") if body is not None else ""
        if body is None or body.success is False:
            message = (body.message if body is not None else None) or "Success: false"
            raise CmsError(
                message,
                code=code or "Success:false",
                request_id=request_id,
                status=response.status_code,
                retryable=is_retryable(code, None),
            )
        return ResultPage(body.datapoints, body.next_token or None, request_id, code)

    def _transport_error(self, exc: TeaException, timeout_s: float) -> CmsError:
        inner = getattr(exc, "inner_exception", None) or exc
        text = str(getattr(inner, "message", None) or inner)
        if isinstance(inner, ResponseTooLarge | TooManyValues):
            return CmsError(str(inner), code="invalid_response")
        if isinstance(inner, InvalidResponse):
            return CmsError(
                text[:300],
                code="invalid_response",
                status=inner.status,
                retryable=inner.status >= 500,
            )
        if isinstance(inner, CallAborted):
            return CmsError(
                f"no answer from {self.endpoint} within {timeout_s:.1f}s", code="timeout"
            )
        if isinstance(inner, ValueError):
            return CmsError(f"the answer is not valid JSON: {text[:200]}", code="invalid_response")
        if "timed out" in text.lower():
            return CmsError(
                f"no answer from {self.endpoint} within {timeout_s:.1f}s", code="timeout"
            )
        match = _ERRNO_REASON.search(text)
        reason = match.group(1).strip() if match else text[:200]
        return CmsError(
            f"cannot reach {self.endpoint}: {reason}", code="network_error", retryable=True
        )


_FIELD_TYPES: tuple[tuple[str, str, tuple[type, ...]], ...] = (
    ("request_id", "RequestId", (str,)),
    ("code", "Code", (str, int)),
    ("success", "Success", (bool,)),
    ("message", "Message", (str,)),
    ("next_token", "NextToken", (str,)),
    ("datapoints", "Datapoints", (str, list)),
    ("period", "Period", (str, int)),
)
"""(model attribute, JSON field, accepted types) of a DescribeMetricList answer; null is fine."""
_TYPE_NAMES = {str: "string", int: "number", bool: "boolean", list: "array"}


def _check_types(body: object, status: int | None) -> None:
    """A field of the wrong JSON type (a NextToken array, a Code object) is `invalid_response`
    naming the field, not a TypeError later or a label value made of a dict."""
    request_id = getattr(body, "request_id", None)
    request_id = request_id if isinstance(request_id, str) else ""
    for attribute, field, types in _FIELD_TYPES:
        value = getattr(body, attribute, None)
        if value is None:
            continue
        wrong = isinstance(value, bool) and bool not in types  # True is an int to Python
        if wrong or not isinstance(value, types):
            expected = " or ".join(_TYPE_NAMES[t] for t in types)
            raise CmsError(
                f"{field} is a JSON {json_type(value)}, expected a {expected}",
                code="invalid_response",
                request_id=request_id,
                status=status,
            )


def _api_error(exc: AlibabaCloudException) -> CmsError:
    data = exc.data if isinstance(exc.data, dict) else {}
    status = exc.status_code if isinstance(exc.status_code, int) else data.get("statusCode")
    code = str(data.get("Code") or data.get("code") or f"HTTP{status}")
    message = " ".join(str(data.get("Message") or data.get("message") or "").split())[:300]
    request_id = str(data.get("RequestId") or data.get("requestId") or "")
    return CmsError(
        message,
        code=code,
        request_id=request_id,
        status=status,
        retryable=is_retryable(code, status),
    )
