"""The collector loop: results and errors come back; a cancelled caller waits for the unwind."""

from __future__ import annotations

import asyncio
import threading

import pytest

from exporter.daemon.collector_loop import CollectorThread


async def test_results_errors_and_the_loop_it_runs_on() -> None:
    async def where() -> str:
        await asyncio.sleep(0)
        return threading.current_thread().name

    async def fail() -> None:
        raise ValueError("boom")

    with CollectorThread(name="collectors-test") as thread:
        assert await thread.run(where()) == "collectors-test"
        with pytest.raises(ValueError, match="boom"):
            await thread.run(fail())


async def test_cancelling_the_caller_waits_until_the_collector_side_has_unwound() -> None:
    unwound = threading.Event()

    async def slow_fetch() -> None:
        try:
            await asyncio.sleep(30)
        finally:
            await asyncio.sleep(0.2)  # e.g. closing a client after the cancel
            unwound.set()

    with CollectorThread() as thread:
        caller = asyncio.create_task(thread.run(slow_fetch()))
        await asyncio.sleep(0.1)
        caller.cancel()
        with pytest.raises(asyncio.CancelledError):
            await caller
        assert unwound.is_set(), "the caller went on before the collector side had unwound"
        assert thread.task_count() == 0


async def test_stopping_cancels_what_is_left_and_ends_the_thread() -> None:
    cancelled = threading.Event()

    async def forever() -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    thread = CollectorThread(name="collectors-stop")
    with thread:
        pending = asyncio.ensure_future(thread.run(forever()))
        await asyncio.sleep(0.1)
    assert cancelled.wait(2)
    assert not any(t.name == "collectors-stop" for t in threading.enumerate())
    pending.cancel()
    await asyncio.gather(pending, return_exceptions=True)
