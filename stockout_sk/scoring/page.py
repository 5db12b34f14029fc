"""The morning list as one self-contained HTML page (no external scripts, styles or fonts).

Its CSS and JavaScript are package files (``stockout_sk/reports/assets/morning_list.css`` and
``morning_list.js``), inlined by :func:`stockout_sk.reports.asset`.
"""

from __future__ import annotations

import html
import math
from typing import Any

from stockout_sk.reports import asset
from stockout_sk.scoring.morning_list import MorningList
from stockout_sk.vocabulary import Source

__all__ = ["HTML_MAX_ROWS", "render_html"]

#: Rows the HTML page shows at most (every at-risk row first); the CSV always has them all.
HTML_MAX_ROWS = 2000


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
    # Click a header to sort by it (numbers by their data-v value); no external code.
    parts.append(f"<script>\n{asset('morning_list.js')}</script></body></html>")
    return "\n".join(parts)
