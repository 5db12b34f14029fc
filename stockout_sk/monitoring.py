"""Monitoring (CME): rolling evaluation, PSI/KL drift against the model's reference, and actions.

One monitoring run takes the six CSV exports of a later period (or an ingested
:class:`~stockout_sk.ingest.ChainData`) and the production model, and answers: *is the model still
fit to serve?*

1. **Rows.** :func:`~stockout_sk.labels.build_dataset` turns the new period into labelled
   point-in-time rows: one per branch×item×as-of day whose label has matured (``t + N`` inside the
   new data). Nothing newer can be judged on performance.
2. **Scores as served.** Monitoring refits nothing. It scores the rows with the production pipeline
   as it is, exactly as ``POST /predict`` would: the history step carries flows only up to the end
   of its training data, so a row dated later uses the latest history the model has (its
   ``staleness_days``), while the row's own quantities are fresh. The monitored model features
   (velocity, days of cover, …) are computed by the same fitted ``calendar`` and ``history`` steps
   the model uses. A model whose carried history is stale is judged with that staleness, because
   that is what its users get.
3. **Rolling evaluation** (:func:`rolling_evaluation`): for every matured as-of day, a window of
   the last ``window_days`` as-of days ending on it — F1, precision, recall, PR-AUC of the model (at
   its own threshold) and of the rule baseline ``CurrentQuantity < SafetyStockLevel``.
4. **Drift** (:func:`drift_table`): each monitored input and the predicted probability, binned on
   the quantile edges of the model's reference (``reference/reference.json`` on its training run),
   compared with :func:`psi` and :func:`kl_divergence` (``epsilon``-smoothed, so an empty bin is
   finite). A missing-value share is compared as one more bin.
5. **Verdict** (:func:`judge`): ``act`` when any variable's PSI or KL reaches its act threshold,
   or when the latest window's F1 is below the model's own holdout F1 by more than the margin, or
   below the rule baseline's F1 on the same window; ``warn`` on the warn thresholds; else ``ok``.
6. **Response** (:func:`respond`): ``act`` becomes ``rollback`` when the production version records
   a previous production version that has not been rolled back itself since
   (``registry.rollback``), else ``fallback``
   (``registry.set_serving_mode("rule-baseline")`` — the switch the API polls, so a running server
   falls back without a restart). Actions are idempotent and ``dry_run`` changes nothing in the
   registry. Every run is logged to the MLflow experiment ``stockout-monitoring`` with an HTML
   report (drift table, PSI bars, score distribution, rolling F1), also written locally.

:func:`run_cme` does all of it; the steps are public so the Prefect flow (``flows/monitor.py``)
runs each as a task.

Reference rows. ``reference.json`` is computed on the training rows through the fitted pipeline.
The pipeline carries only a bounded tail of history (``history_days`` as-of days), so training rows
older than that tail get no history features and a score computed without them: for those models
the reference of the model features and of the score mostly describes rows the model never serves
that way. When more than ``max_reference_missing`` of the reference's model-feature values are
missing (median over the model features), monitoring compares the model features and the score
with the holdout rows instead (``predictions/holdout.csv`` on the same run — scored with the fitted
pipeline, inside its carried history, exactly as served), binned the same way. The report says so
for each variable (column *reference*); raw request fields always use ``reference.json``.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import itertools
import json
import logging
import math
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from stockout_sk.config import MonitoringConfig, Settings, load_settings
from stockout_sk.contract import LABEL, RAW_FIELDS
from stockout_sk.evaluate import classification_metrics, rule_baseline
from stockout_sk.labels import build_dataset
from stockout_sk.pipeline import features_of
from stockout_sk.reference import PREDICTION, REFERENCE_ARTIFACT, bin_counts, build_reference
from stockout_sk.vocabulary import (
    Alias,
    Decision,
    DriftStatus,
    MonitoringAction,
    MonitoringDecision,
    RunKind,
    ServingMode,
    Tag,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from mlflow import MlflowClient

    from stockout_sk.ingest import ChainData
    from stockout_sk.registry import ProductionModel, RegistryView

__all__ = [
    "DriftResult",
    "MissingReferenceError",
    "ModelReference",
    "MonitoringConfig",
    "MonitoringReport",
    "Verdict",
    "WindowMetrics",
    "assess",
    "drift_table",
    "judge",
    "kl_divergence",
    "load_reference",
    "psi",
    "render_html",
    "respond",
    "rolling_evaluation",
    "run_cme",
    "variable_drift",
]

logger = logging.getLogger(__name__)

HOLDOUT_PREDICTIONS_ARTIFACT = "predictions/holdout.csv"
REPORT_HTML = "monitoring_report.html"
REPORT_JSON = "monitoring.json"
PLOTS: tuple[str, ...] = ("psi", "score_distribution", "rolling_f1")
#: Every file :func:`write_report` writes (and the monitoring run logs).
REPORT_FILES: tuple[str, ...] = (
    REPORT_HTML,
    REPORT_JSON,
    "rolling.csv",
    *(f"{name}.png" for name in PLOTS),
)
#: Artifact folder of the monitoring run that holds the report and its plots.
REPORT_ARTIFACT_DIR = "report"

#: MLflow refuses tag values longer than 8000 characters; reasons are cut well below.
_TAG_LIMIT = 4000
_DPI = 100
_STATUS_COLOURS = {
    DriftStatus.OK: "#2e7d32",
    DriftStatus.WARN: "#ef8f00",
    DriftStatus.ACT: "#c62828",
    DriftStatus.NOT_JUDGED: "#8a94a3",
}


class MissingReferenceError(LookupError):
    """The model's training run holds no reference distributions to compare against."""


# --------------------------------------------------------------------------------------------------
# PSI and KL
# --------------------------------------------------------------------------------------------------


def _shares(values: ArrayLike, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64).reshape(-1)
    if array.size == 0:
        raise ValueError(f"{name} is empty; pass one count or share per bin")
    if not np.isfinite(array).all() or (array < 0).any():
        raise ValueError(
            f"{name} must hold finite counts or shares ≥ 0, got {array.tolist()!r}; pass the "
            "bin counts (or proportions) of one variable"
        )
    total = array.sum()
    if total <= 0:
        raise ValueError(f"{name} sums to 0 ({array.tolist()!r}): there is no row to compare")
    return array / total


def _smooth(shares: np.ndarray, epsilon: float) -> np.ndarray:
    """Floor every share at ``epsilon`` and renormalise: an empty bin stays finite in a log."""
    floored = np.maximum(shares, epsilon)
    return floored / floored.sum()


def _aligned(reference: ArrayLike, current: ArrayLike, epsilon: float) -> tuple[np.ndarray, ...]:
    if not 0 < epsilon < 1:
        raise ValueError(f"epsilon must be in (0, 1), got {epsilon!r}")
    expected = _shares(reference, "reference")
    actual = _shares(current, "current")
    if expected.shape != actual.shape:
        raise ValueError(
            f"reference has {expected.size} bins but current has {actual.size}; bin the current "
            "values on the reference edges (stockout_sk.reference.bin_counts)"
        )
    return _smooth(expected, epsilon), _smooth(actual, epsilon)


def psi(reference: ArrayLike, current: ArrayLike, *, epsilon: float = 1e-4) -> float:
    """Population stability index of ``current`` against ``reference`` on the same bins.

    ``PSI = Σ (a_i − e_i) · ln(a_i / e_i)`` with ``e`` the reference shares and ``a`` the current
    shares — the symmetrised KL divergence ``KL(a‖e) + KL(e‖a)``, computed here with
    :func:`scipy.special.rel_entr`.

    Parameters
    ----------
    reference, current : array-like of float
        Counts or shares per bin (normalised here), aligned bin by bin.
    epsilon : float, default=1e-4
        Every share is floored at ``epsilon`` and the shares renormalised, so an empty bin on
        either side adds a large but finite term instead of ``inf``.

    Returns
    -------
    float
        ``0`` for identical distributions; grows with the shift.

    Examples
    --------
    >>> round(psi([50, 50], [25, 75]), 4)  # 0.25·ln 2 + 0.25·ln 1.5
    0.2747
    """
    from scipy.special import rel_entr

    expected, actual = _aligned(reference, current, epsilon)
    return float(np.sum(rel_entr(actual, expected) + rel_entr(expected, actual)))


def kl_divergence(reference: ArrayLike, current: ArrayLike, *, epsilon: float = 1e-4) -> float:
    """KL divergence ``KL(current ‖ reference)`` in nats, on the same bins, smoothed.

    Parameters
    ----------
    reference, current : array-like of float
        Counts or shares per bin, aligned.
    epsilon : float, default=1e-4
        Floor of every share before renormalising (see :func:`psi`).

    Returns
    -------
    float
        ``Σ a_i · ln(a_i / e_i)`` (:func:`scipy.stats.entropy`); how surprising the current rows
        are under the reference.

    Examples
    --------
    >>> round(kl_divergence([50, 50], [25, 75]), 4)  # 0.25·ln 0.5 + 0.75·ln 1.5
    0.1308
    """
    from scipy.stats import entropy

    expected, actual = _aligned(reference, current, epsilon)
    return float(entropy(actual, expected))


# --------------------------------------------------------------------------------------------------
# Drift of one variable
# --------------------------------------------------------------------------------------------------


@dataclass
class DriftResult:
    """PSI and KL of one monitored variable against its reference.

    Attributes
    ----------
    name : str
        The raw field, model feature, or ``"prediction"`` (the predicted probability).
    source : {"raw", "model", "score"}
    reference : {"training", "holdout"}
        Which rows the reference describes (see the module docstring).
    psi, kl : float or None
        ``None`` when not judged.
    status : {"ok", "warn", "act", "not-judged"}
    reference_rows, current_rows : int
    reference_missing, current_missing : float
        Share of missing (NaN) values on each side; compared as one extra bin when either is > 0.
    edges : list of float
        Reference quantile edges (end bins open-ended).
    reference_shares, current_shares : list of float
        Share per bin (then the missing share when there is a missing bin), unsmoothed.
    note : str
        Why it was not judged, when it was not.
    """

    name: str
    source: str
    reference: str
    psi: float | None
    kl: float | None
    status: str
    reference_rows: int
    current_rows: int
    reference_missing: float
    current_missing: float
    edges: list[float] = field(default_factory=list)
    reference_shares: list[float] = field(default_factory=list)
    current_shares: list[float] = field(default_factory=list)
    note: str = ""

    @property
    def has_missing_bin(self) -> bool:
        """Whether the last share is the missing-value share."""
        return len(self.reference_shares) == len(self.edges)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict."""
        return asdict(self)


def variable_drift(
    name: str,
    reference_entry: Mapping[str, Any],
    values: ArrayLike,
    config: MonitoringConfig | None = None,
    *,
    source: str = "raw",
    reference: str = "training",
) -> DriftResult:
    """Bin ``values`` on a reference entry's edges and compare with PSI and KL.

    Parameters
    ----------
    name : str
        The variable's name (for the report).
    reference_entry : mapping
        One entry of the reference JSON (:func:`~stockout_sk.reference.reference_distribution`):
        ``edges``, ``counts``, ``n``, ``missing``.
    values : array-like of float
        The variable on the monitoring rows; NaN counts as missing.
    config : MonitoringConfig, optional
        Thresholds, ``epsilon`` and ``min_drift_rows``.
    source, reference : str
        Recorded as given.

    Returns
    -------
    DriftResult
    """
    config = config or MonitoringConfig()
    try:
        edges = [float(e) for e in reference_entry["edges"]]
        ref_counts = np.asarray(reference_entry["counts"], dtype=np.float64)
        ref_missing = float(reference_entry.get("missing", 0))
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(
            f"reference entry of {name!r} is malformed ({type(error).__name__}: {error}); it "
            "needs 'edges', 'counts' and 'missing' as written by "
            "stockout_sk.reference.reference_distribution"
        ) from error
    if len(ref_counts) != len(edges) - 1:
        raise ValueError(
            f"reference entry of {name!r} has {len(edges)} edges but {len(ref_counts)} counts; "
            "expected one count per bin (len(edges) - 1)"
        )
    array = np.asarray(values, dtype=np.float64).reshape(-1)
    cur_missing = float(np.isnan(array).sum())
    cur_counts = bin_counts(array, edges).astype(np.float64)
    ref_rows = float(ref_counts.sum() + ref_missing)
    cur_rows = float(cur_counts.sum() + cur_missing)
    if ref_missing or cur_missing:
        # A variable that starts (or stops) being missing has drifted too: one more bin.
        ref_counts = np.append(ref_counts, ref_missing)
        cur_counts = np.append(cur_counts, cur_missing)
    ref_share = ref_counts / ref_rows if ref_rows else np.zeros_like(ref_counts)
    cur_share = cur_counts / cur_rows if cur_rows else np.zeros_like(cur_counts)

    note = ""
    value_psi = value_kl = None
    if min(ref_rows, cur_rows) < config.min_drift_rows:
        status = DriftStatus.NOT_JUDGED
        note = (
            f"too few rows to judge drift ({int(ref_rows)} reference, {int(cur_rows)} current; "
            f"min_drift_rows={config.min_drift_rows})"
        )
    else:
        value_psi = psi(ref_counts, cur_counts, epsilon=config.epsilon)
        value_kl = kl_divergence(ref_counts, cur_counts, epsilon=config.epsilon)
        if value_psi >= config.psi_act or value_kl >= config.kl_act:
            status = DriftStatus.ACT
        elif value_psi >= config.psi_warn or value_kl >= config.kl_warn:
            status = DriftStatus.WARN
        else:
            status = DriftStatus.OK
    return DriftResult(
        name=name,
        source=source,
        reference=reference,
        psi=value_psi,
        kl=value_kl,
        status=status,
        reference_rows=int(ref_rows),
        current_rows=int(cur_rows),
        reference_missing=ref_missing / ref_rows if ref_rows else 0.0,
        current_missing=cur_missing / cur_rows if cur_rows else 0.0,
        edges=edges,
        reference_shares=[float(s) for s in ref_share],
        current_shares=[float(s) for s in cur_share],
        note=note,
    )


# --------------------------------------------------------------------------------------------------
# The model's reference
# --------------------------------------------------------------------------------------------------


@dataclass
class ModelReference:
    """The reference distributions a model is compared against.

    Attributes
    ----------
    training : dict
        ``reference/reference.json`` of the training run
        (:func:`~stockout_sk.reference.build_reference` on the training rows).
    holdout : dict or None
        The same summary of the holdout rows (``predictions/holdout.csv``), binned with the same
        number of bins; ``None`` when the run has no holdout predictions.
    source : str
        Where ``training`` came from (``runs:/<id>/reference/reference.json`` or ``"given"``).
    """

    training: dict[str, Any]
    holdout: dict[str, Any] | None = None
    source: str = "given"

    @property
    def training_model_missing(self) -> float:
        """Median share of missing values over the model features of ``training``."""
        shares = [
            entry["missing"] / entry["n"]
            for entry in self.training.get("features", {}).values()
            if entry.get("source") == "model" and entry.get("n")
        ]
        return float(np.median(shares)) if shares else 0.0


def load_reference(
    model: ProductionModel, settings: Settings | None = None, *, client: MlflowClient | None = None
) -> ModelReference:
    """Read the reference of ``model`` from its training run, and summarise its holdout rows.

    Parameters
    ----------
    model : ProductionModel
        A registered version (its ``run_id`` and ``pipeline`` are used).
    settings : Settings, optional
        Tracking URI; defaults to the environment.
    client : MlflowClient, optional

    Returns
    -------
    ModelReference

    Raises
    ------
    MissingReferenceError
        The run has no ``reference/reference.json``.
    """
    import mlflow
    from mlflow.exceptions import MlflowException

    from stockout_sk.registry import resolve_tracking_uri

    settings = settings or load_settings()
    uri = resolve_tracking_uri(settings)
    client = client or mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
    if not model.run_id:
        raise MissingReferenceError(
            f"{model.model_name} version {model.version} has no training run, so no reference "
            "distributions; pass reference= to run_cme or register the model with "
            "stockout_sk.registry.log_training"
        )
    with tempfile.TemporaryDirectory(prefix="stockout-reference-") as tmp:
        try:
            path = client.download_artifacts(model.run_id, REFERENCE_ARTIFACT, tmp)
        except (MlflowException, OSError) as error:
            raise MissingReferenceError(
                f"{model.model_name} version {model.version}: run {model.run_id} in {uri} has no "
                f"{REFERENCE_ARTIFACT!r} ({type(error).__name__}: {error}); it was registered "
                "before reference distributions were logged — retrain it (`stockout-sk train "
                "--data DIR`) or pass reference= to run_cme"
            ) from error
        training = json.loads(Path(path).read_text(encoding="utf-8"))
        holdout = None
        try:
            holdout_path = client.download_artifacts(
                model.run_id, HOLDOUT_PREDICTIONS_ARTIFACT, tmp
            )
        except (MlflowException, OSError) as error:
            logger.warning(
                "%s version %s: no %s on run %s (%s); drift uses reference.json only",
                model.model_name,
                model.version,
                HOLDOUT_PREDICTIONS_ARTIFACT,
                model.run_id,
                error,
            )
        else:
            holdout = _holdout_reference(model, Path(holdout_path), int(training.get("bins", 10)))
    return ModelReference(
        training=training,
        holdout=holdout,
        source=f"runs:/{model.run_id}/{REFERENCE_ARTIFACT}",
    )


def _holdout_reference(model: ProductionModel, path: Path, bins: int) -> dict[str, Any] | None:
    frame = pd.read_csv(
        path, dtype={"BranchID": str, "ItemCode": str, "Date": str}, keep_default_na=False
    )
    missing = [c for c in (*RAW_FIELDS, "proba") if c not in frame.columns]
    if missing or frame.empty:
        logger.warning(
            "%s version %s: %s lacks %s or is empty; drift uses reference.json only",
            model.model_name,
            model.version,
            HOLDOUT_PREDICTIONS_ARTIFACT,
            missing,
        )
        return None
    X = frame.loc[:, list(RAW_FIELDS)]
    return build_reference(model.pipeline, X, frame["proba"].to_numpy(np.float64), bins=bins)


# --------------------------------------------------------------------------------------------------
# Rolling evaluation
# --------------------------------------------------------------------------------------------------


@dataclass
class WindowMetrics:
    """Model and rule-baseline metrics on one window of as-of days.

    Attributes
    ----------
    window_start, window_end : str
        First and last as-of day (ISO) of the window.
    days, rows, positives : int
    f1, precision, recall : float
        The model at its own threshold.
    pr_auc : float or None
        Average precision (``None`` without positives).
    rule_f1, rule_precision, rule_recall : float
    rule_pr_auc : float or None
        The rule baseline on the same rows.
    judged : bool
        At least ``min_window_positives`` positives: the window counts for the verdict.
    partial : bool
        Fewer as-of days than ``window_days`` were available (the whole period is one window).
    """

    window_start: str
    window_end: str
    days: int
    rows: int
    positives: int
    f1: float
    precision: float
    recall: float
    pr_auc: float | None
    rule_f1: float
    rule_precision: float
    rule_recall: float
    rule_pr_auc: float | None
    judged: bool
    partial: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Plain dict."""
        return asdict(self)


def rolling_evaluation(
    rows: pd.DataFrame,
    proba: ArrayLike,
    *,
    threshold: float,
    window_days: int = 7,
    min_positives: int = 20,
) -> list[WindowMetrics]:
    """Metrics of the model and the rule baseline on a window ending at every as-of day.

    Parameters
    ----------
    rows : DataFrame
        Labelled rows: the raw fields (``Date``, ``CurrentQuantity``, ``SafetyStockLevel`` are
        used) and ``label``.
    proba : array-like of float
        The model's probability for each row, same order.
    threshold : float
        The model's decision threshold.
    window_days : int, default=7
        As-of days per window; windows end at every as-of day from the ``window_days``-th on
        (one partial window of all days when there are fewer).
    min_positives : int, default=20
        Windows with fewer positives are marked ``judged=False``.

    Returns
    -------
    list of WindowMetrics
        Ordered by ``window_end``.
    """
    if rows.empty:
        return []
    missing = [c for c in ("Date", "CurrentQuantity", "SafetyStockLevel", LABEL) if c not in rows]
    if missing:
        raise ValueError(
            f"rolling_evaluation: rows lack column(s) {missing}; pass the labelled table of "
            "stockout_sk.labels.build_dataset"
        )
    p = np.asarray(proba, dtype=np.float64).reshape(-1)
    if len(p) != len(rows):
        raise ValueError(
            f"rolling_evaluation: proba has {len(p)} values for {len(rows)} rows; pass one "
            "probability per row, in the same order"
        )
    dates = pd.to_datetime(rows["Date"]).dt.normalize().to_numpy()
    y = rows[LABEL].to_numpy()
    days = np.unique(dates)
    span = np.timedelta64(window_days - 1, "D")
    full = days[days >= days[0] + span]
    ends, partial = (full, False) if len(full) else (days[-1:], True)
    out = []
    for end in ends:
        start = end - span
        mask = (dates >= start) & (dates <= end)
        model = classification_metrics(y[mask], p[mask], threshold=threshold)
        rule = rule_baseline(rows.loc[mask]).metrics(y[mask])
        out.append(
            WindowMetrics(
                window_start=str(pd.Timestamp(max(start, days[0])).date()),
                window_end=str(pd.Timestamp(end).date()),
                days=len(np.unique(dates[mask])),
                rows=int(mask.sum()),
                positives=int(model["positives"]),
                f1=float(model["f1"]),
                precision=float(model["precision"]),
                recall=float(model["recall"]),
                pr_auc=model["pr_auc"],
                rule_f1=float(rule["f1"]),
                rule_precision=float(rule["precision"]),
                rule_recall=float(rule["recall"]),
                rule_pr_auc=rule["pr_auc"],
                judged=int(model["positives"]) >= min_positives,
                partial=partial,
            )
        )
    return out


# --------------------------------------------------------------------------------------------------
# Verdict
# --------------------------------------------------------------------------------------------------


@dataclass
class Verdict:
    """``ok``, ``warn`` or ``act``, with the reasons at each level and notes that decide nothing."""

    level: str
    act_reasons: list[str] = field(default_factory=list)
    warn_reasons: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def reasons(self) -> list[str]:
        """Act reasons first, then warn reasons; ``["all checks within thresholds"]`` when ok."""
        return [*self.act_reasons, *self.warn_reasons] or ["all checks within thresholds"]


def judge(
    drift: Sequence[DriftResult],
    rolling: Sequence[WindowMetrics],
    *,
    holdout_f1: float | None,
    config: MonitoringConfig | None = None,
) -> Verdict:
    """Turn drift and rolling metrics into ``ok`` / ``warn`` / ``act`` with reasons.

    Act on: any variable at ``act`` (PSI ≥ ``psi_act`` or KL ≥ ``kl_act``); the latest judged
    window's F1 below ``holdout_f1`` by more than ``f1_margin``; or below the rule baseline's F1
    on that window by more than ``rule_margin``. Warn on: a variable at ``warn``; F1 below
    ``holdout_f1`` by more than ``f1_warn_margin``; anything that could not be judged (too few
    rows or positives, unknown holdout F1). Earlier windows that breached an F1 rule are a note:
    the latest window is the current state, and one dip that recovered is not worth an alarm.

    Parameters
    ----------
    drift : sequence of DriftResult
    rolling : sequence of WindowMetrics
        Ordered by window end; the last one is "the latest window".
    holdout_f1 : float or None
        The model's own F1 on its holdout at registration.
    config : MonitoringConfig, optional

    Returns
    -------
    Verdict
    """
    config = config or MonitoringConfig()
    act: list[str] = []
    warn: list[str] = []

    for d in drift:
        measured = f"PSI {_fmt(d.psi)}, KL {_fmt(d.kl)} vs the {d.reference} reference"
        if d.status == DriftStatus.ACT:
            act.append(
                f"drift of {d.name}: {measured} (act at PSI ≥ {config.psi_act:g} or KL ≥ "
                f"{config.kl_act:g})"
            )
        elif d.status == DriftStatus.WARN:
            warn.append(
                f"drift of {d.name}: {measured} (warn at PSI ≥ {config.psi_warn:g} or KL ≥ "
                f"{config.kl_warn:g})"
            )
        elif d.status == DriftStatus.NOT_JUDGED:
            warn.append(f"drift of {d.name} not judged: {d.note}")

    if not rolling:
        warn.append("no window with matured labels: performance not judged")
        return _verdict(act, warn, [])
    latest = rolling[-1]
    where = f"window {latest.window_start}..{latest.window_end} ({latest.rows:,} rows)"
    if not latest.judged:
        warn.append(
            f"{where} has {latest.positives} positive label(s) (< min_window_positives="
            f"{config.min_window_positives}): its F1 {latest.f1:.3f} is not judged"
        )
    else:
        if holdout_f1 is None:
            warn.append(
                f"the model's holdout F1 is unknown (no stockout.holdout.f1 tag nor model_f1 "
                f"metric): F1 decay not judged (latest F1 {latest.f1:.3f})"
            )
        else:
            drop = holdout_f1 - latest.f1
            if drop > config.f1_margin:
                act.append(
                    f"F1 {latest.f1:.3f} in {where} is {drop:.3f} below the model's holdout F1 "
                    f"{holdout_f1:.3f} (act margin {config.f1_margin:g})"
                )
            elif drop > config.f1_warn_margin:
                warn.append(
                    f"F1 {latest.f1:.3f} in {where} is {drop:.3f} below the model's holdout F1 "
                    f"{holdout_f1:.3f} (warn margin {config.f1_warn_margin:g})"
                )
        if latest.f1 < latest.rule_f1 - config.rule_margin:
            act.append(
                f"F1 {latest.f1:.3f} in {where} is below the rule baseline's F1 "
                f"{latest.rule_f1:.3f} on the same rows (margin {config.rule_margin:g})"
            )
    notes = []
    earlier = [w for w in rolling[:-1] if w.judged and _window_breaches(w, holdout_f1, config)]
    if earlier:
        worst = min(earlier, key=lambda w: w.f1)
        notes.append(
            f"{len(earlier)} of {len(rolling) - 1} earlier window(s) breached an F1 rule "
            f"(worst: F1 {worst.f1:.3f}, rule {worst.rule_f1:.3f}, window ending "
            f"{worst.window_end}); the latest window decides"
        )
    return _verdict(act, warn, notes)


def _window_breaches(w: WindowMetrics, holdout_f1: float | None, config: MonitoringConfig) -> bool:
    decayed = holdout_f1 is not None and holdout_f1 - w.f1 > config.f1_margin
    return decayed or w.f1 < w.rule_f1 - config.rule_margin


def _verdict(act: list[str], warn: list[str], notes: list[str]) -> Verdict:
    level = DriftStatus.ACT if act else DriftStatus.WARN if warn else DriftStatus.OK
    return Verdict(level=level, act_reasons=act, warn_reasons=warn, notes=notes)


# --------------------------------------------------------------------------------------------------
# The report
# --------------------------------------------------------------------------------------------------


@dataclass
class MonitoringReport:
    """Everything one monitoring run found, decided and did.

    Attributes
    ----------
    model_name, model_version : str
    model_run_id : str or None
        The training run of the evaluated version.
    threshold : float
        The model's decision threshold.
    horizon : int
    holdout_f1 : float or None
        The model's own holdout F1 at registration (the decay baseline).
    data : dict
        ``source`` (directory or ``"ChainData"``), ``rows``, ``positives``, ``first_asof``,
        ``last_asof``, ``history_end`` (freshest history the model carries),
        ``staleness_days`` (``min``/``median``/``max`` days between a row's date and it),
        ``fingerprint`` (hash of the labelled rows).
    rolling : list of WindowMetrics
    overall : dict
        ``{"model": metrics, "rule": metrics}`` on all rows.
    drift : list of DriftResult
        Monitored inputs first, ``prediction`` last.
    verdict : Verdict
    decision : {"ok", "warn", "rollback", "fallback"}
    reasons : list of str
    action : {"none", "rollback", "fallback"}
        What this run changed in the registry.
    action_detail : str
    dry_run : bool
    config : MonitoringConfig
    notes : list of str
        What a reader should know (reference substitution, overlap with training, …).
    created_at : str
    fingerprint : str
        Identifies (model version, data, config): an action is applied once per fingerprint.
    report_path : Path or None
        The HTML report, once written.
    mlflow_run_id : str or None
        The monitoring run, once logged.
    target_version : str or None
        The version a rollback moves (or would move) ``production`` to.
    """

    model_name: str
    model_version: str
    model_run_id: str | None
    threshold: float
    horizon: int
    holdout_f1: float | None
    data: dict[str, Any]
    rolling: list[WindowMetrics]
    overall: dict[str, Any]
    drift: list[DriftResult]
    verdict: Verdict
    config: MonitoringConfig
    decision: str = MonitoringDecision.OK
    reasons: list[str] = field(default_factory=list)
    action: str = MonitoringAction.NONE
    action_detail: str = "not decided yet"
    dry_run: bool = False
    notes: list[str] = field(default_factory=list)
    created_at: str = field(default_factory=lambda: _now())
    fingerprint: str = ""
    report_path: Path | None = None
    mlflow_run_id: str | None = None
    target_version: str | None = None

    @property
    def psi(self) -> dict[str, float | None]:
        """PSI per monitored variable (``prediction`` included)."""
        return {d.name: d.psi for d in self.drift}

    @property
    def kl(self) -> dict[str, float | None]:
        """KL per monitored variable."""
        return {d.name: d.kl for d in self.drift}

    def summary(self) -> dict[str, Any]:
        """The ``stockout-sk monitor --json`` line.

        Returns
        -------
        dict
            ``decision``, ``action``, ``reasons``, ``psi`` and ``kl`` per variable,
            ``rolling`` (``window_end``, ``f1``, ``pr_auc``, ``rule_f1``, ``rows``,
            ``positives`` per window), ``report`` (HTML path), plus ``model_name``,
            ``model_version``, ``action_detail``, ``dry_run``, ``mlflow_run_id``.
        """
        return {
            "decision": self.decision,
            "action": self.action,
            "reasons": list(self.reasons),
            "psi": {k: _plain(v) for k, v in self.psi.items()},
            "kl": {k: _plain(v) for k, v in self.kl.items()},
            "rolling": [
                {
                    "window_end": w.window_end,
                    "f1": _plain(w.f1),
                    "pr_auc": _plain(w.pr_auc),
                    "rule_f1": _plain(w.rule_f1),
                    "rows": w.rows,
                    "positives": w.positives,
                }
                for w in self.rolling
            ],
            "report": None if self.report_path is None else str(self.report_path),
            "model_name": self.model_name,
            "model_version": self.model_version,
            "action_detail": self.action_detail,
            "dry_run": self.dry_run,
            "mlflow_run_id": self.mlflow_run_id,
        }

    def to_dict(self) -> dict[str, Any]:
        """Everything, JSON-ready (``monitoring.json``)."""
        return _jsonable(
            {
                **self.summary(),
                "model_run_id": self.model_run_id,
                "threshold": self.threshold,
                "horizon": self.horizon,
                "holdout_f1": self.holdout_f1,
                "target_version": self.target_version,
                "data": self.data,
                "overall": self.overall,
                "rolling": [w.to_dict() for w in self.rolling],
                "drift": [d.to_dict() for d in self.drift],
                "verdict": asdict(self.verdict),
                "config": self.config.to_dict(),
                "notes": self.notes,
                "created_at": self.created_at,
                "fingerprint": self.fingerprint,
            }
        )


# --------------------------------------------------------------------------------------------------
# Assess: rows → scores → rolling metrics and drift → verdict
# --------------------------------------------------------------------------------------------------


def drift_table(
    rows: pd.DataFrame,
    features: Mapping[str, ArrayLike] | pd.DataFrame,
    proba: ArrayLike,
    reference: ModelReference,
    config: MonitoringConfig | None = None,
) -> tuple[list[DriftResult], list[str]]:
    """Drift of every monitored variable of ``reference`` and of the score.

    Parameters
    ----------
    rows : DataFrame
        The monitoring rows' raw fields.
    features : mapping or DataFrame
        The model features of the same rows (``features_of(pipeline, "history").transform(rows)``).
    proba : array-like of float
        The model's probability per row.
    reference : ModelReference
    config : MonitoringConfig, optional

    Returns
    -------
    (list of DriftResult, list of str)
        The drift rows (reference order, ``prediction`` last) and notes on the reference used.

    Raises
    ------
    ValueError
        A monitored variable of the reference is neither a raw field nor produced by the model.
    """
    config = config or MonitoringConfig()
    training = reference.training
    notes: list[str] = []
    model_ref, model_label = training, "training"
    missing_share = reference.training_model_missing
    if missing_share > config.max_reference_missing:
        if reference.holdout is not None:
            model_ref, model_label = reference.holdout, "holdout"
            notes.append(
                f"reference.json: the model features are missing for a median "
                f"{missing_share:.0%} of its {training.get('rows', '?')} training rows (rows older "
                "than the history the model carries get none), so the model features and the "
                f"score are compared with the {reference.holdout.get('rows', '?')} holdout rows "
                "(predictions/holdout.csv, scored exactly as served) instead"
            )
        else:
            notes.append(
                f"reference.json: the model features are missing for a median {missing_share:.0%}"
                " of the training rows and the run has no holdout predictions: drift of the model "
                "features and of the score is measured against that reference regardless and may "
                "overstate the shift"
            )
            logger.warning("%s", notes[-1])

    results = []
    for name, entry in training.get("features", {}).items():
        source = entry.get("source", "raw")
        if source == "raw":
            if name not in rows.columns:
                raise ValueError(
                    f"the reference monitors raw field {name!r}, which the monitoring rows lack; "
                    f"columns: {list(rows.columns)}"
                )
            values, ref_entry, label = rows[name], entry, "training"
        else:
            if name not in features:
                raise ValueError(
                    f"the reference monitors model feature {name!r}, which the model's calendar "
                    f"and history steps do not produce; they produce {list(features.keys())}"
                )
            ref_entry = model_ref.get("features", {}).get(name, entry)
            label = model_label if ref_entry is not entry else "training"
            values = features[name]
        results.append(
            variable_drift(
                name,
                ref_entry,
                np.asarray(values, dtype=np.float64),
                config,
                source=source,
                reference=label,
            )
        )
    score_ref = model_ref.get(PREDICTION) or training.get(PREDICTION)
    if score_ref is None:
        raise ValueError(
            f"the reference ({reference.source}) has no {PREDICTION!r} entry; it was not written "
            "by stockout_sk.reference.build_reference"
        )
    results.append(
        variable_drift(
            PREDICTION,
            score_ref,
            proba,
            config,
            source="score",
            reference=model_label if score_ref is model_ref.get(PREDICTION) else "training",
        )
    )
    return results, notes


def assess(
    data: ChainData,
    model: ProductionModel,
    reference: ModelReference,
    config: MonitoringConfig | None = None,
    *,
    data_source: str = "ChainData",
) -> MonitoringReport:
    """Score the matured rows of ``data`` as served and judge the model (no registry change).

    Parameters
    ----------
    data : ChainData
        The new period (typically the next weeks of the same chain).
    model : ProductionModel
        The model to judge (``registry.load_production``).
    reference : ModelReference
        Its reference distributions (:func:`load_reference`).
    config : MonitoringConfig, optional
    data_source : str
        Where the data came from (for the report).

    Returns
    -------
    MonitoringReport
        ``decision`` is ``ok``, ``warn`` or — until :func:`respond` plans it — ``act``.

    Raises
    ------
    ValueError
        No label has matured in ``data`` (the period is not longer than the horizon).
    """
    config = config or MonitoringConfig()
    pipeline = model.pipeline
    history = pipeline.named_steps.get("history") if hasattr(pipeline, "named_steps") else None
    horizon = model.horizon or getattr(history, "horizon", None)
    notes: list[str] = []
    if horizon is None:
        horizon = 7
        notes.append("the model records no horizon: labels use N = 7 days")
    dataset = build_dataset(data, horizon=int(horizon))
    frame = dataset.frame
    if frame.empty:
        raise ValueError(
            f"no label has matured in {data_source} (history {data.history_start.date()}.."
            f"{data.history_end.date()}, horizon {horizon} days): monitoring needs at least "
            f"{int(horizon) + 1} days of data; wait for more days or pass a longer period"
        )
    if history is not None and hasattr(history, "start_day_"):
        # Rows dated before the history the model carries cannot be scored as a request would
        # be today (their history features are unknown): judging the model or its inputs on
        # them measures that gap, not drift. They are left out and counted.
        exact_from = pd.Timestamp(
            np.datetime64(int(history.start_day_) + max(history.windows) - 1, "D")
        )
        older = frame["Date"] < exact_from
        if older.all():
            raise ValueError(
                f"every matured row of {data_source} is dated before {exact_from.date()}, the "
                "first day the production model's carried history covers: monitor a period "
                "after the model's training data (the next days of the same chain)"
            )
        if older.any():
            notes.append(
                f"{int(older.sum()):,} of {len(frame):,} matured rows are dated before "
                f"{exact_from.date()}, outside the history the model carries; they are not "
                "judged"
            )
            frame = frame.loc[~older].reset_index(drop=True)
    X = frame.loc[:, list(RAW_FIELDS)]
    y = frame[LABEL].to_numpy()
    # As the API scores: the production pipeline as it is, nothing refitted (module docstring).
    proba = np.asarray(pipeline.predict_proba(X)[:, 1], dtype=np.float64)
    features = features_of(pipeline, "history").transform(X)

    rolling = rolling_evaluation(
        frame,
        proba,
        threshold=model.threshold,
        window_days=config.window_days,
        min_positives=config.min_window_positives,
    )
    overall = {
        "model": _plain_metrics(classification_metrics(y, proba, threshold=model.threshold)),
        "rule": _plain_metrics(rule_baseline(X).metrics(y)),
    }
    drift, drift_notes = drift_table(X, features, proba, reference, config)
    notes += drift_notes

    data_info = _data_info(frame, history, data_source)
    if data_info["rows_within_training_history"]:
        notes.append(
            f"{data_info['rows_within_training_history']:,} of {len(frame):,} rows are dated on "
            f"or before the end of the model's history ({data_info['history_end']}): this data "
            "overlaps what the model was trained on"
        )
    holdout_f1 = _holdout_f1(model)
    verdict = judge(drift, rolling, holdout_f1=holdout_f1, config=config)
    report = MonitoringReport(
        model_name=model.model_name,
        model_version=str(model.version),
        model_run_id=model.run_id,
        threshold=float(model.threshold),
        horizon=int(horizon),
        holdout_f1=holdout_f1,
        data=data_info,
        rolling=rolling,
        overall=overall,
        drift=drift,
        verdict=verdict,
        config=config,
        decision=verdict.level,
        reasons=verdict.reasons,
        notes=notes + verdict.notes,
    )
    report.fingerprint = _fingerprint(report)
    logger.info(
        "%s version %s on %s rows (%s..%s): %s — %s",
        model.model_name,
        model.version,
        f"{len(frame):,}",
        data_info["first_asof"],
        data_info["last_asof"],
        verdict.level,
        "; ".join(verdict.reasons),
    )
    return report


def _data_info(frame: pd.DataFrame, history: Any, source: str) -> dict[str, Any]:
    dates = pd.to_datetime(frame["Date"])
    info: dict[str, Any] = {
        "source": source,
        "rows": len(frame),
        "positives": int(frame[LABEL].sum()),
        "keys": int(frame[["BranchID", "ItemCode"]].drop_duplicates().shape[0]),
        "first_asof": str(dates.min().date()),
        "last_asof": str(dates.max().date()),
        "history_end": None,
        "staleness_days": None,
        "rows_within_training_history": 0,
        "fingerprint": hashlib.sha256(
            pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes()
        ).hexdigest()[:32],
    }
    if history is not None and hasattr(history, "history_end_"):
        stale = np.asarray(history.staleness_days(frame.loc[:, list(RAW_FIELDS)]), dtype=float)
        info["history_end"] = str(pd.Timestamp(history.history_end_).date())
        info["staleness_days"] = {
            "min": _plain(np.nanmin(stale)),
            "median": _plain(np.nanmedian(stale)),
            "max": _plain(np.nanmax(stale)),
        }
        info["rows_within_training_history"] = int((stale <= 0).sum())
    return info


def _holdout_f1(model: ProductionModel) -> float | None:
    value = (model.metrics or {}).get("f1")
    if value is not None:
        return float(value)
    if not model.run_id:
        return None
    # Versions tagged before stockout.holdout.* existed: the run's metric says the same. The
    # client uses the tracking URI that loading the model set (registry.configure_tracking).
    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        metric = mlflow.MlflowClient().get_run(model.run_id).data.metrics.get("model_f1")
    except MlflowException as error:
        logger.warning("could not read model_f1 of run %s: %s", model.run_id, error)
        return None
    return None if metric is None else float(metric)


def _fingerprint(report: MonitoringReport) -> str:
    state = {
        "model": report.model_name,
        "version": report.model_version,
        "data": report.data["fingerprint"],
        "config": report.config.to_dict(),
    }
    return hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()[:32]


# --------------------------------------------------------------------------------------------------
# Respond: plan the action, apply it (unless dry run), write the report, log the run
# --------------------------------------------------------------------------------------------------


def respond(
    report: MonitoringReport,
    settings: Settings | None = None,
    *,
    dry_run: bool = False,
    out_dir: str | Path | None = None,
    log_to_mlflow: bool = True,
) -> MonitoringReport:
    """Decide rollback or fallback, act (unless ``dry_run``), write the HTML report, log the run.

    Parameters
    ----------
    report : MonitoringReport
        From :func:`assess`.
    settings : Settings, optional
        Registry and tracking store; defaults to the environment.
    dry_run : bool, default=False
        Decide and report, change nothing in the registry (the monitoring run is still logged,
        tagged ``stockout.monitoring.dry_run=true``).
    out_dir : str or Path, optional
        Where the HTML report, its plots and ``monitoring.json`` go; default
        ``<artifacts_dir>/monitoring/<UTC time>-v<version>``.
    log_to_mlflow : bool, default=True
        Log the run to the experiment ``config.experiment``.

    Returns
    -------
    MonitoringReport
        The same object, with ``decision``, ``action``, ``action_detail``, ``report_path`` and
        ``mlflow_run_id`` filled in.

    Notes
    -----
    Idempotent: an action is applied only when (1) the evaluated version still holds
    ``production``, (2) serving is not already on the rule baseline, and (3) no earlier
    (non-dry) monitoring run applied an action for the same fingerprint — the same version, data
    and thresholds. A second run on the same state therefore changes nothing; an operator who
    re-promotes a version after a rollback is not overridden by the same evidence again.
    """
    from stockout_sk import registry

    settings = settings or load_settings()
    report.dry_run = bool(dry_run)
    tracking = registry.configure_tracking(replace(settings, experiment=report.config.experiment))
    client = _mlflow_client(tracking.tracking_uri)
    state = registry.show(settings)
    _plan(report, state)

    run_id = None
    if log_to_mlflow:
        run = client.create_run(
            tracking.experiment_id,
            run_name=f"monitor-v{report.model_version}-{report.data['last_asof']}",
            tags=_run_tags(report),
        )
        run_id = run.info.run_id
        report.mlflow_run_id = run_id
    try:
        _apply(report, state, settings, client, tracking.experiment_id)
        folder = Path(out_dir) if out_dir is not None else _default_out(settings, report)
        report.report_path = write_report(report, folder)
        if run_id is not None:
            _log_run(client, run_id, report)
    except BaseException:
        if run_id is not None:
            client.set_terminated(run_id, status="FAILED")
        raise
    if run_id is not None:
        client.set_terminated(run_id, status="FINISHED")
    logger.info(
        "monitoring %s version %s: decision %s, action %s (%s); report %s",
        report.model_name,
        report.model_version,
        report.decision,
        report.action,
        report.action_detail,
        report.report_path,
    )
    return report


def _mlflow_client(uri: str) -> MlflowClient:
    import mlflow

    return mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)


def _plan(report: MonitoringReport, state: RegistryView) -> None:
    """Turn ``act`` into ``rollback`` or ``fallback``.

    Rollback when the evaluated version records a previous production version that still exists
    and has not been rolled back itself since it last held ``production``; otherwise fallback.
    """
    if state.serving_mode == ServingMode.RULE_BASELINE:
        report.notes.append(
            "serving is on the rule baseline (registered-model tag stockout.serving_mode); "
            "monitoring never switches back — promote a version (`stockout-sk registry promote "
            "VERSION`) to serve a model again"
        )
    if report.verdict.level != DriftStatus.ACT:
        report.decision = report.verdict.level
        report.reasons = report.verdict.reasons
        return
    mine = state.version(report.model_version)
    previous = None if mine is None else mine.previous_production
    restored = None if not previous else state.version(previous)
    report.reasons = report.verdict.reasons
    if not previous:
        report.decision = MonitoringDecision.FALLBACK
    elif restored is None:
        report.decision = MonitoringDecision.FALLBACK
        report.notes.append(
            f"version {report.model_version} records version {previous} as the previous "
            "production version, but it no longer exists: falling back to the rule baseline"
        )
    elif restored.decision == Decision.ROLLED_BACK:
        # It was demoted since it last held production: going back to it would bounce between
        # two versions judged bad (1 → 2 → 1 …) instead of reaching the safe baseline.
        report.decision = MonitoringDecision.FALLBACK
        report.notes.append(
            f"the previous production version {previous} was itself rolled back since "
            f"({restored.reason!r}): falling back to the rule baseline"
        )
    else:
        report.decision = MonitoringDecision.ROLLBACK
        report.target_version = previous


def _apply(
    report: MonitoringReport,
    state: RegistryView,
    settings: Settings,
    client: MlflowClient,
    experiment_id: str,
) -> None:
    from stockout_sk import registry

    report.action = MonitoringAction.NONE
    if report.decision not in (MonitoringDecision.ROLLBACK, MonitoringDecision.FALLBACK):
        report.action_detail = f"nothing to do ({report.decision})"
        return
    intended = (
        f"roll '{Alias.PRODUCTION}' back from version {report.model_version} to "
        f"{report.target_version}"
        if report.decision == MonitoringDecision.ROLLBACK
        else "switch serving to the rule baseline"
    )
    if report.dry_run:
        report.action_detail = f"dry run: would {intended}"
        return
    production = state.aliases.get(Alias.PRODUCTION)
    if production != report.model_version:
        report.action_detail = (
            f"not applied: version {report.model_version} was evaluated but {production!r} now "
            f"holds '{Alias.PRODUCTION}'; monitor that version instead"
        )
        logger.warning("%s", report.action_detail)
        return
    if state.serving_mode == ServingMode.RULE_BASELINE:
        report.action_detail = (
            "not applied: serving is already on the rule baseline; promote a version "
            "(`stockout-sk registry promote VERSION`) to serve a model again"
        )
        return
    earlier = _earlier_action(client, experiment_id, report)
    if earlier is not None:
        report.action_detail = (
            f"not applied: monitoring run {earlier.info.run_id} already applied "
            f"{earlier.data.tags.get(Tag.MONITORING_ACTION)!r} for the same version, data and "
            "thresholds "
            f"(fingerprint {report.fingerprint}); the registry was changed by someone since — "
            "not overriding them on the same evidence"
        )
        logger.warning("%s", report.action_detail)
        return

    why = f"monitoring run {report.mlflow_run_id or '(not logged)'}: " + "; ".join(
        report.verdict.act_reasons
    )
    why = why[:_TAG_LIMIT]
    if report.decision == MonitoringDecision.ROLLBACK:
        try:
            moved = registry.rollback(settings, reason=why)
        except registry.NoPreviousProductionError as error:
            # Raced with a registry change: the rule baseline is the safe answer, and we say so.
            logger.warning("rollback impossible (%s): falling back to the rule baseline", error)
            report.notes.append(f"rollback impossible ({error}): fell back to the rule baseline")
            report.decision = MonitoringDecision.FALLBACK
        else:
            report.action = MonitoringAction.ROLLBACK
            report.target_version = moved.to_version
            report.action_detail = (
                f"rolled '{Alias.PRODUCTION}' back from version {moved.from_version} to "
                f"{moved.to_version}"
            )
            logger.warning("%s: %s", report.action_detail, why)
            return
    registry.set_serving_mode(ServingMode.RULE_BASELINE, settings, reason=why)
    report.action = MonitoringAction.FALLBACK
    report.action_detail = (
        f"serving switched to the rule baseline (registered-model tag stockout.serving_mode); "
        f"version {report.model_version} keeps '{Alias.PRODUCTION}'"
    )
    logger.warning("%s: %s", report.action_detail, why)


def _earlier_action(client: MlflowClient, experiment_id: str, report: MonitoringReport) -> Any:
    runs = client.search_runs(
        [experiment_id],
        filter_string=(
            f"tags.`{Tag.MONITORING_FINGERPRINT}` = '{report.fingerprint}' and "
            f"tags.`{Tag.MONITORING_DRY_RUN}` = 'false'"
        ),
        max_results=50,
        order_by=["attributes.start_time DESC"],
    )
    for run in runs:
        if run.info.run_id != report.mlflow_run_id and run.data.tags.get(Tag.MONITORING_ACTION) in (
            MonitoringDecision.ROLLBACK,
            MonitoringDecision.FALLBACK,
        ):
            return run
    return None


def _run_tags(report: MonitoringReport) -> dict[str, str]:
    return {
        Tag.KIND: RunKind.MONITORING,
        Tag.MODEL_NAME: report.model_name,
        Tag.MODEL_VERSION: report.model_version,
        Tag.MONITORING_FINGERPRINT: report.fingerprint,
        Tag.MONITORING_DRY_RUN: str(report.dry_run).lower(),
        Tag.MONITORING_DATA: str(report.data.get("source", ""))[:_TAG_LIMIT],
    }


def _log_run(client: MlflowClient, run_id: str, report: MonitoringReport) -> None:
    from mlflow.entities import Metric, Param, RunTag

    now = int(datetime.now(UTC).timestamp() * 1000)
    params = {
        "model_name": report.model_name,
        "model_version": report.model_version,
        "model_run_id": report.model_run_id or "",
        "data": report.data.get("source", ""),
        "first_asof": report.data["first_asof"],
        "last_asof": report.data["last_asof"],
        "history_end": report.data.get("history_end") or "",
        "horizon": report.horizon,
        "threshold": f"{report.threshold:.6g}",
        "dry_run": report.dry_run,
        **{f"config.{k}": v for k, v in report.config.to_dict().items()},
    }
    metrics: list[Metric] = []

    def metric(key: str, value: Any, step: int = 0, timestamp: int = now) -> None:
        number = _plain(value)
        if number is not None:
            metrics.append(Metric(key, float(number), timestamp, step))

    for d in report.drift:
        metric(f"psi.{d.name}", d.psi)
        metric(f"kl.{d.name}", d.kl)
    metric("rows", report.data["rows"])
    metric("positives", report.data["positives"])
    metric("holdout_f1", report.holdout_f1)
    for key in ("f1", "precision", "recall", "pr_auc"):
        metric(f"overall.{key}", report.overall["model"][key])
        metric(f"overall.rule_{key}", report.overall["rule"][key])
    if report.rolling:
        latest = report.rolling[-1]
        metric("latest.f1", latest.f1)
        metric("latest.pr_auc", latest.pr_auc)
        metric("latest.rule_f1", latest.rule_f1)
    for step, w in enumerate(report.rolling):
        at = int(pd.Timestamp(w.window_end, tz="UTC").timestamp() * 1000)
        for key in ("f1", "precision", "recall", "pr_auc", "rule_f1", "rule_pr_auc"):
            metric(f"rolling.{key}", getattr(w, key), step, at)
    tags = {
        Tag.MONITORING_DECISION: report.decision,
        Tag.MONITORING_ACTION: report.action,
        Tag.MONITORING_ACTION_DETAIL: report.action_detail[:_TAG_LIMIT],
        Tag.MONITORING_REASONS: json.dumps(report.reasons)[:_TAG_LIMIT],
    }
    client.log_batch(
        run_id,
        metrics=metrics,
        params=[Param(k, str(v)[:6000]) for k, v in params.items()],
        tags=[RunTag(k, v) for k, v in tags.items()],
    )
    if report.report_path is not None:
        folder = report.report_path.parent
        for name in REPORT_FILES:
            if (folder / name).is_file():
                client.log_artifact(run_id, str(folder / name), artifact_path=REPORT_ARTIFACT_DIR)


def _default_out(settings: Settings, report: MonitoringReport) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return Path(settings.artifacts_dir) / "monitoring" / f"{stamp}-v{report.model_version}"


# --------------------------------------------------------------------------------------------------
# run_cme: everything
# --------------------------------------------------------------------------------------------------


def run_cme(
    data: str | Path | ChainData,
    *,
    model: ProductionModel | None = None,
    reference: ModelReference | Mapping[str, Any] | None = None,
    config: MonitoringConfig | None = None,
    settings: Settings | None = None,
    dry_run: bool = False,
    out_dir: str | Path | None = None,
    chunksize: int = 100_000,
    log_to_mlflow: bool = True,
) -> MonitoringReport:
    """Monitor the production model on new data: evaluate, measure drift, decide, act, report.

    Parameters
    ----------
    data : str, Path or ChainData
        A directory with the six CSV exports of a later period, or the ingested chain.
    model : ProductionModel, optional
        The model to judge; default ``registry.load_production(settings)``.
    reference : ModelReference or dict, optional
        Its reference distributions; default :func:`load_reference` from its training run. A
        plain dict is taken as the ``reference.json`` content.
    config : MonitoringConfig, optional
        Thresholds and windows (defaults documented on the class).
    settings : Settings, optional
        Registry and tracking store; default the environment (``MLFLOW_TRACKING_URI``,
        ``STOCKOUT_MODEL_NAME``).
    dry_run : bool, default=False
        Decide and report; change nothing in the registry.
    out_dir : str or Path, optional
        Folder of the HTML report (see :func:`respond`).
    chunksize : int, default=100_000
        CSV rows per chunk when ``data`` is a directory.
    log_to_mlflow : bool, default=True
        Log the run to the ``stockout-monitoring`` experiment.

    Returns
    -------
    MonitoringReport
        ``decision`` (``ok``/``warn``/``rollback``/``fallback``), ``reasons``, ``action``,
        ``rolling``, ``drift``, ``report_path``, ``mlflow_run_id``.

    Raises
    ------
    NoProductionModelError
        No model given and nothing holds ``production``.
    MissingReferenceError
        The model's training run has no reference distributions.
    DataContractError, ValueError
        The data cannot be read, or no label has matured in it.

    Examples
    --------
    >>> report = run_cme("exports/2024-06", dry_run=True)  # doctest: +SKIP
    >>> report.decision, report.psi["prediction"]  # doctest: +SKIP
    ('ok', 0.021)
    """
    from stockout_sk import registry
    from stockout_sk.ingest import load_chain

    settings = settings or load_settings()
    config = config or MonitoringConfig()
    if isinstance(data, str | Path):
        source = str(data)
        chain = load_chain(data, chunksize=chunksize)
    else:
        source, chain = "ChainData", data
    if model is None:
        model = registry.load_production(settings)
    if reference is None:
        reference = load_reference(model, settings)
    elif not isinstance(reference, ModelReference):
        reference = ModelReference(training=dict(reference))
    report = assess(chain, model, reference, config, data_source=source)
    return respond(report, settings, dry_run=dry_run, out_dir=out_dir, log_to_mlflow=log_to_mlflow)


# --------------------------------------------------------------------------------------------------
# HTML report and plots
# --------------------------------------------------------------------------------------------------


def write_report(report: MonitoringReport, out_dir: str | Path) -> Path:
    """Write the HTML report (plots embedded), the plots as PNG and ``monitoring.json``.

    Parameters
    ----------
    report : MonitoringReport
    out_dir : str or Path
        Created if missing; files of the same names are overwritten.

    Returns
    -------
    Path
        The HTML file.
    """
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    plots = {
        "psi": _plot_psi(report),
        "score_distribution": _plot_score(report),
        "rolling_f1": _plot_rolling(report),
    }
    images = {}
    for name, figure in plots.items():
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=_DPI)
        png = buffer.getvalue()
        (folder / f"{name}.png").write_bytes(png)
        images[name] = base64.b64encode(png).decode("ascii")
    path = folder / REPORT_HTML
    report.report_path = path
    path.write_text(render_html(report, images), encoding="utf-8")
    (folder / REPORT_JSON).write_text(
        json.dumps(report.to_dict(), indent=2, allow_nan=False) + "\n", encoding="utf-8"
    )
    pd.DataFrame([w.to_dict() for w in report.rolling]).to_csv(folder / "rolling.csv", index=False)
    return path


_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:1.5rem;
color:#1d2530;background:#fff;max-width:1100px}
h1{font-size:1.4rem;margin:0 0 .3rem}h2{font-size:1.1rem;margin:1.4rem 0 .5rem}
.meta{color:#4a5564;margin:.15rem 0}
.badge{display:inline-block;padding:.25rem .7rem;border-radius:4px;color:#fff;font-weight:600}
table{border-collapse:collapse;font-size:.86rem;margin:.3rem 0}
th{background:#27364a;color:#fff;text-align:left;padding:.4rem .55rem;white-space:nowrap}
td{padding:.3rem .55rem;border-bottom:1px solid #e3e7ec}
td.num{text-align:right;font-variant-numeric:tabular-nums}
td.status{color:#fff;font-weight:600;text-align:center}
ul{margin:.3rem 0 .3rem 1.2rem;padding:0}
img{max-width:100%;border:1px solid #e3e7ec;margin:.4rem 0}
.muted{color:#7a8594}
"""

_DECISION_COLOURS = {
    DriftStatus.OK: _STATUS_COLOURS[DriftStatus.OK],
    DriftStatus.WARN: _STATUS_COLOURS[DriftStatus.WARN],
    MonitoringDecision.ROLLBACK: _STATUS_COLOURS[DriftStatus.ACT],
    MonitoringDecision.FALLBACK: _STATUS_COLOURS[DriftStatus.ACT],
    DriftStatus.ACT: _STATUS_COLOURS[DriftStatus.ACT],
}


def render_html(report: MonitoringReport, images: Mapping[str, str] | None = None) -> str:
    """The report as one self-contained HTML page (inline CSS, plots as base64 PNG).

    Parameters
    ----------
    report : MonitoringReport
    images : mapping of str to str, optional
        Base64 PNGs by name (``psi``, ``score_distribution``, ``rolling_f1``).

    Returns
    -------
    str
    """
    e = html.escape
    images = images or {}
    cfg = report.config
    data = report.data
    stale = data.get("staleness_days") or {}
    colour = _DECISION_COLOURS.get(report.decision, "#555")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Monitoring: {e(report.model_name)} v{e(report.model_version)} — "
        f"{e(report.decision)}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>Monitoring {e(report.model_name)} version {e(report.model_version)} "
        f'<span class="badge" style="background:{colour}">{e(report.decision.upper())}</span>'
        "</h1>",
        f'<p class="meta">Data: {e(str(data.get("source")))} · as-of days '
        f"{e(data['first_asof'])} … {e(data['last_asof'])} · {data['rows']:,} rows with matured "
        f"labels ({data['positives']:,} positive) · horizon {report.horizon} days</p>",
        f'<p class="meta">Model history ends {e(str(data.get("history_end")))}; rows are '
        f"{e(_fmt(stale.get('min'), '.0f'))}–{e(_fmt(stale.get('max'), '.0f'))} days later "
        "(scored as the API would: nothing refitted) · threshold "
        f"{report.threshold:.3f} · holdout F1 {e(_fmt(report.holdout_f1))}</p>",
        f'<p class="meta">Run at {e(report.created_at)}'
        + (" · <b>dry run</b>" if report.dry_run else "")
        + (
            f" · MLflow run {e(report.mlflow_run_id)} (experiment {e(cfg.experiment)})"
            if report.mlflow_run_id
            else ""
        )
        + "</p>",
        "<h2>Decision</h2>",
        "<ul>" + "".join(f"<li>{e(r)}</li>" for r in report.reasons) + "</ul>",
        f"<p><b>Action:</b> {e(report.action)} — {e(report.action_detail)}</p>",
        "<h2>Drift</h2>",
        f'<p class="meta">PSI warn ≥ {cfg.psi_warn:g}, act ≥ {cfg.psi_act:g}; KL(current‖reference)'
        f" warn ≥ {cfg.kl_warn:g}, act ≥ {cfg.kl_act:g}; bins: the reference's quantile edges, "
        f"shares floored at ε={cfg.epsilon:g}; a missing share is one more bin.</p>",
        "<table><thead><tr><th>variable</th><th>source</th><th>reference</th><th>PSI</th>"
        "<th>KL</th><th>status</th><th>rows (ref / now)</th><th>missing (ref / now)</th>"
        "</tr></thead><tbody>",
    ]
    for d in report.drift:
        parts.append(
            f"<tr><td>{e(d.name)}</td><td>{e(d.source)}</td><td>{e(d.reference)}</td>"
            f'<td class="num">{e(_fmt(d.psi))}</td><td class="num">{e(_fmt(d.kl))}</td>'
            f'<td class="status" style="background:{_STATUS_COLOURS[d.status]}" '
            f'title="{e(d.note)}">{e(d.status)}</td>'
            f'<td class="num">{d.reference_rows:,} / {d.current_rows:,}</td>'
            f'<td class="num">{d.reference_missing:.1%} / {d.current_missing:.1%}</td></tr>'
        )
    parts.append("</tbody></table>")
    for name, alt in (
        ("psi", "PSI per variable"),
        ("score_distribution", "score distribution, reference vs now"),
    ):
        if name in images:
            parts.append(f'<img alt="{e(alt)}" src="data:image/png;base64,{images[name]}">')

    parts += [
        "<h2>Rolling evaluation</h2>",
        f'<p class="meta">Windows of {cfg.window_days} as-of days ending at each matured day; '
        f"judged with ≥ {cfg.min_window_positives} positives. Act when the latest window's F1 is "
        f"more than {cfg.f1_margin:g} below the holdout F1, or below the rule baseline's F1 "
        f"(margin {cfg.rule_margin:g}).</p>",
    ]
    if "rolling_f1" in images:
        parts.append(f'<img alt="rolling F1" src="data:image/png;base64,{images["rolling_f1"]}">')
    parts.append(
        "<table><thead><tr><th>window</th><th>rows</th><th>positives</th><th>F1</th>"
        "<th>precision</th><th>recall</th><th>PR-AUC</th><th>rule F1</th><th>rule PR-AUC</th>"
        "<th>judged</th></tr></thead><tbody>"
    )
    for w in report.rolling:
        parts.append(
            f"<tr><td>{e(w.window_start)} … {e(w.window_end)}</td>"
            f'<td class="num">{w.rows:,}</td><td class="num">{w.positives:,}</td>'
            + "".join(
                f'<td class="num">{e(_fmt(v))}</td>'
                for v in (
                    w.f1,
                    w.precision,
                    w.recall,
                    w.pr_auc,
                    w.rule_f1,
                    w.rule_pr_auc,
                )
            )
            + f"<td>{'yes' if w.judged else 'no'}</td></tr>"
        )
    parts.append("</tbody></table>")
    model, rule = report.overall["model"], report.overall["rule"]
    parts.append(
        f'<p class="meta">All rows: model F1 {e(_fmt(model["f1"]))}, PR-AUC '
        f"{e(_fmt(model['pr_auc']))}; rule baseline F1 {e(_fmt(rule['f1']))}, PR-AUC "
        f"{e(_fmt(rule['pr_auc']))}.</p>"
    )
    if report.notes:
        parts += ["<h2>Notes</h2>", "<ul>"]
        parts += [f"<li>{e(n)}</li>" for n in report.notes]
        parts.append("</ul>")
    parts.append(
        f'<p class="muted">Fingerprint {e(report.fingerprint)} (model version, data, '
        "thresholds): an action is applied once per fingerprint.</p></body></html>"
    )
    return "\n".join(parts)


def _new_figure(width: float, height: float) -> Figure:
    """A Figure on its own Agg canvas: no pyplot global state; matplotlib imported only here."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _plot_psi(report: MonitoringReport) -> Figure:
    drift = report.drift
    cfg = report.config
    figure = _new_figure(8.0, 1.8 + 0.38 * max(len(drift), 1))
    ax = figure.add_subplot()
    names = [d.name for d in drift][::-1]
    values = [d.psi if d.psi is not None else 0.0 for d in drift][::-1]
    colours = [_STATUS_COLOURS[d.status] for d in drift][::-1]
    ax.barh(names, values, color=colours)
    ax.axvline(cfg.psi_warn, color=_STATUS_COLOURS[DriftStatus.WARN], linestyle="--", label="warn")
    ax.axvline(cfg.psi_act, color=_STATUS_COLOURS[DriftStatus.ACT], linestyle="--", label="act")
    # Capped so that one huge PSI does not flatten the others; its bar is labelled with its value.
    top = max(cfg.psi_act * 1.3, min(max(values, default=0.0) * 1.15, cfg.psi_act * 4))
    for y, value in enumerate(values):
        x = min(value, top * 0.88) + top * 0.01
        ax.text(x, y, f"{value:.3f}", va="center", fontsize=8)
    ax.set(
        xlim=(0, top),
        xlabel="PSI vs reference (reference quantile bins)",
        title=f"Drift per variable ({report.data['first_asof']} … {report.data['last_asof']})",
    )
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncols=2, fontsize="small")
    ax.grid(axis="x", alpha=0.3)
    return figure


def _plot_score(report: MonitoringReport) -> Figure:
    figure = _new_figure(8.0, 4.2)
    ax = figure.add_subplot()
    score = next((d for d in report.drift if d.name == PREDICTION), None)
    if score is None or not score.reference_shares:
        ax.text(0.5, 0.5, "no score reference", ha="center", va="center", transform=ax.transAxes)
        return figure
    edges = score.edges
    labels = [f"{lo:.3g}–{hi:.3g}" for lo, hi in itertools.pairwise(edges)]
    if score.has_missing_bin:
        labels.append("missing")
    x = np.arange(len(labels))
    ax.bar(x - 0.2, score.reference_shares, width=0.4, label=f"reference ({score.reference})")
    ax.bar(x + 0.2, score.current_shares, width=0.4, label="now", color="C3")
    ax.set_xticks(x, labels, rotation=45, ha="right", fontsize=8)
    ax.set(
        ylabel="share of rows",
        xlabel="predicted probability (reference quantile bins; end bins open-ended)",
        title=f"Score distribution: PSI {_fmt(score.psi)}, KL {_fmt(score.kl)}",
    )
    ax.legend(fontsize="small")
    ax.grid(axis="y", alpha=0.3)
    return figure


def _plot_rolling(report: MonitoringReport) -> Figure:
    figure = _new_figure(8.0, 5.0)
    ax = figure.add_subplot()
    rolling = report.rolling
    if not rolling:
        ax.text(
            0.5,
            0.5,
            "no window with matured labels",
            ha="center",
            va="center",
            transform=ax.transAxes,
        )
        return figure
    ends = pd.to_datetime([w.window_end for w in rolling])
    ax.plot(ends, [w.f1 for w in rolling], marker="o", markersize=3, label="model F1")
    ax.plot(ends, [w.rule_f1 for w in rolling], marker="s", markersize=3, label="rule F1")
    ax.plot(
        ends,
        [np.nan if w.pr_auc is None else w.pr_auc for w in rolling],
        linestyle=":",
        color="C0",
        label="model PR-AUC",
    )
    if report.holdout_f1 is not None:
        ax.axhline(report.holdout_f1, color="black", linewidth=1, label="holdout F1")
        ax.axhline(
            report.holdout_f1 - report.config.f1_margin,
            color=_STATUS_COLOURS[DriftStatus.ACT],
            linestyle="--",
            linewidth=1,
            label=f"holdout F1 − {report.config.f1_margin:g} (act)",
        )
    unjudged = [i for i, w in enumerate(rolling) if not w.judged]
    if unjudged:
        ax.scatter(
            ends[unjudged],
            [rolling[i].f1 for i in unjudged],
            facecolors="none",
            edgecolors="grey",
            s=60,
            label="not judged (few positives)",
        )
    ax.set(
        ylim=(0, 1),
        ylabel="F1 / PR-AUC",
        xlabel=f"window end ({report.config.window_days}-day windows)",
        title="Rolling evaluation on matured labels",
    )
    ax.grid(alpha=0.3)
    # Below the axes: inside, it hides the curves.
    ax.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.3), ncols=3)
    ax.tick_params(axis="x", labelrotation=30)
    return figure


# --------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _fmt(value: Any, spec: str = ".3f") -> str:
    number = _plain(value)
    return "n/a" if number is None else format(number, spec)


def _plain(value: Any) -> float | int | None:
    """A JSON-safe number: numpy scalars unwrapped, NaN/inf and None become None."""
    if value is None:
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | np.integer):
        return int(value)
    number = float(value)
    return number if math.isfinite(number) else None


def _plain_metrics(metrics: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _plain(v) for k, v in metrics.items()}


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, str | bool) or value is None:
        return value
    if isinstance(value, int | float | np.integer | np.floating):
        return _plain(value)
    if isinstance(value, Path):
        return str(value)
    return str(value)
