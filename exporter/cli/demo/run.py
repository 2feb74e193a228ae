"""The demo: Tansu broker, a topic with 3 partitions, a producer (~50 msg/s), a slow consumer group
that falls behind, a caught-up group, and the exporter watching them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import urllib.request
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from exporter.cli.demo.broker import TansuBroker
from exporter.config.loader import parse_config
from exporter.daemon.serve import serve

log = logging.getLogger(__name__)
TOPIC = "demo-orders"
RATE = 50.0


async def _create_topic(bootstrap: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(TOPIC, num_partitions=3, replication_factor=1)])
    finally:
        await admin.close()


CLIENT_STOP_S = 3.0
"""Seconds a demo client may take to leave its group and close (bounded: a broker that died
first would keep it retrying for ever)."""
FORCED_EXIT = 130
"""Exit code when a second Ctrl-C or SIGTERM does not wait for the clean stop."""


async def _stop_client(client: AIOKafkaConsumer | AIOKafkaProducer) -> None:
    """Stop `client`, giving up after CLIENT_STOP_S."""
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(client.stop(), CLIENT_STOP_S)


async def _produce(bootstrap: str) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0)
    await producer.start()
    try:
        n = 0
        while True:
            await producer.send_and_wait(TOPIC, f"order-{n}".encode(), partition=n % 3)
            n += 1
            await asyncio.sleep(1 / RATE)
    finally:
        await _stop_client(producer)


async def _consume(bootstrap: str, group: str, per_second: float | None) -> None:
    """Consume and commit; `per_second` limits the pace (None: as fast as messages come)."""
    consumer = AIOKafkaConsumer(
        TOPIC, bootstrap_servers=bootstrap, group_id=group, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        while True:
            batch = await consumer.getmany(timeout_ms=500, max_records=5 if per_second else 500)
            if batch:
                await consumer.commit()
            if per_second:
                await asyncio.sleep(5 / per_second)
    finally:
        await _stop_client(consumer)


def _sample_lines(url: str) -> list[str]:
    with urllib.request.urlopen(url, timeout=5) as response:
        text = response.read().decode()
    return [line for line in text.splitlines() if line.startswith("kafka_consumergroup_lag{")][:2]


def _signal_handler(stop: asyncio.Event, broker: TansuBroker) -> Callable[[], None]:
    """The first SIGINT/SIGTERM asks for a clean stop; a second one kills the broker and exits
    at once (FORCED_EXIT)."""

    def handle() -> None:
        if not stop.is_set():
            print("stopping (Ctrl-C again to force)", file=sys.stderr, flush=True)
            stop.set()
            return
        broker.kill()
        os._exit(FORCED_EXIT)

    return handle


async def run_demo(listen: str) -> int:
    """Run until SIGINT/SIGTERM, then stop everything started here; returns the exit code.
    ListenError when `listen` is taken (after the broker is stopped)."""
    broker = TansuBroker().start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, _signal_handler(stop, broker))
    tasks: list[asyncio.Task[None]] = []
    try:
        await _create_topic(broker.bootstrap)
        config = parse_config(
            f"""
server: {{listen: "{listen}"}}
collectors:
  - name: demo
    type: kafka
    bootstrap_servers: ["{broker.bootstrap}"]
    interval: 5s
    timeout: 4s
    health: true
""",
            "<demo config>",
        )
        tasks = [
            asyncio.create_task(_produce(broker.bootstrap)),
            asyncio.create_task(_consume(broker.bootstrap, "demo-slow-consumer", per_second=10)),
            asyncio.create_task(_consume(broker.bootstrap, "demo-fast-consumer", per_second=None)),
        ]
        server = asyncio.create_task(serve(config, listen, stop, handle_signals=False))
        base = f"http://{listen}"
        lines: list[str] = []
        print(
            f"demo broker: {broker.bootstrap} (Tansu), topic {TOPIC} with 3 partitions", flush=True
        )
        for _ in range(60):
            if server.done():
                break
            await asyncio.sleep(1)
            with contextlib.suppress(OSError):
                lines = await asyncio.to_thread(_sample_lines, f"{base}/metrics")
                if len(lines) == 2:
                    break
        if not server.done():
            print(f"exporter: {base}/metrics  {base}/health  {base}/ready  {base}/live", flush=True)
            if len(lines) == 2:
                print("example lines from /metrics:", *lines, sep="\n  ", flush=True)
            print("press Ctrl-C to stop", flush=True)
        await server
        return 0
    finally:
        stop.set()
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=CLIENT_STOP_S + 1)
        broker.stop()
