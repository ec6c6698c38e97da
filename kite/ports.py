"""Loopback ports: the preview's check-in endpoint, tests and benchmarks all pick them here."""

from __future__ import annotations

import socket


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now (the caller binds it a moment later)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def is_free(host: str, port: int) -> bool:
    """Whether ``port`` can be bound on ``host`` at this moment."""
    if not 0 < port < 65536:
        return False
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True
