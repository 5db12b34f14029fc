"""The training flow checks its parameters before any task runs."""

from __future__ import annotations

import pytest

from flows.run_pipeline import checked_parameters

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("min_f1", [2, -0.5, float("nan")])
def test_min_f1_outside_the_unit_interval_names_the_flow_parameter(min_f1: float) -> None:
    with pytest.raises(ValueError, match="run-pipeline parameter min_f1 must be a number in"):
        checked_parameters(horizon=7, min_f1=min_f1, model_overrides=None)


@pytest.mark.parametrize(
    ("horizon", "overrides", "message"),
    [
        (0, None, "horizon must be >= 1"),
        (7, {"n_estimators": -3}, "n_estimators must be >= 1"),
        (7, {"no_such_setting": 1}, "unknown model setting"),
    ],
)
def test_bad_model_parameters_name_the_flow_parameters(horizon, overrides, message) -> None:
    with pytest.raises((TypeError, ValueError), match=rf"run-pipeline parameters .*{message}"):
        checked_parameters(horizon=horizon, min_f1=None, model_overrides=overrides)


def test_the_environment_is_checked_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STOCKOUT_MIN_F1", "1.5")
    with pytest.raises(ValueError, match="STOCKOUT_MIN_F1"):
        checked_parameters(horizon=7, min_f1=None, model_overrides=None)
    # A parameter given explicitly still leaves a bad environment variable an error: every
    # setting is checked, not just those in use.
    with pytest.raises(ValueError, match="STOCKOUT_MIN_F1"):
        checked_parameters(horizon=7, min_f1=0.5, model_overrides=None)


def test_valid_parameters_give_settings_and_config() -> None:
    settings, config = checked_parameters(
        horizon=5, min_f1=0.6, model_overrides={"windows": [7, 14]}, model_name="m"
    )
    assert (settings.min_f1, settings.model_name) == (0.6, "m")
    assert (config.horizon, config.windows) == (5, (7, 14))
