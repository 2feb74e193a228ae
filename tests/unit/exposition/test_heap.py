"""glibc heap settings really take: `limit_malloc_arenas` caps the arenas (counted by glibc's own
`malloc_info`), and the daemon's fixed mmap threshold keeps large blocks out of them."""

from __future__ import annotations

import subprocess
import sys
import textwrap

# Eight threads, alive at once, each allocating through malloc (bytearrays beyond Python's small
# object allocator); then glibc describes its heaps: one <heap nr=...> element per arena.
_ARENAS_USED = textwrap.dedent(
    """
    import ctypes, sys, tempfile, threading
    from exporter.exposition.heap import limit_malloc_arenas
    if sys.argv[1] == "limit":
        assert limit_malloc_arenas(2)
    ready, done = threading.Barrier(9), threading.Event()
    def work():
        keep = [bytearray(4096) for _ in range(200)]
        ready.wait()
        done.wait()
    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    ready.wait()
    libc = ctypes.CDLL("libc.so.6")
    libc.fopen.restype = ctypes.c_void_p
    libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
    libc.fclose.argtypes = [ctypes.c_void_p]
    with tempfile.NamedTemporaryFile(suffix=".xml") as out:
        stream = libc.fopen(out.name.encode(), b"w")
        libc.malloc_info(0, stream)
        libc.fclose(stream)
        print(open(out.name).read().count("<heap nr="))
    done.set()
    """
)


def _number_printed(script: str, mode: str) -> int:
    """Run `script` with `mode` as its argument in a fresh interpreter; the number it prints."""
    result = subprocess.run(
        [sys.executable, "-c", script, mode],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return int(result.stdout.strip())


def test_the_limit_caps_the_arenas_threads_get() -> None:
    unlimited = _number_printed(_ARENAS_USED, "default")
    limited = _number_printed(_ARENAS_USED, "limit")
    assert unlimited > 2, unlimited  # without the cap, threads get arenas of their own
    assert limited <= 2, limited


# A 6 MiB block freed (mmapped, so glibc's default raises its threshold to 6 MiB), then a 5 MiB
# block kept: glibc's own count of mmapped blocks (mallinfo2's hblks) says where it came from.
_MMAPPED_AFTER_A_FREE = textwrap.dedent(
    """
    import ctypes, sys
    class Info(ctypes.Structure):
        _fields_ = [(n, ctypes.c_size_t) for n in (
            "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split())]
    libc = ctypes.CDLL("libc.so.6")
    libc.mallinfo2.restype = Info
    if sys.argv[1] == "tuned":
        from exporter.daemon.interpreter import tune_interpreter
        tune_interpreter()
    freed = bytearray(6 * 2**20)
    del freed
    before = libc.mallinfo2().hblks
    kept = bytearray(5 * 2**20)
    print(libc.mallinfo2().hblks - before)
    """
)


def test_the_daemon_keeps_blocks_of_megabytes_mmapped_after_a_larger_one_is_freed() -> None:
    # glibc's rising threshold: from an arena; the daemon's fixed one: mmapped
    assert _number_printed(_MMAPPED_AFTER_A_FREE, "default") == 0
    assert _number_printed(_MMAPPED_AFTER_A_FREE, "tuned") == 1
