"""The model holder: one snapshot in place, swapped atomically, the registry polled.

:meth:`ModelHolder.refresh` asks the registry which version holds the alias (default
``production``) and whether the registered-model tag ``stockout.serving_mode`` says
``rule-baseline``; a background thread (:meth:`ModelHolder.start`) calls it every
``poll_seconds``. No production model, the serving-mode switch, or a registry that stays
unreachable longer than ``registry_grace_seconds`` all put the rule baseline in place, with the
reason logged and reported; the next successful poll recovers. Nothing else in serving touches
MLflow.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import replace
from typing import Any

from stockout_sk import registry
from stockout_sk.clock import utc_now
from stockout_sk.config import ServingSettings
from stockout_sk.registry import redact_uri
from stockout_sk.serving.snapshot import Snapshot, model_snapshot, rule_snapshot
from stockout_sk.vocabulary import ServingMode, Source, Tag

__all__ = ["ModelHolder", "limit_registry_retries", "redact_uri"]

logger = logging.getLogger(__name__)


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
        self.settings = settings
        self._registry = registry if registry_api is None else registry_api
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
        self._refused: tuple[str, str] | None = None  # (version, why) refused as unsafe
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
        tracking = self.settings.registry
        return {
            "source": snap.source,
            "model_name": meta.get("model_name", tracking.model_name),
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
                "tracking_uri": redact_uri(tracking.tracking_uri),
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
                self._last_poll_at = utc_now("milliseconds")
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
        except registry.NoStoreError as error:
            # Not an outage: nothing was ever stored where we look. No grace, no traceback.
            self._last_error = str(error)
            self._serving_mode = None
            self._swap(rule_snapshot(f"{error}; until then the rule baseline answers"))
            return
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
            self._swap(replace(self._model, loaded_at=utc_now("milliseconds")))
            return
        if self._refused is not None and self._refused[0] == version:
            return  # refused as unsafe already (and said so): a version's artifact does not change
        try:
            production = self._registry.load_production(settings, alias=alias)
            snapshot = model_snapshot(
                production, max_staleness_days=self.settings.max_staleness_days
            )
        except Exception as error:  # a model that cannot load must not be served
            detail = f"{type(error).__name__}: {self._redacted(error)}"
            if isinstance(error, registry.UnsafeModelError):
                # Someone registered an artifact we will not open: the operator must hear of it.
                self._refused = (version, detail)
                logger.error("REFUSED to load %s@%s version %s: %s", name, alias, version, error)
            else:
                # The traceback may quote the store's URL, credentials included: debug only.
                logger.error("loading %s@%s (version %s) failed: %s", name, alias, version, detail)
                logger.debug("loading version %s failed", version, exc_info=True)
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
        detail = f"{type(error).__name__}: {_first_line(self._redacted(error))}"
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
        logger.warning("%s", self._last_error)
        logger.debug("registry call failed", exc_info=error)
        self._swap(
            rule_snapshot(
                f"the model registry {uri} is unreachable ({detail}); serving the rule baseline "
                "until a poll reaches it again",
                model=self._model,
            )
        )

    def _redacted(self, error: Exception) -> str:
        """The error's text without the store's credentials (clients read the reasons)."""
        return registry.redact_text(str(error), self.settings.registry.tracking_uri)

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


def _first_line(text: str) -> str:
    text = text.strip().splitlines()
    return text[0][:300] if text else ""
