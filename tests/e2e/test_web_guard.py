"""The web guard (users, rate limit, headers, open paths) in front of a real aiohttp server on
127.0.0.1, and bcrypt checked for unknown users too (no user enumeration)."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from exporter.cli.demo.processes import free_port
from exporter.exposition.self_metrics import DaemonCounters
from exporter.web.auth import WebGuard, parse_basic
from exporter.web.config import WebSettings, parse_web_config
from tests.support.basic_auth import HASH, PASSWORD, basic


@pytest.fixture
async def guarded() -> AsyncIterator[tuple[str, WebGuard, DaemonCounters]]:
    """A real aiohttp server on 127.0.0.1 behind a WebGuard with users and a rate limit."""
    text = (
        f"basic_auth_users: {{prometheus: '{HASH}'}}\n"
        "rate_limit: {interval: 1h, burst: 3}\n"
        "http_server_config: {headers: {X-Content-Type-Options: nosniff}}\n"
    )
    counters = DaemonCounters()
    guard = WebGuard(
        WebSettings("web.yml", parse_web_config(text, "web.yml"), None), ["/live"], counters
    )
    app = web.Application(middlewares=[guard.middleware])

    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app.router.add_get("/live", ok)
    app.router.add_get("/metrics", ok)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}", guard, counters
    finally:
        await runner.cleanup()


async def test_rate_limit_headers_and_open_paths(
    guarded: tuple[str, WebGuard, DaemonCounters],
) -> None:
    url, guard, counters = guarded
    auth = {"Authorization": basic("prometheus", PASSWORD)}
    async with aiohttp.ClientSession() as session:
        for _ in range(3):
            async with session.get(url + "/metrics", headers=auth) as response:
                assert response.status == 200
                assert response.headers["X-Content-Type-Options"] == "nosniff"
        async with session.get(url + "/metrics", headers=auth) as response:
            assert response.status == 429  # the bucket of 3 is empty, refilled once an hour
        for _ in range(5):  # probes are neither limited nor authenticated
            async with session.get(url + "/live") as response:
                assert response.status == 200
        async with session.get(url + "/nothing-here") as response:
            assert response.status == 429
            assert response.headers["X-Content-Type-Options"] == "nosniff"
    # a reload swaps users and limits
    guard.update(WebSettings("web.yml", parse_web_config("", "web.yml"), None), ["/live"])
    async with aiohttp.ClientSession() as session, session.get(url + "/metrics") as response:
        assert response.status == 200
    async with aiohttp.ClientSession() as session, session.get(url + "/nothing-here") as response:
        assert response.status == 404
        assert "X-Content-Type-Options" not in response.headers
    assert sum(counters.auth_failures.values()) == 0


async def test_unknown_user_pays_bcrypt_like_a_known_one(
    guarded: tuple[str, WebGuard, DaemonCounters],
) -> None:
    """No user enumeration: an unknown user is checked against a decoy hash, not skipped."""
    _, guard, _ = guarded
    assert await guard._authenticate(basic("nobody", PASSWORD)) == "wrong"
    assert await guard._authenticate(basic("prometheus", "nope")) == "wrong"
    assert await guard._authenticate(basic("prometheus", PASSWORD)) is None
    assert await guard._authenticate(basic("prometheus", "x" * 100)) == "wrong"  # > 72 bytes
    assert len(guard._cache) == 4  # every outcome went through bcrypt once and was cached
    assert parse_basic("Basic " + base64.b64encode(b"no-colon").decode()) is None
    assert parse_basic("Digest abc") is None
