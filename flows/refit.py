"""The run-pipeline flow's last steps: refit the promoted model on every matured row, deploy it.

See :mod:`stockout_sk.registry.refit`: the evaluated version keeps the holdout metrics, the refit
(the same settings and threshold, every matured row) becomes the next version and ``production``.
"""

from __future__ import annotations

from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from stockout_sk.config import Settings
from stockout_sk.ingest import ChainData
from stockout_sk.labels import snapshot_rows
from stockout_sk.registry import (
    LoggedTraining,
    PromotionDecision,
    RefitRegistration,
    register_refit,
)
from stockout_sk.training import FittedModel, Prepared, TrainingResult, refit_on_all

__all__ = ["deployed_text", "refit", "register_deployed"]


@task(name="refit", cache_policy=NO_CACHE)
def refit(
    fitted: FittedModel, prepared: Prepared, chain: ChainData, checkpoint_dir: str
) -> FittedModel:
    """The promoted model's settings, refitted on every matured row (its threshold kept, or
    chosen on the snapshot's morning list under ``threshold_method="expected"``)."""
    return refit_on_all(
        fitted,
        prepared.dataset.frame,
        chain,
        checkpoint_dir=checkpoint_dir,
        morning=snapshot_rows(chain),
    )


@task(name="register-refit", cache_policy=NO_CACHE)
def register_deployed(
    logged: LoggedTraining,
    decision: PromotionDecision,
    result: TrainingResult,
    refitted: FittedModel,
    settings: Settings,
    data_dir: str,
) -> RefitRegistration:
    """Register the refit as the next version and give it ``production`` (not retried)."""
    return register_refit(logged, decision, result, refitted, settings, data_dir=data_dir)


def deployed_text(deployed: dict[str, Any] | None) -> str:
    """One line of the run summary: the version deployed, or that nothing new was."""
    if not deployed:
        return "nothing new (the evaluated version is the only one of this run)."
    rows = deployed["fit_rows"]
    return (
        f"version {deployed['version']}, the refit of version {deployed['refit_of']} on "
        f"{rows['rows']:,} matured rows ({rows['start']}..{rows['end']})."
    )
