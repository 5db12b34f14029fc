"""The heavy steps of a training run, driven by one :class:`distributed.Client`.

:func:`train_on_cluster` is what the Prefect flow's one cluster task and ``stockout-sk evaluate
--dask`` call: connect (or start a LocalCluster), ingest, label and fit on the cluster, close.
What comes back is what the single-process steps return (``ChainData``, ``Prepared``,
``FittedModel``), so evaluation, logging, registration and promotion run unchanged.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from stockout_sk.config import CsvFormat, ModelConfig
from stockout_sk.distributed.cluster import dask_client
from stockout_sk.distributed.ingest import load_chain_on_cluster
from stockout_sk.distributed.training import fit_on_cluster, prepare_on_cluster, refit_on_cluster
from stockout_sk.ingest import ChainData
from stockout_sk.training import FittedModel, Prepared

__all__ = ["ClusterRun", "train_on_cluster"]

logger = logging.getLogger(__name__)


@dataclass(eq=False)
class ClusterRun:
    """What the cluster steps produced, and how long each took (seconds)."""

    chain: ChainData
    prepared: Prepared
    fitted: FittedModel
    timings: dict[str, float] = field(default_factory=dict)
    refitted: FittedModel | None = None


def train_on_cluster(
    address: str,
    data_dir: str | Path,
    config: ModelConfig,
    *,
    ingest_out: str | Path | None = None,
    n_parts: int | None = None,
    n_workers: int | None = None,
    refit: bool = False,
    csv_format: CsvFormat | None = None,
    chunksize: int = 100_000,
) -> ClusterRun:
    """Ingest, label and fit on the Dask cluster at ``address`` (``"local"``: this machine).

    Parameters
    ----------
    address : str
        Scheduler address (``tcp://host:8786``) or ``"local"``.
    data_dir : str or Path
        The six CSV files; the workers read them, so an existing cluster needs them at the same
        path (a shared volume).
    config : ModelConfig
    ingest_out : str or Path, optional
        Where the rejects and the validation report go.
    n_parts : int, optional
        Partitions of branches (default: about 5,000 branch×item keys each, two per worker at
        least).
    n_workers : int, optional
        Workers of a LocalCluster (default one per core).
    refit : bool
        Also fit the model to deploy, on every matured row (when ``config.refit``): what the
        flow registers once the gate has passed the evaluated model.
    csv_format : CsvFormat, optional
        The exports' encoding and delimiter (default: the environment's, else detected per
        file), as for :func:`~stockout_sk.ingest.load_chain`.
    chunksize : int
        CSV rows per chunk a worker reads.
    """
    timings: dict[str, float] = {}
    with dask_client(address, n_workers=n_workers) as client:
        start = time.perf_counter()
        chain = load_chain_on_cluster(
            client,
            data_dir,
            out_dir=ingest_out,
            chunksize=chunksize,
            csv_format=csv_format,
            horizon=config.horizon,
        )
        timings["ingest"] = time.perf_counter() - start
        start = time.perf_counter()
        prepared, on_cluster = prepare_on_cluster(client, chain, config, n_parts=n_parts)
        timings["dataset"] = time.perf_counter() - start
        start = time.perf_counter()
        fitted = fit_on_cluster(client, on_cluster, prepared, chain, config)
        timings["fit"] = time.perf_counter() - start
        refitted = None
        if refit and config.refit:
            # Before the gate, while the partitions are on the workers: the client is closed
            # when this returns. A refit the gate then refuses is one fit spent for nothing.
            start = time.perf_counter()
            refitted = refit_on_cluster(client, on_cluster, fitted, prepared, chain)
            timings["refit"] = time.perf_counter() - start
    return ClusterRun(chain, prepared, fitted, timings, refitted)
