"""What each Kafka Streams version exposes over JMX, healthy and after each kind of death.

`python -m tests.support.streams_inventory [VERSION ...]` runs the real Streams app
(tests/support/streams_app.py) against a real Kafka of that version, kills it in each way the
end-to-end tests do, and prints every Streams attribute of INVENTORY the JVM answers on the way
(the facts in README's jmx section and tests/e2e/test_jmx_streams_e2e.py).
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

from exporter.collectors.jmx.query import JmxError, Query
from tests.support.streams_app import StreamsApp
from tests.support.streams_jvm import query_jmx

INVENTORY: tuple[Query, ...] = (
    Query("kafka.streams:type=kafka-metrics-count", "count"),
    *(
        Query("kafka.streams:type=stream-metrics,*", attribute)
        for attribute in (
            "state",
            "client-state",
            "alive-stream-threads",
            "failed-stream-threads",
            "version",
            "application-id",
        )
    ),
    Query("kafka.streams:type=stream-thread-metrics,*", "thread-state"),
    Query("kafka.streams:type=stream-thread-metrics,*", "poll-total"),
    Query("kafka.consumer:type=consumer-metrics,*", "connection-count"),
)


def inventory(port: int) -> list[dict[str, object]] | str:
    """Every Streams attribute of INVENTORY the JVM answers, or the error text."""
    try:
        readings = query_jmx(port, INVENTORY, 10.0)
    except JmxError as exc:
        return f"JMX error: {exc}"
    return [
        {"bean": r.object_name, "attr": r.attribute, "type": r.type, "value": r.value}
        for r in readings
    ]


def _record(version: str) -> None:
    from tests.support.kafka_cluster import KafkaCluster
    from tests.support.kafka_helpers import create_topics, unique

    def show(what: str, port: int) -> None:
        print(f"--- {version}: {what}", flush=True)
        found = inventory(port)
        print(json.dumps(found, indent=1) if isinstance(found, list) else found, flush=True)

    def produce(bootstrap: str, topic: str, value: str) -> None:
        from aiokafka import AIOKafkaProducer

        async def send() -> None:
            producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
            await producer.start()
            try:
                await producer.send_and_wait(topic, value.encode(), key=b"k")
            finally:
                await producer.stop()

        asyncio.run(send())

    def watch(app: StreamsApp, what: str, seconds: float) -> None:
        """Poll the inventory a few times after a death, to see the transient states."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            show(what, app.port)
            time.sleep(0.5)

    with KafkaCluster(version=version) as cluster, tempfile.TemporaryDirectory() as tmp:
        topics = (unique("in"), unique("out"))
        asyncio.run(create_topics(cluster.bootstrap, {topics[0]: 2, topics[1]: 2}))
        work = Path(tmp)
        for handler in ("default", "REPLACE_THREAD"):
            app_id = unique(f"record-{handler.lower()}")
            with StreamsApp(version, cluster.bootstrap, app_id, topics, work, handler=handler,
                            threads=2) as app:  # fmt: skip
                app.wait_state("RUNNING")
                show(f"{handler}: RUNNING", app.port)
                produce(cluster.bootstrap, topics[0], f"poison-{handler}")
                watch(app, f"{handler}: after poison", 8)
                if handler == "default":
                    continue
                app.close_streams()
                show("close(): after close", app.port)
        with StreamsApp(version, cluster.bootstrap, unique("record-stop"), topics, work) as app:
            app.wait_state("RUNNING")
            app.pause()
            show("SIGSTOP", app.port)
            app.resume()
            app.kill()
            show("SIGKILL", app.port)


if __name__ == "__main__":
    for wanted in sys.argv[1:] or ["4.4.0", "3.9.2"]:
        _record(wanted)
