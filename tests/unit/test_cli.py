"""Unit tests of the command line's data options (``--encoding``, ``--delimiter``, issue #17)
and of what ``validate`` asks of a history (issue #16)."""

from __future__ import annotations

import pytest

from stockout_sk.cli import build_parser, main
from stockout_sk.cli.commands import _csv_format, _min_history_days, _model_config
from stockout_sk.config import CsvFormat, ModelConfig

pytestmark = pytest.mark.unit

#: Every command that reads the six exports, with its other required arguments.
DATA_COMMANDS = {
    "validate": [],
    "backtest": [],
    "build-dataset": ["--out", "t.parquet"],
    "evaluate": [],
    "train": [],
    "run": [],
    "score": ["--out", "list.csv"],
    "monitor": [],
}


@pytest.mark.parametrize("command", sorted(DATA_COMMANDS))
def test_every_command_that_reads_the_exports_takes_encoding_and_delimiter(command):
    args = build_parser().parse_args(
        [
            command,
            "--data",
            "d",
            *DATA_COMMANDS[command],
            "--encoding",
            "CP1256",
            "--delimiter",
            "tab",
        ]
    )
    assert _csv_format(args) == CsvFormat(encoding="cp1256", delimiter="\t")
    defaults = build_parser().parse_args([command, "--data", "d", *DATA_COMMANDS[command]])
    assert (defaults.encoding, defaults.delimiter) == (None, None)


def test_the_environment_fills_in_what_the_command_line_leaves_out(monkeypatch):
    monkeypatch.setenv("STOCKOUT_CSV_DELIMITER", "semicolon")
    args = build_parser().parse_args(["validate", "--data", "d", "--encoding", "latin-1"])
    assert _csv_format(args) == CsvFormat(encoding="iso8859-1", delimiter=";")


def test_a_bad_option_is_refused_before_any_work_naming_the_option(tmp_path, capsys):
    assert main(["validate", "--data", str(tmp_path), "--encoding", "klingon"]) == 1
    assert "--encoding: unknown encoding 'klingon'" in capsys.readouterr().err


def test_validate_asks_evaluate_for_the_shortest_history_it_can_train_on():
    from stockout_sk.evaluate import NotEnoughHistoryError, plan_windows

    for config in (ModelConfig(), ModelConfig(horizon=14), ModelConfig(holdout_days=30)):
        days = _min_history_days(config)
        asof = days - config.horizon
        windows = {"holdout_days": config.holdout_days, "validation_days": config.validation_days}
        plan_windows(asof, horizon=config.horizon, **windows)  # fits
        with pytest.raises(NotEnoughHistoryError):
            plan_windows(asof - 1, horizon=config.horizon, **windows)
    # Floors on a short export: holdout 7 + purge 7 + a fold of 7 + purge 7 + 14 training days,
    # plus the horizon for the last label.
    assert _min_history_days(ModelConfig()) == 7 + 7 + 7 + 7 + 14 + 7


def test_validate_takes_the_window_options_train_takes():
    args = build_parser().parse_args(["validate", "--data", "d", "--holdout-days", "30"])
    assert _min_history_days(_model_config(args)) > _min_history_days(ModelConfig())


def test_the_threshold_method_comes_from_the_option_then_the_environment(monkeypatch):
    from stockout_sk.cli.parser import THRESHOLD_CHOICES
    from stockout_sk.config import THRESHOLD_METHODS

    assert THRESHOLD_CHOICES == THRESHOLD_METHODS  # spelled twice: --help imports no numpy
    for command in ("train", "evaluate", "run", "backtest"):
        args = build_parser().parse_args([command, "--data", "d"])
        assert _model_config(args).threshold_method == "expected", command
        args = build_parser().parse_args([command, "--data", "d", "--threshold-method", "last"])
        assert _model_config(args).threshold_method == "last", command
    monkeypatch.setenv("STOCKOUT_THRESHOLD_METHOD", "median")
    args = build_parser().parse_args(["evaluate", "--data", "d"])
    assert _model_config(args).threshold_method == "median"
    args = build_parser().parse_args(["evaluate", "--data", "d", "--threshold-method", "pooled"])
    assert _model_config(args).threshold_method == "pooled"
    monkeypatch.setenv("STOCKOUT_THRESHOLD_METHOD", "mean")
    with pytest.raises(ValueError, match=r"STOCKOUT_THRESHOLD_METHOD must be one of .*'mean'"):
        _model_config(args)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["evaluate", "--data", "d", "--threshold-method", "mean"])


def test_ingest_workers_come_from_the_option_then_the_environment(monkeypatch):
    from stockout_sk.cli.commands import preflight
    from stockout_sk.cli.parser import MAX_INGEST_WORKERS
    from stockout_sk.config import INGEST_WORKERS_ENV, load_ingest_workers
    from stockout_sk.config import MAX_INGEST_WORKERS as CONFIG_MAX

    assert MAX_INGEST_WORKERS == CONFIG_MAX  # spelled twice: --help imports no numpy
    monkeypatch.setenv(INGEST_WORKERS_ENV, "3")
    for command in ("build-dataset", "validate", "train", "run", "evaluate", "backtest"):
        given = [
            command,
            "--data",
            "d",
            *(["--out", "o.csv"] if command == "build-dataset" else []),
        ]
        preflight(build_parser().parse_args(given))
        assert load_ingest_workers() == 3, command
        args = build_parser().parse_args([*given, "--ingest-workers", "1"])
        preflight(args)  # the option reaches the flows' ingestion through the environment
        assert load_ingest_workers() == 1, command
        monkeypatch.setenv(INGEST_WORKERS_ENV, "3")
    monkeypatch.setenv(INGEST_WORKERS_ENV, "many")
    with pytest.raises(ValueError, match="STOCKOUT_INGEST_WORKERS must be a whole number"):
        preflight(build_parser().parse_args(["validate", "--data", "d"]))
    with pytest.raises(SystemExit):
        build_parser().parse_args(["validate", "--data", "d", "--ingest-workers", "0"])


def test_build_dataset_refuses_an_output_it_cannot_write_before_reading(capsys):
    """``--out`` is checked by the parser, not after minutes of ingestion."""
    with pytest.raises(SystemExit):
        build_parser().parse_args(["build-dataset", "--data", "d", "--out", "/tmp/table"])
    assert "must end in .csv or .parquet, got '/tmp/table'" in capsys.readouterr().err
    args = build_parser().parse_args(["build-dataset", "--data", "d", "--out", "t.PARQUET"])
    assert args.out.name == "t.PARQUET"
