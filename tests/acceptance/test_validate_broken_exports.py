"""``stockout-sk validate`` on broken copies of ``sample_data/``, as a user runs it (#16, #17).

The sample's exports broken the way real ones are: a year typed wrong, a first row with an
extra field, an unbalanced quote, a stray byte, a semicolon export, the item master in cp1256.
``validate`` must say what it did with each, never call such data usable, keep one meaning of
"ok" (the exit code, ``usable`` and the JSON's ``ok`` agree), and always write its report.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pathlib import Path

    from conftest import Workspace

pytestmark = pytest.mark.acceptance


def _broken_copy(workspace: Workspace, name: str) -> Path:
    out = workspace.path / name
    shutil.copytree(workspace.path / "sample_data", out)
    return out


def _report(workspace: Workspace, out: str) -> dict:
    return json.loads((workspace.path / out / "validation_report.json").read_text("utf-8"))


def test_validate_refuses_broken_dates_and_accounts_for_every_line(workspace: Workspace) -> None:
    data = _broken_copy(workspace, "broken-dates")
    sales = data / "sales_transactions.csv"
    lines = sales.read_text("utf-8").splitlines(keepends=True)
    iso = [i for i, line in enumerate(lines) if line.startswith("2024-0")]
    for i in iso[100:2600:50]:  # 50 sales typed 2031
        lines[i] = "2031" + lines[i][4:]
    lines[1] = lines[1].rstrip("\n") + ",EXTRA\n"  # the first data row has a field too many
    lines[300] = lines[300].rstrip("\n")[:-1] + '"1\n'  # an unbalanced quote
    raw = "".join(lines).encode("utf-8").split(b"\n")
    raw[3000] = raw[3000].replace(b"2024", b"2024\xe9", 1)  # one stray byte
    sales.write_bytes(b"\n".join(raw))

    out = "artifacts/validate-broken-dates"
    result = workspace.run("validate", "--data", data.name, "--out", out, "--json", check=False)
    payload = result.json()
    assert result.returncode == 1, result.tail()
    assert payload["ok"] is payload["usable"] is False
    assert _report(workspace, out)["ok"] is False
    assert "NOT USABLE for training" in result.stdout
    assert "lie after today" in result.stdout
    assert payload["history_end"] == "2024-07-28"  # the typo did not stretch the history
    rep = payload["files"]["sales_transactions.csv"]
    assert rep["read"] == rep["accepted"] + rep["rejected"]
    assert rep["lines"] == len(lines)
    with (workspace.path / out / "rejects" / "sales_transactions.csv").open(encoding="utf-8") as f:
        by_line = {int(row["line"]): row for row in csv.DictReader(f)}
    assert by_line[2]["reason"] == "malformed line: expected 7 fields, saw 8"
    assert by_line[2]["raw"] == lines[1].rstrip("\n").lstrip("\ufeff")
    assert by_line[301]["reason"].startswith("unbalanced quote")
    assert by_line[3001]["reason"] == "not valid UTF-8"
    future = [r for r in by_line.values() if r["reason"].startswith("Date after today")]
    assert len(future) == 50


def test_validate_writes_its_report_on_a_fatal_error_and_reads_real_formats(
    workspace: Workspace,
) -> None:
    data = _broken_copy(workspace, "broken-formats")
    items = (data / "item_master.csv").read_text("utf-8-sig")
    (data / "item_master.csv").write_bytes(items.encode("cp1256"))
    rows = list(csv.reader(io.StringIO((data / "sales_transactions.csv").read_text("utf-8-sig"))))
    text = io.StringIO()
    csv.writer(text, delimiter=";", lineterminator="\n").writerows(rows)
    (data / "sales_transactions.csv").write_text(text.getvalue(), "utf-8")

    out = "artifacts/validate-broken-formats"
    result = workspace.run("validate", "--data", data.name, "--out", out, "--json", check=False)
    assert result.returncode == 1, result.tail()
    payload = result.json()
    assert payload["ok"] is payload["usable"] is False
    assert "cp1256 (Arabic Windows)" in payload["error"]
    assert "--encoding cp1256" in result.stderr
    assert _report(workspace, out)["error"] == payload["error"]

    result = workspace.run(
        "validate", "--data", data.name, "--out", out, "--encoding", "cp1256", "--json"
    )
    payload = result.json()
    assert payload["ok"] is payload["usable"] is True
    assert payload["files"]["item_master.csv"]["encoding"] == "cp1256"
    assert payload["files"]["sales_transactions.csv"]["delimiter"] == ";"
    assert _report(workspace, out)["ok"] is True


def test_validate_calls_an_empty_sales_file_not_usable(workspace: Workspace) -> None:
    data = _broken_copy(workspace, "broken-empty-sales")
    sales = data / "sales_transactions.csv"
    sales.write_text(sales.read_text("utf-8").splitlines(keepends=True)[0], "utf-8")
    result = workspace.run("validate", "--data", data.name, "--json", check=False)
    assert result.returncode == 1, result.tail()
    payload = result.json()
    assert payload["ok"] is payload["usable"] is False
    (blocking,) = [f for f in payload["findings"] if f["blocking"]]
    assert blocking["code"] == "empty_sales_transactions"
    assert "training will fail or lie" in result.stdout
