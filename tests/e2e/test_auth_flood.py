"""Basic auth under a flood of wrong passwords: `python -m exporter run` as a subprocess with a
bcrypt cost of 12 (about 0.4 s a check here). 40 concurrent wrong passwords from one client
(127.0.0.2) must not starve a correct, uncached login from another (127.0.0.1), and `/live`
stays fast meanwhile.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp
import bcrypt

from tests.support.basic_auth import basic
from tests.support.exporter_process import ExporterProcess, parse_metrics, value

CONFIG = """
collectors:
  - {name: down, type: kafka, bootstrap_servers: "127.0.0.1:1", interval: 1s, timeout: 800ms}
"""
PASSWORD = "correct-horse-12"
FLOOD = 40


async def _status(session: aiohttp.ClientSession, url: str, auth: str | None) -> int:
    headers = {"Authorization": auth} if auth else {}
    async with session.get(url, headers=headers) as response:
        await response.read()
        return response.status


async def _attack(url: str) -> tuple[float, list[int], list[float]]:
    attacker = aiohttp.TCPConnector(local_addr=("127.0.0.2", 0), limit=0)
    timeout = aiohttp.ClientTimeout(total=60)
    async with (
        aiohttp.ClientSession(connector=attacker, timeout=timeout) as bad,
        aiohttp.ClientSession(timeout=timeout) as good,
    ):
        flood = [
            asyncio.create_task(_status(bad, url + "/metrics", basic("prometheus", f"wrong-{i}")))
            for i in range(FLOOD)
        ]
        await asyncio.sleep(0.05)  # the flood is queued first
        started = time.monotonic()
        assert await _status(good, url + "/metrics", basic("prometheus", PASSWORD)) == 200
        login = time.monotonic() - started
        live = []
        for _ in range(5):
            began = time.monotonic()
            assert await _status(good, url + "/live", None) == 200
            live.append(time.monotonic() - began)
        statuses = await asyncio.gather(*flood)
        for wave in range(3):  # more waves: at most 2 checks of the client run at once
            statuses += await asyncio.gather(
                *(_status(bad, url + "/metrics", basic("prometheus", f"w{wave}-{i}"))
                  for i in range(10))
            )  # fmt: skip
        return login, statuses, live


def test_wrong_password_flood_does_not_starve_a_correct_login(tmp_path: Path) -> None:
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(12)).decode()
    web = tmp_path / "web.yml"
    web.write_text(f"basic_auth_users: {{prometheus: '{hashed}'}}\n")
    with ExporterProcess(CONFIG, tmp_path, extra_args=["--web.config.file", str(web)]) as exporter:
        login, statuses, live = asyncio.run(_attack(exporter.url))
        throttled = statuses.count(429)
        started = time.monotonic()
        status, body = exporter.get(
            "/metrics", headers={"Authorization": basic("prometheus", PASSWORD)}
        )
        cached = time.monotonic() - started
        print(
            f"correct login during {FLOOD} wrong ones: {login:.2f}s; /live max "
            f"{max(live) * 1000:.0f} ms; flood answers 401 x{statuses.count(401)}, 429 x"
            f"{throttled}; cached login {cached * 1000:.0f} ms"
        )
        assert login < 5.0
        assert max(live) < 1.0
        assert set(statuses) <= {401, 429}
        assert statuses.count(401) <= 2 * 4  # two bcrypt checks per wave, the rest refused
        assert status == 200 and cached < 1.0
        samples = parse_metrics(body.decode())
        name = "kafka_health_exporter_http_auth_failures_total"
        assert (value(samples, name, reason="throttled") or 0) >= throttled
