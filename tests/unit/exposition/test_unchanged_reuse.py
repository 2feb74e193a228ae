"""What a refresh where little changed does not redo: batches of lines whose label blocks and
values are those of the last rendering are reused as they are, and gzip pieces whose chunks are
those of the last page are not compressed again. The output is always that of a fresh run."""

from __future__ import annotations

import gzip
import time

from prometheus_client.core import Metric

from exporter.collectors.base import Health
from exporter.collectors.families import MetricSpec, build_families
from exporter.exposition.gzip_prefix import PIECE, GzipPrefix
from exporter.exposition.page import Exposition
from exporter.exposition.render import BATCH, KeptBlocks, RenderedFamily, render_families
from exporter.exposition.store import CollectorStatus, Snapshot, SnapshotStore

LAG = MetricSpec("lag", "gauge", "lag", ("consumergroup", "partition"))
OFFSET = MetricSpec("offset", "gauge", "offset", ("consumergroup", "partition"))
ROWS = [(f"g{i // 50:04d}", str(i % 50)) for i in range(3 * BATCH)]


def _families(lags: list[float], offsets: list[float]) -> list[Metric]:
    lag, offset = LAG.family({"cluster": "c"}), OFFSET.family({"cluster": "c"})
    for row, lag_value, offset_value in zip(ROWS, lags, offsets, strict=True):
        lag.add(row, lag_value)
        offset.add(row, offset_value)
    return build_families([lag, offset])


def _text(rendered: tuple[RenderedFamily, ...]) -> bytes:
    return b"".join(f.header + f.samples for f in rendered)


def test_only_the_batches_that_changed_are_written_again() -> None:
    kept = KeptBlocks()
    lags = [float(i % 7) for i in range(len(ROWS))]
    offsets = [1_000_000 + i for i in range(len(ROWS))]
    first = render_families(_families(lags, offsets), kept)
    lags[BATCH + 5] = 0.5  # one lag in the second batch moves; every offset stays
    second = render_families(_families(lags, offsets), kept)
    assert _text(second) == _text(render_families(_families(lags, offsets)))
    (lag_1, offset_1), (lag_2, offset_2) = first, second
    assert len(lag_2.sample_chunks) == 3
    assert lag_2.sample_chunks[0] is lag_1.sample_chunks[0]
    assert lag_2.sample_chunks[1] is not lag_1.sample_chunks[1]
    assert b'lag{cluster="c",consumergroup="g0020",partition="29"} 0.5\n' in lag_2.sample_chunks[1]
    assert lag_2.sample_chunks[2] is lag_1.sample_chunks[2]
    assert all(a is b for a, b in zip(offset_1.sample_chunks, offset_2.sample_chunks, strict=True))


def test_a_batch_is_written_again_when_a_row_or_only_the_sign_of_zero_changes() -> None:
    kept = KeptBlocks()
    zeros = [0.0] * len(ROWS)
    render_families(_families(zeros, zeros), kept)
    negative = list(zeros)
    negative[3] = -0.0  # equal to 0.0 for ==, but written "-0.0"
    again = render_families(_families(negative, zeros), kept)
    assert b'partition="3"} -0.0\n' in again[0].sample_chunks[0]
    assert _text(again) == _text(render_families(_families(negative, zeros)))
    ROWS[7], ROWS[8] = ROWS[8], ROWS[7]  # same values, two rows trade places
    try:
        swapped = render_families(_families(negative, zeros), kept)
        assert _text(swapped) == _text(render_families(_families(negative, zeros)))
        assert swapped[1].sample_chunks[0] is not again[1].sample_chunks[0]
    finally:
        ROWS[7], ROWS[8] = ROWS[8], ROWS[7]


def test_two_families_of_one_name_in_a_rendering_are_both_written() -> None:
    kept = KeptBlocks()
    for value in (1.0, 2.0):
        one, two = LAG.family({"cluster": "a"}), LAG.family({"cluster": "a"})
        one.add(("g", "0"), value)
        two.add(("g", "1"), value + 10)
        families = build_families([one, two])
        assert _text(render_families(families, kept)) == _text(render_families(families))


def _chunks(changed: bytes) -> list[bytes]:
    big = b"".join(b"row%07d 1.0\n" % i for i in range(PIECE // 8))
    return [b"# head\n", big, b"small 1\n" * 100, changed, big + b"end\n"]


def test_a_gzip_prefix_compresses_only_the_pieces_the_last_one_lacks() -> None:
    first = GzipPrefix(_chunks(b"x 1\n" * PIECE))
    assert first.compressed == first.size
    second = GzipPrefix(_chunks(b"x 2\n" * PIECE), reuse=first)
    assert second.compressed == 4 * PIECE  # the one chunk that changed
    for tail in (b"", b"tail 1\n"):
        assert gzip.decompress(second.with_tail(tail)) == b"".join(_chunks(b"x 2\n" * PIECE)) + tail
    other_level = GzipPrefix(_chunks(b"x 2\n" * PIECE), level=1, reuse=first)
    assert other_level.compressed == other_level.size  # pieces of another level are not mixed in


async def test_the_page_served_gzipped_after_a_refresh_is_the_new_page() -> None:
    store = SnapshotStore()
    exposition = Exposition(store)
    exposition.track(CollectorStatus("k", "kafka", True, 600.0, lambda *_: Health(True, "")))
    kept = KeptBlocks()
    offsets = [1_000_000 + i for i in range(len(ROWS))]
    for step in range(3):
        lags = [float(i % 5 + (step if i < BATCH else 0)) for i in range(len(ROWS))]
        rendered = render_families(_families(lags, offsets), kept)
        await exposition.publish(Snapshot("k", True, time.time(), 0.1, rendered=rendered))
        text = bytes(exposition.text())
        assert f'lag{{cluster="c",consumergroup="g0000",partition="0"}} {step}.0\n'.encode() in text
        assert gzip.decompress(await exposition.gzip()) == text
        prefix = exposition._page.gzip["text"]  # the page's own prefix, made when it was built
        if step > 0:  # the offsets and every lag after the first batch stayed: not compressed
            assert 0 < prefix.compressed < prefix.size / 2


def test_large_integers_are_written_as_prometheus_client_writes_them() -> None:
    from prometheus_client.utils import floatToGoString

    from exporter.exposition.render import value_text

    for digits in range(7, 16):  # offsets of busy topics reach 10^10..10^15
        for value in (10 ** (digits - 1), 12 * 10 ** (digits - 2) + 7, 10**digits - 1):
            assert value_text(value) == floatToGoString(value), value
    kept = KeptBlocks()
    as_int = [12_000_000_000] * len(ROWS)
    render_families(_families(as_int, as_int), kept)
    as_float = [12_000_000_000.0] * len(ROWS)  # the same double: the batch is reused
    again = render_families(_families(as_float, as_float), kept)
    assert _text(again) == _text(render_families(_families(as_float, as_float)))
