"""The verdict: drift and rolling metrics turned into ``ok``, ``warn`` or ``act``, with reasons."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from stockout_sk.config import MonitoringConfig
from stockout_sk.evaluate import baseline_shortfalls
from stockout_sk.monitoring.drift import DriftResult
from stockout_sk.monitoring.formatting import fmt
from stockout_sk.monitoring.rolling import WindowMetrics
from stockout_sk.vocabulary import DriftStatus, holdout_tag

__all__ = ["Verdict", "judge"]


@dataclass
class Verdict:
    """``ok``, ``warn`` or ``act``, with the reasons at each level and notes that decide nothing."""

    level: str
    act_reasons: list[str] = field(default_factory=list)
    warn_reasons: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def reasons(self) -> list[str]:
        """Act reasons first, then warn reasons; ``["all checks within thresholds"]`` when ok."""
        return [*self.act_reasons, *self.warn_reasons] or ["all checks within thresholds"]


def judge(
    drift: Sequence[DriftResult],
    rolling: Sequence[WindowMetrics],
    *,
    holdout_f1: float | None,
    config: MonitoringConfig | None = None,
    training_end: str | None = None,
    overlap_rows: int = 0,
) -> Verdict:
    """Turn drift and rolling metrics into ``ok`` / ``warn`` / ``act`` with reasons.

    Act on: any variable at ``act`` (PSI ≥ ``psi_act`` or KL ≥ ``kl_act``); the latest judged
    window's F1 below ``holdout_f1`` by more than ``f1_margin``; or below the rule baseline's F1
    on that window by more than ``rule_margin``. Warn on: a variable at ``warn``; F1 below
    ``holdout_f1`` by more than ``f1_warn_margin``; anything that could not be judged (too few
    rows or positives, unknown holdout F1); the latest window lying within the model's training
    data (its scores there are not out of sample: an "ok" would say nothing). Earlier windows
    that breached an F1 rule are a note: the latest window is the current state, and one dip
    that recovered is not worth an alarm. Rows that overlap the training data while the latest
    window does not are a note too.

    Parameters
    ----------
    drift : sequence of DriftResult
    rolling : sequence of WindowMetrics
        Ordered by window end; the last one is "the latest window".
    holdout_f1 : float or None
        The model's own F1 on its holdout at registration.
    config : MonitoringConfig, optional
    training_end : str, optional
        The last day of the model's training data (ISO), when known.
    overlap_rows : int
        Rows of the period dated on or before ``training_end``.

    Returns
    -------
    Verdict
    """
    config = config or MonitoringConfig()
    act: list[str] = []
    warn: list[str] = []
    overlap: list[str] = []
    if overlap_rows and training_end is not None:
        latest_inside = bool(rolling) and rolling[-1].window_end <= training_end
        overlap.append(
            f"{overlap_rows:,} row(s) of this period are dated on or before {training_end}, the "
            "end of the model's training data: the model has seen those days"
            + (
                f"; the latest window ({rolling[-1].window_start}..{rolling[-1].window_end}) lies "
                "within them, so its scores are not out of sample — monitor days after "
                f"{training_end}"
                if latest_inside
                else ""
            )
        )
        if latest_inside:
            warn.append(overlap[-1])
            overlap.pop()

    for d in drift:
        measured = f"PSI {fmt(d.psi)}, KL {fmt(d.kl)} vs the {d.reference} reference"
        if d.status == DriftStatus.ACT:
            act.append(
                f"drift of {d.name}: {measured} (act at PSI ≥ {config.psi_act:g} or KL ≥ "
                f"{config.kl_act:g})"
            )
        elif d.status == DriftStatus.WARN:
            warn.append(
                f"drift of {d.name}: {measured} (warn at PSI ≥ {config.psi_warn:g} or KL ≥ "
                f"{config.kl_warn:g})"
            )
        elif d.status == DriftStatus.NOT_JUDGED:
            warn.append(f"drift of {d.name} not judged: {d.note}")

    if not rolling:
        warn.append("no window with matured labels: performance not judged")
        return _verdict(act, warn, overlap)
    latest = rolling[-1]
    where = f"window {latest.window_start}..{latest.window_end} ({latest.rows:,} rows)"
    if not latest.judged:
        warn.append(
            f"{where} has {latest.positives} positive label(s) (< min_window_positives="
            f"{config.min_window_positives}): its F1 {latest.f1:.3f} is not judged"
        )
    else:
        if holdout_f1 is None:
            warn.append(
                f"the model's holdout F1 is unknown (no {holdout_tag('f1')} tag on the version): "
                f"F1 decay not judged (latest F1 {latest.f1:.3f})"
            )
        else:
            drop = holdout_f1 - latest.f1
            if drop > config.f1_margin:
                act.append(
                    f"F1 {latest.f1:.3f} in {where} is {drop:.3f} below the model's holdout F1 "
                    f"{holdout_f1:.3f} (act margin {config.f1_margin:g})"
                )
            elif drop > config.f1_warn_margin:
                warn.append(
                    f"F1 {latest.f1:.3f} in {where} is {drop:.3f} below the model's holdout F1 "
                    f"{holdout_f1:.3f} (warn margin {config.f1_warn_margin:g})"
                )
        if baseline_shortfalls(latest.f1, {"rule": latest.rule_f1}, margin=config.rule_margin):
            act.append(
                f"F1 {latest.f1:.3f} in {where} is below the rule baseline's F1 "
                f"{latest.rule_f1:.3f} on the same rows (margin {config.rule_margin:g})"
            )
    notes = list(overlap)
    earlier = [w for w in rolling[:-1] if w.judged and _window_breaches(w, holdout_f1, config)]
    if earlier:
        worst = min(earlier, key=lambda w: w.f1)
        notes.append(
            f"{len(earlier)} of {len(rolling) - 1} earlier window(s) breached an F1 rule "
            f"(worst: F1 {worst.f1:.3f}, rule {worst.rule_f1:.3f}, window ending "
            f"{worst.window_end}); the latest window decides"
        )
    return _verdict(act, warn, notes)


def _window_breaches(w: WindowMetrics, holdout_f1: float | None, config: MonitoringConfig) -> bool:
    decayed = holdout_f1 is not None and holdout_f1 - w.f1 > config.f1_margin
    return decayed or bool(
        baseline_shortfalls(w.f1, {"rule": w.rule_f1}, margin=config.rule_margin)
    )


def _verdict(act: list[str], warn: list[str], notes: list[str]) -> Verdict:
    level = DriftStatus.ACT if act else DriftStatus.WARN if warn else DriftStatus.OK
    return Verdict(level=level, act_reasons=act, warn_reasons=warn, notes=notes)
