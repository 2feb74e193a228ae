"""Shared fixtures: a real Tansu broker, free ports, and the exporter as a subprocess."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from exporter.demo.broker import TansuBroker


@pytest.fixture(scope="session")
def broker() -> Iterator[TansuBroker]:
    """One Tansu broker for the whole session; tests use unique topic and group names."""
    tansu = TansuBroker().start()
    try:
        yield tansu
    finally:
        tansu.stop()


@pytest.fixture
def own_broker() -> Iterator[TansuBroker]:
    """A broker of the test's own, for tests that stop and restart it."""
    tansu = TansuBroker().start()
    try:
        yield tansu
    finally:
        tansu.stop()
