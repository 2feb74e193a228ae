"""Replies read with bounds: a frame-size cap on each connection of our client (checked at the
4-byte length prefix, before anything of the frame is buffered), and requests whose replies
aiokafka hands over undecoded so they are decoded off the event loop (`bounded_decode`).

aiokafka's connection reads each frame with `reader.readexactly(4)` then
`reader.readexactly(size)` from one asyncio.StreamReader per connection; `cap_frames` turns that
one reader (not the class) into a `_CappedReader`, which refuses a size over the cap. aiokafka
then closes the connection and fails its requests with a KafkaConnectionError caused by
`FrameTooLarge`. `capped_connections(limit)` makes every connection opened inside it
(or in a task started inside it) cap its reader before its first read, so the ApiVersions and
SASL exchange of connection set-up and a bootstrap's Metadata are bounded too.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from io import BytesIO
from typing import Any, cast

from aiokafka.conn import AIOKafkaConnection
from aiokafka.protocol.api import Response

_FRAME_CAP: ContextVar[int | None] = ContextVar("khe_frame_cap", default=None)
"""The frame cap of connections opened in this context (None: not capped)."""


class FrameTooLarge(ConnectionError):
    """A frame announced more bytes than the connection's cap (or a negative size)."""

    def __init__(self, size: int, limit: int, culprit: object) -> None:
        super().__init__(f"frame of {size} bytes announced, over max_response_bytes {limit}")
        self.size = size
        self.limit = limit
        self.culprit = culprit
        """The request struct the frame answers (the oldest one waiting on the connection);
        the other requests waiting fail with it only because the connection closes."""


class _CappedReader(asyncio.StreamReader):
    """A StreamReader whose `readexactly` refuses more than `max_frame` bytes at once."""

    max_frame: int
    waiting: Callable[[], object]
    """The request the next frame answers (None: none known)."""

    async def readexactly(self, n: int) -> bytes:
        """`n` bytes; FrameTooLarge before reading when `n` is over the cap or negative."""
        if n > self.max_frame or n < 0:
            raise FrameTooLarge(n, self.max_frame, self.waiting())
        return await super().readexactly(n)


def cap_frames(conn: Any, limit: int) -> None:
    """Cap the frames `conn` (an AIOKafkaConnection) reads at `limit` bytes, once."""
    reader = getattr(conn, "_reader", None)
    if reader is None or isinstance(reader, _CappedReader):
        return
    if type(reader) is not asyncio.StreamReader:
        raise TypeError(f"unexpected reader {type(reader).__name__} on {conn!r}")
    reader.__class__ = _CappedReader
    capped = cast(_CappedReader, reader)
    capped.max_frame = limit
    conn_ref = weakref.ref(conn)

    def waiting() -> object:
        owner = conn_ref()
        queue = getattr(owner, "_requests", None)  # (correlation id, request struct, future)
        return queue[0][1] if queue else None

    capped.waiting = waiting


@contextlib.contextmanager
def capped_connections(limit: int) -> Iterator[None]:
    """Connections opened inside (and in tasks started inside) cap their frames at `limit` from
    their first read on."""
    _install()
    token = _FRAME_CAP.set(limit)
    try:
        yield
    finally:
        _FRAME_CAP.reset(token)


def _install() -> None:
    """Wrap aiokafka's connection set-up to cap the reader before its read task starts, when
    the context has a cap (idempotent)."""
    original = AIOKafkaConnection._create_reader_task
    if getattr(original, "_khe_wrapped", False):
        return

    def create_reader_task(self: AIOKafkaConnection) -> Any:
        limit = _FRAME_CAP.get()
        if limit is not None:
            cap_frames(self, limit)
        return original(self)

    create_reader_task._khe_wrapped = True  # type: ignore[attr-defined]
    AIOKafkaConnection._create_reader_task = create_reader_task


@dataclass(frozen=True)
class RawReply:
    """A reply frame as it came (positioned after the response header), to decode later."""

    response_type: type[Response]
    data: BytesIO


class _Undecoded:
    """Stands in for a response type: its `decode` keeps the frame as a RawReply."""

    def __init__(self, response_type: type[Response]) -> None:
        self.response_type = response_type

    def decode(self, data: BytesIO) -> RawReply:
        return RawReply(self.response_type, data)


class _DeferredStruct:
    """A prepared request struct whose reply is not decoded by aiokafka."""

    def __init__(self, struct: Any) -> None:
        self._struct = struct
        self.RESPONSE_TYPE = _Undecoded(struct.RESPONSE_TYPE)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._struct, name)

    def __repr__(self) -> str:
        return repr(self._struct)


class Deferred:
    """`request`, sent as is, whose reply comes back as a RawReply. `version` is the version
    negotiated (set once aiokafka prepared it)."""

    def __init__(self, request: Any) -> None:
        self.request = request
        self.version: int | None = None

        self.sent: _DeferredStruct | None = None
        """The struct sent (to tell whether a refused frame answers this request)."""

    def prepare(self, versions: dict[int, tuple[int, int]]) -> _DeferredStruct:
        """What aiokafka's connection sends: the request's struct for `versions`."""
        struct = self.request.prepare(versions)
        self.version = struct.API_VERSION
        self.sent = _DeferredStruct(struct)
        return self.sent
