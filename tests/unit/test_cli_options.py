"""The command line's options: defaults shown in --help, --n-jobs, --log-checkpoints, --force."""

from __future__ import annotations

import argparse
import re

import pytest

from stockout_sk.cli import build_parser
from stockout_sk.cli.commands import _model_config

pytestmark = pytest.mark.unit


def _help(command: str) -> str:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return re.sub(r"\s+", " ", sub.choices[command].format_help())


def test_synth_help_shows_every_default() -> None:
    text = _help("synth")
    for option, default in (
        ("--branches", "10"),
        ("--items", "200"),
        ("--days", "365"),
        ("--seed", "42"),
        ("--start", "2024-01-01"),
    ):
        assert re.search(rf"{option} \S+ .*?\(default: {default}\)", text), option


@pytest.mark.parametrize("command", ["train", "run", "evaluate"])
def test_n_jobs_reaches_the_model_settings(command: str) -> None:
    parser = build_parser()
    args = parser.parse_args([command, "--data", "d", "--n-jobs", "4"])
    assert args.n_jobs == 4
    assert _model_config(args).n_jobs == 4
    assert parser.parse_args([command, "--data", "d", "--n-jobs", "-1"]).n_jobs == -1
    # Not given: the model's own default (one thread).
    assert _model_config(parser.parse_args([command, "--data", "d"])).n_jobs == 1
    assert "--n-jobs" in _help(command)


@pytest.mark.parametrize("value", ["0", "-2", "two"])
def test_a_bad_n_jobs_is_a_usage_error_naming_the_option(value: str, capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(["train", "--data", "d", "--n-jobs", value])
    assert exit_.value.code == 2
    assert "argument --n-jobs" in capsys.readouterr().err


def test_checkpoints_are_logged_only_on_request_and_lists_replaced_only_with_force() -> None:
    parser = build_parser()
    assert parser.parse_args(["train", "--data", "d"]).log_checkpoints is False
    assert parser.parse_args(["run", "--data", "d", "--log-checkpoints"]).log_checkpoints is True
    assert parser.parse_args(["score", "--data", "d", "--out", "x.csv"]).force is False
    assert parser.parse_args(["score", "--data", "d", "--out", "x.csv", "--force"]).force
    monitor = parser.parse_args(["monitor", "--data", "d", "--dry-run", "--log-run"])
    assert (monitor.dry_run, monitor.log_run) == (True, True)


def test_reasons_per_row() -> None:
    parser = build_parser()
    assert parser.parse_args(["score", "--data", "d", "--out", "x.csv"]).reasons == 3
    assert (
        parser.parse_args(["score", "--data", "d", "--out", "x.csv", "--reasons", "0"]).reasons == 0
    )
    with pytest.raises(SystemExit):
        parser.parse_args(["score", "--data", "d", "--out", "x.csv", "--reasons", "-1"])
