"""The classifier at the end of the pipeline: LightGBM with a decision threshold and checkpoints.

:class:`StockoutClassifier` is an ``LGBMClassifier`` that carries its decision threshold (chosen
on a training-side validation window by :func:`stockout_sk.training.fit_model`, so ``predict`` on
the fitted pipeline applies it) and writes a checkpoint every ``checkpoint_every`` trees, from
which an interrupted fit resumes. Its import path is part of every registered model (skops stores
it): it stays ``stockout_sk.model.StockoutClassifier``. The pipeline around it is built by
:func:`stockout_sk.pipeline.build_pipeline`.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from pathlib import Path
from typing import Any

import numpy as np
from lightgbm import Booster, LGBMClassifier
from scipy import sparse
from sklearn.utils.validation import check_is_fitted

from stockout_sk.features.columns import n_rows

logger = logging.getLogger(__name__)

#: Batches up to this size predict on one thread: on small inputs LightGBM's thread start-up
#: costs more than the work itself (``benchmarks/bench_model.py`` measures both).
SMALL_BATCH_ROWS = 256
#: StockoutClassifier's own parameters (never passed to LightGBM).
_OWN_PARAMS = (
    "threshold",
    "checkpoint_dir",
    "checkpoint_every",
    "checkpoint_keep",
    "checkpoint_retain",
    "checkpoint_max_age_days",
)
_CHECKPOINT_RE = re.compile(r"^ckpt-(?P<fp>[0-9a-f]{16})-(?P<it>\d{6})\.txt$")
#: Any file a fit leaves in the checkpoint folder: checkpoints, "done" markers, partial writes.
_LEFTOVER_RE = re.compile(r"^ckpt-(?P<fp>[0-9a-f]{16})(-\d{6}\.(txt|tmp)|\.done)$")


class CheckpointCallback:
    """LightGBM callback writing the booster every ``every`` iterations.

    Files are ``ckpt-<fingerprint>-<iteration>.txt`` in ``directory``; the fingerprint ties a
    checkpoint to the exact training matrix and parameters so an unrelated fit never resumes it.
    The last iteration is not checkpointed: a finished model is not a resume point. Only the
    ``keep`` latest checkpoints of the fit stay on disk (an older one is deleted once a newer
    one is safely written). A fit that finishes leaves ``ckpt-<fingerprint>.done`` (see
    :func:`finished_marker`), so that checkpoints kept on request are never resumed: a later fit
    of the same data starts afresh and gives the same model.
    """

    order = 30  # after LightGBM's own callbacks

    def __init__(
        self, directory: Path, fingerprint: str, every: int, total: int, keep: int = 2
    ) -> None:
        self.directory = Path(directory)
        self.fingerprint = fingerprint
        self.every = every
        self.total = total
        self.keep = keep

    def __call__(self, env) -> None:
        done = env.iteration + 1  # absolute: LightGBM counts init_model's trees too
        if done % self.every == 0 and done < self.total:
            self.directory.mkdir(parents=True, exist_ok=True)
            path = self.directory / f"ckpt-{self.fingerprint}-{done:06d}.txt"
            tmp = path.with_suffix(".tmp")
            env.model.save_model(str(tmp))
            tmp.replace(path)  # atomic: an interrupted write never looks like a checkpoint
            logger.info("checkpoint: %d/%d trees → %s", done, self.total, path)
            for old in checkpoints(self.directory, self.fingerprint)[: -max(self.keep, 1)]:
                old.unlink(missing_ok=True)


def checkpoints(directory: Path | str, fingerprint: str) -> list[Path]:
    """The checkpoints of ``fingerprint`` in ``directory``, oldest (fewest trees) first."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    found = [
        (int(m["it"]), path)
        for path in directory.iterdir()
        if (m := _CHECKPOINT_RE.match(path.name)) and m["fp"] == fingerprint
    ]
    return [path for _, path in sorted(found)]


def prune_checkpoints(
    directory: Path | str, *, max_age_days: float, keep_fingerprint: str | None = None
) -> list[Path]:
    """Delete what other fits left in ``directory`` more than ``max_age_days`` ago.

    An interrupted fit that nobody resumed, and the markers of finished fits, would otherwise
    pile up. The files of ``keep_fingerprint`` (the fit about to run, which may resume from
    them) are never deleted, whatever their age; nor is anything that is not a checkpoint file.

    Returns
    -------
    list of Path
        The files deleted.
    """
    directory = Path(directory)
    if not directory.is_dir():
        return []
    cutoff = time.time() - float(max_age_days) * 86_400
    removed = []
    for path in directory.iterdir():
        match = _LEFTOVER_RE.match(path.name)
        if match is None or match["fp"] == keep_fingerprint:
            continue
        if path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            removed.append(path)
    if removed:
        logger.info("deleted %d checkpoint file(s) older than %g days", len(removed), max_age_days)
    return removed


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
    checkpoint_keep : int, default=2
        Checkpoints of a running fit kept on disk (the latest ones).
    checkpoint_retain : bool, default=False
        Keep the fit's checkpoints once it finishes (e.g. to log them with the run). By default
        they are deleted then: they exist to resume an interrupted fit.
    checkpoint_max_age_days : float, default=7.0
        At the start of a fit, files other fits left in ``checkpoint_dir`` longer ago than this
        are deleted (:func:`prune_checkpoints`).
    **kwargs
        Any ``LGBMClassifier`` parameter.

    Attributes
    ----------
    resumed_from_ : int
        Trees taken from a checkpoint in the last ``fit`` (0 when it started fresh).
    fingerprint_ : str
        Fingerprint of the last training matrix and parameters.
    """

    # Class-level defaults of the parameters added after models were first registered: a model
    # saved before has no such attribute, and get_params() (repr, clone) then reads these.
    checkpoint_keep = 2
    checkpoint_retain = False
    checkpoint_max_age_days = 7.0

    def __init__(
        self,
        *,
        threshold: float = 0.5,
        checkpoint_dir: str | None = None,
        checkpoint_every: int = 50,
        checkpoint_keep: int = 2,
        checkpoint_retain: bool = False,
        checkpoint_max_age_days: float = 7.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.threshold = threshold
        self.checkpoint_dir = checkpoint_dir
        self.checkpoint_every = checkpoint_every
        self.checkpoint_keep = checkpoint_keep
        self.checkpoint_retain = checkpoint_retain
        self.checkpoint_max_age_days = checkpoint_max_age_days

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
            if self.checkpoint_keep < 1:
                raise ValueError(f"checkpoint_keep must be ≥ 1, got {self.checkpoint_keep!r}")
            prune_checkpoints(
                self.checkpoint_dir,
                max_age_days=self.checkpoint_max_age_days,
                keep_fingerprint=self.fingerprint_,
            )
            found = latest_checkpoint(self.checkpoint_dir, self.fingerprint_)
            if found is not None and init_model is None:
                init_model, self.resumed_from_ = str(found[0]), found[1]
                logger.info("resuming from checkpoint %s (%d trees)", found[0], found[1])
            callbacks.append(
                CheckpointCallback(
                    Path(self.checkpoint_dir),
                    self.fingerprint_,
                    self.checkpoint_every,
                    total,
                    keep=self.checkpoint_keep,
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
            if not self.checkpoint_retain:  # finished: nothing left to resume
                for path in checkpoints(self.checkpoint_dir, self.fingerprint_):
                    path.unlink(missing_ok=True)
        return self

    def _training_params(self) -> dict[str, Any]:
        params = self.get_params()
        for name in (*_OWN_PARAMS, "n_jobs"):
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
        small = n_rows(X) <= SMALL_BATCH_ROWS
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
