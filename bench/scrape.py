"""Scrape /metrics with N concurrent scrapers for a while and record every scrape's latency."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import aiohttp


@dataclass(frozen=True)
class Scrape:
    """One scrape: unix start and end, body bytes, HTTP status."""

    start: float
    end: float
    size: int
    status: int

    @property
    def latency(self) -> float:
        """Seconds from request sent to the last body byte."""
        return self.end - self.start


async def scrape_for(
    url: str,
    scrapers: int,
    gzip: bool,
    duration: float | None = None,
    count: int | None = None,
    pause: float = 0.0,
    timeout: float = 600.0,
) -> list[Scrape]:
    """`scrapers` loops, each scraping back to back (after `pause`) for `duration` seconds or
    `count` scrapes. Bodies are read in full and not decompressed."""
    headers = {"Accept-Encoding": "gzip" if gzip else "identity"}
    deadline = time.monotonic() + duration if duration is not None else None
    results: list[Scrape] = []
    client_timeout = aiohttp.ClientTimeout(total=timeout)
    connector = aiohttp.TCPConnector(limit=scrapers)
    async with aiohttp.ClientSession(
        auto_decompress=False, timeout=client_timeout, connector=connector
    ) as session:

        async def loop(offset: float) -> None:
            await asyncio.sleep(offset)
            done = 0
            while (deadline is None or time.monotonic() < deadline) and (
                count is None or done < count
            ):
                start = time.time()
                async with session.get(url, headers=headers) as response:
                    body = await response.read()
                results.append(Scrape(start, time.time(), len(body), response.status))
                done += 1
                if pause:
                    await asyncio.sleep(pause)

        await asyncio.gather(*(loop(pause * i / scrapers) for i in range(scrapers)))
    return results
