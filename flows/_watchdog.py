"""Stop a server when the process that started it dies, even by ``kill -9``.

Run as ``python _watchdog.py PARENT_PID SERVER_PID MARKER`` by the process that started the
server (see :mod:`flows.ephemeral`). It polls: when the server is gone it exits; when its parent
is gone (it has been re-parented), it stops the server — ``SIGTERM``, then ``SIGKILL`` after a
grace period — if that pid still runs a command line containing ``MARKER`` (on Linux; a pid
reused by another program is left alone). Standard library only: it must start fast and import
nothing of the project.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

POLL_SECONDS = 0.5
GRACE_SECONDS = 5.0


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_server(pid: int, marker: str) -> bool:
    cmdline = Path(f"/proc/{pid}/cmdline")
    if not cmdline.parent.exists():
        return True  # no /proc here: the pid is all there is to go by
    try:
        return marker.encode() in cmdline.read_bytes()
    except OSError:
        return False


def watch(parent: int, server: int, marker: str) -> int:
    """Poll until the server is gone (0) or the parent died and the server was stopped (0)."""
    while _running(server):
        if os.getppid() != parent:
            if _is_server(server, marker):
                os.kill(server, signal.SIGTERM)
                deadline = time.monotonic() + GRACE_SECONDS
                while _running(server) and time.monotonic() < deadline:
                    time.sleep(0.1)
                if _running(server) and _is_server(server, marker):
                    os.kill(server, signal.SIGKILL)
            return 0
        time.sleep(POLL_SECONDS)
    return 0


if __name__ == "__main__":
    try:
        raise SystemExit(watch(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]))
    except ProcessLookupError:
        raise SystemExit(0) from None
