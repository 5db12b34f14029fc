"""The cluster a training run uses: an existing Dask scheduler, or a LocalCluster on this machine.

``--dask ADDRESS`` (or ``STOCKOUT_DASK_SCHEDULER``) names it: a scheduler address such as
``tcp://scheduler:8786``, or ``local`` for a :class:`distributed.LocalCluster` of one
single-threaded worker process per core of this machine (LightGBM's workers then run one
thread each, and Dask's memory limit splits the machine's memory between them).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

from distributed import Client, LocalCluster

__all__ = ["CONNECT_TIMEOUT_SECONDS", "LOCAL", "dask_client", "describe"]

logger = logging.getLogger(__name__)

#: The address that asks for a LocalCluster on this machine.
LOCAL = "local"
#: How long connecting to an existing scheduler may take before the run fails.
CONNECT_TIMEOUT_SECONDS = 30


@contextmanager
def dask_client(address: str, *, n_workers: int | None = None) -> Iterator[Client]:
    """A :class:`distributed.Client` on ``address``, closed (with its LocalCluster) on exit.

    Parameters
    ----------
    address : str
        ``"local"`` for a LocalCluster on this machine, else a scheduler address
        (``tcp://host:8786``).
    n_workers : int, optional
        Workers of the LocalCluster (default: one per core). Ignored for a scheduler address.

    Raises
    ------
    ValueError
        ``address`` is empty, or no scheduler answers there within
        :data:`CONNECT_TIMEOUT_SECONDS` (the message names the address and how to fix it).
    """
    address = (address or "").strip()
    if not address:
        raise ValueError(
            "--dask / STOCKOUT_DASK_SCHEDULER is empty: give a scheduler address "
            "(tcp://host:8786) or 'local'"
        )
    if address == LOCAL:
        workers = n_workers or os.cpu_count() or 1
        with (
            LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
            ) as cluster,
            Client(cluster) as client,
        ):
            logger.info("started a LocalCluster: %s", describe(client))
            yield client
        return
    try:
        client = Client(address, timeout=CONNECT_TIMEOUT_SECONDS)
    except (OSError, TimeoutError) as error:
        raise ValueError(
            f"no Dask scheduler answered at {address!r} within {CONNECT_TIMEOUT_SECONDS} s "
            f"({error}); check --dask / STOCKOUT_DASK_SCHEDULER (tcp://host:8786), that the "
            "scheduler runs and that this machine reaches its port, or use --dask local"
        ) from error
    with client:
        logger.info("connected to the Dask scheduler %s: %s", address, describe(client))
        yield client


def describe(client: Client) -> str:
    """Workers, threads and memory of the cluster, for a log line."""
    workers = client.scheduler_info(n_workers=-1)["workers"]
    threads = sum(w.get("nthreads", 0) for w in workers.values())
    memory = sum(w.get("memory_limit", 0) or 0 for w in workers.values())
    return f"{len(workers)} worker(s), {threads} thread(s), {memory / 2**30:.1f} GiB memory limit"
