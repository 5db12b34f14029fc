"""PSI and KL divergence on shared bins, and the drift of one monitored variable (pure maths).

A variable is binned on the quantile edges of its reference (``reference/reference.json`` of the
model's training run, see :mod:`stockout_sk.reference`); a missing-value share is compared as one
more bin. Shares are floored at ``epsilon`` before the logarithms, so an empty bin is finite.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import rel_entr
from scipy.stats import entropy

from stockout_sk.config import MonitoringConfig
from stockout_sk.reference import bin_counts
from stockout_sk.vocabulary import DriftStatus

__all__ = ["DriftResult", "kl_divergence", "psi", "variable_drift"]


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
    expected, actual = _aligned(reference, current, epsilon)
    return float(entropy(actual, expected))


@dataclass
class DriftResult:
    """PSI and KL of one monitored variable against its reference.

    Attributes
    ----------
    name : str
        The raw field, model feature, or ``"prediction"`` (the predicted probability).
    source : {"raw", "model", "score"}
    reference : {"training", "holdout"}
        Which rows the reference describes (see :func:`~stockout_sk.monitoring.drift_table`).
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
