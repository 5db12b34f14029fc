"""The morning list: every branch×item of ``stock_current`` scored as of its snapshot date.

What a planner opens in the morning: a ranked CSV and a self-contained HTML page (no external
scripts, styles or fonts) with, per branch×item, the probability of falling below safety stock
within the horizon, the decision at the model's threshold, days of cover, headroom over safety
stock and the features that pushed the score most (LightGBM ``pred_contrib``, the same
:func:`stockout_sk.serving.explain` as ``POST /predict?explain=true``).

The model is chosen exactly as the API chooses it (:class:`stockout_sk.serving.ModelHolder`):
the version holding ``production``, or the rule baseline ``CurrentQuantity < SafetyStockLevel``
when there is none, the serving-mode switch says so, or the registry cannot be reached — and then
the page says so in a banner, and the CSV in its ``source`` column.
"""

from __future__ import annotations

import html
import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from stockout_sk.config import ServingSettings, load_serving_settings
from stockout_sk.features.names import feature_label
from stockout_sk.pipeline import features_of
from stockout_sk.serving import (
    ModelHolder,
    Snapshot,
    score_rows,
)
from stockout_sk.vocabulary import Source

__all__ = [
    "MorningList",
    "build_morning_list",
    "feature_label",
    "output_paths",
    "render_html",
    "resolve_snapshot",
    "score_chain",
    "write_morning_list",
]

logger = logging.getLogger(__name__)

#: Rows the HTML page shows at most (every at-risk row first); the CSV always has them all.
HTML_MAX_ROWS = 2000


def _reason_text(entry: dict[str, Any]) -> str:
    label = feature_label(str(entry["feature"]))
    contribution = float(entry["contribution"])
    direction = "raises" if contribution > 0 else "lowers"
    value = entry.get("value")
    shown = "" if value is None else f" = {value:.4g}"
    return f"{label}{shown} ({direction} risk, {contribution:+.2f})"


@dataclass(frozen=True)
class MorningList:
    """A scored, ranked stock list and what produced it.

    Attributes
    ----------
    frame : DataFrame
        One row per branch×item, ranked by probability (highest first); see
        :func:`build_morning_list` for the columns.
    source : {"registry", "rule-baseline"}
    model_name : str
    version : str or None
    threshold : float or None
    horizon : int or None
    fallback_reason : str or None
        Why the rule baseline scored the list, if it did.
    as_of_first, as_of_last : str
        Earliest and latest snapshot date (``LastUpdatedAt``) scored, ISO.
    history_end : str or None
        Freshest day of the history the model carries.
    generated_at : str
    """

    frame: pd.DataFrame
    source: str
    model_name: str
    version: str | None
    threshold: float | None
    horizon: int | None
    fallback_reason: str | None
    as_of_first: str
    as_of_last: str
    history_end: str | None
    generated_at: str

    @property
    def at_risk(self) -> int:
        """Rows predicted to fall below safety stock."""
        return int(self.frame["at_risk"].sum())

    def summary(self) -> dict[str, Any]:
        """Counts and provenance, as one JSON-ready dict."""
        return {
            "rows": len(self.frame),
            "at_risk": self.at_risk,
            "branches": int(self.frame["BranchID"].nunique()),
            "source": self.source,
            "model_name": self.model_name,
            "model_version": self.version,
            "threshold": self.threshold,
            "horizon": self.horizon,
            "fallback_reason": self.fallback_reason,
            "as_of_first": self.as_of_first,
            "as_of_last": self.as_of_last,
            "history_end": self.history_end,
            "generated_at": self.generated_at,
        }


def _item_names(chain: Any) -> pd.DataFrame:
    """ItemCode → English and Arabic names from the item master (may be empty)."""
    items = getattr(chain, "items", None)
    if items is None or len(items) == 0 or "ItemCode" not in items.columns:
        return pd.DataFrame(columns=["ItemCode", "MasterName", "ArabicName"])
    english = items.get("EnglishName", pd.Series("", index=items.index)).fillna("").astype(str)
    arabic = items.get("ArabicName", pd.Series("", index=items.index)).fillna("").astype(str)
    names = pd.DataFrame(
        {
            "ItemCode": items["ItemCode"].astype(str),
            "MasterName": english.str.strip().where(english.str.strip() != "", arabic.str.strip()),
            "ArabicName": arabic.str.strip(),
        }
    )
    return names.drop_duplicates("ItemCode", keep="first")


def build_morning_list(chain: Any, snapshot: Snapshot, *, top_reasons: int = 3) -> MorningList:
    """Score every branch×item of ``chain.stock_current`` as of its ``LastUpdatedAt`` date.

    Parameters
    ----------
    chain : ChainData
        From :func:`stockout_sk.ingest.load_chain`.
    snapshot : Snapshot
        What scores the rows (a model, or the rule baseline).
    top_reasons : int, default=3
        Contributions listed per row.

    Returns
    -------
    MorningList
        ``frame`` columns: ``rank, BranchID, BranchName, ItemCode, ItemName, ArabicName, as_of,
        probability, at_risk, CurrentQuantity, ReservedQuantity, SafetyStockLevel,
        days_of_cover, headroom, history_staleness_days, reason_1 … reason_<top_reasons>,
        source, model_version``.
    """
    current = chain.stock_current.reset_index(drop=True)
    as_of = pd.to_datetime(current["LastUpdatedAt"]).dt.strftime("%Y-%m-%d")
    X = pd.DataFrame(
        {
            "BranchID": current["BranchID"].astype(str),
            "ItemCode": current["ItemCode"].astype(str),
            "Date": as_of,
            "CurrentQuantity": current["CurrentQuantity"].astype(np.float64),
            "ReservedQuantity": current["ReservedQuantity"].astype(np.float64),
            "SafetyStockLevel": current["SafetyStockLevel"].astype(np.float64),
        }
    )[list(snapshot.fields)]
    scored, explanations = score_rows(snapshot, X, explain_top=top_reasons)
    available = X["CurrentQuantity"] - X["ReservedQuantity"]
    headroom = (available - X["SafetyStockLevel"]).to_numpy(dtype=np.float64)
    cover = np.full(len(X), np.nan)
    if scored.source == Source.REGISTRY:
        features = features_of(snapshot.pipeline, "history").transform(X)
        cover = np.asarray(features["days_of_cover"], dtype=np.float64)
        headroom = np.asarray(features["headroom"], dtype=np.float64)

    names = _item_names(chain)
    frame = pd.DataFrame(
        {
            "BranchID": X["BranchID"],
            "BranchName": current.get("BranchName", pd.Series("", index=current.index)),
            "ItemCode": X["ItemCode"],
            "StockItemName": current.get("ItemName", pd.Series("", index=current.index)),
            "as_of": as_of,
            "probability": scored.probability,
            "at_risk": scored.prediction,
            "CurrentQuantity": X["CurrentQuantity"],
            "ReservedQuantity": X["ReservedQuantity"],
            "SafetyStockLevel": X["SafetyStockLevel"],
            "days_of_cover": cover,
            "headroom": headroom,
            "history_staleness_days": (
                scored.stale_days if scored.stale_days is not None else np.zeros(len(X), int)
            ),
        }
    )
    frame = frame.merge(names, on="ItemCode", how="left")
    master = frame["MasterName"].fillna("").astype(str)
    frame["ItemName"] = master.where(master != "", frame["StockItemName"].fillna("").astype(str))
    frame["ArabicName"] = frame["ArabicName"].fillna("").astype(str)
    for k in range(top_reasons):
        if scored.source == Source.REGISTRY and explanations is not None:
            frame[f"reason_{k + 1}"] = [
                _reason_text(entries[k]) if len(entries) > k else "" for entries in explanations
            ]
        else:
            frame[f"reason_{k + 1}"] = (
                np.where(frame["at_risk"] == 1, "rule: current quantity below safety stock", "")
                if k == 0
                else ""
            )
    frame["source"] = scored.source
    frame["model_version"] = scored.version or ""
    frame = frame.sort_values(
        ["probability", "headroom", "BranchID", "ItemCode"],
        ascending=[False, True, True, True],
        kind="stable",
    ).reset_index(drop=True)
    frame.insert(0, "rank", np.arange(1, len(frame) + 1))
    columns = [
        "rank",
        "BranchID",
        "BranchName",
        "ItemCode",
        "ItemName",
        "ArabicName",
        "as_of",
        "probability",
        "at_risk",
        "CurrentQuantity",
        "ReservedQuantity",
        "SafetyStockLevel",
        "days_of_cover",
        "headroom",
        "history_staleness_days",
        *(f"reason_{k + 1}" for k in range(top_reasons)),
        "source",
        "model_version",
    ]
    frame = frame[columns]
    model = dict(snapshot.model)
    valid_dates = as_of.dropna()
    return MorningList(
        frame=frame,
        source=scored.source,
        model_name=str(model.get("model_name", "")),
        version=scored.version,
        threshold=scored.threshold,
        horizon=model.get("horizon") if scored.source == Source.REGISTRY else None,
        fallback_reason=scored.reason,
        as_of_first=str(valid_dates.min()) if len(valid_dates) else "",
        as_of_last=str(valid_dates.max()) if len(valid_dates) else "",
        history_end=snapshot.history_end if scored.source == Source.REGISTRY else None,
        generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )


def output_paths(out: str | Path) -> tuple[Path, Path]:
    """The CSV and HTML files for ``--out``: ``x.csv`` → (``x.csv``, ``x.html``), and so on.

    Raises
    ------
    ValueError
        ``out`` has a suffix other than ``.csv`` or ``.html`` (or none).
    """
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in (".csv", ".html", ".htm"):
        raise ValueError(
            f"--out must name a .csv or .html file (the other is written beside it), got "
            f"{str(out)!r}; e.g. --out artifacts/morning/morning_list.csv"
        )
    return out.with_suffix(".csv"), out.with_suffix(".html")


def write_morning_list(morning: MorningList, out: str | Path) -> tuple[Path, Path]:
    """Write the ranked CSV and the HTML page; return their paths (see :func:`output_paths`)."""
    csv_path, html_path = output_paths(out)
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    morning.frame.to_csv(csv_path, index=False, float_format="%.6g")
    html_path.write_text(render_html(morning), encoding="utf-8")
    logger.info(
        "morning list: %d rows, %d at risk → %s, %s",
        len(morning.frame),
        morning.at_risk,
        csv_path,
        html_path,
    )
    return csv_path, html_path


# --------------------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------------------

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans Arabic",sans-serif;
margin:1.5rem;color:#1d2530;background:#fff}
h1{font-size:1.4rem;margin:0 0 .3rem}
.meta{color:#4a5564;margin:.15rem 0}
.counts{display:flex;gap:1rem;margin:.8rem 0 1rem;flex-wrap:wrap}
.counts div{background:#f3f5f8;border-radius:6px;padding:.5rem .9rem}
.counts b{display:block;font-size:1.3rem}
.banner{background:#fff3cd;border:1px solid #e0c36c;padding:.6rem .9rem;border-radius:6px;
margin:.8rem 0}
table{border-collapse:collapse;width:100%;font-size:.86rem}
th{position:sticky;top:0;background:#27364a;color:#fff;text-align:left;padding:.45rem .5rem;
cursor:pointer;user-select:none;white-space:nowrap}
th:after{content:" \\2195";opacity:.5}
th.asc:after{content:" \\2191";opacity:1}
th.desc:after{content:" \\2193";opacity:1}
td{padding:.35rem .5rem;border-bottom:1px solid #e3e7ec;vertical-align:top}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.risk td{background:#fde8e8}
tr.risk td.prob{color:#a11;font-weight:600}
.reasons{margin:0;padding-left:1rem;color:#3b4656}
.muted{color:#7a8594}
.note{color:#4a5564;font-size:.8rem;margin-top:1rem}
"""

# Click a header to sort by it (numbers by their data-v value); no external code.
_SCRIPT = """
document.querySelectorAll("th").forEach(function(th, col){
  th.addEventListener("click", function(){
    var tbody = th.closest("table").tBodies[0];
    var asc = !th.classList.contains("asc");
    th.parentNode.querySelectorAll("th").forEach(function(h){h.classList.remove("asc","desc");});
    th.classList.add(asc ? "asc" : "desc");
    var rows = Array.prototype.slice.call(tbody.rows);
    rows.sort(function(a, b){
      var x = a.cells[col].getAttribute("data-v"), y = b.cells[col].getAttribute("data-v");
      var nx = parseFloat(x), ny = parseFloat(y), r;
      if (!isNaN(nx) && !isNaN(ny)) { r = nx - ny; } else { r = String(x).localeCompare(y); }
      return asc ? r : -r;
    });
    rows.forEach(function(r){ tbody.appendChild(r); });
  });
});
"""


def _num(value: Any, fmt: str, *, cap: float | None = None) -> tuple[str, str]:
    """(text, sort value) of a number; missing → an em dash sorting last."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—", "1e300"
    number = float(value)
    if cap is not None and number >= cap:
        return f"≥{cap:.0f}", f"{number}"
    return format(number, fmt), f"{number}"


def render_html(morning: MorningList, *, max_rows: int = HTML_MAX_ROWS) -> str:
    """The morning list as one self-contained HTML page (inline CSS and JavaScript only)."""
    e = html.escape
    frame = morning.frame
    shown = frame.head(max(max_rows, int(frame["at_risk"].sum())))
    reason_columns = [c for c in frame.columns if c.startswith("reason_")]
    if morning.source == Source.REGISTRY:
        model_line = (
            f"Model <b>{e(morning.model_name)}</b> version <b>{e(str(morning.version))}</b> "
            f"(MLflow registry) · decision threshold {morning.threshold:.3f}"
            + (f" · horizon {morning.horizon} days" if morning.horizon else "")
        )
    else:
        model_line = "Rule baseline: <b>current quantity &lt; safety stock level</b>"
    as_of = (
        morning.as_of_last
        if morning.as_of_first == morning.as_of_last
        else f"{morning.as_of_first} … {morning.as_of_last}"
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Stock-out risk — {e(morning.as_of_last)}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>Stock-out risk — morning list for {e(morning.as_of_last)}</h1>",
        f'<p class="meta">{model_line}</p>',
        f'<p class="meta">Stock snapshot dates: {e(as_of)}'
        + (f" · model history up to {e(morning.history_end)}" if morning.history_end else "")
        + f" · generated {e(morning.generated_at)}</p>",
    ]
    if morning.fallback_reason:
        parts.append(
            '<div class="banner"><b>The rule baseline scored this list, not the model.</b> '
            f"{e(morning.fallback_reason)}</div>"
        )
    summary = morning.summary()
    parts.append(
        '<div class="counts">'
        f"<div><b>{summary['at_risk']:,}</b>at risk</div>"
        f"<div><b>{summary['rows']:,}</b>branch × items scored</div>"
        f"<div><b>{summary['branches']:,}</b>branches</div></div>"
    )
    if len(shown) < len(frame):
        parts.append(
            f'<p class="meta">Showing the {len(shown):,} highest-risk rows; the CSV has all '
            f"{len(frame):,}.</p>"
        )
    headers = [
        "#",
        "Branch",
        "Item",
        "As of",
        "Probability",
        "Decision",
        "Days of cover",
        "Headroom over safety stock",
        "On hand / reserved / safety",
        "Top reasons",
    ]
    parts.append("<table><thead><tr>")
    parts += [f"<th>{e(h)}</th>" for h in headers]
    parts.append("</tr></thead><tbody>")
    for row in shown.itertuples(index=False):
        risk = int(row.at_risk) == 1
        prob_text, prob_v = _num(row.probability, ".0%")
        cover_text, cover_v = _num(row.days_of_cover, ".1f", cap=365)
        head_text, head_v = _num(row.headroom, ",.0f")
        branch = e(str(row.BranchID)) + (
            f' <span class="muted">{e(str(row.BranchName))}</span>' if row.BranchName else ""
        )
        item_name = str(row.ItemName)
        item = e(str(row.ItemCode)) + (
            f' <span class="muted" dir="auto">{e(item_name)}</span>' if item_name else ""
        )
        reasons = [str(getattr(row, c)) for c in reason_columns if str(getattr(row, c))]
        reason_html = (
            '<ul class="reasons">' + "".join(f"<li>{e(r)}</li>" for r in reasons) + "</ul>"
            if reasons
            else ""
        )
        stock = (
            f"{row.CurrentQuantity:,.0f} / {row.ReservedQuantity:,.0f} / "
            f"{row.SafetyStockLevel:,.0f}"
        )
        parts.append(
            f'<tr class="{"risk" if risk else ""}">'
            f'<td class="num" data-v="{row.rank}">{row.rank}</td>'
            f'<td data-v="{e(str(row.BranchID))}">{branch}</td>'
            f'<td data-v="{e(str(row.ItemCode))}">{item}</td>'
            f'<td data-v="{e(str(row.as_of))}">{e(str(row.as_of))}</td>'
            f'<td class="num prob" data-v="{prob_v}">{prob_text}</td>'
            f'<td data-v="{int(row.at_risk)}">{"at risk" if risk else "ok"}</td>'
            f'<td class="num" data-v="{cover_v}">{cover_text}</td>'
            f'<td class="num" data-v="{head_v}">{head_text}</td>'
            f'<td class="num" data-v="{row.CurrentQuantity}">{stock}</td>'
            f'<td data-v="{len(reasons)}">{reason_html}</td></tr>'
        )
    parts.append("</tbody></table>")
    parts.append(
        '<p class="note">Probability: chance of going below the safety stock level within the '
        "horizon. Days of cover: (on hand − reserved) / recent daily sales. Headroom: on hand − "
        "reserved − safety stock. Reasons: the features that moved this row's score most "
        "(positive raises the risk). Click a column header to sort.</p>"
    )
    parts.append(f"<script>{_SCRIPT}</script></body></html>")
    return "\n".join(parts)


# --------------------------------------------------------------------------------------------------
# The whole job
# --------------------------------------------------------------------------------------------------


def resolve_snapshot(settings: ServingSettings | None = None) -> Snapshot:
    """What scores the list: one registry poll, with the API's fallback rules."""
    holder = ModelHolder(settings or load_serving_settings())
    holder.refresh()
    snapshot = holder.snapshot
    if snapshot.reason:
        logger.warning("scoring with the rule baseline: %s", snapshot.reason)
    return snapshot


def score_chain(
    data_dir: str | Path,
    out: str | Path,
    settings: ServingSettings | None = None,
    *,
    chunksize: int = 100_000,
    top_reasons: int = 3,
) -> tuple[MorningList, tuple[Path, Path]]:
    """Read the chain, score it with the production model, write the CSV and the HTML page.

    Parameters
    ----------
    data_dir : str or Path
        The six CSV exports.
    out : str or Path
        ``.csv`` or ``.html`` path; the other file is written beside it.
    settings : ServingSettings, optional
        Registry and model; defaults to the environment.
    chunksize : int
        Rows per CSV chunk when reading.
    top_reasons : int
        Contributions per row.

    Returns
    -------
    tuple
        ``(MorningList, (csv_path, html_path))``.
    """
    from stockout_sk.ingest import load_chain

    output_paths(out)  # a bad --out fails before the expensive steps
    chain = load_chain(data_dir, chunksize=chunksize)
    snapshot = resolve_snapshot(settings)
    morning = build_morning_list(chain, snapshot, top_reasons=top_reasons)
    return morning, write_morning_list(morning, out)
