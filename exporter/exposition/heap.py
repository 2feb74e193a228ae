"""The C heap (glibc only; elsewhere, musl or macOS, both are no-ops).

A refresh of a big cluster allocates and frees tens of MB; glibc keeps freed memory in its arenas
(one per thread that allocated it, up to 8 per core), so without a trim the resident size stays
at the refresh's peak: `heap_trimmer` releases it after a page swap, and `limit_malloc_arenas`
caps the arenas, so the serving loop, the collector loop and the worker threads that convert and
render share two instead of leaving freed memory in one each (7 MB less RSS at 50,000 lag series).
`fix_mmap_threshold` keeps blocks of megabytes (rendered families, pages, a collector process's
snapshot) out of the arenas altogether, so there is little left for the trim to walk.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable

M_ARENA_MAX = -8
"""glibc's mallopt parameter for the most arenas (malloc.h)."""
M_MMAP_THRESHOLD = -3
"""glibc's mallopt parameter for the smallest block served by mmap (malloc.h)."""
MALLOC_ARENAS = 2
MMAP_THRESHOLD = 4 * 2**20
"""Bytes from which a block is mmapped, and unmapped when freed. glibc's default starts at 128 KiB
but rises to the size of every mmapped block freed (up to 32 MiB), so after the first page swap
each family of a few MB came from an arena; freed, it waited there for `malloc_trim`, which walks
an arena with its lock held while a scrape that allocates in it waits, holding the interpreter
lock (process mode, 10 gzip scrapers at 1000 x 50: p99 45-171 ms while a snapshot was published).
Fixed at 4 MiB: the replies, buffers and gzip bodies below it stay in the arenas (mmapping those
costs each thread page faults and unmaps), the rendered families above it do not."""


def _glibc(name: str, argtypes: list[type], restype: type) -> Callable[..., int] | None:
    """The glibc function `name` with its C signature, or None where there is no glibc."""
    try:
        function = getattr(ctypes.CDLL("libc.so.6"), name)
    except (OSError, AttributeError):
        return None
    function.argtypes = argtypes
    function.restype = restype
    return function


def heap_trimmer() -> Callable[[], None]:
    """A function that trims the C heap, or does nothing where that is not available."""
    trim = _glibc("malloc_trim", [ctypes.c_size_t], ctypes.c_int)
    if trim is None:
        return lambda: None

    def run() -> None:
        trim(0)

    return run


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Cap glibc's malloc arenas for threads started from now on (as `MALLOC_ARENA_MAX` does);
    False where that is not available."""
    return _mallopt(M_ARENA_MAX, arenas)


def fix_mmap_threshold(threshold: int = MMAP_THRESHOLD) -> bool:
    """Serve blocks of `threshold` bytes and more by mmap from now on, whatever is freed later
    (as `MALLOC_MMAP_THRESHOLD_` does); False where that is not available."""
    return _mallopt(M_MMAP_THRESHOLD, threshold)


def _mallopt(parameter: int, value: int) -> bool:
    """glibc's `mallopt(parameter, value)`; False where it is not available or refuses."""
    mallopt = _glibc("mallopt", [ctypes.c_int, ctypes.c_int], ctypes.c_int)
    return mallopt is not None and bool(mallopt(parameter, value))
