"""The model: one imblearn Pipeline of custom transformers ending in LightGBM.

``build_pipeline(config)`` returns the single pipeline::

    calendar (CalendarFeatures) → history (HistoryFeatures) → hashing (HashedIDs)
        → sampler (ConditionalSampler, fit only) → classifier (StockoutClassifier ⊂ LGBMClassifier)

``predict_proba`` on a DataFrame of raw request rows is all a caller needs. The decision threshold
is a parameter of the classifier, chosen on a training-side validation window (never the holdout)
by :func:`fit_model`, so ``predict`` on the fitted pipeline applies it.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from imblearn.pipeline import Pipeline
from lightgbm import Booster, LGBMClassifier
from scipy import sparse
from sklearn.base import clone
from sklearn.utils.validation import check_is_fitted

from stockout_sk.config import ModelConfig
from stockout_sk.contract import LABEL, RAW_FIELDS
from stockout_sk.features.calendar import CalendarFeatures
from stockout_sk.features.columns import Columns
from stockout_sk.features.hashing import HashedIDs
from stockout_sk.features.history import HistoryFeatures
from stockout_sk.sampling import ConditionalSampler

logger = logging.getLogger(__name__)

#: Batches up to this size predict on one thread: on small inputs LightGBM's thread start-up
#: costs more than the work (≈1 ms against ≈0.08 ms for one row on 2 cores).
SMALL_BATCH_ROWS = 256
#: StockoutClassifier's own parameters (never passed to LightGBM).
_OWN_PARAMS = ("threshold", "checkpoint_dir", "checkpoint_every")
_CHECKPOINT_RE = re.compile(r"^ckpt-(?P<fp>[0-9a-f]{16})-(?P<it>\d{6})\.txt$")


class CheckpointCallback:
    """LightGBM callback writing the booster every ``every`` iterations.

    Files are ``ckpt-<fingerprint>-<iteration>.txt`` in ``directory``; the fingerprint ties a
    checkpoint to the exact training matrix and parameters so an unrelated fit never resumes it.
    The last iteration is not checkpointed: a finished model is not a resume point. A fit that
    finishes leaves ``ckpt-<fingerprint>.done`` (see :func:`finished_marker`): its checkpoints stay
    (the registry logs them with the run) but a later fit of the same data starts afresh and
    gives the same model, instead of continuing from a finished fit's intermediate trees.
    """

    order = 30  # after LightGBM's own callbacks

    def __init__(self, directory: Path, fingerprint: str, every: int, total: int) -> None:
        self.directory = Path(directory)
        self.fingerprint = fingerprint
        self.every = every
        self.total = total

    def __call__(self, env) -> None:
        done = env.iteration + 1  # absolute: LightGBM counts init_model's trees too
        if done % self.every == 0 and done < self.total:
            self.directory.mkdir(parents=True, exist_ok=True)
            path = self.directory / f"ckpt-{self.fingerprint}-{done:06d}.txt"
            tmp = path.with_suffix(".tmp")
            env.model.save_model(str(tmp))
            tmp.replace(path)  # atomic: an interrupted write never looks like a checkpoint
            logger.info("checkpoint: %d/%d trees → %s", done, self.total, path)


def finished_marker(directory: Path | str, fingerprint: str) -> Path:
    """The file that says the fit of ``fingerprint`` finished (its checkpoints are not resumed)."""
    return Path(directory) / f"ckpt-{fingerprint}.done"


def latest_checkpoint(directory: Path | str, fingerprint: str) -> tuple[Path, int] | None:
    """The most advanced checkpoint of ``fingerprint`` in ``directory``, with its tree count.

    ``None`` when there is none, or when that fit finished (:func:`finished_marker`): only an
    interrupted fit is a resume point.
    """
    directory = Path(directory)
    if not directory.is_dir() or finished_marker(directory, fingerprint).exists():
        return None
    best: tuple[Path, int] | None = None
    for path in directory.iterdir():
        match = _CHECKPOINT_RE.match(path.name)
        if match and match["fp"] == fingerprint:
            iteration = int(match["it"])
            if best is None or iteration > best[1]:
                best = (path, iteration)
    return best


class StockoutClassifier(LGBMClassifier):
    """``LGBMClassifier`` with a decision threshold and resumable checkpoints.

    Parameters
    ----------
    threshold : float, default=0.5
        ``predict`` returns 1 where the positive-class probability is at least this.
    checkpoint_dir : str or None, default=None
        Save the booster every ``checkpoint_every`` iterations there; a later ``fit`` on the same
        data and parameters resumes from the most advanced checkpoint (``init_model``) and ends
        with ``n_estimators`` trees. ``None`` disables checkpoints.
    checkpoint_every : int, default=50
    **kwargs
        Any ``LGBMClassifier`` parameter.

    Attributes
    ----------
    resumed_from_ : int
        Trees taken from a checkpoint in the last ``fit`` (0 when it started fresh).
    fingerprint_ : str
        Fingerprint of the last training matrix and parameters.
    """

    def __init__(
        self,
        *,
        threshold: float = 0.5,
        checkpoint_dir: str | None = None,
        checkpoint_every: int = 50,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.threshold = threshold
        self.checkpoint_dir = checkpoint_dir
        self.checkpoint_every = checkpoint_every

    def fit(self, X, y, sample_weight=None, **kwargs):
        """Fit LightGBM, checkpointing and resuming when ``checkpoint_dir`` is set."""
        if not 0.0 <= float(self.threshold) <= 1.0:
            raise ValueError(f"threshold must be in [0, 1], got {self.threshold!r}")
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None"
            )
        callbacks = list(kwargs.pop("callbacks", None) or [])
        init_model = kwargs.pop("init_model", None)
        total = int(self.n_estimators)
        self.resumed_from_ = 0
        self.fingerprint_ = _fingerprint(X, y, self._training_params())
        if self.checkpoint_dir is not None:
            if self.checkpoint_every < 1:
                raise ValueError(f"checkpoint_every must be ≥ 1, got {self.checkpoint_every!r}")
            found = latest_checkpoint(self.checkpoint_dir, self.fingerprint_)
            if found is not None and init_model is None:
                init_model, self.resumed_from_ = str(found[0]), found[1]
                logger.info("resuming from checkpoint %s (%d trees)", found[0], found[1])
            callbacks.append(
                CheckpointCallback(
                    Path(self.checkpoint_dir), self.fingerprint_, self.checkpoint_every, total
                )
            )
        # With init_model LightGBM adds n_estimators trees to the checkpoint's: ask for the rest.
        self.n_estimators = total - self.resumed_from_
        try:
            super().fit(
                X,
                y,
                sample_weight=sample_weight,
                init_model=init_model,
                callbacks=callbacks,
                **kwargs,
            )
        finally:
            self.n_estimators = total
        if init_model is not None:
            # After a resume LightGBM keeps the checkpoint's predictor on the booster: training
            # state that is not part of the model (and a type skops refuses to load). The model
            # text holds every tree; rebuild the booster from it.
            self._Booster = Booster(model_str=self._Booster.model_to_string())
        if self.checkpoint_dir is not None:
            marker = finished_marker(self.checkpoint_dir, self.fingerprint_)
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.write_text(f"{total} trees\n")
        return self

    def _training_params(self) -> dict[str, Any]:
        params = self.get_params()
        for name in ("threshold", "checkpoint_dir", "checkpoint_every", "n_jobs"):
            params.pop(name, None)
        return params

    def _process_params(self, stage: str) -> dict[str, Any]:
        # Our own parameters are not LightGBM's: keep them out of the booster parameters
        # (LightGBM would warn "Unknown parameter" on every fit and store them in the model).
        params = super()._process_params(stage)
        for name in _OWN_PARAMS:
            params.pop(name, None)
        return params

    def _is_binary(self) -> bool:
        return getattr(self, "_n_classes", 2) == 2

    def predict_proba(self, X, **kwargs):
        """Class probabilities; small batches run on one thread.

        A float matrix from the pipeline goes straight to the booster: the scikit-learn wrapper's
        per-call validation costs more than predicting one row.
        """
        small = _num_rows(X) <= SMALL_BATCH_ROWS
        fast = isinstance(X, np.ndarray) and X.ndim == 2 and X.dtype.kind == "f"
        if not kwargs and fast and self._is_binary():
            check_is_fitted(self, "_Booster")
            if X.shape[1] != self.n_features_in_:
                raise ValueError(
                    f"X has {X.shape[1]} features, but {type(self).__name__} is expecting "
                    f"{self.n_features_in_} features as input"
                )
            positive = self._Booster.predict(X, num_threads=1 if small else 0)
            return np.column_stack([1.0 - positive, positive])
        if "num_threads" not in kwargs and small:
            kwargs["num_threads"] = 1
        return super().predict_proba(X, **kwargs)

    def predict(self, X, **kwargs):
        """Class labels at ``threshold`` (not LightGBM's fixed 0.5)."""
        if kwargs.get("raw_score") or kwargs.get("pred_leaf") or kwargs.get("pred_contrib"):
            return super().predict(X, **kwargs)
        if not self._is_binary():  # the threshold is a binary decision rule
            return super().predict(X, **kwargs)
        proba = self.predict_proba(X, **kwargs)[:, 1]
        return self.classes_[(proba >= self.threshold).astype(int)]


def build_pipeline(
    config: ModelConfig | None = None,
    *,
    threshold: float = 0.5,
    checkpoint_dir: str | None = "config",
) -> Pipeline:
    """The single imblearn Pipeline, unfitted.

    Parameters
    ----------
    config : ModelConfig, optional
        Defaults to ``ModelConfig()``.
    threshold : float, default=0.5
        Decision threshold carried by the classifier.
    checkpoint_dir : str or None
        Overrides ``config.checkpoint_dir``; ``None`` disables checkpoints.

    Returns
    -------
    imblearn.pipeline.Pipeline
        Steps ``sampler``, ``calendar``, ``history``, ``hashing``, ``classifier``. Fit with
        ``pipeline.fit(X, y, history__flows=chain.flows, history__transfers=chain.transfers)``;
        :func:`features_of` gives the feature steps of a fitted one.
    """
    config = config or ModelConfig()
    directory = config.checkpoint_dir if checkpoint_dir == "config" else checkpoint_dir
    calendar = CalendarFeatures()
    history = HistoryFeatures(
        windows=tuple(config.windows),
        history_days=config.history_days,
        horizon=config.horizon,
    )
    hashing = HashedIDs(n_features=config.hash_features)
    monotone: dict[str, Any] = {}
    if config.monotone_stock:
        names = matrix_feature_names(calendar, history, hashing)
        directions = history.risk_directions()
        monotone = {
            "monotone_constraints": [directions.get(name, 0) for name in names],
            "monotone_constraints_method": "basic",
        }
    return Pipeline(
        [
            # First: a sampler drops (or repeats) whole raw rows, and every feature of a row
            # depends on that row and the flows alone, so the kept rows get the very features
            # they would get after the feature steps — while those steps work on half the
            # training rows. Samplers act in fit only; predictions skip this step.
            (
                "sampler",
                ConditionalSampler(
                    minority_threshold=config.minority_threshold,
                    strategy=config.sampling_strategy,
                    ratio=config.sampling_ratio,
                    random_state=config.random_state,
                ),
            ),
            ("calendar", calendar),
            ("history", history),
            ("hashing", hashing),
            (
                "classifier",
                StockoutClassifier(
                    threshold=threshold,
                    checkpoint_dir=directory,
                    checkpoint_every=config.checkpoint_every,
                    n_estimators=config.n_estimators,
                    learning_rate=config.learning_rate,
                    num_leaves=config.num_leaves,
                    min_child_samples=config.min_child_samples,
                    subsample=config.subsample,
                    subsample_freq=1,
                    colsample_bytree=config.colsample_bytree,
                    random_state=config.random_state,
                    n_jobs=config.n_jobs,
                    verbose=-1,
                    **monotone,
                ),
            ),
        ]
    )


def features_of(pipeline: Pipeline, through: str = "hashing") -> Pipeline:
    """The fitted steps of ``pipeline`` up to and including the step named ``through``.

    ``features_of(p)`` turns raw rows into the model matrix, ``features_of(p, "history")`` into
    the named calendar and history features. Found by name, so it works for every layout a
    registered model may have (models logged before the sampler moved first had it after the
    feature steps); a sampler inside the slice is skipped by ``transform``.
    """
    names = [name for name, _ in pipeline.steps]
    if through not in names:
        raise ValueError(f"the pipeline has no step {through!r}; its steps are {names}")
    return pipeline[: names.index(through) + 1]


def input_fields(pipeline: Pipeline) -> tuple[str, ...]:
    """The raw columns the fitted pipeline takes, in the order it was fitted with."""
    # The first step saw the raw rows (the sampler now, the calendar step in older models).
    return tuple(str(c) for c in pipeline[0].feature_names_in_)


def matrix_feature_names(*steps) -> list[str]:
    """Column names of the model matrix the feature ``steps`` produce, before any fitting.

    The names depend on the steps' parameters only, never on the data: clones of the steps are
    fitted on one synthetic raw row (no flows) and asked for ``get_feature_names_out``. This is
    how :func:`build_pipeline` lines the monotone constraints up with the matrix columns.
    """
    # Typed columns (a one-row DataFrame would be read as objects, the request fast path).
    row = Columns(
        {
            "BranchID": np.asarray(["B"], dtype=object),
            "ItemCode": np.asarray(["I"], dtype=object),
            "Date": np.asarray(["2024-01-01"], dtype="datetime64[ns]"),
            "CurrentQuantity": np.ones(1),
            "ReservedQuantity": np.zeros(1),
            "SafetyStockLevel": np.ones(1),
        }
    )
    X: Any = row
    last = None
    for step in steps:
        last = clone(step)
        X = last.fit_transform(X)
    return [str(name) for name in last.get_feature_names_out()]


@dataclass
class FittedModel:
    """A fitted pipeline and how its threshold was chosen."""

    pipeline: Pipeline
    threshold: float
    config: ModelConfig
    train_rows: int
    validation: dict[str, Any] = field(default_factory=dict)

    def feature_names(self) -> list[str]:
        """Names of the model matrix columns (what LightGBM sees)."""
        return [str(n) for n in features_of(self.pipeline).get_feature_names_out()]

    def feature_importance(self) -> pd.Series:
        """Gain importance per model column, largest first."""
        booster = self.pipeline[-1].booster_
        gain = booster.feature_importance(importance_type="gain")
        return pd.Series(gain, index=self.feature_names()).sort_values(ascending=False)


def split_xy(frame: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """The raw request fields and the label of a training table."""
    missing = [c for c in (*RAW_FIELDS, LABEL) if c not in frame.columns]
    if missing:
        raise ValueError(
            f"training table is missing column(s) {missing}; build it with "
            "stockout_sk.labels.build_dataset"
        )
    return frame[list(RAW_FIELDS)], frame[LABEL].to_numpy(dtype=np.int64)


def fit_model(
    train: pd.DataFrame,
    chain,
    config: ModelConfig | None = None,
    *,
    checkpoint_dir: str | None = "config",
) -> FittedModel:
    """Fit the pipeline on training rows and choose its threshold on training-side validation.

    1. The latest ``validation_days`` as-of days of ``train`` (after a purge gap of ``horizon``
       days) are held aside; a pipeline fitted on the rest, with flows up to the end of that
       window only, scores them and the F1-maximising threshold is chosen.
    2. The final pipeline is fitted on all of ``train`` with all flows (features stay point in
       time: a row dated t only reads flows of days ≤ t) and carries the chosen threshold.

    Parameters
    ----------
    train : DataFrame
        Training rows: the raw fields plus ``label`` (never the holdout).
    chain : ChainData
        Supplies ``flows`` and ``transfers`` for the history features.
    config : ModelConfig, optional
    checkpoint_dir : str or None
        Overrides ``config.checkpoint_dir`` for the final fit.
    """
    from stockout_sk.evaluate import choose_threshold, validation_split

    config = config or ModelConfig()
    X, y = split_xy(train)
    if len(np.unique(y)) < 2:
        raise ValueError(
            f"the training rows hold a single class ({np.unique(y).tolist()}); a classifier "
            "needs both. Use more history or check the labels"
        )
    split = validation_split(
        train["Date"], horizon=config.horizon, validation_days=config.validation_days
    )
    inner, valid = np.asarray(split.train), np.asarray(split.holdout)
    cutoff = train["Date"][valid].max()
    flows, transfers = chain.flows, chain.transfers
    inner_pipeline = build_pipeline(config, checkpoint_dir=None)
    logger.info(
        "choosing the threshold: fit on %d rows, validate on %d rows up to %s",
        inner.sum(),
        valid.sum(),
        cutoff.date(),
    )
    inner_pipeline.fit(
        X[inner],
        y[inner],
        history__flows=flows[flows["Date"] <= cutoff],
        history__transfers=transfers[transfers["Date"] <= cutoff],
    )
    proba = inner_pipeline.predict_proba(X[valid])[:, 1]
    threshold = float(choose_threshold(y[valid], proba))
    validation = {
        "rows": int(valid.sum()),
        "positives": int(y[valid].sum()),
        "start": str(train["Date"][valid].min().date()),
        "end": str(cutoff.date()),
        "threshold": threshold,
    }
    logger.info("threshold %.4f chosen on %d validation rows", threshold, valid.sum())

    pipeline = build_pipeline(config, threshold=threshold, checkpoint_dir=checkpoint_dir)
    pipeline.fit(X, y, history__flows=flows, history__transfers=transfers)
    return FittedModel(
        pipeline=pipeline,
        threshold=threshold,
        config=config,
        train_rows=len(X),
        validation=validation,
    )


def _fingerprint(X, y, params: dict[str, Any]) -> str:
    digest = hashlib.blake2b(digest_size=8)
    if sparse.issparse(X):
        csr = sparse.csr_array(X, dtype=np.float32)
        csr.sort_indices()
        parts = [csr.data, csr.indices, csr.indptr]
        shape = csr.shape
    else:
        matrix = np.asarray(X, dtype=np.float32)
        parts, shape = [matrix], matrix.shape
    digest.update(str(shape).encode())
    for part in parts:
        digest.update(np.ascontiguousarray(part).tobytes())
    # Labels of any type (0/1, strings): their classes and the class of each row.
    classes, codes = np.unique(np.asarray(y), return_inverse=True)
    digest.update(repr(classes.tolist()).encode())
    digest.update(np.ascontiguousarray(codes, dtype=np.int64).tobytes())
    digest.update(repr(sorted(params.items(), key=lambda kv: kv[0])).encode())
    return digest.hexdigest()


def _num_rows(X) -> int:
    return X.shape[0] if hasattr(X, "shape") else np.asarray(X).shape[0]
