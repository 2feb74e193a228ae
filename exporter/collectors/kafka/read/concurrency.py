"""Running a refresh's requests together: all of them, or none left running on a failure."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any


async def all_or_cancel(*requests: Awaitable[Any]) -> list[Any]:
    """Like `asyncio.gather`, but the first failure cancels the other requests before raising."""
    tasks = [asyncio.ensure_future(r) for r in requests]
    try:
        return await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
