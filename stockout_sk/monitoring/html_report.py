"""The monitoring report as files: one self-contained HTML page, its plots as PNG, the JSON."""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from stockout_sk.monitoring.formatting import fmt
from stockout_sk.monitoring.plots import STATUS_COLOURS, plot_psi, plot_rolling, plot_score
from stockout_sk.monitoring.report import MonitoringReport
from stockout_sk.reports import asset, png_bytes
from stockout_sk.vocabulary import DriftStatus, MonitoringDecision

__all__ = [
    "PLOTS",
    "REPORT_FILES",
    "REPORT_HTML",
    "REPORT_JSON",
    "render_html",
    "write_report",
]

REPORT_HTML = "monitoring_report.html"
REPORT_JSON = "monitoring.json"
PLOTS: tuple[str, ...] = ("psi", "score_distribution", "rolling_f1")
#: Every file :func:`write_report` writes (and the monitoring run logs).
REPORT_FILES: tuple[str, ...] = (
    REPORT_HTML,
    REPORT_JSON,
    "rolling.csv",
    *(f"{name}.png" for name in PLOTS),
)
_STYLESHEET = "monitoring_report.css"

_DECISION_COLOURS = {
    MonitoringDecision.OK: STATUS_COLOURS[DriftStatus.OK],
    MonitoringDecision.WARN: STATUS_COLOURS[DriftStatus.WARN],
    MonitoringDecision.ROLLBACK: STATUS_COLOURS[DriftStatus.ACT],
    MonitoringDecision.FALLBACK: STATUS_COLOURS[DriftStatus.ACT],
    DriftStatus.ACT: STATUS_COLOURS[DriftStatus.ACT],
}


def write_report(report: MonitoringReport, out_dir: str | Path) -> Path:
    """Write the HTML report (plots embedded), the plots as PNG and ``monitoring.json``.

    Parameters
    ----------
    report : MonitoringReport
    out_dir : str or Path
        Created if missing; files of the same names are overwritten.

    Returns
    -------
    Path
        The HTML file.
    """
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    plots = {
        "psi": plot_psi(report),
        "score_distribution": plot_score(report),
        "rolling_f1": plot_rolling(report),
    }
    images = {}
    for name, figure in plots.items():
        png = png_bytes(figure)
        (folder / f"{name}.png").write_bytes(png)
        images[name] = base64.b64encode(png).decode("ascii")
    path = folder / REPORT_HTML
    report.report_path = path
    path.write_text(render_html(report, images), encoding="utf-8")
    (folder / REPORT_JSON).write_text(
        json.dumps(report.to_dict(), indent=2, allow_nan=False) + "\n", encoding="utf-8"
    )
    pd.DataFrame([w.to_dict() for w in report.rolling]).to_csv(folder / "rolling.csv", index=False)
    return path


def render_html(report: MonitoringReport, images: Mapping[str, str] | None = None) -> str:
    """The report as one self-contained HTML page (inline CSS, plots as base64 PNG).

    Parameters
    ----------
    report : MonitoringReport
    images : mapping of str to str, optional
        Base64 PNGs by name (``psi``, ``score_distribution``, ``rolling_f1``).

    Returns
    -------
    str
    """
    e = html.escape
    images = images or {}
    cfg = report.config
    data = report.data
    stale = data.get("staleness_days") or {}
    colour = _DECISION_COLOURS.get(report.decision, "#555")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Monitoring: {e(report.model_name)} v{e(report.model_version)} — "
        f"{e(report.decision)}</title>",
        f"<style>\n{asset(_STYLESHEET)}</style></head><body>",
        f"<h1>Monitoring {e(report.model_name)} version {e(report.model_version)} "
        f'<span class="badge" style="background:{colour}">{e(report.decision.upper())}</span>'
        "</h1>",
        f'<p class="meta">Data: {e(str(data.get("source")))} · as-of days '
        f"{e(data['first_asof'])} … {e(data['last_asof'])} · {data['rows']:,} rows with matured "
        f"labels ({data['positives']:,} positive) · horizon {report.horizon} days</p>",
        f'<p class="meta">Model history ends {e(str(data.get("history_end")))}; rows are '
        f"{e(fmt(stale.get('min'), '.0f'))}–{e(fmt(stale.get('max'), '.0f'))} days later "
        "(scored as the API would: nothing refitted) · threshold "
        f"{report.threshold:.3f} · holdout F1 {e(fmt(report.holdout_f1))}</p>",
        f'<p class="meta">Run at {e(report.created_at)}'
        + (" · <b>dry run</b>" if report.dry_run else "")
        + (
            f" · MLflow run {e(report.mlflow_run_id)} (experiment {e(cfg.experiment)})"
            if report.mlflow_run_id
            else ""
        )
        + "</p>",
        "<h2>Decision</h2>",
        "<ul>" + "".join(f"<li>{e(r)}</li>" for r in report.reasons) + "</ul>",
        f"<p><b>Action:</b> {e(report.action)} — {e(report.action_detail)}</p>",
        "<h2>Drift</h2>",
        f'<p class="meta">PSI warn ≥ {cfg.psi_warn:g}, act ≥ {cfg.psi_act:g}; KL(current‖reference)'
        f" warn ≥ {cfg.kl_warn:g}, act ≥ {cfg.kl_act:g}; bins: the reference's quantile edges, "
        f"shares floored at ε={cfg.epsilon:g}; a missing share is one more bin.</p>",
        "<table><thead><tr><th>variable</th><th>source</th><th>reference</th><th>PSI</th>"
        "<th>KL</th><th>status</th><th>rows (ref / now)</th><th>missing (ref / now)</th>"
        "</tr></thead><tbody>",
    ]
    for d in report.drift:
        parts.append(
            f"<tr><td>{e(d.name)}</td><td>{e(d.source)}</td><td>{e(d.reference)}</td>"
            f'<td class="num">{e(fmt(d.psi))}</td><td class="num">{e(fmt(d.kl))}</td>'
            f'<td class="status" style="background:{STATUS_COLOURS[d.status]}" '
            f'title="{e(d.note)}">{e(d.status)}</td>'
            f'<td class="num">{d.reference_rows:,} / {d.current_rows:,}</td>'
            f'<td class="num">{d.reference_missing:.1%} / {d.current_missing:.1%}</td></tr>'
        )
    parts.append("</tbody></table>")
    for name, alt in (
        ("psi", "PSI per variable"),
        ("score_distribution", "score distribution, reference vs now"),
    ):
        if name in images:
            parts.append(f'<img alt="{e(alt)}" src="data:image/png;base64,{images[name]}">')

    parts += [
        "<h2>Rolling evaluation</h2>",
        f'<p class="meta">Windows of {cfg.window_days} as-of days ending at each matured day; '
        f"judged with ≥ {cfg.min_window_positives} positives. Act when the latest window's F1 is "
        f"more than {cfg.f1_margin:g} below the holdout F1, or below the rule baseline's F1 "
        f"(margin {cfg.rule_margin:g}).</p>",
    ]
    if "rolling_f1" in images:
        parts.append(f'<img alt="rolling F1" src="data:image/png;base64,{images["rolling_f1"]}">')
    parts.append(
        "<table><thead><tr><th>window</th><th>rows</th><th>positives</th><th>F1</th>"
        "<th>precision</th><th>recall</th><th>PR-AUC</th><th>rule F1</th><th>rule PR-AUC</th>"
        "<th>judged</th></tr></thead><tbody>"
    )
    for w in report.rolling:
        parts.append(
            f"<tr><td>{e(w.window_start)} … {e(w.window_end)}</td>"
            f'<td class="num">{w.rows:,}</td><td class="num">{w.positives:,}</td>'
            + "".join(
                f'<td class="num">{e(fmt(v))}</td>'
                for v in (
                    w.f1,
                    w.precision,
                    w.recall,
                    w.pr_auc,
                    w.rule_f1,
                    w.rule_pr_auc,
                )
            )
            + f"<td>{'yes' if w.judged else 'no'}</td></tr>"
        )
    parts.append("</tbody></table>")
    model, rule = report.overall["model"], report.overall["rule"]
    parts.append(
        f'<p class="meta">All rows: model F1 {e(fmt(model["f1"]))}, PR-AUC '
        f"{e(fmt(model['pr_auc']))}; rule baseline F1 {e(fmt(rule['f1']))}, PR-AUC "
        f"{e(fmt(rule['pr_auc']))}.</p>"
    )
    if report.notes:
        parts += ["<h2>Notes</h2>", "<ul>"]
        parts += [f"<li>{e(n)}</li>" for n in report.notes]
        parts.append("</ul>")
    parts.append(
        f'<p class="muted">Fingerprint {e(report.fingerprint)} (model version, data, '
        "thresholds): an action is applied once per fingerprint.</p></body></html>"
    )
    return "\n".join(parts)
