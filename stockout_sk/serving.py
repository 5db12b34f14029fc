"""Serving the production model: atomic snapshot swaps, alias polling, rule-baseline fallback.

The API (``api/``) is a thin FastAPI shell over this module. What it composes:

* :class:`~stockout_sk.config.ServingSettings` — the serving knobs, read from the environment
  by :func:`~stockout_sk.config.load_serving_settings` (never at import).
* :class:`Snapshot` — one immutable view of what answers requests: the fitted pipeline (or none,
  for the rule baseline), its version and metadata, and why the rule baseline is in place when it
  is. A request reads :attr:`ModelHolder.snapshot` **once** and uses that object from start to
  end, so a hot swap can never mix two models inside one response.
* :class:`ModelHolder` — owns the current snapshot and replaces it by a single reference
  assignment. :meth:`ModelHolder.refresh` asks the registry which version holds the alias (default
  ``production``) and whether the registered-model tag ``stockout.serving_mode`` says
  ``rule-baseline``; a background thread (:meth:`ModelHolder.start`) calls it every
  ``poll_seconds``. No production model, the serving-mode switch, or a registry that stays
  unreachable longer than ``registry_grace_seconds`` all put the rule baseline in place, with the
  reason logged and reported; the next successful poll recovers.
* :func:`to_frame`, :func:`predict`, :func:`explain` — raw rows in, probabilities and their top
  LightGBM contributions out. A model that fails at predict time answers that request from the
  rule baseline and says so; no input ever reaches a 5xx through here.

Nothing here touches MLflow on the request path: only :meth:`ModelHolder.refresh` does.
"""

from __future__ import annotations

import datetime as _dt
import logging
import math
import os
import re
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import numpy as np

from stockout_sk import dates
from stockout_sk.config import ServingSettings
from stockout_sk.contract import QUANTITY_FIELDS, RAW_FIELDS, STRING_FIELDS
from stockout_sk.features.columns import Columns
from stockout_sk.features.names import HASH_PREFIX, ID_HASHES
from stockout_sk.model import SMALL_BATCH_ROWS
from stockout_sk.pipeline import features_of, input_fields
from stockout_sk.vocabulary import ServingMode, Source, Tag

__all__ = [
    "ID_HASHES",
    "ModelHolder",
    "Scored",
    "Snapshot",
    "canonical_date",
    "explain",
    "model_snapshot",
    "predict",
    "rule_baseline",
    "rule_snapshot",
    "score_rows",
    "to_frame",
]

logger = logging.getLogger(__name__)

_ISO_DAY_RE = re.compile(r"\d{4}-\d{2}-\d{2}")


def limit_registry_retries(environ: dict[str, str] | None = None) -> None:
    """Bound MLflow's HTTP retries so an unreachable registry is noticed within seconds.

    MLflow's REST client retries a refused connection up to 7 times with exponential back-off
    (minutes in total), which would hold a poll — and the fallback — for that long. Its only
    knobs are environment variables; this sets them **only where the operator has not**:
    ``MLFLOW_HTTP_REQUEST_MAX_RETRIES=2``, ``MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR=1``,
    ``MLFLOW_HTTP_REQUEST_TIMEOUT=10``. Called by the API at start-up, never at import.
    """
    env = os.environ if environ is None else environ
    env.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
    env.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
    env.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")


# --------------------------------------------------------------------------------------------------
# Request values
# --------------------------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def canonical_date(value: str) -> str:
    """The ISO date (``YYYY-MM-DD``) of a request's ``Date``; the pipeline is sent this form.

    Accepted: ISO dates, ISO timestamps (``T`` or space, with or without seconds, fraction or
    timezone; a timestamp belongs to its wall-clock date), ``yyyy/mm/dd``, and ``dd/mm/yyyy`` or
    ``mm/dd/yyyy`` **when only one reading is a real date** (``25/04/2024``). A slashed date that
    reads as two different days (``04/01/2024``) is refused: guessing would silently shift the
    as-of day. Cached: request dates repeat a lot within a batch and across requests.

    Raises
    ------
    ValueError
        Unparseable or ambiguous; the message names the value and the accepted forms.

    Examples
    --------
    >>> canonical_date("2024-04-01T09:30:00+03:00")
    '2024-04-01'
    >>> canonical_date("25/04/2024")
    '2024-04-25'
    """
    text = value.strip()
    if len(text) == 10 and _ISO_DAY_RE.fullmatch(text):
        try:
            return _dt.date.fromisoformat(text).isoformat()
        except ValueError as exc:
            raise ValueError(
                f"{value!r} is not a calendar date; send a real ISO date such as '2024-04-01'"
            ) from exc
    day_first = _try_parse(text, dayfirst=True)
    month_first = _try_parse(text, dayfirst=False)
    if day_first is None and month_first is None:
        raise ValueError(
            f"unparseable date {value!r}: send an ISO date ('2024-04-01') or timestamp "
            "('2024-04-01T09:30:00+03:00'); 'yyyy/mm/dd' and unambiguous 'dd/mm/yyyy' also work"
        )
    if day_first is not None and month_first is not None and day_first != month_first:
        raise ValueError(
            f"ambiguous date {value!r}: it reads as {day_first} day-first and {month_first} "
            "month-first; send an ISO date (YYYY-MM-DD)"
        )
    return day_first or month_first  # type: ignore[return-value]


def _try_parse(text: str, *, dayfirst: bool) -> str | None:
    try:
        # isoformat, not strftime: glibc's %Y does not pad a year below 1000 to four digits.
        return dates.parse_date_scalar(text, dayfirst=dayfirst).date().isoformat()
    except ValueError:
        return None


def to_frame(records: Sequence[Mapping[str, Any]], fields: Sequence[str] = RAW_FIELDS) -> Columns:
    """Raw request rows as the pipeline's input, columns in the fitted order.

    Returns a :class:`~stockout_sk.features.columns.Columns` — the feature package's own
    lightweight frame (an ordered dict of numpy arrays) that every pipeline step accepts like a
    DataFrame. Building it skips pandas' per-frame and per-column overhead, which for one row
    costs more than half of the pipeline's own work; the probabilities are the same as for
    ``pd.DataFrame(records)`` (a component test holds them equal).

    Parameters
    ----------
    records : sequence of mappings
        Validated rows: IDs and ``Date`` (canonical ISO) as strings, quantities as numbers.
    fields : sequence of str
        The pipeline's ``feature_names_in_`` (default :data:`~stockout_sk.contract.RAW_FIELDS`).
    """
    columns = Columns()
    for name in fields:
        values = [record[name] for record in records]
        if name in STRING_FIELDS:
            array = np.empty(len(values), dtype=object)
            array[:] = values
        else:
            array = np.asarray(values, dtype=np.float64)
        columns[name] = array
    return columns


# --------------------------------------------------------------------------------------------------
# Snapshots
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    """What answers requests at one moment; never mutated, only replaced.

    Attributes
    ----------
    source : {"registry", "rule-baseline"}
    pipeline : imblearn.pipeline.Pipeline or None
        ``None`` for the rule baseline.
    version : str or None
        Registered version of the pipeline.
    threshold : float or None
        The classifier's decision threshold.
    model : dict
        :meth:`ProductionModel.metadata` of the pipeline (name, run id, trained-at, horizon,
        holdout metrics, …); empty for the rule baseline.
    reason : str or None
        Why the rule baseline answers (``None`` when the model does).
    loaded_at : str
        ISO time this snapshot was put in place.
    fields : tuple of str
        Input columns in the order the pipeline was fitted with.
    feature_names : tuple of str
        Names of the model-matrix columns (for explanations).
    history_last_day : int or None
        Days since 1970-01-01 of the freshest history the model carries.
    """

    source: str
    pipeline: Any = None
    version: str | None = None
    threshold: float | None = None
    model: Mapping[str, Any] = field(default_factory=dict)
    reason: str | None = None
    loaded_at: str = ""
    fields: tuple[str, ...] = RAW_FIELDS
    feature_names: tuple[str, ...] = ()
    history_last_day: int | None = None

    @property
    def history_end(self) -> str | None:
        """The freshest carried history day (ISO), or ``None``."""
        if self.history_last_day is None:
            return None
        return str(np.datetime64(int(self.history_last_day), "D"))


def rule_snapshot(reason: str, *, model: Snapshot | None = None) -> Snapshot:
    """A rule-baseline snapshot; ``model`` keeps the last loaded model's metadata for reports."""
    return Snapshot(
        source=Source.RULE_BASELINE,
        reason=reason,
        loaded_at=_now(),
        model=dict(model.model) if model is not None else {},
    )


def model_snapshot(production: Any) -> Snapshot:
    """A registry snapshot of a :class:`~stockout_sk.registry.ProductionModel`, warmed up.

    One prediction on a synthetic row runs before the snapshot is returned: it proves the model
    answers (a model that cannot is never swapped in) and moves LightGBM's first-call set-up out
    of the first real request.

    Raises
    ------
    Exception
        Whatever the pipeline raises on the warm-up row.
    """
    pipeline = production.pipeline
    fields = input_fields(pipeline)
    history = pipeline.named_steps.get("history") if hasattr(pipeline, "named_steps") else None
    last_day = getattr(history, "last_day_", None)
    feature_names = tuple(str(n) for n in features_of(pipeline).get_feature_names_out())
    snapshot = Snapshot(
        source=Source.REGISTRY,
        pipeline=pipeline,
        version=str(production.version),
        threshold=float(production.threshold),
        model=production.metadata(),
        loaded_at=_now(),
        fields=fields,
        feature_names=feature_names,
        history_last_day=None if last_day is None else int(last_day),
    )
    warm_day = snapshot.history_end or "2024-01-01"
    row = {"BranchID": "warm-up", "ItemCode": "warm-up", "Date": warm_day}
    row.update(dict.fromkeys(QUANTITY_FIELDS, 1.0))
    proba = pipeline.predict_proba(to_frame([row], fields))
    if proba.shape != (1, 2) or not np.isfinite(proba).all():
        raise ValueError(
            f"model version {production.version} answered the warm-up row with {proba!r}; "
            "expected one row of two finite probabilities"
        )
    return snapshot


# --------------------------------------------------------------------------------------------------
# Predicting and explaining
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scored:
    """Predictions for a batch of rows, all from one snapshot.

    Attributes
    ----------
    probability : ndarray of float64
        P(stock-out within the horizon); for the rule baseline its decision as 0.0 / 1.0.
    prediction : ndarray of int64
        0/1 at the model's threshold (or the rule).
    source : {"registry", "rule-baseline"}
    version : str or None
        The model version that answered (``None`` for the rule baseline).
    threshold : float or None
    reason : str or None
        Why the rule baseline answered.
    stale_days : ndarray of int64 or None
        Days between each row's date and the freshest history the model carries (0 = fresh).
    """

    probability: np.ndarray
    prediction: np.ndarray
    source: str
    version: str | None
    threshold: float | None
    reason: str | None
    stale_days: np.ndarray | None


def rule_baseline(X: Mapping[str, Any]) -> np.ndarray:
    """The rule ``CurrentQuantity < SafetyStockLevel`` as 0/1 (int64)."""
    current = np.asarray(X["CurrentQuantity"], dtype=np.float64)
    safety = np.asarray(X["SafetyStockLevel"], dtype=np.float64)
    return (current < safety).astype(np.int64)


def _rule_scored(X: Mapping[str, Any], reason: str | None) -> Scored:
    decision = rule_baseline(X)
    return Scored(
        probability=decision.astype(np.float64),
        prediction=decision,
        source=Source.RULE_BASELINE,
        version=None,
        threshold=None,
        reason=reason,
        stale_days=None,
    )


def predict(snapshot: Snapshot, X: Columns | Any) -> Scored:
    """Score rows with the snapshot's pipeline, or the rule baseline.

    Parameters
    ----------
    snapshot : Snapshot
        Read once by the caller; everything here uses only it.
    X : Columns or DataFrame
        Raw rows (:func:`to_frame`).

    Returns
    -------
    Scored
        When the pipeline raises or returns something that is not a probability, the rule
        baseline answers these rows: the failure is logged with its traceback and the reason
        (naming the version and the error) is in ``Scored.reason``.
    """
    pipeline = snapshot.pipeline
    if pipeline is None:
        return _rule_scored(X, snapshot.reason)
    try:
        proba = np.asarray(pipeline.predict_proba(X)[:, 1], dtype=np.float64)
        if not np.isfinite(proba).all():
            raise ValueError("the model returned a non-finite probability")
        history = pipeline.named_steps.get("history")
        stale = None if history is None else history.staleness_days(X)
    except Exception as error:  # any model failure: rule baseline, logged, said
        reason = (
            f"model version {snapshot.version} failed at predict time "
            f"({type(error).__name__}: {error}); the rule baseline answered this request"
        )
        logger.exception("%s", reason)
        return _rule_scored(X, reason)
    threshold = float(snapshot.threshold if snapshot.threshold is not None else 0.5)
    stale_days = (
        None
        if stale is None
        # An unreadable date has no staleness; 0 keeps the column integral (the model warned).
        else np.nan_to_num(np.asarray(stale, dtype=np.float64), nan=0.0).astype(np.int64)
    )
    return Scored(
        probability=proba,
        prediction=(proba >= threshold).astype(np.int64),
        source=Source.REGISTRY,
        version=snapshot.version,
        threshold=threshold,
        reason=None,
        stale_days=stale_days,
    )


def explain(snapshot: Snapshot, X: Columns | Any, top: int = 5) -> list[list[dict[str, Any]]]:
    """The features that moved each row's score most (LightGBM ``pred_contrib``).

    Contributions are SHAP values in log-odds: positive raises the stock-out risk, negative
    lowers it; with the model's base value they add up to the row's raw score. Hashed ID columns
    are summed into one entry, :data:`ID_HASHES`.

    Parameters
    ----------
    snapshot : Snapshot
    X : Columns or DataFrame
        Raw rows.
    top : int
        Entries per row, largest absolute contribution first.

    Returns
    -------
    list of list of dict
        Per row: ``{"feature", "value", "contribution"}`` (``value`` is the model-matrix value,
        ``None`` for :data:`ID_HASHES` or a missing value). Empty lists for the rule baseline.

    Raises
    ------
    Exception
        Whatever the pipeline raises (callers that must not fail catch it; see the API).
    """
    pipeline = snapshot.pipeline
    if pipeline is None:
        return [[] for _ in range(_n_rows(X))]
    matrix = np.asarray(features_of(pipeline).transform(X))
    booster = pipeline[-1].booster_
    threads = 1 if matrix.shape[0] <= SMALL_BATCH_ROWS else 0
    contrib = np.asarray(booster.predict(matrix, pred_contrib=True, num_threads=threads))
    names = snapshot.feature_names or features_of(pipeline).get_feature_names_out()
    names = np.asarray(names, dtype=object)
    hashed = np.char.startswith(names.astype(str), HASH_PREFIX)
    contrib = contrib[:, : len(names)]  # the last column is the base value
    grouped = np.column_stack([contrib[:, ~hashed], contrib[:, hashed].sum(axis=1)])
    values = np.column_stack([matrix[:, ~hashed], np.full(matrix.shape[0], np.nan)])
    labels = [*names[~hashed].tolist(), ID_HASHES]
    k = max(0, min(int(top), grouped.shape[1]))
    order = np.argsort(-np.abs(grouped), axis=1, kind="stable")[:, :k]
    out: list[list[dict[str, Any]]] = []
    for row, columns in enumerate(order):
        entries = []
        for j in columns:
            value = float(values[row, j])
            entries.append(
                {
                    "feature": labels[j],
                    # The matrix is float32: 6 significant digits are all it holds.
                    "value": float(f"{value:.6g}") if math.isfinite(value) else None,
                    "contribution": float(grouped[row, j]),
                }
            )
        out.append(entries)
    return out


def score_rows(
    snapshot: Snapshot, X: Columns | Any, *, explain_top: int | None = None
) -> tuple[Scored, list[list[dict[str, Any]]] | None]:
    """:func:`predict`, and with ``explain_top`` the :func:`explain` entries of each row.

    What the API and the morning list call. An explanation that fails is logged and left empty
    (the prediction stands); the rule baseline has none.

    Returns
    -------
    tuple
        ``(Scored, explanations)``; ``explanations`` is ``None`` when not asked for.
    """
    scored = predict(snapshot, X)
    if explain_top is None:
        return scored, None
    if scored.source != Source.REGISTRY:
        return scored, [[] for _ in range(len(scored.probability))]
    try:
        return scored, explain(snapshot, X, explain_top)
    except Exception:  # the prediction is good; only its explanation is lost
        logger.exception(
            "explaining %d row(s) with version %s failed", len(scored.probability), snapshot.version
        )
        return scored, [[] for _ in range(len(scored.probability))]


def _n_rows(X: Any) -> int:
    return X.shape[0] if hasattr(X, "shape") else len(X)


# --------------------------------------------------------------------------------------------------
# The holder: atomic swap, polling, fallback
# --------------------------------------------------------------------------------------------------


class ModelHolder:
    """Owns the current :class:`Snapshot`; polls the registry and swaps it atomically.

    Parameters
    ----------
    settings : ServingSettings
    registry_api : module, optional
        Provides ``get_serving_mode``, ``production_version`` and ``load_production`` with the
        signatures of :mod:`stockout_sk.registry` (the default); tests pass a fake.
    clock : callable, optional
        Monotonic seconds (for the grace period); tests pass a fake.

    Notes
    -----
    Readers take :attr:`snapshot` without a lock: replacing it is one reference assignment,
    atomic in CPython, and a snapshot is never mutated. :meth:`refresh` is serialised by a lock
    so the poller and ``POST /model/reload`` never load twice at once. A loaded pipeline is kept
    aside, so recovering from a fallback onto the same version needs no download.
    """

    def __init__(
        self,
        settings: ServingSettings,
        *,
        registry_api: Any = None,
        clock: Any = time.monotonic,
    ) -> None:
        if registry_api is None:
            from stockout_sk import registry as registry_api
        self.settings = settings
        self._registry = registry_api
        self._clock = clock
        self._snapshot = rule_snapshot("the model is still loading from the registry")
        self._model: Snapshot | None = None  # last model snapshot loaded, in use or not
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._first_done = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_ok: float | None = None
        self._last_poll_at: str | None = None
        self._last_error: str | None = None
        self._serving_mode: str | None = None
        self._polls = 0

    # -------------------------------------------------------------- reading
    @property
    def snapshot(self) -> Snapshot:
        """The snapshot to answer with; read it once per request."""
        return self._snapshot

    @property
    def ready(self) -> bool:
        """True once the first load attempt finished (a model or the fallback is in place)."""
        return self._first_done.is_set()

    def status(self) -> dict[str, Any]:
        """What ``GET /model`` reports: the snapshot, the registry and the poller."""
        snap = self._snapshot
        meta = dict(snap.model)
        registry = self.settings.registry
        return {
            "source": snap.source,
            "model_name": meta.get("model_name", registry.model_name),
            "alias": self.settings.alias,
            "version": snap.version,
            "run_id": meta.get("run_id") if snap.pipeline is not None else None,
            "model_uri": meta.get("model_uri") if snap.pipeline is not None else None,
            "trained_at": meta.get("trained_at") if snap.pipeline is not None else None,
            "horizon": meta.get("horizon"),
            "threshold": snap.threshold,
            "metrics": meta.get("metrics", {}) if snap.pipeline is not None else {},
            "serving_mode": self._serving_mode,
            "fallback_reason": snap.reason,
            "loaded_at": snap.loaded_at,
            "history_end": snap.history_end,
            "last_loaded_version": None if self._model is None else self._model.version,
            "registry": {
                "tracking_uri": redact_uri(registry.tracking_uri),
                "poll_seconds": self.settings.poll_seconds,
                "grace_seconds": self.settings.registry_grace_seconds,
                "last_poll_at": self._last_poll_at,
                "last_error": self._last_error,
                "polls": self._polls,
            },
        }

    # ------------------------------------------------------------- updating
    def _swap(self, snapshot: Snapshot) -> None:
        previous = self._snapshot
        if (previous.source, previous.version, previous.reason) == (
            snapshot.source,
            snapshot.version,
            snapshot.reason,
        ):
            return  # the same answer for the same reason: keep the snapshot (and its loaded_at)
        self._snapshot = snapshot  # the one assignment readers see
        if snapshot.source == Source.REGISTRY:
            was = previous.source + (f" {previous.version}" if previous.version else "")
            logger.info(
                "serving %s version %s (was %s)",
                self.settings.registry.model_name,
                snapshot.version,
                was,
            )
        else:
            logger.warning("serving the rule baseline: %s", snapshot.reason)

    def refresh(self) -> bool:
        """Ask the registry what to serve and swap if it changed; never raises.

        Returns
        -------
        bool
            True when the snapshot was replaced.
        """
        with self._lock:
            before = self._snapshot
            try:
                self._refresh()
            finally:
                self._polls += 1
                self._last_poll_at = _now()
            return self._snapshot is not before

    def _refresh(self) -> None:
        settings = self.settings.registry
        name, alias = settings.model_name, self.settings.alias
        try:
            mode = self._registry.get_serving_mode(settings)
            version = (
                None
                if mode == ServingMode.RULE_BASELINE
                else self._registry.production_version(settings, alias=alias)
            )
        except Exception as error:  # any registry failure is a reason to fall back
            self._registry_down(error)
            return
        self._last_ok = self._clock()
        self._last_error = None
        self._serving_mode = mode
        if mode == ServingMode.RULE_BASELINE:
            self._swap(
                rule_snapshot(
                    f"the registered model {name!r} has serving mode '{ServingMode.RULE_BASELINE}' "
                    f"(tag {Tag.SERVING_MODE}, set by monitoring or an operator; see `stockout-sk "
                    "registry show`; a promotion or rollback switches back to the model)",
                    model=self._model,
                )
            )
            return
        if version is None:
            self._swap(
                rule_snapshot(
                    f"no version of {name!r} holds alias {alias!r} in "
                    f"{redact_uri(settings.tracking_uri)}; train one (`stockout-sk train --data "
                    "DIR`) or promote one (`stockout-sk registry promote VERSION`)"
                )
            )
            return
        current = self._snapshot
        if current.source == Source.REGISTRY and current.version == version:
            return
        if self._model is not None and self._model.version == version:
            # Recovering onto the version already in memory (after a fallback): no download.
            self._swap(replace(self._model, loaded_at=_now()))
            return
        try:
            production = self._registry.load_production(settings, alias=alias)
            snapshot = model_snapshot(production)
        except Exception as error:  # a model that cannot load must not be served
            detail = f"{type(error).__name__}: {error}"
            logger.exception("loading %s@%s (version %s) failed", name, alias, version)
            self._last_error = f"loading version {version} failed ({detail})"
            if current.source == Source.REGISTRY:
                logger.warning("still serving version %s", current.version)
                return
            self._swap(
                rule_snapshot(
                    f"version {version} of {name!r} (alias {alias!r}) could not be loaded "
                    f"({detail})",
                    model=self._model,
                )
            )
            return
        self._model = snapshot
        self._swap(snapshot)

    def _registry_down(self, error: Exception) -> None:
        uri = redact_uri(self.settings.registry.tracking_uri)
        detail = f"{type(error).__name__}: {_first_line(error)}"
        self._last_error = f"registry {uri} unreachable ({detail})"
        current = self._snapshot
        now = self._clock()
        grace = self.settings.registry_grace_seconds
        if (
            current.source == Source.REGISTRY
            and self._last_ok is not None
            and now - self._last_ok < grace
        ):
            logger.warning(
                "%s; still serving version %s (grace %.0f s, %.0f s elapsed)",
                self._last_error,
                current.version,
                grace,
                now - self._last_ok,
            )
            return
        logger.warning("%s", self._last_error, exc_info=error)
        self._swap(
            rule_snapshot(
                f"the model registry {uri} is unreachable ({detail}); serving the rule baseline "
                "until a poll reaches it again",
                model=self._model,
            )
        )

    # --------------------------------------------------------------- poller
    def start(self) -> None:
        """Start the background thread: a first load now, then a poll every ``poll_seconds``."""
        if self._thread is not None:
            raise RuntimeError("ModelHolder.start() was already called")
        self._thread = threading.Thread(target=self._run, name="stockout-model-poller", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self.refresh()
        finally:
            self._first_done.set()
        interval = self.settings.poll_seconds
        if interval <= 0:
            return
        while not self._stop.wait(interval):
            try:
                self.refresh()
            except Exception:  # a bug here must not end polling: log it, poll again
                logger.exception("polling the registry failed unexpectedly")

    def wait_first(self, timeout: float | None) -> bool:
        """Block until the first load attempt finished (or ``timeout`` seconds); True if it did."""
        return self._first_done.wait(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the poller (an ongoing registry call finishes first, up to ``timeout``)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                logger.warning("the model poller did not stop within %.0f s", timeout)


def redact_uri(uri: str) -> str:
    """``uri`` without a password (``http://user:***@host``), for reports and logs."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return "<unparseable URI>"
    if parts.password is None:
        return uri
    netloc = f"{parts.username}:***@{parts.hostname}"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


def _first_line(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return text[0][:300] if text else ""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")
