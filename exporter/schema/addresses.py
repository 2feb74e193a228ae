"""`HOST:PORT` addresses (IPv6 as `[::1]:PORT`). Standard library only: the probe uses it."""

from __future__ import annotations


def split_host_port(value: str, default_host: str | None = None) -> tuple[str, int]:
    """(host, port) of `value`; ValueError unless it is HOST:PORT with a port in 1..65535.

    An empty host is `default_host` when one is given (`:9876` listens on every interface).
    """
    host, sep, port = value.rpartition(":")
    host = host.strip("[]")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(
            f"expected HOST:PORT (a port from 1 to 65535), e.g. 0.0.0.0:9876, got {value!r}"
        )
    if not host:
        if default_host is None:
            raise ValueError(f"expected HOST:PORT, got {value!r} (no host)")
        host = default_host
    return host, int(port)
