"""Prefect's temporary server, started before a flow and stopped with the process — always.

With no ``PREFECT_API_URL``, Prefect runs a flow against a temporary local server: the first
client it needs starts ``python -m uvicorn … prefect.server.api.server:create_app`` as a child
process (``prefect.server.api.server.SubprocessASGIServer``, one per process) and stops it from
an ``atexit`` hook. A process killed with ``kill -9`` runs no hook, and that server would keep
running and listening, orphaned. :func:`start_ephemeral_server` starts that same server itself
(Prefect's clients then reuse it) and hands its pid to a small watchdog process
(``flows/_watchdog.py``) that stops it as soon as this process is gone, however it ended.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

from prefect.settings import PREFECT_API_URL

__all__ = ["SERVER_MARKER", "start_ephemeral_server"]

logger = logging.getLogger(__name__)

#: What the temporary server's command line contains (what the watchdog checks before a kill).
SERVER_MARKER = "prefect.server.api.server:create_app"
_WATCHDOG = Path(__file__).with_name("_watchdog.py")
#: The watchdogs started by this process, by server pid (kept so that they are not collected).
_watchdogs: dict[int, subprocess.Popen] = {}


def start_ephemeral_server(timeout: int) -> int | None:
    """Start Prefect's temporary server (unless ``PREFECT_API_URL`` is set) and watch it.

    Parameters
    ----------
    timeout : int
        Seconds the server may take to start.

    Returns
    -------
    int or None
        The server's pid; ``None`` when a server URL is configured (nothing started).
    """
    if PREFECT_API_URL.value():
        return None
    from prefect.server.api.server import SubprocessASGIServer

    server = SubprocessASGIServer()  # the instance Prefect's own clients use
    server.start(timeout=timeout)
    process = server.server_process
    if process is None:  # pragma: no cover - start() raises instead
        return None
    if process.pid not in _watchdogs:
        _watchdogs[process.pid] = subprocess.Popen(
            [sys.executable, str(_WATCHDOG), str(os.getpid()), str(process.pid), SERVER_MARKER],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # not stopped by the terminal's Ctrl-C before it acts
        )
        logger.debug(
            "Prefect's temporary server (pid %d, %s) is watched by pid %d",
            process.pid,
            server.address,
            _watchdogs[process.pid].pid,
        )
    return process.pid
