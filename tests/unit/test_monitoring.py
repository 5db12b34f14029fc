"""Monitoring: PSI/KL against hand-computed values, drift of one variable, rolling windows,
the verdict on synthetic metrics, the HTML report, and the entry points' arguments."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stockout_sk.monitoring import (
    DriftResult,
    MonitoringConfig,
    MonitoringReport,
    WindowMetrics,
    judge,
    kl_divergence,
    psi,
    render_html,
    rolling_evaluation,
    variable_drift,
    write_report,
)
from stockout_sk.reference import reference_distribution
from stockout_sk.vocabulary import DriftStatus

pytestmark = pytest.mark.unit

ACT, NOT_JUDGED, OK, WARN = (
    DriftStatus.ACT,
    DriftStatus.NOT_JUDGED,
    DriftStatus.OK,
    DriftStatus.WARN,
)

# --------------------------------------------------------------------------------------------------
# PSI and KL
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("shares", [[0.5, 0.5], [0.1, 0.2, 0.3, 0.4], [1.0]])
def test_identical_distributions_have_zero_psi_and_kl(shares: list[float]) -> None:
    assert psi(shares, shares) == pytest.approx(0.0, abs=1e-12)
    assert kl_divergence(shares, shares) == pytest.approx(0.0, abs=1e-12)


def test_a_known_shift_gives_the_hand_computed_values() -> None:
    # reference (50 %, 50 %) → current (25 %, 75 %):
    # PSI = (0.25 − 0.5)·ln(0.25/0.5) + (0.75 − 0.5)·ln(0.75/0.5) = 0.25·ln 2 + 0.25·ln 1.5
    # KL(current‖reference) = 0.25·ln(0.25/0.5) + 0.75·ln(0.75/0.5)
    assert psi([0.5, 0.5], [0.25, 0.75]) == pytest.approx(0.25 * math.log(2) + 0.25 * math.log(1.5))
    assert psi([0.5, 0.5], [0.25, 0.75]) == pytest.approx(0.274653, abs=1e-6)
    assert kl_divergence([0.5, 0.5], [0.25, 0.75]) == pytest.approx(
        0.25 * math.log(0.5) + 0.75 * math.log(1.5)
    )
    assert kl_divergence([0.5, 0.5], [0.25, 0.75]) == pytest.approx(0.130812, abs=1e-6)


def test_counts_and_shares_are_the_same_distribution() -> None:
    assert psi([10, 30, 60], [20, 20, 60]) == pytest.approx(psi([0.1, 0.3, 0.6], [0.2, 0.2, 0.6]))
    assert kl_divergence([10, 30, 60], [20, 20, 60]) == pytest.approx(
        kl_divergence([1, 3, 6], [2, 2, 6])
    )


def test_psi_is_symmetric_and_is_the_sum_of_both_kl_directions() -> None:
    e, a = [0.2, 0.3, 0.5], [0.4, 0.4, 0.2]
    assert psi(e, a) == pytest.approx(psi(a, e))
    assert psi(e, a) == pytest.approx(kl_divergence(e, a) + kl_divergence(a, e))


def test_an_empty_bin_is_floored_at_epsilon_and_stays_finite() -> None:
    # The reference's third bin is empty: with ε = 0.01 it becomes 0.01, then the shares are
    # renormalised, e = (0.5, 0.5, 0.01) / 1.01; the current shares (0.4, 0.4, 0.2) are all ≥ ε.
    e = [0.5 / 1.01, 0.5 / 1.01, 0.01 / 1.01]
    a = [0.4, 0.4, 0.2]
    by_hand_psi = sum((ai - ei) * math.log(ai / ei) for ai, ei in zip(a, e, strict=True))
    by_hand_kl = sum(ai * math.log(ai / ei) for ai, ei in zip(a, e, strict=True))
    assert by_hand_psi == pytest.approx(0.611905, abs=1e-5)
    assert psi([50, 50, 0], [40, 40, 20], epsilon=0.01) == pytest.approx(by_hand_psi)
    assert kl_divergence([50, 50, 0], [40, 40, 20], epsilon=0.01) == pytest.approx(by_hand_kl)
    # Empty on the current side too, and with the default ε: large but finite.
    value = psi([50, 50, 0], [0, 50, 50])
    assert math.isfinite(value)
    assert value > 1.0
    assert math.isfinite(kl_divergence([50, 50, 0], [0, 50, 50]))


def test_psi_grows_with_the_shift() -> None:
    reference = [0.25, 0.25, 0.25, 0.25]
    shifts = [[0.25, 0.25, 0.25, 0.25], [0.2, 0.25, 0.25, 0.3], [0.1, 0.2, 0.3, 0.4], [0, 0, 0, 1]]
    values = [psi(reference, s) for s in shifts]
    assert values == sorted(values)
    assert values[0] == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize(
    ("reference", "current", "match"),
    [
        ([0.5, 0.5], [0.3, 0.3, 0.4], "2 bins but current has 3"),
        ([0.5, -0.5], [0.5, 0.5], "finite counts or shares"),
        ([0.0, 0.0], [0.5, 0.5], "sums to 0"),
        ([], [], "empty"),
        ([0.5, np.nan], [0.5, 0.5], "finite counts or shares"),
    ],
)
def test_bad_bins_are_refused_with_a_message(reference, current, match) -> None:
    with pytest.raises(ValueError, match=match):
        psi(reference, current)


# --------------------------------------------------------------------------------------------------
# Drift of one variable on the reference's bins
# --------------------------------------------------------------------------------------------------


def test_variable_drift_on_the_same_distribution_is_ok() -> None:
    rng = np.random.default_rng(0)
    reference = reference_distribution(rng.normal(size=20_000))
    result = variable_drift("x", reference, rng.normal(size=5_000))
    assert result.status == OK
    assert result.psi < 0.02
    assert result.kl < 0.01
    assert not result.has_missing_bin
    assert sum(result.current_shares) == pytest.approx(1.0)


def test_variable_drift_of_a_shifted_variable_acts() -> None:
    rng = np.random.default_rng(1)
    reference = reference_distribution(rng.normal(size=20_000))
    moved = variable_drift("x", reference, rng.normal(loc=1.0, size=5_000))
    assert moved.status == ACT
    assert moved.psi > 0.25
    slightly = variable_drift("x", reference, rng.normal(loc=0.4, size=20_000))
    assert slightly.status == WARN
    assert 0.1 <= slightly.psi < 0.25


def test_values_outside_the_reference_range_fall_in_the_end_bins() -> None:
    reference = reference_distribution(np.arange(100, dtype=float), bins=4)
    result = variable_drift("x", reference, np.full(200, 1e6))
    assert result.current_shares[-1] == pytest.approx(1.0)
    assert result.status == ACT


def test_missing_values_are_compared_as_one_more_bin() -> None:
    rng = np.random.default_rng(2)
    reference = reference_distribution(rng.normal(size=10_000))
    values = rng.normal(size=4_000)
    values[:2_000] = np.nan
    result = variable_drift("x", reference, values)
    assert result.has_missing_bin
    assert result.current_missing == pytest.approx(0.5)
    assert result.reference_shares[-1] == 0.0
    assert result.current_shares[-1] == pytest.approx(0.5)
    assert result.status == ACT


def test_too_few_rows_are_not_judged() -> None:
    reference = reference_distribution(np.arange(1_000, dtype=float))
    result = variable_drift("x", reference, np.arange(50, dtype=float))
    assert result.status == NOT_JUDGED
    assert result.psi is None
    assert "too few rows" in result.note


def test_a_malformed_reference_entry_is_named() -> None:
    with pytest.raises(ValueError, match="reference entry of 'x'"):
        variable_drift("x", {"edges": [0.0, 1.0]}, [0.5])


# --------------------------------------------------------------------------------------------------
# Rolling evaluation
# --------------------------------------------------------------------------------------------------


def _rows(days: int, per_day: int = 40, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = days * per_day
    frame = pd.DataFrame(
        {
            "BranchID": ["B1"] * n,
            "ItemCode": [f"I{i % per_day}" for i in range(n)],
            "Date": np.repeat(pd.date_range("2024-06-01", periods=days), per_day),
            "CurrentQuantity": rng.integers(0, 20, n).astype(float),
            "ReservedQuantity": 0.0,
            "SafetyStockLevel": 10.0,
            "label": rng.integers(0, 2, n),
        }
    )
    proba = np.clip(frame["label"] * 0.6 + rng.uniform(0, 0.4, n), 0, 1).to_numpy()
    return frame, proba


def test_a_window_ends_at_every_matured_day() -> None:
    from stockout_sk.evaluate import classification_metrics

    frame, proba = _rows(10)
    windows = rolling_evaluation(frame, proba, threshold=0.5, window_days=7, min_positives=5)
    assert [w.window_end for w in windows] == [f"2024-06-{d:02d}" for d in (7, 8, 9, 10)]
    last = windows[-1]
    assert (last.window_start, last.days, last.rows) == ("2024-06-04", 7, 7 * 40)
    mask = frame["Date"] >= "2024-06-04"
    expected = classification_metrics(frame["label"][mask], proba[mask], threshold=0.5)
    assert last.f1 == pytest.approx(expected["f1"])
    assert last.pr_auc == pytest.approx(expected["pr_auc"])
    rule = (frame["CurrentQuantity"][mask] < 10).astype(int)
    tp = int(((rule == 1) & (frame["label"][mask] == 1)).sum())
    assert last.rule_precision == pytest.approx(tp / rule.sum())
    assert all(w.judged and not w.partial for w in windows)


def test_fewer_days_than_a_window_make_one_partial_window() -> None:
    frame, proba = _rows(3)
    windows = rolling_evaluation(frame, proba, threshold=0.5, window_days=7, min_positives=500)
    assert len(windows) == 1
    assert windows[0].partial
    assert windows[0].rows == len(frame)
    assert not windows[0].judged  # fewer than 500 positives


# --------------------------------------------------------------------------------------------------
# The verdict on synthetic metrics
# --------------------------------------------------------------------------------------------------


def _drift(name: str = "x", psi_value: float = 0.01, kl_value: float = 0.005) -> DriftResult:
    config = MonitoringConfig()
    if psi_value >= config.psi_act or kl_value >= config.kl_act:
        status = ACT
    elif psi_value >= config.psi_warn or kl_value >= config.kl_warn:
        status = WARN
    else:
        status = OK
    return DriftResult(
        name=name,
        source="raw",
        reference="training",
        psi=psi_value,
        kl=kl_value,
        status=status,
        reference_rows=1_000,
        current_rows=1_000,
        reference_missing=0.0,
        current_missing=0.0,
    )


def _window(f1: float, rule_f1: float = 0.3, positives: int = 100, end: str = "2024-06-07"):
    return WindowMetrics(
        window_start="2024-06-01",
        window_end=end,
        days=7,
        rows=1_000,
        positives=positives,
        f1=f1,
        precision=f1,
        recall=f1,
        pr_auc=f1,
        rule_f1=rule_f1,
        rule_precision=rule_f1,
        rule_recall=rule_f1,
        rule_pr_auc=rule_f1,
        judged=positives >= MonitoringConfig().min_window_positives,
    )


def test_all_within_thresholds_is_ok() -> None:
    verdict = judge([_drift(), _drift("prediction")], [_window(0.62)], holdout_f1=0.65)
    assert verdict.level == OK
    assert verdict.reasons == ["all checks within thresholds"]


def test_a_period_inside_the_training_data_is_not_a_bare_ok() -> None:
    """Monitoring over the training period: the model has seen those days; say so, with how many."""
    drift = [_drift(), _drift("prediction")]
    inside = judge(
        drift, [_window(0.62)], holdout_f1=0.65, training_end="2024-06-30", overlap_rows=7_000
    )
    assert inside.level == WARN
    assert inside.reasons == [
        "7,000 row(s) of this period are dated on or before 2024-06-30, the end of the model's "
        "training data: the model has seen those days; the latest window (2024-06-01..2024-06-07) "
        "lies within them, so its scores are not out of sample — monitor days after 2024-06-30"
    ]
    # Partly overlapping, the latest window after the training data: it decides, with a note.
    after = judge(
        drift,
        [_window(0.62, end="2024-06-07"), _window(0.62, end="2024-07-10")],
        holdout_f1=0.65,
        training_end="2024-06-30",
        overlap_rows=1_500,
    )
    assert after.level == OK
    assert after.notes[0].startswith(
        "1,500 row(s) of this period are dated on or before 2024-06-30"
    )
    # No overlap: nothing said.
    clean = judge(drift, [_window(0.62)], holdout_f1=0.65, training_end="2024-05-01")
    assert (clean.level, clean.notes) == (OK, [])


@pytest.mark.parametrize(
    ("psi_value", "kl_value", "level"),
    [(0.09, 0.04, OK), (0.1, 0.01, WARN), (0.2, 0.01, WARN), (0.25, 0.01, ACT), (0.05, 0.13, ACT)],
)
def test_drift_thresholds(psi_value: float, kl_value: float, level: str) -> None:
    verdict = judge(
        [_drift("SafetyStockLevel", psi_value, kl_value)], [_window(0.6)], holdout_f1=0.6
    )
    assert verdict.level == level
    if level != OK:
        assert "SafetyStockLevel" in verdict.reasons[0]


@pytest.mark.parametrize(
    ("f1", "level"),
    [(0.60, OK), (0.56, OK), (0.54, WARN), (0.51, WARN), (0.49, ACT), (0.2, ACT)],
)
def test_f1_decay_against_the_models_own_holdout_f1(f1: float, level: str) -> None:
    # holdout F1 0.6: warn below 0.55 (margin 0.05), act below 0.5 (margin 0.1)
    verdict = judge([_drift()], [_window(f1, rule_f1=0.1)], holdout_f1=0.6)
    assert verdict.level == level
    if level == ACT:
        assert "below the model's holdout F1 0.600" in verdict.act_reasons[0]


def test_an_absolute_f1_is_not_the_decay_rule() -> None:
    # A model whose holdout F1 was 0.45 is not in decay at 0.44, although far below 0.7.
    assert judge([_drift()], [_window(0.44, rule_f1=0.3)], holdout_f1=0.45).level == OK


def test_f1_below_the_rule_baseline_on_the_same_window_acts() -> None:
    verdict = judge([_drift()], [_window(0.40, rule_f1=0.41)], holdout_f1=0.42)
    assert verdict.level == ACT
    assert "below the rule baseline's F1 0.410" in verdict.act_reasons[0]
    margin = MonitoringConfig(rule_margin=0.05)
    assert judge([_drift()], [_window(0.40, 0.41)], holdout_f1=0.42, config=margin).level == OK


def test_a_window_with_few_positives_is_not_judged() -> None:
    verdict = judge([_drift()], [_window(0.0, rule_f1=0.9, positives=3)], holdout_f1=0.7)
    assert verdict.level == WARN
    assert "not judged" in verdict.warn_reasons[0]


def test_unknown_holdout_f1_warns_but_the_rule_comparison_still_acts() -> None:
    assert judge([_drift()], [_window(0.5, 0.3)], holdout_f1=None).level == WARN
    assert judge([_drift()], [_window(0.2, 0.3)], holdout_f1=None).level == ACT


def test_only_the_latest_window_decides_earlier_dips_are_notes() -> None:
    rolling = [_window(0.3, end="2024-06-07"), _window(0.6, end="2024-06-08")]
    verdict = judge([_drift()], rolling, holdout_f1=0.6)
    assert verdict.level == OK
    assert "1 of 1 earlier window(s) breached" in verdict.notes[0]
    assert judge([_drift()], rolling[::-1], holdout_f1=0.6).level == ACT


def test_no_window_and_unjudged_drift_warn() -> None:
    unjudged = _drift()
    unjudged.status, unjudged.psi, unjudged.note = NOT_JUDGED, None, "too few rows"
    verdict = judge([unjudged], [], holdout_f1=0.6)
    assert verdict.level == WARN
    assert any("too few rows" in r for r in verdict.reasons)
    assert any("no window" in r for r in verdict.reasons)


def test_act_reasons_come_before_warn_reasons() -> None:
    verdict = judge([_drift("a", 0.15), _drift("b", 0.9)], [_window(0.6)], holdout_f1=0.6)
    assert verdict.level == ACT
    assert verdict.reasons[0].startswith("drift of b")
    assert verdict.reasons[1].startswith("drift of a")


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"psi_warn": 0.3, "psi_act": 0.25}, "psi_warn=0.3 exceeds psi_act"),
        ({"kl_warn": 0.2}, "kl_warn=0.2 exceeds kl_act"),
        ({"f1_warn_margin": 0.2}, "f1_warn_margin=0.2 exceeds"),
        ({"window_days": 0}, "window_days must be an integer"),
        ({"epsilon": 0.0}, "epsilon must be in"),
        ({"psi_act": -1.0}, "psi_act must be a number"),
    ],
)
def test_config_is_validated(overrides: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        MonitoringConfig(**overrides)


# --------------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------------


def _report() -> MonitoringReport:
    rng = np.random.default_rng(3)
    reference = reference_distribution(rng.uniform(size=5_000))
    drift = [
        variable_drift("SafetyStockLevel", reference, rng.uniform(1, 2, size=1_000)),
        variable_drift("prediction", reference, rng.uniform(size=1_000), source="score"),
    ]
    rolling = [_window(0.6, end="2024-06-07"), _window(0.4, end="2024-06-08")]
    verdict = judge(drift, rolling, holdout_f1=0.65)
    return MonitoringReport(
        model_name="stockout-classifier",
        model_version="3",
        model_run_id="abc",
        threshold=0.4,
        horizon=7,
        holdout_f1=0.65,
        data={
            "source": "<script>alert(1)</script>",
            "rows": 2_000,
            "positives": 200,
            "first_asof": "2024-06-01",
            "last_asof": "2024-06-08",
            "history_end": "2024-05-31",
            "staleness_days": {"min": 1, "median": 4, "max": 8},
            "fingerprint": "f" * 32,
        },
        rolling=rolling,
        overall={"model": {"f1": 0.5, "pr_auc": 0.5}, "rule": {"f1": 0.3, "pr_auc": 0.3}},
        drift=drift,
        verdict=verdict,
        config=MonitoringConfig(),
        decision="fallback",
        reasons=verdict.reasons,
        action="fallback",
        action_detail="serving switched to the rule baseline",
    )


def test_html_report_has_the_drift_table_decision_and_escapes_text() -> None:
    page = render_html(_report(), {"psi": "AAAA"})
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page
    assert "FALLBACK" in page
    assert page.count("<tr><td>SafetyStockLevel</td>") == 1
    assert "data:image/png;base64,AAAA" in page
    assert "serving switched to the rule baseline" in page


def test_write_report_writes_html_with_embedded_plots_and_pngs(tmp_path: Path) -> None:
    report = _report()
    path = write_report(report, tmp_path / "out")
    assert path == tmp_path / "out" / "monitoring_report.html"
    assert report.report_path == path
    page = path.read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") == 3
    for name in ("psi", "score_distribution", "rolling_f1"):
        assert (tmp_path / "out" / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = report.summary()
    assert summary["report"] == str(path)
    assert summary["psi"]["SafetyStockLevel"] > 0.25
    assert [w["window_end"] for w in summary["rolling"]] == ["2024-06-07", "2024-06-08"]
    assert (tmp_path / "out" / "monitoring.json").is_file()


def test_summary_is_strict_json() -> None:
    import json

    report = _report()
    report.drift[0].psi = float("nan")
    line = json.dumps(report.summary(), allow_nan=False)
    assert json.loads(line)["psi"]["SafetyStockLevel"] is None


# --------------------------------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------------------------------


def test_cli_has_the_monitor_subcommand() -> None:
    from stockout_sk.cli import build_parser

    args = build_parser().parse_args(
        ["monitor", "--data", "d", "--dry-run", "--json", "--out", "o"]
    )
    assert (args.command, args.data, args.dry_run, args.json, args.out) == (
        "monitor",
        Path("d"),
        True,
        True,
        Path("o"),
    )
    defaults = build_parser().parse_args(["monitor", "--data", "d"])
    assert (defaults.dry_run, defaults.json, defaults.out) == (False, False, None)


def test_deploy_schedules_monitoring_only_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    from flows import deploy

    monkeypatch.delenv("STOCKOUT_MONITOR_CRON", raising=False)
    args = deploy.build_parser().parse_args(["--data", "exports"])
    assert args.monitor_cron is None
    args = deploy.build_parser().parse_args(
        ["--data", "exports", "--monitor-cron", "0 6 * * *", "--monitor-dry-run"]
    )
    assert args.monitor_cron == "0 6 * * *"
    assert deploy.monitor_parameters(args) == {
        "data_dir": "exports",
        "dry_run": True,
        "model_name": None,
    }


def test_deploy_passes_the_windows_and_refuses_a_bad_one_before_serving(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from flows import deploy

    args = deploy.build_parser().parse_args(["--data", "exports"])
    assert "holdout_days" not in deploy.deployment_parameters(args)  # sized per run
    args = deploy.build_parser().parse_args(
        ["--data", "exports", "--holdout-days", "10", "--validation-days", "7"]
    )
    parameters = deploy.deployment_parameters(args)
    assert (parameters["holdout_days"], parameters["validation_days"]) == (10, 7)
    served = []
    monkeypatch.setattr(deploy.run_pipeline, "serve", lambda **kw: served.append(kw))
    with pytest.raises(SystemExit) as exit_info:
        deploy.main(["--data", "exports", "--holdout-days", "0"])
    assert exit_info.value.code == 2
    assert "holdout_days" in capsys.readouterr().err
    assert not served  # nothing was registered
