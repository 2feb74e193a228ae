"""Read named MBean attributes through jmxquery's JAR: one short-lived JVM per refresh.

jmxquery's Python wrapper runs the JAR with `subprocess.run`, which blocks the event loop and,
when its timeout fires, raises AttributeError (it decodes `err.output`, which is None) or returns
an empty result that would read as "every bean is gone". So this module builds the same command
with jmxquery's own query strings and JAR, runs it as an asyncio subprocess, and kills the JVM on
timeout or cancellation, always reaping it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from jmxquery import JAR_PATH, JMXQuery

# A small, fast-starting client JVM: no perf data file (read-only root filesystems), C1 only,
# serial GC and a small heap. The RMI handshake and response timeouts (added in build_command,
# 5 s past the refresh timeout) make an orphaned JVM (exporter SIGKILLed while a query hangs)
# give up on its own; the exporter itself kills it at the refresh timeout.
JAVA_OPTIONS = (
    "-XX:-UsePerfData",
    "-XX:TieredStopAtLevel=1",
    "-XX:+UseSerialGC",
    "-Xshare:auto",
    "-Xms8m",
    "-Xmx64m",
    "-Xss512k",
)
_UNCAUGHT = re.compile(r'^Exception in thread "main" (.+)$', re.M)
_ERROR_FIELDS = re.compile(
    r'"error"\s*:\s*"(?P<error>[^"]*)".*?"message"\s*:\s*"(?P<message>.*)"', re.S
)


class JmxError(Exception):
    """The JVM could not be read: refused, not answering, authentication failed, or bad output."""


@dataclass(frozen=True)
class Endpoint:
    """Where and how to connect."""

    url: str
    username: str | None = None
    password: str | None = None


@dataclass(frozen=True)
class Query:
    """A named attribute (optionally one item of a CompositeData) of the MBeans matching a name."""

    object_name: str
    attribute: str
    key: str | None = None

    def to_query_string(self) -> str:
        """The JAR's `{object name}/{attribute}[/{key}]` form."""
        return JMXQuery(self.object_name, self.attribute, self.key).to_query_string()


@dataclass(frozen=True)
class Reading:
    """One attribute value as the JAR reported it. `value` is None when unreadable (e.g. an enum
    class the client does not have) and `type` is then "Null"."""

    object_name: str
    attribute: str
    key: str | None
    type: str
    value: Any


def build_command(
    endpoint: Endpoint, queries: Sequence[Query], timeout: float, java: str = "java"
) -> list[str]:
    """The full command line for one batched query."""
    rmi_ms = str(int((timeout + 5) * 1000))
    command = [
        java,
        *JAVA_OPTIONS,
        f"-Dsun.rmi.transport.tcp.responseTimeout={rmi_ms}",
        f"-Dsun.rmi.transport.tcp.handshakeTimeout={rmi_ms}",
        "-jar",
        JAR_PATH,
        "-url",
        endpoint.url,
        "-json",
    ]
    if endpoint.username:
        command += ["-u", endpoint.username, "-p", endpoint.password or ""]
    command += ["-q", "".join(q.to_query_string() + ";" for q in queries)]
    return command


def parse_output(stdout: bytes, stderr: bytes, returncode: int) -> list[Reading]:
    """Readings from the JAR's output; JmxError for its error objects or anything unexpected."""
    text = stdout.decode("utf-8", errors="replace").strip()
    if text.startswith("{"):
        match = _ERROR_FIELDS.search(text)
        if match is None:
            raise JmxError(f"jmxquery failed: {text[:300]}")
        message = " ".join(match.group("message").split())
        raise JmxError(f"{match.group('error')}: {message[:400]}")
    if returncode != 0 or not text.startswith("["):
        raise JmxError(f"query JVM exited with code {returncode}: {_failure(stderr, text)}")
    try:
        items = json.loads(text, strict=False)
    except json.JSONDecodeError as exc:
        raise JmxError(f"cannot parse jmxquery output ({exc.msg} at char {exc.pos})") from None
    readings = []
    for item in items:
        if not isinstance(item, dict) or "mBeanName" not in item or "attribute" not in item:
            raise JmxError(f"unexpected jmxquery item: {str(item)[:200]}")
        readings.append(
            Reading(
                object_name=item["mBeanName"],
                attribute=item["attribute"],
                key=item.get("attributeKey"),
                type=item.get("attributeType") or "Null",
                value=item.get("value"),
            )
        )
    return readings


def _failure(stderr: bytes, stdout: str) -> str:
    """The uncaught exception's first line (e.g. authentication failed), else the output's tail."""
    text = stderr.decode("utf-8", errors="replace")
    match = _UNCAUGHT.search(text)
    if match:
        return match.group(1).strip()[:400]
    return " ".join((text or stdout).split())[-400:] or "no output"


async def run_queries(
    endpoint: Endpoint, queries: Sequence[Query], timeout: float, java: str = "java"
) -> list[Reading]:
    """Run every query in ONE JVM, bounded by `timeout`; the JVM never outlives this call."""
    command = build_command(endpoint, queries, timeout, java)
    try:
        process = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
    except FileNotFoundError:
        raise JmxError(f"cannot run {java!r}: no Java runtime on PATH") from None
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout)
    except asyncio.TimeoutError:
        raise JmxError(f"no answer from {endpoint.url} within {timeout:g}s") from None
    finally:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()  # a SIGKILLed JVM exits at once; this reaps it
    assert process.returncode is not None
    return parse_output(stdout, stderr, process.returncode)
