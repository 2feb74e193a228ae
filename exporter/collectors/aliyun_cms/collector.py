"""The `aliyun_cms` collector: one paged CloudMonitor read per refresh."""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client.core import Metric

from exporter.collectors.aliyun_cms.client import CmsClient, CmsError
from exporter.collectors.aliyun_cms.config import AliyunCmsConfig
from exporter.collectors.aliyun_cms.metrics import CATALOGUE, to_metrics
from exporter.collectors.aliyun_cms.pager import CallCounter, MetricReader
from exporter.collectors.aliyun_cms.state import CmsState
from exporter.collectors.base import Collector


class AliyunCmsCollector(Collector[AliyunCmsConfig, CmsState]):
    """Pages DescribeMetricList (namespace acs_kafka) and exports the newest point per group."""

    config_model = AliyunCmsConfig
    catalogue = CATALOGUE

    def __init__(self, config: AliyunCmsConfig) -> None:
        super().__init__(config)
        self._calls = CallCounter()
        self._client = CmsClient(config)
        self._reader = MetricReader(config, self._client, self._calls)

    async def fetch(self) -> CmsState:
        """One refresh of every configured metric and instance."""
        return await self._reader.read()

    async def close(self) -> None:
        """Close the client's pooled connections."""
        self._client.close()
        await super().close()

    def to_metrics(self, fetched: CmsState) -> Sequence[Metric]:
        """Backlog, datapoint timestamps and API call counts."""
        return to_metrics(fetched, self.config)

    def describe_error(self, exc: BaseException) -> str:
        """API code, message, HTTP status and RequestId; credentials never appear."""
        text = str(exc) if isinstance(exc, CmsError) else super().describe_error(exc)
        return self._scrub(text)

    def _scrub(self, text: str) -> str:
        secret = self.config.access_key_secret.get_secret_value()
        if secret:
            text = text.replace(secret, "***")
        return text.replace(self.config.access_key_id, self.config.masked_key_id)
