"""A response body made of shared chunks, written in slices so a scrape never copies the page.

The /metrics page is tens of MB on big clusters. Joining it with the per-scrape tail would copy it
once per scrape (and once more into the socket buffer when the client reads slowly), so ten
concurrent scrapers would hold ten copies. `ChunksBody` writes memoryview slices of the shared
chunks instead, waiting for the socket to drain between slices: per scrape at most one slice is
buffered. Consecutive small chunks (a rendered family is a chunk per batch of rows) are joined into
one slice, so the page still takes one write per slice.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from aiohttp.abc import AbstractStreamWriter
from aiohttp.payload import Payload

SLICE = 1024 * 1024
"""Bytes handed to the transport at a time: at most this much of a page is buffered per slow
scraper, and each socket write (which releases the GIL, costing the serving loop up to a switch
interval while a refresh runs) moves this much."""


class ChunksBody(Payload):
    """aiohttp payload of `chunks` written in order; Content-Length is their total size."""

    def __init__(self, chunks: Sequence[bytes], **kwargs: Any) -> None:
        super().__init__(tuple(chunks), **kwargs)
        self._total = sum(len(c) for c in self._value)
        self._size = self._total

    def decode(self, encoding: str = "utf-8", errors: str = "strict") -> str:
        """The whole body as text (tests, debugging)."""
        return bytes(self).decode(encoding, errors)

    def __bytes__(self) -> bytes:
        return b"".join(self._value)

    async def as_bytes(self, encoding: str = "utf-8", errors: str = "strict") -> bytes:
        """The whole body as bytes."""
        return bytes(self)

    async def write(self, writer: AbstractStreamWriter) -> None:
        """Write every chunk, slice by slice."""
        await self.write_with_length(writer, None)

    async def write_with_length(
        self, writer: AbstractStreamWriter, content_length: int | None
    ) -> None:
        """Write at most `content_length` bytes (all when None), a slice at a time."""
        remaining = self._total if content_length is None else content_length
        for piece in _slices(self._value, min(remaining, self._total)):
            await writer.write(piece)


def _slices(chunks: Sequence[bytes], limit: int) -> Iterator[bytes | memoryview]:
    """The first `limit` bytes of `chunks` in pieces of at most `SLICE`: a large chunk as views
    of it (no copy), consecutive small ones joined (a copy of at most `SLICE`), so a page of many
    small chunks still takes few writes (each write is a turn of the loop, which waits for the
    interpreter lock while a refresh runs)."""
    group: list[memoryview] = []
    grouped = 0
    for chunk in chunks:
        view = memoryview(chunk)[: max(limit, 0)]
        limit -= len(view)
        while view:
            room = SLICE - grouped
            if not group and len(view) >= SLICE:
                yield view[:SLICE]
                view = view[SLICE:]
                continue
            group.append(view[:room])
            grouped += len(group[-1])
            view = view[room:]
            if grouped == SLICE:
                yield b"".join(group)
                group, grouped = [], 0
    if group:
        yield group[0] if len(group) == 1 else b"".join(group)
