"""The carried history's running sums: int16 where whole numbers fit, the same features."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.unit

from stockout_sk.features._history_arrays import carried_tail, running_sum  # noqa: E402
from stockout_sk.features.history import HistoryFeatures  # noqa: E402
from stockout_sk.ingest import load_chain  # noqa: E402
from stockout_sk.labels import build_dataset  # noqa: E402


def test_whole_numbers_that_fit_are_kept_as_int16_and_the_rest_as_float32() -> None:
    daily = np.array([[3.0, 0.0, 5.0, 2.0], [1.0, 1.0, 0.0, 4.0]])
    cum = running_sum(daily)
    tail = carried_tail(cum, first=1, small_ints=True)
    assert tail.dtype == np.int16
    assert np.array_equal(tail, carried_tail(cum, first=1).astype(np.int16))
    assert carried_tail(cum, first=1).dtype == np.float32  # only when asked
    assert carried_tail(running_sum(daily + 0.5), first=1, small_ints=True).dtype == np.float32
    # A row spanning more than int16 holds: a window's difference could overflow.
    big = running_sum(np.array([[30_000.0, -60_000.0]]))
    assert carried_tail(big, first=0, small_ints=True).dtype == np.float32


def test_int16_running_sums_give_bit_identical_features() -> None:
    chain = load_chain("sample_data")
    X = build_dataset(chain).frame.drop(columns="label").sample(3_000, random_state=0)
    compact = HistoryFeatures().fit(X, flows=chain.flows, transfers=chain.transfers)
    assert compact.cum_sold_.dtype == np.int16
    assert compact.cum_inflow_days_.dtype == np.int16
    wide = HistoryFeatures().fit(X, flows=chain.flows, transfers=chain.transfers)
    for name in ("cum_inflow_", "cum_outflow_", "cum_sold_", "cum_inflow_days_"):
        setattr(wide, name, getattr(wide, name).astype(np.float32))  # as models before
    a, b = compact.transform(X), wide.transform(X)
    for name in a:
        left, right = np.asarray(a[name]), np.asarray(b[name])
        assert np.array_equal(left, right, equal_nan=left.dtype.kind == "f"), name
    assert isinstance(pd.DataFrame(dict(a)), pd.DataFrame)
