"""The simulated chain: deterministic, on contract, self-consistent, and messy only on the surface.

The files are read back with plain pandas (not with ``stockout_sk.ingest``), so these tests pin
what the generator writes independently of how the project ingests it.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stockout_sk.schemas import SCHEMAS
from stockout_sk.synth import SUPPLIER_ID, WAREHOUSE_ID, SynthSummary, generate_chain
from stockout_sk.synth.generate import _run

pytestmark = pytest.mark.unit

SMALL = {"branches": 4, "items": 30, "days": 120, "seed": 3}
HORIZON = 7


def _read(path: Path) -> pd.DataFrame:
    """Every field as the exact text written (BOM dropped, nothing stripped or converted)."""
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> SynthSummary:
    return generate_chain(tmp_path_factory.mktemp("clean"), **SMALL)


@pytest.fixture(scope="module")
def messy(tmp_path_factory) -> SynthSummary:
    return generate_chain(tmp_path_factory.mktemp("messy"), **SMALL, messy=True)


@pytest.fixture(scope="module")
def tables(clean) -> dict[str, pd.DataFrame]:
    return {name: _read(path) for name, path in clean.paths.items()}


# ------------------------------------------------------------------------------ determinism


def test_same_arguments_write_the_same_bytes(clean, tmp_path):
    again = generate_chain(tmp_path, **SMALL)
    for name, path in clean.paths.items():
        assert again.paths[name].read_bytes() == path.read_bytes(), name
    assert again.to_dict() | {"out_dir": "", "paths": {}} == clean.to_dict() | {
        "out_dir": "",
        "paths": {},
    }


def test_messy_is_deterministic_too(messy, tmp_path):
    again = generate_chain(tmp_path, **SMALL, messy=True)
    for name, path in messy.paths.items():
        assert again.paths[name].read_bytes() == path.read_bytes(), name


def test_another_seed_gives_another_chain(clean, tmp_path):
    other = generate_chain(tmp_path, **(SMALL | {"seed": SMALL["seed"] + 1}))
    for name in ("sales_transactions", "stock_movement", "stock_current"):
        assert other.paths[name].read_bytes() != clean.paths[name].read_bytes(), name


# ----------------------------------------------------------------------------- the contract


def test_every_file_has_the_contract_columns_in_order(clean, tables):
    assert set(clean.paths) == set(SCHEMAS)
    for name, frame in tables.items():
        assert tuple(frame.columns) == SCHEMAS[name].columns, name
        assert len(frame) == clean.rows[name], name
    assert clean.injected == dict.fromkeys(SCHEMAS, 0)


def test_ids_are_strings_with_leading_zeros_and_externals_are_not_branches(tables):
    branches = tables["branches"]
    assert branches["BranchID"].tolist() == ["001", "002", "003", "004"]
    movement = tables["stock_movement"]
    sources = set(movement["FromBranchID"])
    assert {WAREHOUSE_ID, SUPPLIER_ID} <= sources
    assert not {WAREHOUSE_ID, SUPPLIER_ID} & set(branches["BranchID"])
    assert set(movement["ToBranchID"]) <= set(branches["BranchID"])
    assert movement["MovementID"].is_unique
    # Inter-branch transfers: both ends are branches.
    transfer = movement["FromBranchID"].isin(branches["BranchID"])
    assert transfer.any()
    assert (movement.loc[transfer, "FromBranchID"] != movement.loc[transfer, "ToBranchID"]).all()


def test_master_data_has_arabic_text_and_quoted_commas(clean, tables):
    items = tables["item_master"]
    assert items["ItemCode"].is_unique
    assert len(items) == SMALL["items"]
    assert items["ArabicName"].str.contains(r"[\u0600-\u06FF]").all()
    assert items["EnglishName"].str.match(r"^[\x20-\x7E]+$").all()
    brands = "".join(items["BrandOnBox"])
    assert "," in brands or '"' in brands
    raw = clean.paths["item_master"].read_text(encoding="utf-8")
    assert '"' in raw  # the commas above survived because the fields were quoted
    employees = tables["employees"]
    assert employees["EmployeeID"].is_unique
    assert set(employees["BranchID"]) - {""} <= set(tables["branches"]["BranchID"])
    opening = pd.to_datetime(tables["branches"]["OpeningDate"], format="%Y-%m-%d")
    assert (opening < pd.Timestamp("2024-01-01")).all()


def test_sales_are_split_into_more_lines_than_key_days(tables):
    sales = tables["sales_transactions"]
    key_days = sales[["Date", "BranchID", "ItemCode"]].drop_duplicates()
    assert len(sales) > len(key_days)
    assert not sales.duplicated(["InvoiceNumber", "ItemCode"]).any()
    assert (sales["QuantitySold"].astype(int) > 0).all()
    assert sales["InvoiceNumber"].str.startswith(tuple(tables["branches"]["BranchID"])).all()


def test_snapshot_has_one_row_per_key_and_some_late_exports(clean, tables):
    snapshot = tables["stock_current"]
    assert not snapshot.duplicated(["BranchID", "ItemCode"]).any()
    assert len(snapshot) == SMALL["branches"] * SMALL["items"]
    updated = pd.to_datetime(snapshot["LastUpdatedAt"], format="%Y-%m-%d %H:%M:%S")
    assert updated.dt.normalize().max() == pd.Timestamp(clean.end)
    assert (updated.dt.normalize() < pd.Timestamp(clean.end)).any()
    quantities = snapshot[["CurrentQuantity", "ReservedQuantity", "SafetyStockLevel"]].astype(int)
    assert (quantities >= 0).all().all()
    assert (quantities["SafetyStockLevel"] >= 1).all()
    assert (quantities["ReservedQuantity"] == 0).mean() > 0.5


# ------------------------------------------------------------------------ stock consistency


def _reconstruct(tables: dict[str, pd.DataFrame], start: str, end: str) -> pd.DataFrame:
    """End-of-day stock per key (rows) and day (columns), walked from the snapshot.

    As docs/DESIGN.md, "The label", defines it.
    """
    days = pd.date_range(start, end, freq="D")
    movement = tables["stock_movement"].assign(q=lambda f: f["QuantityMoved"].astype(float))
    sales = tables["sales_transactions"].assign(q=lambda f: f["QuantitySold"].astype(float))
    flows = pd.concat(
        [
            movement[["ToBranchID", "ItemCode", "Date", "q"]].set_axis(
                ["BranchID", "ItemCode", "Date", "net"], axis=1
            ),
            movement[["FromBranchID", "ItemCode", "Date", "q"]]
            .set_axis(["BranchID", "ItemCode", "Date", "net"], axis=1)
            .assign(net=lambda f: -f["net"]),
            sales[["BranchID", "ItemCode", "Date", "q"]]
            .set_axis(["BranchID", "ItemCode", "Date", "net"], axis=1)
            .assign(net=lambda f: -f["net"]),
        ]
    )
    net = (
        flows.assign(Date=pd.to_datetime(flows["Date"], format="%Y-%m-%d"))
        .pivot_table(index=["BranchID", "ItemCode"], columns="Date", values="net", aggfunc="sum")
        .reindex(columns=days, fill_value=0.0)
        .fillna(0.0)
    )
    snapshot = tables["stock_current"].set_index(["BranchID", "ItemCode"])
    running = net.reindex(snapshot.index, fill_value=0.0).cumsum(axis=1)
    anchor = pd.to_datetime(snapshot["LastUpdatedAt"]).dt.normalize()
    at_anchor = np.array(
        [running.at[key, day] for key, day in zip(snapshot.index, anchor, strict=True)]
    )
    current = snapshot["CurrentQuantity"].astype(float).to_numpy()
    return running.sub(at_anchor, axis=0).add(current, axis=0)


def test_stock_walked_back_from_the_snapshot_is_the_simulated_stock(clean, tables):
    stock = _reconstruct(tables, clean.start, clean.end)
    assert (stock.to_numpy() >= 0).all()
    run = _run(**SMALL, first_day=pd.Timestamp(clean.start))
    branch = np.repeat(run.chain.branch_ids, SMALL["items"])
    item = np.tile(run.chain.item_codes, SMALL["branches"])
    simulated = pd.DataFrame(
        run.sim.stock.T,
        index=pd.MultiIndex.from_arrays([branch, item], names=["BranchID", "ItemCode"]),
        columns=stock.columns,
    )
    pd.testing.assert_frame_equal(
        stock.loc[simulated.index], simulated.astype(float), check_names=False
    )


def test_summary_positive_rate_is_the_label_of_the_written_data(clean, tables):
    stock = _reconstruct(tables, clean.start, clean.end).to_numpy()
    snapshot = tables["stock_current"]
    reserved = snapshot["ReservedQuantity"].astype(float).to_numpy()[:, None]
    safety = snapshot["SafetyStockLevel"].astype(float).to_numpy()[:, None]
    n_asof = stock.shape[1] - HORIZON
    future_min = np.min([stock[:, k : k + n_asof] for k in range(1, HORIZON + 1)], axis=0)
    label = (future_min - reserved) < safety
    assert clean.label_rows == label.size
    assert clean.positive_rate == pytest.approx(label.mean(), abs=1e-12)


# -------------------------------------------------------------------------- label realism


def test_positive_rate_is_realistic_and_the_rule_does_not_solve_it(clean):
    assert 0.05 <= clean.positive_rate <= 0.25
    assert clean.rule_f1 < 0.6
    assert clean.transfers > 0


def test_positive_rate_is_realistic_at_the_defaults_shape(tmp_path):
    # Fewer items than the defaults keep the test fast; the shape of the chain is the same.
    summary = generate_chain(tmp_path, branches=10, items=40, days=365, seed=42)
    assert 0.05 <= summary.positive_rate <= 0.25
    assert summary.rule_f1 < 0.6


# ------------------------------------------------------------------------------ messy mode

_DMY = re.compile(r"^(\d{2})/(\d{2})/(\d{4})$")


def _normalised(frame: pd.DataFrame, name: str) -> Counter:
    """Rows of a messy file in the clean representation, as a multiset."""
    schema = SCHEMAS[name]
    frame = frame.apply(lambda col: col.str.strip())
    for column in schema.date_columns:
        text = frame[column]
        dmy = text.str.extract(_DMY)
        text = text.where(dmy[0].isna(), dmy[2] + "-" + dmy[1] + "-" + dmy[0])
        text = text.str.replace("/", "-", regex=False).str.replace("T", " ", regex=False)
        # Date columns are written as dates in a clean export, LastUpdatedAt as a local timestamp.
        frame[column] = text.str[:19] if column == "LastUpdatedAt" else text.str[:10]
    for column in schema.quantity_columns:
        frame[column] = frame[column].str.replace(r"\.0$", "", regex=True)
    return Counter(map(tuple, frame.to_numpy().tolist()))


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_messy_mode_only_adds_rows(clean, messy, name):
    clean_rows = _normalised(_read(clean.paths[name]), name)
    messy_rows = _normalised(_read(messy.paths[name]), name)
    assert clean_rows - messy_rows == Counter()  # every clean row is there, unchanged
    assert sum((messy_rows - clean_rows).values()) == messy.injected[name]
    assert messy.rows[name] == clean.rows[name] + messy.injected[name]


def test_messy_mode_injects_the_documented_quirks(messy):
    raw = {name: path.read_bytes() for name, path in messy.paths.items()}
    assert raw["sales_transactions"].startswith(b"\xef\xbb\xbf")
    assert raw["stock_movement"].count(b"\r\n") > messy.rows["stock_movement"]
    sales = _read(messy.paths["sales_transactions"])["Date"]
    dmy = sales.str.extract(_DMY).dropna().astype(int)
    assert (dmy[0] > 12).any()
    assert (dmy[0] <= 12).any()
    movement = _read(messy.paths["stock_movement"])
    dates = movement["Date"]
    assert dates.str.contains("T").any()
    assert dates.str.endswith("+03:00").any()
    assert dates.str.match(r"^\d{4}-\d{2}-\d{2} \d{2}:").any()
    assert dates.str.match(r"^\d{4}-\d{2}-\d{2}$").any()
    assert movement["MovementID"].duplicated().sum() >= 1
    assert (movement["ItemCode"].str.strip() == "").any()
    ids = pd.concat([movement["FromBranchID"], movement["ToBranchID"], movement["ItemCode"]])
    assert (ids != ids.str.strip()).any()  # stray whitespace
    quantities = _read(messy.paths["sales_transactions"])["QuantitySold"].str.strip()
    assert (~quantities.str.fullmatch(r"\d+(\.0)?")).sum() >= 1  # a non-numeric quantity
    assert sum(messy.injected.values()) > 0


def test_timestamps_with_an_offset_carry_the_true_wall_clock_date(clean, messy):
    clean_stamps = _read(clean.paths["stock_current"]).set_index(["BranchID", "ItemCode"])
    stamps = _read(messy.paths["stock_current"]).apply(lambda col: col.str.strip())
    stamps = stamps[stamps["LastUpdatedAt"].str.endswith("+03:00")]
    assert len(stamps)
    expected = clean_stamps.loc[
        list(zip(stamps["BranchID"], stamps["ItemCode"], strict=True)), "LastUpdatedAt"
    ]
    assert (stamps["LastUpdatedAt"].str[:10].to_numpy() == expected.str[:10].to_numpy()).all()


# ------------------------------------------------------------------------------ arguments


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"branches": 0}, ValueError),
        ({"items": -1}, ValueError),
        ({"days": 7}, ValueError),  # not longer than the horizon: no label can mature
        ({"days": 5.5}, TypeError),
        ({"seed": True}, TypeError),
        ({"start": "not a date"}, ValueError),
    ],
)
def test_bad_arguments_are_rejected_with_a_message(tmp_path, kwargs, error):
    with pytest.raises(error, match=next(iter(kwargs))):
        generate_chain(tmp_path, **(SMALL | kwargs))
