"""The morning list: every branch×item of ``stock_current`` scored as of its snapshot date.

What a planner opens in the morning: a ranked CSV and a self-contained HTML page with, per
branch×item, the probability of falling below safety stock within the horizon, the decision at
the model's threshold, days of cover, headroom over safety stock and the features that pushed
the score most (the same :func:`stockout_sk.serving.explain` as ``POST /predict?explain=true``).

* :mod:`~stockout_sk.scoring.morning_list` — :class:`MorningList` and
  :func:`build_morning_list`: the scored, ranked rows.
* :mod:`~stockout_sk.scoring.page` — :func:`render_html`: the page.
* :mod:`~stockout_sk.scoring.job` — :func:`score_chain`: read the chain, choose the model with
  :func:`resolve_snapshot`, write both files (:func:`write_morning_list`, :func:`output_paths`).

The model is chosen exactly as the API chooses it (:class:`stockout_sk.serving.ModelHolder`):
the version holding ``production``, or the rule baseline ``CurrentQuantity < SafetyStockLevel``
when there is none, the serving-mode switch says so, or the registry cannot be reached — and then
the page says so in a banner, and the CSV in its ``source`` column.
"""

from stockout_sk.features.names import feature_label
from stockout_sk.scoring.job import output_paths, resolve_snapshot, score_chain, write_morning_list
from stockout_sk.scoring.morning_list import MorningList, build_morning_list
from stockout_sk.scoring.page import HTML_MAX_ROWS, render_html

__all__ = [
    "HTML_MAX_ROWS",
    "MorningList",
    "build_morning_list",
    "feature_label",
    "output_paths",
    "render_html",
    "resolve_snapshot",
    "score_chain",
    "write_morning_list",
]
