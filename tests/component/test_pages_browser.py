"""The pages people open, in a real browser: headless Chromium driven by Playwright.

* the morning list (``at_risk.html`` from ``stockout-sk score``): renders with no console error
  and no network request (it is one self-contained file), sorts by a header click, shows Arabic
  item names right to left, and stays usable at 5,000 rows (load and sort times measured);
* the monitoring report: the same self-containment, and its plots (inline PNGs) decode;
* the API's ``/docs`` and ``/redoc``: they render the OpenAPI document with every request
  outside the API's own address blocked, as on a server with no internet access.

Every request the page makes is recorded and anything that is not the page itself (or, for the
docs, the API's own origin) is aborted, so a page that needs the network fails here instead of
showing a blank screen on a planner's laptop. Screenshots go to ``artifacts/browser/`` (a CI
artifact) so that a person can look at what the assertions checked.

Chromium is Debian's ``chromium`` (``make test`` installs it as root, see ``tools/system-deps``);
Playwright's own browser download is not used. Without it these tests skip, naming the command.
Page-specific selectors are gathered in :class:`MorningListPage` so that a new page layout
changes one place.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

pytestmark = pytest.mark.component

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SCREENSHOTS = REPO / "artifacts" / "browser"
# libatomic1: the Node.js that Playwright's wheel bundles (its driver) links against it.
INSTALL_CHROMIUM = (
    "`sudo apt-get install -y --no-install-recommends chromium fonts-dejavu-core libatomic1` "
    "(or `make system-deps`)"
)
ARABIC = re.compile(r"[\u0600-\u06FF]")


def chromium_path() -> str | None:
    """Debian's chromium (``CHROMIUM`` overrides), or None."""
    for candidate in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser"):
        if candidate and (found := shutil.which(candidate)):
            return found
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium for this module.

    Not for the session: Playwright's sync API keeps an asyncio event loop running in the main
    thread while it is open, and every later test that calls ``asyncio.run`` would fail.
    """
    executable = chromium_path()
    if executable is None:
        pytest.skip(f"Chromium is not installed: {INSTALL_CHROMIUM}")
    import playwright as playwright_package
    from playwright.sync_api import sync_playwright

    # Its driver is a Node.js binary inside the wheel: a missing system library shows up here
    # as a loader error, which a skip names (it would otherwise read "connection closed").
    node = os.environ.get("PLAYWRIGHT_NODEJS_PATH") or str(
        Path(playwright_package.__file__).parent / "driver" / "node"
    )
    probe = subprocess.run(
        [node, "--version"], capture_output=True, text=True, timeout=60, check=False
    )
    if probe.returncode != 0:
        pytest.skip(
            f"Playwright's driver cannot start ({probe.stderr.strip()}): {INSTALL_CHROMIUM}"
        )

    with sync_playwright() as playwright:
        # --no-sandbox: Chromium's sandbox cannot start as root (CI runs as root).
        chromium = playwright.chromium.launch(
            executable_path=executable, headless=True, args=["--no-sandbox"]
        )
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class Visit:
    """What one page did: every request it made, console errors, uncaught exceptions."""

    page: Any
    requests: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def assert_clean(self) -> None:
        assert self.blocked == [], f"the page reached outside: {self.blocked}"
        assert self.errors == [], f"console errors: {self.errors}"


@pytest.fixture
def visit(browser: Any) -> Iterator[Callable[..., Visit]]:
    """Factory: ``visit(url, allowed=...)`` opens ``url`` with only ``allowed`` URLs reachable.

    ``allowed(url) -> bool`` defaults to "this very file". Everything else is aborted and listed
    in ``Visit.blocked``.
    """
    contexts = []

    def open_(url: str, allowed: Callable[[str], bool] | None = None, **context_args) -> Visit:
        context = browser.new_context(**context_args)
        contexts.append(context)
        page = context.new_page()
        seen = Visit(page)
        permit = allowed or (lambda requested: requested == url)

        def route(route_: Any) -> None:
            requested = route_.request.url
            seen.requests.append(requested)
            if permit(requested):
                route_.continue_()
            else:
                seen.blocked.append(requested)
                route_.abort()

        context.route("**/*", route)
        page.on(
            "console",
            lambda message: seen.errors.append(message.text) if message.type == "error" else None,
        )
        page.on("pageerror", lambda error: seen.errors.append(f"uncaught: {error}"))
        page.goto(url, wait_until="load")
        return seen

    yield open_
    for context in contexts:
        context.close()


def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    assert path.stat().st_size > 1000, path
    return path


# --------------------------------------------------------------------------------------------------
# The morning list
# --------------------------------------------------------------------------------------------------


class MorningListPage:
    """Where things are on the morning list page (one place to change with its layout)."""

    ROWS = "table tbody tr"
    HEADERS = "table thead th"
    FILTER = "input[type=search], input[data-filter], #filter"

    def __init__(self, page: Any) -> None:
        self.page = page

    def header(self, title: str) -> Any:
        return self.page.locator(self.HEADERS, has_text=title).first

    def column_values(self, title: str) -> list[str]:
        """The ``data-v`` sort keys of the visible rows in one column, top to bottom."""
        index = self.page.locator(self.HEADERS).all_inner_texts().index(title)
        return self.page.eval_on_selector_all(
            self.ROWS,
            "(rows, i) => rows.filter(r => r.offsetParent !== null)"
            ".map(r => r.cells[i].getAttribute('data-v'))",
            index,
        )

    def visible_rows(self) -> int:
        return self.page.eval_on_selector_all(
            self.ROWS, "rows => rows.filter(r => r.offsetParent !== null).length"
        )


def _numbers(values: list[str]) -> list[float]:
    return [float(v) for v in values]


@pytest.fixture(scope="module")
def morning_list(serving_store: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``stockout-sk score`` on the serving chain, a third of the items known by Arabic name only
    (real item masters have such rows): the CLI as a planner's job runs it."""
    data = tmp_path_factory.mktemp("browser-chain") / "chain"
    shutil.copytree(serving_store.chain_dir, data)
    items = pd.read_csv(data / "item_master.csv", dtype=str, keep_default_na=False)
    items.loc[items.index % 3 == 0, "EnglishName"] = ""
    items.to_csv(data / "item_master.csv", index=False)
    out = data.parent / "morning" / "at_risk.csv"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "STOCKOUT_"))},
        "MLFLOW_TRACKING_URI": serving_store.tracking_uri,
    }
    done = subprocess.run(
        [str(BIN / "stockout-sk"), "score", "--data", str(data), "--out", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return out.with_suffix(".html")


def test_morning_list_is_self_contained_and_sorts(
    morning_list: Path, visit: Callable[..., Visit]
) -> None:
    frame = pd.read_csv(morning_list.with_suffix(".csv"), dtype=str)
    seen = visit(morning_list.as_uri(), viewport={"width": 1400, "height": 900})
    page = MorningListPage(seen.page)
    assert page.visible_rows() == len(frame)
    assert seen.requests == [morning_list.as_uri()], "one file, nothing else loaded"
    # As written: ranked by probability, highest first.
    assert _numbers(page.column_values("Probability")) == sorted(
        _numbers(page.column_values("Probability")), reverse=True
    )
    screenshot(seen.page, "morning_list")

    page.header("Probability").click()
    ascending = _numbers(page.column_values("Probability"))
    assert ascending == sorted(ascending)
    page.header("Probability").click()
    descending = _numbers(page.column_values("Probability"))
    assert descending == sorted(descending, reverse=True)
    page.header("Days of cover").click()
    cover = _numbers(page.column_values("Days of cover"))
    assert cover == sorted(cover)
    page.header("Branch").click()
    branches = page.column_values("Branch")
    assert branches == sorted(branches)
    assert page.visible_rows() == len(frame), "sorting keeps every row"
    screenshot(seen.page, "morning_list_sorted_by_branch")
    seen.assert_clean()


def test_morning_list_filters(morning_list: Path, visit: Callable[..., Visit]) -> None:
    seen = visit(morning_list.as_uri())
    filter_box = seen.page.locator(MorningListPage.FILTER)
    if filter_box.count() == 0:
        pytest.xfail("the morning list has no filter box yet (the page's redesign adds one)")
    page = MorningListPage(seen.page)
    total = page.visible_rows()
    branch = page.column_values("Branch")[-1]
    filter_box.first.fill(branch)
    shown = page.column_values("Branch")
    assert 0 < len(shown) < total
    assert set(shown) == {branch}
    filter_box.first.fill("")
    assert page.visible_rows() == total
    seen.assert_clean()


def test_arabic_item_names_render_right_to_left(
    morning_list: Path, visit: Callable[..., Visit]
) -> None:
    seen = visit(morning_list.as_uri(), viewport={"width": 1400, "height": 900})
    names = seen.page.eval_on_selector_all(
        "table tbody [dir]",
        """els => els.map(el => {
            const text = el.firstChild;
            const range = document.createRange();
            const span = (i) => { range.setStart(text, i); range.setEnd(text, i + 1);
                                  return range.getBoundingClientRect(); };
            const n = text ? text.length : 0;
            return {text: el.textContent, direction: getComputedStyle(el).direction,
                    first: n ? span(0).left : null, last: n ? span(n - 1).left : null,
                    width: el.getBoundingClientRect().width};
        })""",
    )
    arabic = [n for n in names if ARABIC.match(n["text"].strip() or "-")]
    latin = [n for n in names if n["text"].strip() and not ARABIC.search(n["text"])]
    assert arabic, "no Arabic-only item name on the page: the fixture blanks English names"
    for name in arabic:
        assert name["direction"] == "rtl", name
        assert name["width"] > 0, name
        # Right to left: the first letter is drawn to the right of the last one.
        assert name["first"] > name["last"], name
    for name in latin:
        assert name["direction"] == "ltr", name
    row = seen.page.locator("table tbody tr", has=seen.page.locator("[dir]", has_text=ARABIC))
    row.first.scroll_into_view_if_needed()
    screenshot(seen.page, "morning_list_arabic")
    seen.assert_clean()


def test_a_5000_row_list_stays_usable(
    morning_list: Path, visit: Callable[..., Visit], tmp_path: Path
) -> None:
    """The page code at 5,000 rows: load and a sort are timed, and asserted loosely."""
    from stockout_sk.scoring import MorningList, render_html

    small = pd.read_csv(morning_list.with_suffix(".csv"), dtype={"BranchID": str, "ItemCode": str})
    text_columns = small.select_dtypes(include=["object", "string"]).columns
    small[text_columns] = small[text_columns].fillna("")
    copies = -(-5000 // len(small))
    big = pd.concat(
        [small.assign(BranchID=small["BranchID"] + f"-{i}") for i in range(copies)],
        ignore_index=True,
    ).head(5000)
    big = big.sort_values("probability", ascending=False, kind="stable", ignore_index=True)
    big["rank"] = range(1, len(big) + 1)
    fields = {f.name: None for f in dataclasses.fields(MorningList)}
    morning = MorningList(
        **{
            **fields,
            "frame": big,
            "source": "registry",
            "model_name": "stockout-classifier",
            "version": "1",
            "threshold": 0.5,
            "horizon": 7,
            "as_of_first": str(big["as_of"].min()),
            "as_of_last": str(big["as_of"].max()),
            "generated_at": "2024-05-01T06:00:00Z",
        }
    )
    page_path = tmp_path / "at_risk_5000.html"
    page_path.write_text(render_html(morning, max_rows=len(big)), encoding="utf-8")

    start = time.perf_counter()
    seen = visit(page_path.as_uri(), viewport={"width": 1400, "height": 900})
    loaded = time.perf_counter() - start
    page = MorningListPage(seen.page)
    assert page.visible_rows() == 5000
    # The click's handler sorts the rows synchronously: the click returns once they are moved.
    start = time.perf_counter()
    page.header("Days of cover").click()
    sorted_in = time.perf_counter() - start
    cover = _numbers(page.column_values("Days of cover"))
    assert cover == sorted(cover)
    timing = seen.page.evaluate(
        "() => { const t = performance.getEntriesByType('navigation')[0];"
        " return {interactive: t.domInteractive, loaded: t.loadEventEnd}; }"
    )
    measured = {
        "rows": 5000,
        "dom_interactive_ms": round(timing["interactive"]),
        "load_event_ms": round(timing["loaded"]),
        "goto_s": round(loaded, 2),
        "sort_click_s": round(sorted_in, 2),
        "load_average": os.getloadavg()[0],
    }
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / "morning_list_5000_rows.json").write_text(json.dumps(measured, indent=2))
    print(f"5,000-row morning list: {measured}")
    # Loose bounds (a shared 2-core machine): a person would give up well before these.
    assert timing["interactive"] < 10_000, timing
    assert loaded < 20, loaded
    assert sorted_in < 15, sorted_in
    screenshot(seen.page, "morning_list_5000_rows")
    seen.assert_clean()


# --------------------------------------------------------------------------------------------------
# The monitoring report
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def monitoring_report(serving_store: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A dry-run monitoring report on the serving chain's next 40 days (changes nothing)."""
    from stockout_sk.monitoring import run_cme
    from stockout_sk.synth import generate_chain

    root = tmp_path_factory.mktemp("browser-monitoring")
    generate_chain(root / "later", branches=3, items=15, days=40, seed=3, start="2024-04-30")
    settings = dataclasses.replace(
        serving_store.registry_settings(), artifacts_dir=root / "artifacts"
    )
    report = run_cme(root / "later", settings=settings, dry_run=True, out_dir=root / "report")
    return report.report_path


def test_monitoring_report_is_self_contained_and_its_plots_decode(
    monitoring_report: Path, visit: Callable[..., Visit]
) -> None:
    seen = visit(monitoring_report.as_uri(), viewport={"width": 1300, "height": 1000})
    images = seen.page.eval_on_selector_all(
        "img", "imgs => imgs.map(i => ({src: i.src.slice(0, 22), w: i.naturalWidth}))"
    )
    assert len(images) == 3, images
    for image in images:
        assert image["src"].startswith("data:image/png;base64"), image
        assert image["w"] > 100, image
    assert seen.page.locator("table").count() >= 1
    assert seen.requests[0] == monitoring_report.as_uri()
    assert all(url.startswith("data:") for url in seen.requests[1:]), seen.requests
    screenshot(seen.page, "monitoring_report")
    seen.assert_clean()


# --------------------------------------------------------------------------------------------------
# /docs and /redoc with no network
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def api_url(serving_store: Any, run_api: Any) -> Iterator[str]:
    with run_api(serving_store.serving_settings()) as url:
        yield url


@pytest.mark.parametrize(
    ("path", "rendered"),
    [
        ("/docs", ".swagger-ui .opblock-summary-path"),
        ("/redoc", "[role=menuitem], .menu-content li"),
    ],
)
def test_api_docs_work_offline(
    api_url: str, visit: Callable[..., Visit], path: str, rendered: str
) -> None:
    seen = visit(
        f"{api_url}{path}",
        allowed=lambda url: url.startswith(f"{api_url}/") or url.startswith("data:"),
        viewport={"width": 1300, "height": 900},
    )
    seen.page.wait_for_selector(rendered, timeout=30_000)
    text = seen.page.inner_text("body")
    assert "stockout-sk" in text
    for endpoint in ("/predict", "/predict/batch", "/health", "/ready", "/model"):
        assert endpoint in text, endpoint
    assert f"{api_url}/openapi.json" in seen.requests
    screenshot(seen.page, f"api{path.replace('/', '_')}")
    seen.assert_clean()
