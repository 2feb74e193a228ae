"""Return freed heap memory to the operating system after a page swap (glibc only).

A refresh of a big cluster allocates and frees tens of MB; glibc keeps freed memory in its arenas
(one per thread that allocated it), so without a trim the resident size stays at the refresh's
peak. `malloc_trim(0)` releases it; elsewhere (musl, macOS) this is a no-op.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable


def heap_trimmer() -> Callable[[], None]:
    """A function that trims the C heap, or does nothing where that is not available."""
    try:
        trim = ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return lambda: None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int

    def run() -> None:
        trim(0)

    return run
