"""Unit tests of the command line's data options (``--encoding``, ``--delimiter``, issue #17)
and of what ``validate`` asks of a history (issue #16)."""

from __future__ import annotations

import pytest

from stockout_sk.cli import build_parser, main
from stockout_sk.cli.commands import _csv_format, _min_history_days
from stockout_sk.config import CsvFormat, ModelConfig

pytestmark = pytest.mark.unit

#: Every command that reads the six exports, with its other required arguments.
DATA_COMMANDS = {
    "validate": [],
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


def test_validate_asks_for_the_history_the_purged_splits_need():
    # holdout 21 + validation 14 + 28 training as-of days, a purge gap of the horizon after each
    # training side, and the horizon for the last label to mature.
    assert _min_history_days(ModelConfig()) == 21 + 14 + 28 + 3 * 7
    assert _min_history_days(ModelConfig(horizon=14)) == 21 + 14 + 28 + 3 * 14
