"""The problems `parse_config` reports for a config text, for tests of its messages."""

from __future__ import annotations

import pytest

from exporter.config.loader import parse_config
from exporter.schema.errors import ConfigError


def config_problems(text: str, env: dict[str, str] | None = None) -> list[str]:
    """The problems of `text` (as file c.yaml, with `env` for ${VAR}); fails when it parses."""
    with pytest.raises(ConfigError) as info:
        parse_config(text, "c.yaml", env or {})
    return info.value.problems
