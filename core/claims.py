"""Who holds a claim on an outbox row (alert deliveries, webhooks, federation pushes), and whether
that worker is still alive, so a row claimed by a killed worker is taken back at once instead of
after its lease: "at most one repeat per worker" whatever kills it.

A claim is "host:pid:process start time:thread id". The start time (from /proc) keeps a reused pid
from being taken for the dead process; another host's claim cannot be judged here (None), and is
left to its lease.
"""

from __future__ import annotations

import os
import socket
import threading

HOST = socket.gethostname()[:40]


def process_start(pid: int) -> str:
    """The kernel's start time of a process (so a reused pid is not taken for the old process)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return "0"


def claimer() -> str:
    pid = os.getpid()
    return f"{HOST}:{pid}:{process_start(pid)}:{threading.get_native_id()}"


def claimer_alive(claim: str) -> bool | None:
    """True or False when this host can tell; None for another host's worker (the lease decides)."""
    try:
        host, pid_text, start, thread_id = claim.rsplit(":", 3)
        pid = int(pid_text)
    except ValueError:
        return False
    if host != HOST:
        return None
    if pid == os.getpid():
        return int(thread_id) in {thread.native_id for thread in threading.enumerate()}
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return start == "0" or process_start(pid) == start
