"""What `redumbrella serve` becomes once it has checked the database: a small process that starts
gunicorn and the queue worker, waits on them, and stops them both on Ctrl+C or SIGTERM.

`serve` builds the app only to refuse a database that is behind, then replaces itself with this
file (os.execve, run as `python -I launcher.py COMMANDS_JSON`), so the process that sits waiting
for its children for as long as the platform runs holds no app: the standard library alone, about
a tenth of the memory. It imports nothing from the project (`-I` keeps this folder off sys.path:
core/queue.py must not stand in for the standard library's queue).

The platform runs whole or not at all. When gunicorn or the worker stops without being asked (the
out-of-memory killer, a crash), this process writes one JSON line naming it, stops the other and
exits with status 1, so that whatever supervises it (systemd's Restart=on-failure) starts the
platform again instead of taking a clean stop for a wanted one. When this process is killed
itself (kill -9), the kernel sends its children SIGTERM (Linux's parent-death signal), so no
gunicorn or worker is left running unsupervised beside the next start.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess  # nosec B404  # fixed argument lists, built by core.cli.serve
import sys
import time

PR_SET_PDEATHSIG = 1  # linux/prctl.h
NAMES = ("web", "worker")  # core.cli.serve's order: gunicorn, then the queue worker


def _die_with(parent: int):
    """For each child, run between fork and exec: SIGTERM when the launcher dies, on Linux."""

    def arrange() -> None:
        try:
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        except (OSError, AttributeError):  # not Linux: nothing to arrange
            return
        if os.getppid() != parent:  # the launcher died before the signal was arranged
            os._exit(1)

    return arrange


def _report(name: str, status: int) -> None:
    """One JSON line, as the platform's own log writes them (core/logs.py), naming what stopped."""
    entry = {"time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()), "level": "ERROR",
             "logger": "redumbrella.launcher", "message": "a process stopped without being asked: stopping",
             "event": "process_stopped", "process": name}
    entry.update({"signal": -status} if status < 0 else {"status": status})
    print(json.dumps(entry), file=sys.stderr, flush=True)


def main(argv: list[str]) -> int:
    commands = json.loads(argv[1])
    arrange = _die_with(os.getpid())
    children = [subprocess.Popen(command, preexec_fn=arrange) for command in commands]  # noqa: S603  # nosec B603
    asked = False  # a stop that was asked for (Ctrl+C, SIGTERM): no process stopped on its own

    def stop(*_args):
        nonlocal asked
        asked = True
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)

    # Ctrl+C stops everything, even when `serve` was started with SIGINT ignored (as a shell does
    # for a background job): an ignored signal stays ignored across exec unless it is set again.
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        while all(child.poll() is None for child in children):
            try:
                children[0].wait(timeout=1)
            except subprocess.TimeoutExpired:
                continue
    except KeyboardInterrupt:
        asked = True
    unasked = [(name, child.returncode) for name, child in zip(NAMES, children, strict=False)
               if not asked and child.returncode is not None]
    for name, status in unasked:
        _report(name, status)
    stop()
    for child in children:
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    return 1 if unasked else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
