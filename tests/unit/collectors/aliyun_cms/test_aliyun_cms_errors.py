"""The `aliyun_cms` collector's errors: masked key ids, retryable codes, described API errors."""

from __future__ import annotations

from exporter.collectors.aliyun_cms import AliyunCmsCollector
from exporter.collectors.aliyun_cms.client import CmsError, is_retryable
from exporter.collectors.aliyun_cms.config import mask_key_id
from tests.support.aliyun_cms_inputs import KEY_ID, SECRET, cms_config


def test_mask_key_id() -> None:
    assert mask_key_id("LTAI5tExampleKeyId42") == "LTAI****"
    assert mask_key_id("short") == "****"


def test_retryable_codes() -> None:
    assert is_retryable("Throttling.User", 400)
    assert is_retryable("Throttling.Api", None)
    assert is_retryable("Whatever", 429)
    assert is_retryable("InternalError", 500)
    assert is_retryable("ServiceUnavailable", 503)
    assert not is_retryable("SignatureDoesNotMatch", 400)
    assert not is_retryable("InvalidAccessKeyId.NotFound", 404)
    assert not is_retryable("timeout", None)


def test_describe_error_has_code_message_request_id_and_no_credentials() -> None:
    collector = AliyunCmsCollector(cms_config())
    error = CmsError(
        f"Specified access key {KEY_ID} with secret {SECRET} is not found.",
        code="InvalidAccessKeyId.NotFound",
        request_id="3121AE7D-4AFF-4C25-8F1D-C8226EBB1F42",
        status=404,
    )
    text = collector.describe_error(error)
    assert text == (
        "InvalidAccessKeyId.NotFound: Specified access key LTAI**** with secret *** is not found."
        " (HTTP 404, RequestId 3121AE7D-4AFF-4C25-8F1D-C8226EBB1F42)"
    )
    assert collector.describe_error(ValueError(f"boom {SECRET}")) == "ValueError: boom ***"
