"""Label blocks kept from a collector's last rendering: same text as a fresh rendering, reused for
rows that stay, built for new rows, and dropped for rows that are gone."""

from __future__ import annotations

from prometheus_client.core import Metric

from exporter.collectors.families import MetricSpec, build_families
from exporter.exposition.render import KeptBlocks, render_families

LAG = MetricSpec("lag", "gauge", "lag", ("consumergroup", "partition"))
OFFSET = MetricSpec("offset", "gauge", "offset", ("consumergroup", "partition"))


def _families(rows: list[tuple[str, str]], base: float) -> list[Metric]:
    lag, offset = LAG.family({"collector": "k"}), OFFSET.family({"collector": "k"})
    for index, row in enumerate(rows):
        lag.add(row, base + index)
        offset.add(row, 1_000_000 * base + index)
    return build_families([lag, offset])


def _text(families: list[Metric], kept: KeptBlocks | None = None) -> bytes:
    return b"".join(f.header + f.samples for f in render_families(families, kept))


def test_each_rendering_with_kept_blocks_is_the_fresh_rendering_of_its_own_rows() -> None:
    kept = KeptBlocks()
    first = [("g1", "0"), ("g1", "1"), ('we"ird\\', "0")]
    second = [("g1", "1"), ("g2", "0"), ('we"ird\\', "0")]  # one gone, one new, two stay
    for rows, base in ((first, 1.0), (second, 7.0), (first, 3.5)):
        families = _families(rows, base)
        assert _text(families, kept) == _text(families)
    assert b'lag{collector="k",consumergroup="we\\"ird\\\\",partition="0"} 5.5' in _text(
        _families(first, 3.5), KeptBlocks()
    )


def test_a_kept_block_is_reused_not_rebuilt_and_gone_rows_are_dropped() -> None:
    kept = KeptBlocks()
    render_families(_families([("g1", "0"), ("g1", "1")], 1.0), kept)
    (rows,) = kept.blocks.values()
    stays = rows[("g1", "1")]
    render_families(_families([("g1", "1"), ("g2", "0")], 2.0), kept)
    (rows,) = kept.blocks.values()
    assert set(rows) == {("g1", "1"), ("g2", "0")}  # ("g1", "0") is gone with its rows
    assert rows[("g1", "1")] is stays  # the same string object: taken, not rebuilt
    assert len(kept) == 2


def test_a_failed_rendering_leaves_the_kept_blocks_as_they_were() -> None:
    kept = KeptBlocks()
    render_families(_families([("g1", "0")], 1.0), kept)
    before = kept.blocks

    class Broken(Metric):
        @property
        def samples(self) -> list[object]:
            raise RuntimeError("broken family")

        @samples.setter
        def samples(self, value: object) -> None:
            pass

    try:
        render_families([*_families([("g9", "0")], 1.0), Broken("x", "x", "gauge")], kept)
    except RuntimeError:
        pass
    else:
        raise AssertionError("the broken family did not raise")
    assert kept.blocks is before
