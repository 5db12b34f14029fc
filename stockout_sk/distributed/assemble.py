"""One model at the end: LightGBM's distributed booster put back into the pipeline one process fits.

:func:`dask_classifier` makes the :class:`lightgbm.dask.DaskLGBMClassifier` with the pipeline
classifier's LightGBM parameters. LightGBM's own network settings are left to it: ``machines``
and ``local_listen_port`` are never set (fixed ports clash when several workers share a host),
and ``time_out`` is always given. :func:`assemble_pipeline` transplants the trained model into a
:class:`~stockout_sk.model.StockoutClassifier` carrying the threshold, next to the feature steps
fitted on the partitions, in the imblearn Pipeline :func:`stockout_sk.pipeline.build_pipeline`
makes: the object that is logged, served and loaded holds no Dask type and needs no cluster.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np
from imblearn.pipeline import Pipeline
from lightgbm import Booster, LGBMClassifier
from lightgbm.dask import DaskLGBMClassifier

from stockout_sk.distributed.matrix import SamplingPlan
from stockout_sk.features import combine_parts
from stockout_sk.model import StockoutClassifier

__all__ = ["NETWORK_PARAMS", "assemble_pipeline", "dask_classifier", "local_model"]

#: LightGBM parameters (and aliases) a distributed fit must leave to ``lightgbm.dask``.
NETWORK_PARAMS = (
    "machines",
    "workers",
    "nodes",
    "machine_list_filename",
    "machine_list_file",
    "machine_list",
    "mlist",
    "local_listen_port",
    "local_port",
    "port",
    "num_machines",
    "num_machine",
)
# Parameters of StockoutClassifier that are not LightGBM's, and the thread count: lightgbm.dask
# sets num_threads to each worker's thread count itself.
_NOT_FOR_DASK = ("threshold", "checkpoint_dir", "checkpoint_every", "n_jobs")


def dask_classifier(classifier: StockoutClassifier, client, time_out_minutes: int):
    """A DaskLGBMClassifier with ``classifier``'s LightGBM parameters.

    Raises
    ------
    ValueError
        ``classifier`` fixes a network parameter (``machines``, ``local_listen_port``, …).
    """
    params = classifier.get_params()
    fixed = sorted(set(params) & set(NETWORK_PARAMS))
    if fixed:
        raise ValueError(
            f"LightGBM network parameter(s) {fixed} are set; a distributed fit lets lightgbm.dask "
            "find a free port on each worker (fixed ports clash when workers share a host). "
            "Remove them from the model settings"
        )
    for name in _NOT_FOR_DASK:
        params.pop(name, None)
    return DaskLGBMClassifier(client=client, time_out=int(time_out_minutes), **params)


def local_model(classifier: DaskLGBMClassifier) -> LGBMClassifier:
    """The fitted model as a plain LGBMClassifier (``to_local``), without network state."""
    local = classifier.to_local()
    # The booster returned by a network fit still names its machines: rebuild it from the model
    # text, which holds every tree, so nothing of the cluster travels with the model.
    local._Booster = Booster(model_str=local.booster_.model_to_string())
    return local


def transplant(local: LGBMClassifier, template: StockoutClassifier, threshold: float):
    """A fitted StockoutClassifier with ``template``'s parameters and ``local``'s trees."""
    fitted = StockoutClassifier(**{**template.get_params(), "threshold": threshold})
    # What LGBMClassifier.fit leaves on the estimator (booster, classes, counts…), as
    # lightgbm.dask's own to_local copies it; _other_params would carry the worker settings
    # (num_threads, tree_learner) into our parameters, so it stays ours.
    params = set(local.get_params())
    for name, value in local.__dict__.items():
        if name not in params and name != "_other_params":
            setattr(fitted, name, value)
    fitted.resumed_from_ = 0
    # No checkpoint is written in distributed mode; a fingerprint of the trees themselves names
    # this fit, so no single-process fit's checkpoints are ever taken (or logged) as its own.
    text = fitted.booster_.model_to_string().encode()
    fitted.fingerprint_ = "dask-" + hashlib.blake2b(text, digest_size=8).hexdigest()
    return fitted


def assemble_pipeline(
    template: Pipeline,
    steps: Sequence[Pipeline],
    local: LGBMClassifier,
    *,
    threshold: float,
    plan: SamplingPlan,
) -> Pipeline:
    """The fitted pipeline: sampler, calendar, history, hashing, classifier.

    Parameters
    ----------
    template : Pipeline
        ``build_pipeline(config)``, unfitted: the steps' parameters.
    steps : sequence of Pipeline
        Each partition's fitted feature steps, in partition order.
    local : LGBMClassifier
        The trained model (:func:`local_model`).
    threshold : float
    plan : SamplingPlan
        How the rows were resampled (recorded on the sampler as it records a fit).
    """
    # Calendar and hashing are fitted alike on every partition that has rows.
    first = next(p for p in steps if hasattr(p.named_steps["hashing"], "numeric_features_"))
    sampler = template.named_steps["sampler"]
    sampler.feature_names_in_ = np.asarray(first.named_steps["calendar"].feature_names_in_)
    sampler.n_features_in_ = len(sampler.feature_names_in_)
    sampler.applied_ = plan.applied
    sampler.minority_share_ = plan.minority_share
    history = combine_parts([part.named_steps["history"] for part in steps])
    classifier = transplant(local, template.named_steps["classifier"], threshold)
    fitted: list[tuple[str, Any]] = [
        ("sampler", sampler),
        ("calendar", first.named_steps["calendar"]),
        ("history", history),
        ("hashing", first.named_steps["hashing"]),
        ("classifier", classifier),
    ]
    return Pipeline(fitted)
