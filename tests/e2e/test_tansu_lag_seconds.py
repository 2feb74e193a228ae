"""Lag in seconds on Tansu (the demo's broker) is read from record timestamps as on Kafka: a
group hundreds of seconds behind is reported within 2 % from the first refresh, not the
interpolation estimate. Tansu answers a Fetch with max_wait 0 and min_bytes 0 with no topics at
all; the partitions an answer leaves out are asked again with min_bytes 1.

Tansu 0.x answers ListOffsets(latest) with the last batch's base offset + 1, not the offset after
its last record, so each topic ends with a batch of one record (as the demo's producer sends) to
keep the high watermark right; that quirk is Tansu's, not the exporter's to guess around."""

from __future__ import annotations

import asyncio

from exporter.cli.demo.broker import TansuBroker
from tests.support.kafka_helpers import commit, unique
from tests.support.lag_records import collector_for, create_topic, produce_at, seconds_ago


async def test_a_group_hundreds_of_seconds_behind_is_within_2_percent(tansu: TansuBroker) -> None:
    bootstrap = tansu.bootstrap
    group = unique("g")
    # CreateTimes spread over the last 600 s on one topic, 300 s on another
    topics = {unique("behind"): 600, unique("behind"): 300}
    stamps = {}
    for topic, seconds in topics.items():
        await create_topic(bootstrap, topic, 1)
        stamps[topic] = await produce_at(bootstrap, topic, 0, seconds_ago(seconds, 50))
        stamps[topic] |= await produce_at(bootstrap, topic, 0, [None])
    committed = dict(zip(topics, (20, 10), strict=True))
    await commit(bootstrap, group, {(topic, 0): offset for topic, offset in committed.items()})
    collector = collector_for(bootstrap, group, "|".join(topics))
    try:
        for n in range(2):
            refresh = await collector.fetch()
            now = refresh.evaluation.observed_at
            assert refresh.evaluation.pending == 0, "record reads answered on Tansu"
            for topic, offset in committed.items():
                truth = now - stamps[topic][offset]
                assert truth > 200
                seen = refresh.evaluation.lag_seconds.get((group, topic, 0))
                assert seen is not None, (topic, refresh.evaluation.lag_seconds)
                assert abs(seen - truth) <= 0.02 * truth, (n, topic, seen, truth)
            await asyncio.sleep(0.5)
    finally:
        await collector.close()
