"""gzip bodies whose large prefix is compressed once and whose small tail changes per request.

The prefix is cut into pieces (a chunk of `PIECE` bytes or more alone, smaller chunks together
until they reach it), and each piece is raw-deflated on its own with a sync flush (so it ends on a
byte boundary with no final block, and refers to nothing before it). Pieces laid end to end are
one valid deflate stream, so a piece whose chunks are those of the last page's prefix (`reuse`)
is taken compressed as it is: only what changed since is compressed again. Each response appends
a freshly deflated tail and the gzip trailer. The result is one ordinary gzip member; the CRC of
prefix+tail is computed from the prefix's CRC in O(tail).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterable, Iterator

_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # gzip, deflate, no name, mtime 0, OS unknown
PIECE = 128 * 1024
"""Bytes from which chunks form a piece of their own (compressed alone, reused alone)."""

Piece = tuple[bytes, ...]


class GzipPrefix:
    """A body prefix (bytes or chunks) compressed once; `with_tail()` makes the full member.

    With `reuse` (the last page's prefix, same `level`), pieces equal to one of its pieces are not
    compressed again; `compressed` counts the bytes that were.
    """

    def __init__(
        self, data: bytes | Iterable[bytes], level: int = 6, reuse: GzipPrefix | None = None
    ) -> None:
        chunks = [data] if isinstance(data, bytes) else data
        self.level = level
        known = reuse.pieces if reuse is not None and reuse.level == level else {}
        self.pieces: dict[Piece, bytes] = {}
        """Each piece (its chunks) -> its deflated bytes."""
        self.compressed = 0
        deflated, crc, size = [], 0, 0
        for piece in _pieces(chunks):
            out = self.pieces.get(piece)
            if out is None:
                out = known.get(piece)
                if out is None:
                    out = self._deflate(piece)
                self.pieces[piece] = out
            deflated.append(out)
            for chunk in piece:
                crc = zlib.crc32(chunk, crc)
                size += len(chunk)
        self.deflated = deflated
        """The prefix's deflate stream, piece by piece (joined once per response)."""
        self.crc = crc
        self.size = size

    def _deflate(self, piece: Piece) -> bytes:
        compressor = zlib.compressobj(self.level, zlib.DEFLATED, -15)
        out = [compressor.compress(chunk) for chunk in piece]
        out.append(compressor.flush(zlib.Z_SYNC_FLUSH))
        self.compressed += sum(map(len, piece))
        return b"".join(out)

    def with_tail(self, tail: bytes) -> bytes:
        """gzip of prefix + tail."""
        compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
        deflated_tail = compressor.compress(tail) + compressor.flush(zlib.Z_FINISH)
        crc = zlib.crc32(tail, self.crc)
        size = (self.size + len(tail)) & 0xFFFFFFFF
        return b"".join([_HEADER, *self.deflated, deflated_tail, struct.pack("<II", crc, size)])


def _pieces(chunks: Iterable[bytes]) -> Iterator[Piece]:
    """Chunks grouped into pieces: a chunk of `PIECE` bytes or more alone, smaller ones together
    until they reach it (so a piece's bounds move only with the sizes of the chunks in it and
    right before it)."""
    small: list[bytes] = []
    filled = 0
    for chunk in chunks:
        if len(chunk) >= PIECE:
            if small:
                yield tuple(small)
                small, filled = [], 0
            yield (chunk,)
            continue
        small.append(chunk)
        filled += len(chunk)
        if filled >= PIECE:
            yield tuple(small)
            small, filled = [], 0
    if small:
        yield tuple(small)
