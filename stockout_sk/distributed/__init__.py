"""The heavy steps on a Dask cluster, ending in the same single scikit-learn model.

Used when a run asks for a cluster (``--dask``, ``STOCKOUT_DASK_SCHEDULER``). Importing this
package costs nothing: its names load their module, and Dask with it, on first use (PEP 562),
so a run without a cluster never imports Dask although the flow that offers one imports this.

* ``cluster`` — :func:`dask_client`: an existing scheduler or a LocalCluster on this machine;
* ``ingest`` — :func:`load_chain_on_cluster`: the transaction files read in blocks by the
  workers, validated by the single-process scan;
* ``parts`` — the chain cut into partitions of whole branches (:func:`split_chain`);
* ``matrix`` — per partition: rows, sampling at one ratio, the model matrix (run on workers);
* ``assemble`` — LightGBM's distributed model put back into the one imblearn Pipeline;
* ``labelled`` — :func:`prepare_on_cluster`: the labelled table per partition, split by time;
* ``training`` — :func:`fit_on_cluster` (threshold folds, final fit), :func:`refit_on_cluster`;
* ``run`` — :func:`train_on_cluster`: the steps of a training run on one client.
"""

from __future__ import annotations

import importlib
from typing import Any

#: Public name → the module that defines it.
_HOMES = {
    "LOCAL": "cluster",
    "dask_client": "cluster",
    "describe": "cluster",
    "ChainPart": "parts",
    "split_chain": "parts",
    "RowWindow": "matrix",
    "SamplingPlan": "matrix",
    "NETWORK_PARAMS": "assemble",
    "assemble_pipeline": "assemble",
    "ChainOnCluster": "labelled",
    "prepare_on_cluster": "labelled",
    "fit_on_cluster": "training",
    "refit_on_cluster": "training",
    "load_chain_on_cluster": "ingest",
    "ClusterRun": "run",
    "train_on_cluster": "run",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOMES])
