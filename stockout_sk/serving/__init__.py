"""Serving the production model: atomic snapshot swaps, alias polling, rule-baseline fallback.

The API (``api/``) and the morning list (:mod:`stockout_sk.scoring`) compose it:

* :mod:`~stockout_sk.serving.request` — :func:`canonical_date` and :func:`to_frame`: request
  rows → the pipeline's input, columns in the fitted order.
* :mod:`~stockout_sk.serving.snapshot` — :class:`Snapshot`, one immutable view of what answers
  requests (a warmed-up model, or the rule baseline and why). A request reads
  :attr:`ModelHolder.snapshot` **once** and uses that object from start to end, so a hot swap
  can never mix two models inside one response.
* :mod:`~stockout_sk.serving.prediction` — :func:`predict`, :func:`explain`,
  :func:`score_rows`: probabilities and their top LightGBM contributions; a model that fails at
  predict time answers from the rule baseline and says so.
* :mod:`~stockout_sk.serving.holder` — :class:`ModelHolder`, which owns the current snapshot,
  polls the registry and swaps it by one reference assignment; the only code here that talks to
  MLflow. The settings are :class:`~stockout_sk.config.ServingSettings`.

See ``docs/DESIGN.md`` ("Serving").
"""

from stockout_sk.features.names import ID_HASHES
from stockout_sk.serving.holder import ModelHolder, limit_registry_retries, redact_uri
from stockout_sk.serving.prediction import Scored, explain, predict, score_rows
from stockout_sk.serving.request import canonical_date, to_frame
from stockout_sk.serving.snapshot import Snapshot, model_snapshot, rule_snapshot

__all__ = [
    "ID_HASHES",
    "ModelHolder",
    "Scored",
    "Snapshot",
    "canonical_date",
    "explain",
    "limit_registry_retries",
    "model_snapshot",
    "predict",
    "redact_uri",
    "rule_snapshot",
    "score_rows",
    "to_frame",
]
