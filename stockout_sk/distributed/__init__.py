"""The heavy steps on a Dask cluster, ending in the same single scikit-learn model.

Imported only when a run asks for a cluster (``--dask``, ``STOCKOUT_DASK_SCHEDULER``): without
it nothing here runs and Dask is never imported.

* ``cluster`` — :func:`dask_client`: an existing scheduler or a LocalCluster on this machine;
* ``parts`` — the chain cut into partitions of whole branches (:func:`split_chain`);
* ``matrix`` — per partition: rows, sampling at one ratio, the model matrix (run on workers);
* ``assemble`` — LightGBM's distributed model put back into the one imblearn Pipeline;
* ``training`` — :func:`prepare_on_cluster`, :func:`fit_on_cluster`.
"""

from stockout_sk.distributed.assemble import NETWORK_PARAMS, assemble_pipeline
from stockout_sk.distributed.cluster import LOCAL, dask_client, describe
from stockout_sk.distributed.matrix import RowWindow, SamplingPlan
from stockout_sk.distributed.parts import ChainPart, split_chain
from stockout_sk.distributed.training import ChainOnCluster, fit_on_cluster, prepare_on_cluster

__all__ = [
    "LOCAL",
    "NETWORK_PARAMS",
    "ChainOnCluster",
    "ChainPart",
    "RowWindow",
    "SamplingPlan",
    "assemble_pipeline",
    "dask_client",
    "describe",
    "fit_on_cluster",
    "prepare_on_cluster",
    "split_chain",
]
