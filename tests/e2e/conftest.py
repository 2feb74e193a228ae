"""Fixtures the end-to-end tests share beyond the brokers of tests/conftest.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.cms_server import CmsServer


@pytest.fixture
def cms() -> Iterator[CmsServer]:
    """A CloudMonitor server of the test's own."""
    server = CmsServer().start()
    try:
        yield server
    finally:
        server.stop()
