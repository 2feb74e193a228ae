"""gzip bodies whose large prefix is compressed once and whose small tail changes per request.

The prefix is raw-deflated once with a sync flush (so it ends on a byte boundary with no final
block); each response appends a freshly deflated tail and the gzip trailer. The result is one
ordinary gzip member, and the CRC of prefix+tail is computed from the prefix's CRC in O(tail).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterable

_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # gzip, deflate, no name, mtime 0, OS unknown


class GzipPrefix:
    """A body prefix (bytes or chunks) compressed once; `with_tail()` makes the full member."""

    def __init__(self, data: bytes | Iterable[bytes], level: int = 6) -> None:
        chunks = [data] if isinstance(data, bytes) else data
        compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
        deflated, crc, size = [], 0, 0
        for chunk in chunks:
            deflated.append(compressor.compress(chunk))
            crc = zlib.crc32(chunk, crc)
            size += len(chunk)
        deflated.append(compressor.flush(zlib.Z_SYNC_FLUSH))
        self.deflated = b"".join(deflated)
        self.crc = crc
        self.size = size

    def with_tail(self, tail: bytes) -> bytes:
        """gzip of prefix + tail."""
        compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
        deflated_tail = compressor.compress(tail) + compressor.flush(zlib.Z_FINISH)
        crc = zlib.crc32(tail, self.crc)
        size = (self.size + len(tail)) & 0xFFFFFFFF
        return _HEADER + self.deflated + deflated_tail + struct.pack("<II", crc, size)
