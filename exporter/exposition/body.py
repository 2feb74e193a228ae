"""A response body made of shared chunks, written in slices so a scrape never copies the page.

The /metrics page is tens of MB on big clusters. Joining it with the per-scrape tail would copy it
once per scrape (and once more into the socket buffer when the client reads slowly), so ten
concurrent scrapers would hold ten copies. `ChunksBody` writes memoryview slices of the shared
chunks instead, waiting for the socket to drain between slices: per scrape at most one slice is
buffered.
"""

from __future__ import annotations

from collections.abc import Sequence
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
        """Write at most `content_length` bytes (all when None), slice by slice."""
        remaining = self._total if content_length is None else content_length
        for chunk in self._value:
            view = memoryview(chunk)
            for start in range(0, len(view), SLICE):
                if remaining <= 0:
                    return
                piece = view[start : start + min(SLICE, remaining)]
                remaining -= len(piece)
                await writer.write(piece)
