"""Every setting is checked when it is read, and the message names where the value came from."""

from __future__ import annotations

import argparse

import pytest

from stockout_sk.cli import build_parser
from stockout_sk.cli.parser import fraction, whole_number
from stockout_sk.config import ModelConfig, load_serving_settings, load_settings

pytestmark = pytest.mark.unit


# ------------------------------------------------------------------------------- environment
@pytest.mark.parametrize("value", ["2", "-0.1", "nan", "inf", "high"])
def test_min_f1_from_the_environment_is_a_fraction_naming_the_variable(value: str) -> None:
    with pytest.raises(ValueError, match=rf"STOCKOUT_MIN_F1 must be a number in .*got '{value}'"):
        load_settings({"STOCKOUT_MIN_F1": value})


def test_settings_read_their_variables_and_keep_defaults_for_blank_ones() -> None:
    settings = load_settings(
        {
            "STOCKOUT_MIN_F1": "0.55",
            "STOCKOUT_MODEL_NAME": "  ",
            "STOCKOUT_LOCK_WAIT_SECONDS": "3",
            "MLFLOW_TRACKING_URI": "http://mlflow:5000",
        }
    )
    assert settings.min_f1 == 0.55
    assert settings.model_name == "stockout-classifier"
    assert settings.lock_wait_seconds == 3.0
    assert settings.tracking_uri == "http://mlflow:5000"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("STOCKOUT_LOCK_WAIT_SECONDS", "-1"),
        ("STOCKOUT_MAX_STALENESS_DAYS", "-1"),
        ("STOCKOUT_MAX_STALENESS_DAYS", "1.5"),
        ("STOCKOUT_RELOAD_MIN_SECONDS", "soon"),
    ],
)
def test_bad_serving_and_registry_variables_name_themselves(name: str, value: str) -> None:
    with pytest.raises(ValueError, match=name):
        load_serving_settings({name: value})


def test_serving_policy_defaults() -> None:
    settings = load_serving_settings({})
    assert (settings.max_staleness_days, settings.reload_min_seconds) == (60, 10.0)


# ------------------------------------------------------------------------------ model config
@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"horizon": 0}, "horizon must be >= 1"),
        ({"horizon": True}, "horizon must be an int"),
        ({"n_estimators": 0}, "n_estimators must be >= 1"),
        ({"learning_rate": 0.0}, "learning_rate must be > 0"),
        ({"subsample": 1.5}, r"subsample must be in \(0, 1\]"),
        ({"minority_threshold": 0.9}, r"minority_threshold must be in \(0, 0.5\]"),
        ({"windows": ()}, "windows must be whole numbers"),
        ({"windows": (7, 0)}, "windows must be whole numbers"),
        ({"sampling_strategy": "sideways"}, "sampling_strategy must be 'under' or 'over'"),
        ({"n_jobs": 0}, "n_jobs must be"),
        ({"num_leaves": 1}, "num_leaves must be >= 2"),
    ],
)
def test_model_config_refuses_bad_values_when_made(overrides: dict, message: str) -> None:
    with pytest.raises((TypeError, ValueError), match=rf"ModelConfig: {message}"):
        ModelConfig(**overrides)
    with pytest.raises((TypeError, ValueError), match=message):
        ModelConfig().with_overrides(**overrides)


def test_model_config_defaults_are_valid() -> None:
    assert ModelConfig().with_overrides(horizon=3, n_jobs=-1).horizon == 3


# ------------------------------------------------------------------------------- command line
@pytest.mark.parametrize(
    ("argv", "option"),
    [
        (["train", "--data", "d", "--min-f1", "2"], "--min-f1"),
        (["run", "--data", "d", "--min-f1", "nan"], "--min-f1"),
        (["train", "--data", "d", "--horizon", "0"], "--horizon"),
        (["train", "--data", "d", "--chunksize", "-5"], "--chunksize"),
        (["evaluate", "--data", "d", "--n-estimators", "0"], "--n-estimators"),
        (["serve", "--port", "70000"], "--port"),
        (["serve", "--workers", "0"], "--workers"),
        (["synth", "--out", "o", "--days", "zero"], "--days"),
    ],
)
def test_the_parser_refuses_a_bad_option_at_once_naming_it(
    argv: list[str], option: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(argv)
    assert exited.value.code == 2
    assert f"argument {option}" in capsys.readouterr().err


def test_option_types_accept_their_range() -> None:
    assert (fraction("0"), fraction("1")) == (0.0, 1.0)
    assert whole_number(1, 65535)("65535") == 65535
    with pytest.raises(argparse.ArgumentTypeError, match=r"in \[1, 65535\], got '0'"):
        whole_number(1, 65535)("0")
