"""The morning list: every branch×item of ``stock_current`` scored as of its snapshot date.

What a planner opens in the morning: a ranked CSV and a self-contained HTML page with, per
branch×item, the probability of falling below safety stock within the horizon, the decision at
the model's threshold, the days until it crosses its safety stock and the expected shortfall,
days of cover, headroom over safety stock and the reasons that pushed the score most, in a
planner's words (the same :func:`stockout_sk.serving.explain` as ``POST /predict?explain=true``);
and what could not be scored, and why.

* :mod:`~stockout_sk.scoring.morning_list` — :class:`MorningList` and
  :func:`build_morning_list`: the scored, ranked rows.
* :mod:`~stockout_sk.scoring.unscored` — :func:`unscored_items`: the branch×items left out, with
  the reason (a quarantined snapshot row, or no snapshot row at all).
* :mod:`~stockout_sk.scoring.items` — item names from the item master.
* :mod:`~stockout_sk.scoring.page` — :func:`render_html`: the page (data inlined once, rendered
  by its script: per-branch views, filters, search, sorting).
* :mod:`~stockout_sk.scoring.job` — :func:`score_chain`: read the chain, choose the model with
  :func:`resolve_snapshot`, write the files (:func:`write_morning_list`, :func:`output_paths`,
  :func:`check_outputs`, which never overwrites an input and an existing list only when asked).

The model is chosen exactly as the API chooses it (:class:`stockout_sk.serving.ModelHolder`):
the version holding ``production``, or the rule baseline ``CurrentQuantity < SafetyStockLevel``
when there is none, the serving-mode switch says so, or the registry cannot be reached — and then
the page says so in a banner, and the CSV in its ``source`` column.
"""

from stockout_sk.features.names import feature_label
from stockout_sk.scoring.items import item_names
from stockout_sk.scoring.job import (
    INGEST_DIR,
    check_outputs,
    output_paths,
    resolve_snapshot,
    score_chain,
    write_morning_list,
)
from stockout_sk.scoring.morning_list import (
    LIST_COLUMNS,
    MorningList,
    build_morning_list,
    rule_reason,
)
from stockout_sk.scoring.page import HTML_MAX_ROWS, page_data, render_html
from stockout_sk.scoring.unscored import (
    NO_SNAPSHOT,
    QUARANTINED,
    UNSCORED_COLUMNS,
    unscored_items,
)

__all__ = [
    "HTML_MAX_ROWS",
    "INGEST_DIR",
    "LIST_COLUMNS",
    "NO_SNAPSHOT",
    "QUARANTINED",
    "UNSCORED_COLUMNS",
    "MorningList",
    "build_morning_list",
    "check_outputs",
    "feature_label",
    "item_names",
    "output_paths",
    "page_data",
    "render_html",
    "resolve_snapshot",
    "rule_reason",
    "score_chain",
    "unscored_items",
    "write_morning_list",
]
