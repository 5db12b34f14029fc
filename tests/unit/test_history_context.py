"""HistoryFeatures fitted one partition of branches at a time equals one fit on the whole chain."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.unit

from stockout_sk.features import chain_context, combine_parts  # noqa: E402
from stockout_sk.features.calendar import to_day_numbers  # noqa: E402
from stockout_sk.features.history import HistoryFeatures  # noqa: E402
from stockout_sk.ingest import load_chain  # noqa: E402
from stockout_sk.labels import build_dataset  # noqa: E402


@pytest.fixture(scope="module")
def chain_rows():
    chain = load_chain("sample_data")
    return chain, build_dataset(chain).frame.drop(columns="label")


def _same(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return np.array_equal(a, b, equal_nan=a.dtype.kind == "f")


def _context(chain, X):
    flows = chain.flows
    days = np.concatenate([to_day_numbers(flows["Date"]), to_day_numbers(X["Date"])])
    start, last = int(np.nanmin(days)), int(np.nanmax(days))
    return chain_context(
        flows.groupby("Date")["inflow"].sum(),
        flows.groupby(["ItemCode", "Date"], as_index=False)["sold"].sum(),
        np.concatenate([flows["ItemCode"].unique(), X["ItemCode"].unique()]),
        start=start,
        n_days=last - start + 1,
    )


def _parts(chain, X, n):
    ids = np.unique(np.r_[chain.flows["BranchID"].astype(str), X["BranchID"].astype(str)])
    for group in np.array_split(ids, n):
        members = set(group)
        moved = chain.transfers["FromBranchID"].isin(members) | chain.transfers["ToBranchID"].isin(
            members
        )
        yield (
            X[X["BranchID"].isin(members)],
            chain.flows[chain.flows["BranchID"].isin(members)],
            chain.transfers[moved],
        )


def test_parts_fitted_with_the_chain_context_combine_into_the_whole_fit(chain_rows) -> None:
    chain, X = chain_rows
    whole = HistoryFeatures()
    expected = whole.fit_transform(X, flows=chain.flows, transfers=chain.transfers)
    context = _context(chain, X)
    parts, position = [], {label: i for i, label in enumerate(X.index)}
    for rows, flows, transfers in _parts(chain, X, 3):
        part = HistoryFeatures()
        got = part.fit_transform(rows, flows=flows, transfers=transfers, chain_context=context)
        where = np.array([position[i] for i in rows.index], dtype=int)
        for name in got:
            assert _same(got[name], np.asarray(expected[name])[where]), name
        parts.append(part)
    combined = combine_parts(parts)
    for name, value in vars(whole).items():
        if not name.startswith("_"):
            assert np.array_equal(np.asarray(value), np.asarray(getattr(combined, name))), name
    sample = X.sample(500, random_state=0)
    a, b = whole.transform(sample), combined.transform(sample)
    for name in a:
        assert _same(a[name], b[name]), name


def test_without_the_context_a_part_reads_its_own_chain_sums(chain_rows) -> None:
    chain, X = chain_rows
    rows, flows, transfers = next(_parts(chain, X, 3))
    alone = HistoryFeatures().fit(rows, flows=flows, transfers=transfers)
    whole = HistoryFeatures().fit(X, flows=chain.flows, transfers=chain.transfers)
    assert not np.array_equal(alone.cum_chain_inflow_, whole.cum_chain_inflow_)


def test_parts_out_of_order_or_outside_the_context_are_refused(chain_rows) -> None:
    chain, X = chain_rows
    context = _context(chain, X)
    parts = [
        HistoryFeatures().fit(r, flows=f, transfers=t, chain_context=context)
        for r, f, t in _parts(chain, X, 2)
    ]
    with pytest.raises(ValueError, match="do not all sort after"):
        combine_parts(parts[::-1])
    short = chain_context(
        chain.flows.groupby("Date")["inflow"].sum().iloc[:0],
        chain.flows.iloc[:0][["ItemCode", "Date", "sold"]],
        X["ItemCode"].unique(),
        start=context.start + 30,
        n_days=10,
    )
    rows, flows, transfers = next(_parts(chain, X, 2))
    with pytest.raises(ValueError, match="outside the chain context"):
        HistoryFeatures().fit(rows, flows=flows, transfers=transfers, chain_context=short)
