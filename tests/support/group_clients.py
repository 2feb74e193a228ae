"""Real Kafka clients of every group type (tests/support/groups, built with Maven) for the group
metrics' end-to-end tests.

`JavaGroupMembers` runs N KafkaConsumer members of one group (group.protocol consumer, KIP-848,
or classic) that commit a given offset on every partition they are assigned and then sit paused;
`ShareMembers` runs N KafkaShareConsumer members that accept a given number of records and then
stay idle members. Both are context managers: entering waits (bounded) until the group is
Stable with every member and every commit/acknowledgement is done; `leave()` makes the members
close() (leaving the group) and reaps the JVM; leaving the block always stops and reaps it
(`leave`, SIGTERM, SIGKILL). `share_group_offsets`, `describe_group`, `list_groups` and
`finalized_features` print what the Java Admin client reads, for cross-checks.

The clients are built against Kafka 4.4 (`KAFKA_4`); they talk to older brokers too (a classic
group on 3.9).
"""

from __future__ import annotations

import contextlib
import json
import queue
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from exporter.cli.demo.processes import stop_process
from tests.support.kafka_jars import KAFKA_4
from tests.support.maven_build import maven_classpath

MAIN_CLASS = "khe.groups.GroupsApp"
JVM = ("-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xshare:auto",
       "-XX:-UsePerfData")  # fmt: skip


def groups_classpath(version: str = KAFKA_4) -> str:
    """The clients' classpath for Kafka `version` (4.4+), built with Maven when missing or
    stale."""
    return maven_classpath("groups", version, "group-clients.jar", f"kafka-clients-{version}.jar")


def groups_command(version: str, mode: str, *args: str) -> list[str]:
    """`java ... GroupsApp MODE ARGS`."""
    return ["java", *JVM, "-cp", groups_classpath(version), MAIN_CLASS, mode, *args]


def _admin(version: str, mode: str, *args: str, timeout: float = 60.0) -> dict[str, Any]:
    """Run an Admin mode to completion; its one JSON line, decoded."""
    done = subprocess.run(
        groups_command(version, mode, *args), capture_output=True, text=True, timeout=timeout
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert done.returncode == 0 and len(lines) == 1, (
        f"GroupsApp {mode} {args} exited {done.returncode}: {done.stdout[-2000:]}"
        f"{done.stderr[-3000:]}"
    )
    result: dict[str, Any] = json.loads(lines[0])
    return result


def share_group_offsets(
    version: str, bootstrap: str, group: str
) -> dict[tuple[str, int], dict[str, int | None]]:
    """Admin listShareGroupOffsets: (topic, partition) -> {"start_offset", "lag",
    "leader_epoch"} (None where the broker does not know it)."""
    answer = _admin(version, "share-offsets", "--bootstrap", bootstrap, "--group", group)
    return {
        (row["topic"], row["partition"]): {
            key: row[key] for key in ("start_offset", "lag", "leader_epoch")
        }
        for row in answer["partitions"]
    }


def describe_group(version: str, bootstrap: str, group: str, kind: str) -> dict[str, Any]:
    """Admin describe of `group` (`kind` consumer, share or streams): {"group", "type", "state",
    "members", "assignments", "member_details"}; consumer covers KIP-848 and classic groups
    ("type" says which); member_details: [{"member_id", "client_id", "host",
    "group_instance_id", "partitions"}] (no partitions for streams)."""
    return _admin(version, "describe", "--bootstrap", bootstrap, "--group", group, "--type", kind)


def list_groups(version: str, bootstrap: str) -> dict[str, dict[str, str | None]]:
    """Admin listGroups: group -> {"type", "protocol", "state"} (type None when the broker's
    ListGroups predates v5)."""
    answer = _admin(version, "list", "--bootstrap", bootstrap)
    return {
        row["group"]: {k: row[k] for k in ("type", "protocol", "state")} for row in answer["groups"]
    }


def finalized_features(version: str, bootstrap: str) -> dict[str, int]:
    """Admin describeFeatures: finalized feature -> level."""
    finalized: dict[str, int] = _admin(version, "features", "--bootstrap", bootstrap)["finalized"]
    return finalized


class _GroupProcess:
    """One GroupsApp JVM in a member mode: its stdout lines, `leave`, stop and reap."""

    mode = ""

    def __init__(self, version: str, workdir: Path, group: str, args: list[str]) -> None:
        self.version = version
        self.group = group
        workdir.mkdir(parents=True, exist_ok=True)
        self.log_path = workdir / f"{self.mode}-{group}.log"
        self.args = groups_command(version, self.mode, *args)
        self.process: subprocess.Popen[str] | None = None
        self.lines: list[str] = []
        """Every line printed so far (stdout and stderr)."""
        self._queue: queue.Queue[str] = queue.Queue()
        self._pump_thread: threading.Thread | None = None
        self.started_at = 0.0
        self.ready_after = 0.0
        """Seconds from the JVM's start to its `ready` line."""

    @property
    def running(self) -> bool:
        """The JVM has not exited."""
        return self.process is not None and self.process.poll() is None

    def __enter__(self) -> _GroupProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self, timeout: float = 60.0) -> _GroupProcess:
        """Start the JVM; return once it printed `ready` (the group is Stable with every member
        and every commit is done), at most `timeout` seconds later."""
        assert self.process is None, "start() once"
        self.started_at = time.monotonic()
        self.process = subprocess.Popen(
            self.args,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            start_new_session=True,
        )
        try:
            log = self.log_path.open("a")
            self._pump_thread = threading.Thread(target=self._pump, args=(log,), daemon=True)
            self._pump_thread.start()
            self.expect("ready ", timeout)
            self.ready_after = time.monotonic() - self.started_at
        except BaseException:
            self.stop()
            raise
        return self

    def _pump(self, log: IO[str]) -> None:
        assert self.process is not None and self.process.stdout is not None
        with log:
            for raw in self.process.stdout:
                log.write(raw)
                log.flush()
                line = raw.rstrip("\n")
                self.lines.append(line)
                self._queue.put(line)

    def expect(self, wanted: str | Callable[[str], bool], timeout: float = 60.0) -> str:
        """Wait for a new output line starting with `wanted` (or matching it); returns it."""
        match = wanted if callable(wanted) else (lambda line: line.startswith(str(wanted)))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=0.2)
            except queue.Empty:
                if not self.running and self._queue.empty():
                    break
                continue
            assert not line.startswith("error member="), f"a member failed: {line}; {self.tail()}"
            if match(line):
                return line
        raise AssertionError(
            f"GroupsApp {self.mode} did not print {wanted!r} in {timeout}s; {self.tail()}"
        )

    def leave(self, timeout: float = 30.0) -> int:
        """Every member close()s (leaves the group); wait until the JVM exited and reap it.
        Returns its exit code (0)."""
        assert self.process is not None and self.process.stdin is not None
        with contextlib.suppress(OSError):
            self.process.stdin.write("leave\n")
            self.process.stdin.flush()
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            raise AssertionError(f"members did not leave in {timeout}s; {self.tail()}") from None
        self.stop()
        return code

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM (the members still leave), SIGKILL after `timeout`; always reaps."""
        if self.process is None:
            return
        try:
            stop_process(self.process, timeout)
        finally:
            for stream in (self.process.stdin, self.process.stdout):
                if stream is not None:
                    with contextlib.suppress(OSError):
                        stream.close()
            if self._pump_thread is not None:
                self._pump_thread.join(5)

    def tail(self, lines: int = 40) -> str:
        """The last lines the JVM printed."""
        return f"log {self.log_path}:\n" + "\n".join(self.lines[-lines:])


class JavaGroupMembers(_GroupProcess):
    """`members` KafkaConsumer members of `group` on `topic`, `kind` "consumer" (KIP-848) or
    "classic"; each commits `commit_at` on every partition it is assigned, then pauses it. With
    `instance_prefix`, member i is static (group.instance.id `instance_prefix` + i)."""

    mode = "members"

    def __init__(
        self,
        version: str,
        bootstrap: str,
        kind: str,
        group: str,
        topic: str,
        members: int,
        workdir: Path,
        *,
        commit_at: int = 0,
        instance_prefix: str | None = None,
    ) -> None:
        assert kind in ("consumer", "classic"), kind
        static = ["--instance-prefix", instance_prefix] if instance_prefix else []
        super().__init__(
            version,
            workdir,
            group,
            ["--bootstrap", bootstrap, "--kind", kind, "--group", group, "--topic", topic,
             "--members", str(members), "--commit-at", str(commit_at), *static],
        )  # fmt: skip

    def __enter__(self) -> JavaGroupMembers:
        self.start()
        return self


class ShareMembers(_GroupProcess):
    """`members` KafkaShareConsumer members of share group `group` on `topic` that accept `ack`
    records in total (explicit acknowledgement, one record per poll), then stay idle members.
    The group's share.auto.offset.reset is set to earliest before they start."""

    mode = "share"

    def __init__(
        self,
        version: str,
        bootstrap: str,
        group: str,
        topic: str,
        members: int,
        workdir: Path,
        *,
        ack: int,
    ) -> None:
        super().__init__(
            version,
            workdir,
            group,
            ["--bootstrap", bootstrap, "--group", group, "--topic", topic,
             "--members", str(members), "--ack", str(ack)],
        )  # fmt: skip

    def __enter__(self) -> ShareMembers:
        self.start()
        return self
