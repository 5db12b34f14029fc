"""What a worker computes for one partition: its training rows, sampled, and their model matrix.

Plain pandas and numpy, run on the workers by :mod:`stockout_sk.distributed.training`. The
feature steps are clones of the pipeline's, fitted on the partition the way ``Pipeline.fit``
fits them on the whole table (calendar → history → hashing, each ``fit_transform``), with the
chain's context for the history step, so every row gets the matrix row one process gives it.

Sampling runs per partition at one ratio. :class:`SamplingPlan` is decided once from the
chain's label counts, as :class:`~stockout_sk.sampling.ConditionalSampler` decides for the whole
table (resample only below its minority share, to its minority/majority ratio); every partition
then keeps the same fraction of its majority rows (``"under"``: all its minority rows and
``round(majority × keep)`` majority rows drawn without replacement), or repeats its minority rows
by the same factor (``"over"``). The whole training set reaches the ratio the sampler would; the
draws differ from one process's (a seed per partition), so the model is equivalent, not identical.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from imblearn.pipeline import Pipeline
from sklearn.base import clone

from stockout_sk.contract import DATE, LABEL, QUANTITY_FIELDS
from stockout_sk.features import ChainContext
from stockout_sk.pipeline import matrix_feature_names
from stockout_sk.sampling import share_resamples
from stockout_sk.training import split_xy, thin_asof_days

__all__ = ["PartMatrix", "RowWindow", "SamplingPlan", "part_counts", "part_matrix"]


@dataclass(frozen=True)
class RowWindow:
    """Rows of the labelled table with as-of day in ``[first, last]`` (``None``: open)."""

    first: pd.Timestamp | None = None
    last: pd.Timestamp | None = None
    stride: int = 1

    def select(self, frame: pd.DataFrame) -> pd.DataFrame:
        keep = np.ones(len(frame), dtype=bool)
        if self.first is not None:
            keep &= (frame[DATE] >= self.first).to_numpy()
        if self.last is not None:
            keep &= (frame[DATE] <= self.last).to_numpy()
        rows = frame[keep]
        return rows[thin_asof_days(rows, self.stride)] if self.stride > 1 else rows


@dataclass(frozen=True)
class SamplingPlan:
    """How every partition resamples: the decision taken once for the chain.

    Attributes
    ----------
    applied : bool
        Whether resampling applies (the minority share is below the sampler's threshold and the
        ratio is not already reached).
    minority : int
        The minority class label.
    factor : float
        ``"under"``: the fraction of majority rows kept; ``"over"``: how many times each
        minority row is drawn on average.
    strategy : str
    minority_share : float
        The chain's minority share before resampling.
    seed : int
    """

    applied: bool
    minority: int = 1
    factor: float = 1.0
    strategy: str = "under"
    minority_share: float = 0.0
    seed: int = 0

    @classmethod
    def decide(cls, counts: np.ndarray, sampler) -> SamplingPlan:
        """The plan for label ``counts`` (``[negatives, positives]``) and a ConditionalSampler."""
        total = int(counts.sum())
        minority = int(np.argmin(counts))
        share = float(counts.min() / total) if total else 0.0
        seed = 0 if sampler.random_state is None else int(sampler.random_state)
        applied = bool(counts.min() > 0) and share_resamples(
            share, minority_threshold=sampler.minority_threshold, ratio=sampler.ratio
        )
        if not applied:
            return cls(applied=False, minority_share=share, seed=seed)
        n_min, n_maj = float(counts[minority]), float(counts[1 - minority])
        if sampler.strategy == "under":
            factor = n_min / sampler.ratio / n_maj
        else:
            factor = sampler.ratio * n_maj / n_min
        return cls(True, minority, factor, sampler.strategy, share, seed)

    def sample(self, y: np.ndarray, part: int) -> np.ndarray:
        """Sorted indices of the rows a partition keeps (repeated when over-sampling)."""
        if not self.applied:
            return np.arange(len(y))
        rng = np.random.default_rng([self.seed, part])
        minority = np.flatnonzero(y == self.minority)
        majority = np.flatnonzero(y != self.minority)
        if self.strategy == "under":
            n = min(round(len(majority) * self.factor), len(majority))
            kept = [minority, rng.choice(majority, size=n, replace=False)]
        else:
            extra = max(round(len(minority) * self.factor) - len(minority), 0)
            kept = [majority, minority, rng.choice(minority, size=extra, replace=True)]
        return np.sort(np.concatenate(kept))


@dataclass(eq=False)
class PartMatrix:
    """One partition's model matrix and what fitting its feature steps left.

    Attributes
    ----------
    matrix : ndarray of float32
        The rows' model matrix (what LightGBM sees).
    y : ndarray of int64
    steps : imblearn Pipeline
        Calendar, history and hashing fitted on the partition (history with the chain context).
    valid_matrix, valid_y : ndarray or None
        Rows scored by the fitted steps as a served pipeline scores them (from the carried
        history), when validation rows were asked for.
    """

    matrix: np.ndarray
    y: np.ndarray
    steps: Pipeline
    valid_matrix: np.ndarray | None = None
    valid_y: np.ndarray | None = None

    @property
    def n_rows(self) -> int:
        return len(self.y)


def part_counts(labelled: pd.DataFrame, window: RowWindow) -> np.ndarray:
    """``[negatives, positives]`` among a partition's rows in ``window``."""
    y = window.select(labelled)[LABEL].to_numpy(dtype=np.int64)
    return np.bincount(y, minlength=2)[:2]


def part_matrix(
    part,
    labelled: pd.DataFrame,
    *,
    feature_steps: Pipeline,
    context: ChainContext,
    window: RowWindow,
    plan: SamplingPlan,
    flows_until: pd.Timestamp | None = None,
    valid: RowWindow | None = None,
) -> PartMatrix:
    """Sample a partition's rows in ``window`` and compute their model matrix.

    Parameters
    ----------
    part : ChainPart
        The partition (its flows and transfers feed the history step).
    labelled : DataFrame
        Its labelled table (:meth:`ChainPart.labelled`).
    feature_steps : Pipeline
        The pipeline's ``calendar``, ``history`` and ``hashing`` steps, unfitted (cloned here).
    context : ChainContext
        The chain's context for the same flows (up to ``flows_until``) and rows.
    window, plan : RowWindow, SamplingPlan
        The rows to train on and how to resample them.
    flows_until : Timestamp, optional
        Only flows of days up to it (the threshold's inner fit).
    valid : RowWindow, optional
        Rows to score with the fitted steps (the threshold's validation window).
    """
    rows = window.select(labelled)
    rows = rows.iloc[plan.sample(rows[LABEL].to_numpy(), part.index)]
    X, y = split_xy(rows)
    if not len(X):
        # A partition of external IDs only: no rows, but its flows are history the model carries.
        X = X.astype({DATE: "datetime64[ns]", **dict.fromkeys(QUANTITY_FIELDS, np.float64)})
    flows, transfers = part.flows_until(flows_until)
    steps = clone(feature_steps)
    fit_params = {"flows": flows, "transfers": transfers, "chain_context": context}
    data = X
    for name, step in steps.steps:
        if name == "hashing" and not len(X):
            # Only the history of a row-less partition matters; it has no matrix to hash.
            data = np.empty((0, len(matrix_feature_names(*(s for _, s in steps.steps)))))
            break
        data = step.fit_transform(data, **(fit_params if name == "history" else {}))
    result = PartMatrix(matrix=np.asarray(data, dtype=np.float32), y=y, steps=steps)
    if valid is not None and len(X):
        X_valid, result.valid_y = split_xy(valid.select(labelled))
        result.valid_matrix = np.asarray(steps.transform(X_valid), dtype=np.float32)
    return result
