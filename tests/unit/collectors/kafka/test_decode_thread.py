"""`DecodeThread`: a reader's decodes run one at a time, in order, in one thread of their own."""

from __future__ import annotations

import asyncio
import threading

from exporter.collectors.kafka.read.decode_thread import DecodeThread
from tests.support.concurrency_watch import ConcurrencyWatch


async def test_decodes_run_one_at_a_time_in_one_thread_in_order() -> None:
    lane = DecodeThread("unit")
    order: list[int] = []

    def decode(index: int) -> int:
        order.append(index)
        return index * 2

    watched = ConcurrencyWatch(decode)
    try:
        results = await asyncio.gather(*(lane.run(watched, i) for i in range(8)))
    finally:
        lane.close()
    assert results == [i * 2 for i in range(8)]
    assert watched.most == 1
    assert order == list(range(8))
    assert len(watched.threads) == 1 and next(iter(watched.threads)).startswith("decode-unit")


async def test_a_closed_lane_ends_its_thread_and_starts_a_new_one_on_use() -> None:
    lane = DecodeThread("reuse")
    first = await lane.run(lambda: threading.current_thread())
    lane.close()
    first.join(5)
    assert not first.is_alive()
    try:
        second = await lane.run(lambda: threading.current_thread())
        assert second is not first and second.is_alive()
    finally:
        lane.close()


async def test_a_decode_error_reaches_its_caller_and_the_lane_goes_on() -> None:
    lane = DecodeThread("errors")

    def broken() -> None:
        raise ValueError("garbled reply")

    try:
        try:
            await lane.run(broken)
        except ValueError as exc:
            assert str(exc) == "garbled reply"
        else:
            raise AssertionError("the decode's error was lost")
        assert await lane.run(lambda: 7) == 7
    finally:
        lane.close()
