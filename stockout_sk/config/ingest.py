"""How many processes read a chain's exports: :func:`load_ingest_workers`.

Validating a CSV row by row is pandas string work that holds Python's global lock, so one
process reads at most one core's worth; ingestion splits a large sales file across worker
processes of the machine (:mod:`stockout_sk.ingest.parallel`). ``1`` reads everything in the
calling process. The command line's ``--ingest-workers`` wins over the environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from stockout_sk.config import _env

__all__ = [
    "INGEST_WORKERS_ENV",
    "MAX_INGEST_WORKERS",
    "default_ingest_workers",
    "load_ingest_workers",
]

INGEST_WORKERS_ENV = "STOCKOUT_INGEST_WORKERS"
#: More processes than this only add start-up time and memory (each holds pandas and a block).
MAX_INGEST_WORKERS = 64


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity, else the machine's count), ≥ 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def default_ingest_workers() -> int:
    """:func:`available_cores`, at most :data:`MAX_INGEST_WORKERS`."""
    return min(available_cores(), MAX_INGEST_WORKERS)


def load_ingest_workers(
    environ: Mapping[str, str] | None = None, workers: int | None = None
) -> int:
    """The worker processes ingestion may use: ``workers`` (the command line's), else
    ``STOCKOUT_INGEST_WORKERS``, else :func:`default_ingest_workers`.

    Raises
    ------
    ValueError
        A value that is not a whole number in ``[1, MAX_INGEST_WORKERS]``; the message names
        where it came from.

    Examples
    --------
    >>> load_ingest_workers({"STOCKOUT_INGEST_WORKERS": "1"})
    1
    >>> load_ingest_workers({"STOCKOUT_INGEST_WORKERS": "4"}, workers=2)
    2
    """
    if workers is not None:
        if isinstance(workers, bool) or not isinstance(workers, int):
            raise ValueError(f"workers must be a whole number, got {workers!r}")
        if not 1 <= workers <= MAX_INGEST_WORKERS:
            raise ValueError(
                f"--ingest-workers must be between 1 and {MAX_INGEST_WORKERS}, got {workers}"
            )
        return workers
    env = os.environ if environ is None else environ
    return _env.integer(
        env,
        INGEST_WORKERS_ENV,
        default_ingest_workers(),
        minimum=1,
        maximum=MAX_INGEST_WORKERS,
    )
