"""The morning-list page in a real browser (headless Chromium): what a planner clicks works.

The page is built by :func:`stockout_sk.scoring.render_html` from a list of known rows and opened
from disk with no network; each test drives the controls and reads the table back.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stockout_sk.scoring import LIST_COLUMNS, MorningList, render_html

pytestmark = pytest.mark.component

sync_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:  # pragma: no cover - `make test` installs it (tools/system-deps)
    pytest.skip("no Chromium on PATH", allow_module_level=True)

NAMES = [
    ("Fresh Milk 1 L", "حليب طازج 1 لتر"),
    ("Black Tea 500 g", "شاي أسود 500 غ"),
    ("<img src=x onerror=alert(1)>", ""),
    ("Dates 1 kg", "تمر 1 كغ"),
]


def _morning(n_branches: int = 3, n_items: int = 4, at_risk_every: int = 3) -> MorningList:
    rows = []
    for b in range(n_branches):
        for i in range(n_items):
            k = b * n_items + i
            name, arabic = NAMES[i % len(NAMES)]
            rows.append(
                {
                    "BranchID": f"{b + 1:03d}",
                    "BranchName": f"Branch {b + 1}",
                    "ItemCode": f"ITM{i + 1:04d}",
                    "ItemName": name,
                    "ArabicName": arabic,
                    "as_of": "2024-07-28",
                    "probability": round(0.99 * (1 - k / (n_branches * n_items)), 4),
                    "CurrentQuantity": float(10 + k),
                    "ReservedQuantity": 1.0,
                    "SafetyStockLevel": 12.0,
                    "days_of_cover": 3.0,
                    "days_to_safety_stock": float(k % 5),
                    "expected_shortfall": float((k * 7) % 23),
                    "daily_demand": 2.0,
                    "history_staleness_days": 0,
                    "reason_1": f"only {k} units above safety stock",
                    "reason_2": "deliveries to this branch are slower than usual",
                    "reason_3": "",
                }
            )
    frame = pd.DataFrame(rows)
    frame["at_risk"] = (np.arange(len(frame)) % at_risk_every == 0).astype(int)
    frame["headroom"] = frame["CurrentQuantity"] - 1 - 12
    frame["rank"] = np.arange(1, len(frame) + 1)
    frame["source"], frame["model_version"] = "registry", "3"
    frame = frame[[*LIST_COLUMNS, "reason_1", "reason_2", "reason_3", "source", "model_version"]]
    unscored = pd.DataFrame(
        {
            "BranchID": ["001", "002"],
            "ItemCode": ["", "ITM0099"],
            "ItemName": ["", "تمر"],
            "kind": ["quarantined snapshot row", "no snapshot row"],
            "reason": [
                "missing ItemCode (stock_current.csv line 23)",
                "no row in stock_current.csv",
            ],
            "line": pd.array([23, None], dtype="Int64"),
            "count": [1, 1],
        }
    )
    return MorningList(
        frame=frame,
        source="registry",
        model_name="stockout-classifier",
        version="3",
        threshold=0.5,
        horizon=7,
        fallback_reason=None,
        as_of_first="2024-07-28",
        as_of_last="2024-07-28",
        history_end="2024-07-28",
        generated_at="2024-07-29T05:30:00+00:00",
        unscored=unscored,
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as play:
        launched = play.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


def _open(browser, path: Path, hash_: str = ""):
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("dialog", lambda dialog: errors.append(f"dialog: {dialog.message}"))
    # No network: any request other than the file itself fails the test.
    page.route(
        "**/*",
        lambda route: (
            route.continue_()
            if route.request.url.startswith("file:")
            else (errors.append(f"network: {route.request.url}"), route.abort())
        ),
    )
    page.goto(path.as_uri() + hash_)
    page.wait_for_selector("body[data-ready=true]")
    return page, errors


def _table(page) -> list[list[str]]:
    return page.eval_on_selector_all(
        "#rows tr", "rows => rows.map(r => Array.from(r.cells).map(c => c.innerText))"
    )


def test_page_opens_on_the_items_at_risk_and_filters(browser, tmp_path: Path) -> None:
    morning = _morning()
    path = tmp_path / "list.html"
    path.write_text(render_html(morning), encoding="utf-8")
    page, errors = _open(browser, path)
    at_risk = morning.frame[morning.frame["at_risk"] == 1]
    rows = _table(page)
    assert len(rows) == len(at_risk)
    assert all(r[4] == "at risk" for r in rows)
    assert [int(r[0]) for r in rows] == at_risk["rank"].tolist()  # ranked, highest risk first
    assert (
        page.text_content("#shown") == f"Showing {len(at_risk)} of {len(at_risk)} matching row(s)"
    )

    page.select_option("#decision", "all")
    assert len(_table(page)) == len(morning.frame)

    page.select_option("#branch", "002")
    rows = _table(page)
    assert len(rows) == 4
    assert {r[1].split("\n")[0] for r in rows} == {"002"}
    assert "branch=002" in page.evaluate("location.hash")

    page.fill("#search", "milk")
    page.press("#search", "Enter")
    assert [r[2].split("\n")[0] for r in _table(page)] == ["ITM0001"]
    page.fill("#search", "شاي")  # Arabic search finds the Arabic name
    page.press("#search", "Enter")
    assert [r[2].split("\n")[0] for r in _table(page)] == ["ITM0002"]

    page.click("#reset")
    page.select_option("#decision", "all")
    # Words are matched against the branch and the item: "003 tea" is branch 003's tea.
    page.fill("#search", "003 TEA")
    page.press("#search", "Enter")
    found = [(r[1].split("\n")[0], r[2].split("\n")[0]) for r in _table(page)]
    assert found == [("003", "ITM0002")]
    page.fill("#search", "")
    page.press("#search", "Enter")
    page.fill("#min", "90")
    page.dispatch_event("#min", "input")
    shown = [float(r[3].rstrip("%")) for r in _table(page)]
    assert shown
    assert min(shown) >= 90
    assert errors == []
    page.close()


def test_sorting_bookmarks_names_and_the_unscored_list(browser, tmp_path: Path) -> None:
    morning = _morning()
    path = tmp_path / "list.html"
    path.write_text(render_html(morning), encoding="utf-8")
    # A bookmarked view: branch 003, every item.
    page, errors = _open(browser, path, "#branch=003&decision=all")
    assert page.input_value("#branch") == "003"
    assert {r[1].split("\n")[0] for r in _table(page)} == {"003"}

    page.click("th[data-sort=shortfall]")  # largest shortfall first
    shortfalls = [float(r[6]) for r in _table(page)]
    assert shortfalls == sorted(shortfalls, reverse=True)
    assert page.get_attribute("th[data-sort=shortfall]", "aria-sort") == "descending"
    page.click("th[data-sort=shortfall]")
    shortfalls = [float(r[6]) for r in _table(page)]
    assert shortfalls == sorted(shortfalls)

    # Arabic names are isolated and right-to-left; a name full of markup stays text.
    arabic = page.query_selector("bdi.arabic")
    assert arabic is not None
    assert arabic.get_attribute("dir") == "rtl"
    page.select_option("#branch", "")
    assert page.query_selector("#rows img") is None
    assert page.locator("#rows", has_text="<img src=x onerror=alert(1)>").count() == 1

    # What was not scored, and why.
    unscored = page.eval_on_selector_all(
        "#unscored-rows tr", "rows => rows.map(r => Array.from(r.cells).map(c => c.innerText))"
    )
    assert len(unscored) == 2
    assert unscored[0][3] == "missing ItemCode (stock_current.csv line 23)"
    assert "Not scored (2)" in page.text_content("#unscored summary")
    # The branch index counts each branch's rows, items at risk and items not scored.
    index = page.eval_on_selector_all(
        "#branch-rows tr", "rows => rows.map(r => Array.from(r.cells).map(c => c.textContent))"
    )
    assert [r[0] for r in index] == ["001", "002", "003"]
    assert [int(r[3]) for r in index] == [4, 4, 4]
    assert [int(r[4]) for r in index] == [1, 1, 0]
    assert errors == []
    page.close()


def test_a_large_list_draws_rows_as_they_are_needed(browser, tmp_path: Path) -> None:
    """5,000 rows: only the first screenful becomes table rows; more come on demand."""
    morning = _morning(n_branches=50, n_items=100, at_risk_every=1)
    path = tmp_path / "large.html"
    path.write_text(render_html(morning), encoding="utf-8")
    page, errors = _open(browser, path)
    assert "of 5,000 matching" in page.text_content("#shown")
    first = page.eval_on_selector_all("#rows tr", "rows => rows.length")
    assert 0 < first < 5000
    page.click("#more")
    assert page.eval_on_selector_all("#rows tr", "rows => rows.length") > first
    page.select_option("#branch", "050")
    assert len(_table(page)) == 100
    assert errors == []
    page.close()
