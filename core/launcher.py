"""What `redumbrella serve` becomes once it has checked the database: a small process that starts
gunicorn and the queue worker, waits on them, and stops them both on Ctrl+C or SIGTERM.

`serve` builds the app only to refuse a database that is behind, then replaces itself with this
file (os.execve, run as `python -I launcher.py COMMANDS_JSON`), so the process that sits waiting
for its children for as long as the platform runs holds no app: the standard library alone, about
a tenth of the memory. It imports nothing from the project (`-I` keeps this folder off sys.path:
core/queue.py must not stand in for the standard library's queue).
"""

from __future__ import annotations

import json
import signal
import subprocess  # nosec B404  # fixed argument lists, built by core.cli.serve
import sys


def main(argv: list[str]) -> int:
    commands = json.loads(argv[1])
    children = [subprocess.Popen(command) for command in commands]  # noqa: S603  # nosec B603

    def stop(*_args):
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
        pass
    finally:
        stop()
        for child in children:
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
