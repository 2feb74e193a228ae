"""`max_response_bytes`: 64 MiB by default; a value out of 1 KiB-1 GiB is refused naming the
file, the key and the value."""

from __future__ import annotations

import pytest

from exporter.config.loader import parse_config
from exporter.schema.errors import ConfigError

CONFIG = """
collectors:
  - name: k
    type: kafka
    bootstrap_servers: k:9092
{extra}
"""


def test_the_default_is_64_mib() -> None:
    config = parse_config(CONFIG.format(extra=""), "cfg.yaml", {})
    assert config.collectors[0].max_response_bytes == 64 * 1024 * 1024


@pytest.mark.parametrize("bad", [0, -1, 1023, 2**30 + 1, "'lots'"])
def test_a_value_out_of_range_names_file_key_and_value(bad: object) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(CONFIG.format(extra=f"    max_response_bytes: {bad}"), "cfg.yaml", {})
    text = "\n".join(caught.value.problems)
    assert "cfg.yaml" in str(caught.value) or "cfg.yaml" in text
    assert f"collectors[0].max_response_bytes: invalid value {bad}" in text, text
