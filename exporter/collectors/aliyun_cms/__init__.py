"""The `aliyun_cms` collector kind: ApsaraMQ for Kafka consumer backlog from CloudMonitor.

`client` makes one DescribeMetricList call through the SDK, `pager` pages and retries a refresh,
`datapoints` keeps the newest point per series into a `state.CmsState`, `metrics` makes the
families; `collector` runs them. `config` imports no client library: `AliyunCmsCollector` is
imported from `collector` on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from exporter.collectors.registry import lazy_attribute

if TYPE_CHECKING:
    from exporter.collectors.aliyun_cms.collector import AliyunCmsCollector

__all__ = ["AliyunCmsCollector"]
__getattr__ = lazy_attribute(
    __name__, "AliyunCmsCollector", "exporter.collectors.aliyun_cms.collector"
)
