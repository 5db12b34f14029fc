"""docs/ARCHITECTURE.md tells the truth: its layers are the import-linter contract, its
"depends on" column is what the code imports, and no library module outgrows one concept."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import grimp
import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
#: A library module longer than this holds more than one concept (issue #12's bound, with slack).
MAX_MODULE_LINES = 420


def _between(marker: str) -> str:
    match = re.search(rf"<!-- {marker}: begin -->(.*?)<!-- {marker}: end -->", DOC, re.S)
    assert match, f"docs/ARCHITECTURE.md has no '{marker}' block"
    return match.group(1)


def _package(module: str) -> str:
    """``stockout_sk.registry.lifecycle`` → ``registry``; ``api.routers.x`` → ``api``."""
    parts = module.split(".")
    return parts[0] if parts[0] != "stockout_sk" else ".".join(parts[1:2])


def _documented_layers() -> list[str]:
    return re.findall(r"^\d+\. `([^`]+)`$", _between("layers"), re.M)


def _contract_layers() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    (contract,) = config["tool"]["importlinter"]["contracts"]
    return [layer.replace("stockout_sk.", "") for layer in contract["layers"]]


def _documented_dependencies() -> dict[str, set[str]]:
    rows = {}
    for line in _between("packages").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0].startswith("`"):
            continue
        name = cells[0].strip("`")
        rows[name] = {d.strip() for d in cells[2].split(",") if d.strip() not in ("", "–")}
    return rows


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("stockout_sk", "api", "flows")


def test_documented_layers_are_the_enforced_contract() -> None:
    assert _documented_layers() == _contract_layers()


def test_every_package_is_documented_with_its_real_dependencies(graph) -> None:
    actual: dict[str, set[str]] = {}
    for module in graph.modules:
        package = _package(module)
        if package in ("", "__main__"):
            continue
        for imported in graph.find_modules_directly_imported_by(module):
            other = _package(imported)
            if other not in (package, ""):
                actual.setdefault(package, set()).add(other)
        actual.setdefault(package, set())
    assert _documented_dependencies() == actual


def test_every_package_sits_in_one_layer() -> None:
    layered = [name.strip() for layer in _documented_layers() for name in re.split(r"[|:]", layer)]
    assert sorted(layered) == sorted(_documented_dependencies())


def test_library_modules_stay_small() -> None:
    sizes = {
        str(path.relative_to(ROOT)): len(path.read_text(encoding="utf-8").splitlines())
        for folder in ("stockout_sk", "api", "flows")
        for path in (ROOT / folder).rglob("*.py")
    }
    assert {path: n for path, n in sizes.items() if n > MAX_MODULE_LINES} == {}
