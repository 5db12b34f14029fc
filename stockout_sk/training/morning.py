"""The decision threshold chosen on the first morning list a model scores (``"expected"``).

The folds choose a cut on validation windows weeks before the days the model will serve. On a
short export the share of stock-outs moves within those weeks: on the real-demand replays of
FreshRetailNet-50K it climbs from 0.12 to 0.28 over the first three weeks and settles at 0.16–0.20
after, so a two-month export's folds validate on days unlike the ones that follow, and their
F1-best cut lands above the best cut of the week after (on 9 of 12 such exports measured).

:func:`morning_threshold` needs no label. It scores the rows the model is deployed for — every
branch×item as of the day its first morning list is made (:func:`morning_rows`) — and takes the
cut that maximises the F1 the model's own probabilities expect there
(:func:`~stockout_sk.evaluate.expected_f1_threshold`). A morning whose scores run high gets a
higher cut, one whose scores run low a lower one. The probabilities are put back on the rows'
own scale first when the model was fitted on resampled rows
(:func:`~stockout_sk.sampling.unresampled_probability`); the cut is then carried on the model's
own scale, so the pipeline, the API and ``mlflow models serve`` apply it unchanged.

Which rows: the model a run *evaluates* is deployed, in the holdout's story, on the holdout's
first day (:attr:`Prepared.morning`); the model a run *registers* (the refit, or the evaluated
model when ``refit`` is off) on the export's last day — the snapshot
(:func:`stockout_sk.labels.snapshot_rows`). Only their features are read, never a label.
"""

from __future__ import annotations

import dataclasses
import logging

import pandas as pd

from stockout_sk.contract import DATE, LABEL
from stockout_sk.evaluate import classification_metrics, expected_f1_threshold
from stockout_sk.sampling import unresampled_probability
from stockout_sk.training.fitted import FittedModel

__all__ = ["EXPECTED", "morning_rows", "morning_threshold"]

logger = logging.getLogger(__name__)

#: The ``threshold_method`` that chooses the cut on the morning list.
EXPECTED = "expected"


def morning_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The raw fields of ``frame``'s rows as of its first as-of day (any label dropped).

    Examples
    --------
    >>> frame = pd.DataFrame({"Date": pd.to_datetime(["2024-03-02", "2024-03-01"]),
    ...                       "BranchID": ["B1", "B2"], "label": [1, 0]})
    >>> morning_rows(frame)
            Date BranchID
    0 2024-03-01       B2
    """
    if frame.empty:
        return frame.drop(columns=[LABEL], errors="ignore")
    first = frame[DATE].min()
    rows = frame[frame[DATE] == first].drop(columns=[LABEL], errors="ignore")
    return rows.reset_index(drop=True)


def morning_threshold(model: FittedModel, rows: pd.DataFrame | None) -> FittedModel:
    """``model`` with the cut its ``threshold_method`` asks for, chosen on ``rows``.

    Parameters
    ----------
    model : FittedModel
        A fitted model; its threshold so far is the folds' choice.
    rows : DataFrame or None
        The morning list the model scores first (raw request fields, one row per branch×item).
        ``None`` or empty: the folds' cut is kept and the record says why.

    Returns
    -------
    FittedModel
        Unchanged unless ``config.threshold_method == "expected"``; then the classifier carries
        the new cut (set in place on ``model.pipeline``), and ``validation`` records the folds'
        cut (``candidates``), the morning's cut and its expected F1 (``morning``), the method
        used, and how many fold rows the new cut flags.
    """
    if model.config.threshold_method != EXPECTED:
        return model
    validation = dict(model.validation)
    folds_cut = float(validation.get("candidates", {}).get("pooled", model.threshold))
    if rows is None or rows.empty:
        logger.warning(
            "threshold_method 'expected' needs the morning list the model scores first; none was "
            "given, so the folds' pooled cut %.4f is kept",
            folds_cut,
        )
        model.pipeline.named_steps["classifier"].threshold = folds_cut
        validation.update(method="pooled", threshold=folds_cut, morning=None)
        return dataclasses.replace(model, threshold=folds_cut, validation=validation)
    raw = model.pipeline.predict_proba(rows)[:, 1]
    sampler = model.pipeline.named_steps["sampler"]
    resampled = bool(getattr(sampler, "applied_", False))
    probability = (
        unresampled_probability(raw, share=sampler.minority_share_, ratio=sampler.ratio)
        if resampled
        else raw
    )
    cut, expected_f1 = expected_f1_threshold(probability)
    flagged = probability >= cut
    # The same rows on the model's own scale (the scale change is monotone): halfway between
    # the lowest raw score flagged and the highest one not.
    if flagged.any():
        unflagged = raw[~flagged]
        highest_below = float(unflagged.max()) if len(unflagged) else 0.0
        threshold = (float(raw[flagged].min()) + highest_below) / 2.0
    else:
        threshold = 1.0
    model.pipeline.named_steps["classifier"].threshold = threshold
    days = pd.to_datetime(rows[DATE])
    record = {
        "as_of": str(days.max().date()),  # a snapshot row may be older than its export
        "rows": len(rows),
        "flagged": int(flagged.sum()),
        "threshold": threshold,
        "expected_f1": expected_f1,
        "expected_positives": float(probability.sum()),
        "resampling_undone": resampled,
        "folds_threshold": folds_cut,
    }
    candidates = {**validation.get("candidates", {}), EXPECTED: threshold}
    validation.update(
        method=EXPECTED,
        threshold=threshold,
        candidates=candidates,
        morning=record,
        description=(
            f"threshold {threshold:.4f} (expected F1 {expected_f1:.3f} on the {len(rows):,} rows "
            f"of the first morning list, {record['flagged']:,} flagged; the folds' pooled cut "
            f"was {folds_cut:.4f})"
        ),
    )
    if len(model.fold_scores) == len(validation.get("folds", ())):
        # Each fold's F1 at the threshold now carried, and (for the gate's check of a
        # degenerate cut) how many of the folds' rows it flags.
        validation["folds"] = [
            {**entry, "f1": classification_metrics(y, p, threshold=threshold)["f1"]}
            for entry, (y, p) in zip(validation["folds"], model.fold_scores, strict=True)
        ]
        validation["flagged"] = int(sum((p >= threshold).sum() for _, p in model.fold_scores))
    logger.info("%s", validation["description"])
    return dataclasses.replace(model, threshold=threshold, validation=validation)
