"""How a command logs: the console filter, the log file, one line per failure, telemetry off."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from stockout_sk.cli.output import log_file_for
from stockout_sk.cli.parser import build_parser
from stockout_sk.logs import (
    ConsoleFilter,
    quiet_third_parties,
    report_failure,
    run_log_path,
    setup_logging,
)

pytestmark = pytest.mark.unit


def _record(name: str, level: int, msg: str, exc: bool = False) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError("boom")
        except ValueError as error:
            exc_info = (type(error), error, error.__traceback__)
    return logging.LogRecord(name, level, __file__, 1, msg, None, exc_info)


@pytest.mark.parametrize(
    ("name", "level", "msg", "exc", "shown"),
    [
        # Prefect reports one failure at every layer: the command says it once instead.
        (
            "prefect.task_runs",
            logging.ERROR,
            "Task run failed with exception: ValueError",
            True,
            False,
        ),
        ("prefect.task_runs", logging.ERROR, "Finished in state Failed('…')", False, False),
        ("prefect.flow_runs", logging.ERROR, "Encountered exception during execution", True, False),
        ("prefect.flow_runs", logging.INFO, "Finished in state Failed('Flow run …')", False, False),
        ("prefect.task_runs", logging.INFO, "Finished in state Completed()", False, False),
        (
            "EventsWorker",
            logging.WARNING,
            "Still processing items: 1 items remaining...",
            False,
            False,
        ),
        # The flow's own words and everything of ours stay.
        ("prefect.flow_runs", logging.INFO, "stockout-classifier version 1: promoted", False, True),
        ("prefect.task_runs", logging.WARNING, "3 row(s) were quarantined", False, True),
        ("stockout_sk.labels", logging.WARNING, "reconstructed stock is negative", False, True),
        (
            "prefect",
            logging.INFO,
            "Starting temporary server on http://127.0.0.1:8000",
            False,
            True,
        ),
    ],
)
def test_console_filter(name, level, msg, exc, shown) -> None:
    record = _record(name, level, msg, exc)
    assert ConsoleFilter(1).filter(record) is shown
    assert ConsoleFilter(2).filter(record) is True  # -vv shows everything


@pytest.fixture
def restore_logging():
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    libraries = {name: logging.getLogger(name).level for name in ("mlflow", "alembic", "httpx")}
    yield
    for handler in root.handlers:
        handler.close()
    root.handlers[:], root.level = saved
    for name, level in libraries.items():
        logging.getLogger(name).setLevel(level)
    logging.captureWarnings(False)


def test_the_log_file_has_everything_the_console_one_line(
    tmp_path, capsys, restore_logging
) -> None:
    path = setup_logging(1, run_log_path(tmp_path / "run", "train"))
    assert path.parent == tmp_path / "run" / "logs"
    assert path.name.endswith("-train.log")
    log = logging.getLogger("stockout_sk.test")
    log.info("progress")
    log.debug("detail")
    try:
        raise ValueError("bad value")
    except ValueError:
        log.exception("model failed; the rule baseline answered")
    # Prefect's task logger, as it reaches our handlers (outside a flow its own API handler
    # would only warn that there is no flow run to send it to).
    logging.getLogger().handle(
        _record("prefect.task_runs", logging.ERROR, "Task run failed", exc=True)
    )
    try:
        raise ValueError("first line\nsecond line")
    except ValueError as error:
        line = report_failure(error, path)
    for handler in logging.getLogger().handlers:
        handler.flush()
    console = capsys.readouterr().err
    text = path.read_text(encoding="utf-8")
    assert "progress" in console
    assert "detail" not in console
    assert "Traceback" not in console
    assert f"model failed; the rule baseline answered (traceback in {path})" in console
    assert "Task run failed" not in console
    assert "the command failed" not in console  # the command prints its own line
    assert text.count("Traceback") == 3  # ours, Prefect's, the command's failure
    assert "Task run failed" in text
    assert line == "error: first line … (the rest is in the log)"


def test_quiet_shows_warnings_only(tmp_path, capsys, restore_logging) -> None:
    setup_logging(0, None)
    log = logging.getLogger("stockout_sk.test")
    log.info("progress")
    log.warning("look at this")
    console = capsys.readouterr().err
    assert "progress" not in console
    assert "look at this" in console


def test_failures_read_in_one_line() -> None:
    assert report_failure(ValueError("no label can mature"), None) == ("error: no label can mature")
    # Without a log file the whole message stays.
    assert report_failure(ValueError("a\nb"), None) == "error: a\nb"
    unexpected = report_failure(RuntimeError("oops"), Path("x.log"))
    assert unexpected == (
        "error: unexpected RuntimeError: oops (this may be a bug; the traceback is in the log)"
    )


def test_telemetry_is_off_unless_the_environment_says_otherwise() -> None:
    env = {"MLFLOW_DISABLE_TELEMETRY": "false"}
    added = quiet_third_parties(env)
    assert added == {"PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    assert env["MLFLOW_DISABLE_TELEMETRY"] == "false"  # the operator's choice stands


@pytest.mark.parametrize(
    ("argv", "folder"),
    [
        (["train", "--data", "d"], "artifacts/run/logs"),
        (["train", "--data", "d", "--out", "o"], "o/logs"),
        (["score", "--data", "d", "--out", "m/list.csv"], "m/logs"),
        (["evaluate", "--data", "d"], "art/evaluate/logs"),
        (["monitor", "--data", "d", "--dry-run"], "art/monitoring/logs"),
        (["validate", "--data", "d"], None),
        (["registry", "show"], None),
        (["synth", "--out", "x"], None),
    ],
)
def test_which_commands_write_a_log_file(argv, folder) -> None:
    path = log_file_for(build_parser().parse_args(argv), "art")
    if folder is None:
        assert path is None
    else:
        assert path.parent == Path(folder)
        assert path.name.endswith(f"-{argv[0]}.log")
