"""The morning list as one self-contained HTML page (no external scripts, styles or fonts).

The page carries its data once, as one compact JSON document in a ``<script
type="application/json">`` block: the branches, the items and the reason sentences each appear
once, and a row is a short array of numbers that points at them. The page's script
(``stockout_sk/reports/assets/morning_list.js``, with ``morning_list.css``, inlined by
:func:`stockout_sk.reports.asset`) filters, searches and sorts that data and turns only the rows
in view into table rows, so a chain of 50,000 branch×items opens as quickly as a small one
(``benchmarks/bench_morning_list.py`` measures size and render time). It opens on the items at
risk; a branch selector, a decision filter, a minimum probability and a search box narrow it,
and the state is kept in the address (``#branch=001``) so a planner can bookmark their branch.
"""

from __future__ import annotations

import html
import json
from typing import Any

import numpy as np
import pandas as pd

from stockout_sk.contract import (
    BRANCH_ID,
    CURRENT_QUANTITY,
    ITEM_CODE,
    RESERVED_QUANTITY,
    SAFETY_STOCK_LEVEL,
)
from stockout_sk.reports import asset
from stockout_sk.scoring.morning_list import MorningList
from stockout_sk.scoring.unscored import UNSCORED_COLUMNS
from stockout_sk.vocabulary import Source

__all__ = ["HTML_MAX_ROWS", "page_data", "render_html"]

#: Rows the page carries at most (every at-risk row first, then by rank); the CSV has them all.
HTML_MAX_ROWS = 250_000

#: The table's columns: header, sort key (``None``: not sortable) and a tooltip.
_HEADERS: tuple[tuple[str, str | None, str], ...] = (
    ("#", "rank", "Rank by probability"),
    ("Branch", "branch", ""),
    ("Item", "item", ""),
    ("Probability", "prob", "Chance of going below the safety stock level within the horizon"),
    ("Decision", None, "At risk when the probability reaches the model's threshold"),
    ("Days to safety stock", "days", "Days until below safety stock if nothing arrives"),
    ("Shortfall", "shortfall", "Units below safety stock at the end of the horizon"),
    ("Days of cover", "cover", "(on hand − reserved) / recent daily sales"),
    ("Headroom", "headroom", "On hand − reserved − safety stock"),
    ("On hand / reserved / safety", "onHand", ""),
    ("Why", None, "What moved this row's score most"),
)


def _numbers(values: pd.Series, digits: int) -> list[float | int | None]:
    """A column as JSON numbers, rounded (whole ones without ".0"); ``None`` for NaN or ±inf."""
    array = np.round(np.asarray(values, dtype=np.float64), digits)
    finite = np.isfinite(array)
    if digits == 0:
        whole = np.where(finite, array, 0).astype(np.int64).tolist()
        return [v if ok else None for v, ok in zip(whole, finite.tolist(), strict=True)]
    out = array.tolist()
    integral = (array == np.round(array)) & finite & (np.abs(array) < 2**53)
    return [
        (int(v) if whole else v) if ok else None
        for v, whole, ok in zip(out, integral.tolist(), finite.tolist(), strict=True)
    ]


def _codes(values: pd.Series) -> tuple[np.ndarray, list[str]]:
    codes, uniques = pd.factorize(values.fillna("").astype(str), sort=False)
    return codes, [str(u) for u in uniques]


def page_data(morning: MorningList, *, max_rows: int = HTML_MAX_ROWS) -> dict[str, Any]:
    """What the page's script reads: the list as compact, de-duplicated JSON-ready data.

    Returns
    -------
    dict
        ``meta`` (provenance and counts), ``branches`` (``[id, name]``), ``items``
        (``[code, name, arabic name]``), ``dates``, ``reasons`` (each distinct sentence once),
        ``rows`` (per row ``[branch, item, date, probability, at_risk, on hand, reserved,
        safety stock, days of cover, headroom, days to safety stock, shortfall, staleness,
        [reason, …]]``, indices into the tables above, in rank order) and ``unscored``
        (``[branch, item, name, kind, reason, line, count]``).
    """
    frame = morning.frame
    keep = max(int(max_rows), int(frame["at_risk"].sum()))
    shown = frame.head(keep).reset_index(drop=True)
    branch_frame = shown[[BRANCH_ID, "BranchName"]].fillna("").astype(str)
    branch_frame = branch_frame.drop_duplicates(BRANCH_ID).sort_values(BRANCH_ID, kind="stable")
    branch_index = {b: k for k, b in enumerate(branch_frame[BRANCH_ID])}
    item_frame = shown[[ITEM_CODE, "ItemName", "ArabicName"]].astype(str)
    item_codes, _ = _codes(item_frame[ITEM_CODE] + "\x1f" + item_frame["ItemName"])
    first = pd.Series(np.arange(len(shown))).groupby(item_codes).first().to_numpy()
    date_codes, dates = _codes(shown["as_of"])
    reason_columns = [c for c in shown.columns if c.startswith("reason_")]
    reason_values = shown[reason_columns].fillna("").astype(str).to_numpy().ravel()
    reason_codes, reasons = pd.factorize(reason_values, sort=False)
    reason_codes = reason_codes.reshape(len(shown), len(reason_columns)) if reason_columns else None
    blank = reasons.tolist().index("") if "" in reasons else -1

    branch_of = shown[BRANCH_ID].astype(str).map(branch_index).to_numpy()
    columns = [
        shown["probability"],
        shown["at_risk"],
        shown[CURRENT_QUANTITY],
        shown[RESERVED_QUANTITY],
        shown[SAFETY_STOCK_LEVEL],
        shown["days_of_cover"],
        shown["headroom"],
        shown["days_to_safety_stock"],
        shown["expected_shortfall"],
        shown["history_staleness_days"],
    ]
    digits = (4, 0, 2, 2, 2, 1, 1, 0, 1, 0)
    values = [_numbers(col, d) for col, d in zip(columns, digits, strict=True)]
    if reason_codes is not None:
        row_reasons = [[int(c) for c in codes if c != blank] for codes in reason_codes.tolist()]
    else:
        row_reasons = [[] for _ in range(len(shown))]
    rows = [
        [b, i, d, *numbers, why]
        for b, i, d, *numbers, why in zip(
            branch_of.tolist(),
            item_codes.tolist(),
            date_codes.tolist(),
            *values,
            row_reasons,
            strict=True,
        )
    ]
    unscored = morning.unscored.reindex(columns=list(UNSCORED_COLUMNS))
    unscored_rows = [
        [
            "" if pd.isna(r[BRANCH_ID]) else str(r[BRANCH_ID]),
            "" if pd.isna(r[ITEM_CODE]) else str(r[ITEM_CODE]),
            "" if pd.isna(r["ItemName"]) else str(r["ItemName"]),
            str(r["kind"]),
            str(r["reason"]),
            None if pd.isna(r["line"]) else int(r["line"]),
            int(r["count"]),
        ]
        for r in unscored.to_dict("records")
    ]
    return {
        "meta": {**morning.summary(), "rows_in_page": len(shown)},
        "branches": branch_frame.to_numpy().tolist(),
        "items": item_frame.iloc[first].to_numpy().tolist(),
        "dates": dates,
        "reasons": [str(r) for r in reasons],
        "rows": rows,
        "unscored": unscored_rows,
    }


def _json_for_script(payload: dict[str, Any]) -> str:
    # Inside <script> the only danger is "</script" (or "<!--"): writing every "<" as \u003c
    # keeps any item name or reason from closing the block. JSON.parse reads it back as "<".
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _header(label: str, key: str | None, tip: str) -> str:
    sort = f' data-sort="{key}" aria-sort="none"' if key else ""
    title = f' title="{html.escape(tip)}"' if tip else ""
    return f"<th{sort}{title}>{html.escape(label)}</th>"


def _summary_cards(morning: MorningList) -> str:
    summary = morning.summary()
    by_kind = "; ".join(f"{n:,} {kind}" for kind, n in summary["not_scored_by_kind"].items())
    not_scored = (
        f'<a href="#unscored"><b>{summary["not_scored"]:,}</b>not scored</a>'
        if summary["not_scored"]
        else f"<b>{summary['not_scored']:,}</b>not scored"
    )
    return (
        '<div class="counts">'
        f'<div class="card risk"><b>{summary["at_risk"]:,}</b>at risk</div>'
        f'<div class="card"><b>{summary["rows"]:,}</b>branch × items scored</div>'
        f'<div class="card{" warn" if summary["not_scored"] else ""}" '
        f'title="{html.escape(by_kind)}">'
        f"{not_scored}</div>"
        f'<div class="card"><b>{summary["branches"]:,}</b>branches</div></div>'
    )


def render_html(morning: MorningList, *, max_rows: int = HTML_MAX_ROWS) -> str:
    """The morning list as one self-contained HTML page (inline CSS, JavaScript and data)."""
    e = html.escape
    data = page_data(morning, max_rows=max_rows)
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
        f"<style>\n{asset('morning_list.css')}</style></head><body>",
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
    parts.append(_summary_cards(morning))
    if data["meta"]["rows_in_page"] < len(morning.frame):
        parts.append(
            f'<p class="meta">This page holds the {data["meta"]["rows_in_page"]:,} highest-risk '
            f"rows; the CSV has all {len(morning.frame):,}.</p>"
        )
    parts.append(
        '<noscript><p class="banner">This page needs JavaScript to show the list; the CSV '
        "beside it has every row.</p></noscript>"
        '<details class="branches"><summary>Branches</summary><table class="index"><thead><tr>'
        "<th>Branch</th><th>Name</th><th>At risk</th><th>Scored</th><th>Not scored</th>"
        '</tr></thead><tbody id="branch-rows"></tbody></table></details>'
        '<form class="controls" id="controls" onsubmit="return false">'
        '<label>Branch <select id="branch"><option value="">All branches</option></select>'
        "</label>"
        '<label>Show <select id="decision"><option value="risk">At risk only</option>'
        '<option value="all">All items</option><option value="ok">Not at risk</option>'
        "</select></label>"
        '<label>Probability ≥ <input id="min" type="number" min="0" max="100" step="5" '
        'value="0"> %</label>'
        '<label class="grow">Search <input id="search" type="search" '
        'placeholder="item code or name, branch" autocomplete="off"></label>'
        '<button type="button" id="reset">Reset</button></form>'
        '<p class="meta" id="shown" aria-live="polite"></p>'
    )
    head = "".join(_header(label, key, tip) for label, key, tip in _HEADERS)
    parts.append(
        f'<table id="list"><thead><tr>{head}</tr></thead><tbody id="rows"></tbody></table>'
        '<p><button type="button" id="more" hidden>Show more</button></p>'
        '<div id="more-sentinel"></div>'
    )
    parts.append(
        '<details id="unscored"'
        + (" open" if data["unscored"] else "")
        + f"><summary>Not scored ({morning.not_scored:,})</summary>"
        '<p class="note">Branch × items the list could not score, and why: a quarantined '
        "row of stock_current.csv (see ingest/rejects/ beside this page), or an item that sells "
        "or moves at a branch with no stock_current.csv row to anchor its stock on.</p>"
        '<table class="index"><thead><tr><th>Branch</th><th>Item</th><th>What</th>'
        '<th>Why</th></tr></thead><tbody id="unscored-rows"></tbody></table>'
        '<p class="note" id="unscored-more"></p></details>'
    )
    horizon = f"{morning.horizon} days" if morning.horizon else "the horizon"
    parts.append(
        '<p class="note">Probability: chance of going below the safety stock level within '
        f"{horizon}. Days to safety stock: if nothing arrives and sales go on at the larger of "
        "the long- and short-window daily rates d, the first day with on hand − reserved below "
        "the safety stock (⌊headroom / d⌋ + 1). Shortfall: units below the safety stock at the "
        f"end of {horizon} on the same assumption (max(0, horizon × d − headroom)) — what an "
        "order must cover. Days of cover: (on hand − reserved) / recent daily sales. Headroom: "
        "on hand − reserved − safety stock. Why: the features that moved this row's score most. "
        "Click a column header to sort.</p>"
    )
    parts.append(
        f'<script type="application/json" id="morning-data">{_json_for_script(data)}</script>'
    )
    parts.append(f"<script>\n{asset('morning_list.js')}</script></body></html>")
    return "\n".join(parts)
