"""The dominant transfer partners of each branch×item: ``FromBranchID`` and ``ToBranchID``.

The dominant source of a branch×item as of day t is the branch that moved the most of that item
into it up to t (its destination, out of it). Fitting keeps only the change points — the
(key, day) codes where the leader changes, sorted — and a request finds the latest one at or
before its day.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from stockout_sk.contract import DATE, ITEM_CODE
from stockout_sk.features._history_arrays import State, join_keys
from stockout_sk.features.calendar import to_day_numbers

NO_PARTNER = "<none>"
#: Output column → prefix of the fitted attributes (``<prefix>_index_``, ``<prefix>_ids_``).
PARTNER_COLUMNS: tuple[tuple[str, str], ...] = (
    ("FromBranchID", "dominant_from"),
    ("ToBranchID", "dominant_to"),
)
# Composite (key, day) codes of the change points (day numbers < 2**24).
_DAY_BITS = 24


def fit_partners(
    transfers: pd.DataFrame, keys: np.ndarray
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Change points of the dominant source (into b) and destination (out of b) per key.

    The dominant partner as of day t is the one with the largest cumulative quantity moved up
    to t (earliest to reach it wins ties). Cumulative totals only grow, so it changes only on
    days when the partner moving that day reaches the running maximum.

    Returns
    -------
    dict
        ``"dominant_from"`` / ``"dominant_to"`` → ``(codes, partner IDs)``: the (row of ``keys``,
        day) codes of the change points, sorted, and the partner that leads from each on.
    """
    days = to_day_numbers(transfers[DATE])
    qty = transfers["QuantityMoved"].to_numpy(dtype=np.float64)
    frame = pd.DataFrame(
        {
            "day": days,
            "from": transfers["FromBranchID"].astype(str).to_numpy(),
            "to": transfers["ToBranchID"].astype(str).to_numpy(),
            "item": transfers[ITEM_CODE].astype(str).to_numpy(),
            "qty": qty,
        }
    ).dropna(subset=["day"])
    partners = {}
    for side, partner, attr in (("to", "from", "dominant_from"), ("from", "to", "dominant_to")):
        side_keys = join_keys(frame[side], frame["item"])
        k = np.searchsorted(keys, side_keys)
        k = np.clip(k, 0, max(len(keys) - 1, 0))
        known = (keys[k] == side_keys) if len(keys) else np.zeros(len(side_keys), bool)
        part = pd.DataFrame(
            {
                "k": k[known],
                "day": frame["day"].to_numpy()[known].astype(np.int64),
                "partner": frame[partner].to_numpy()[known],
                "qty": frame["qty"].to_numpy()[known],
            }
        )
        part = part.groupby(["k", "day", "partner"], sort=True, as_index=False)["qty"].sum()
        part["cum"] = part.groupby(["k", "partner"], sort=False)["qty"].cumsum()
        # Per key and day: the partner with the largest running total after that day.
        part = part.sort_values(["k", "day", "cum"], ascending=[True, True, False], kind="stable")
        daily = part.drop_duplicates(["k", "day"], keep="first").reset_index(drop=True)
        before = daily.groupby("k", sort=False)["cum"].cummax()
        before = before.groupby(daily["k"], sort=False).shift(1).fillna(-np.inf)
        # It leads from that day on only if it beats every earlier total (earliest wins ties).
        leader = daily[daily["cum"].to_numpy() > before.to_numpy()]
        changed = (leader["k"] != leader["k"].shift()) | (
            leader["partner"] != leader["partner"].shift()
        )
        leader = leader[changed.to_numpy()]
        code = (leader["k"].to_numpy(np.int64) << _DAY_BITS) + leader["day"].to_numpy(np.int64)
        partners[attr] = (code, leader["partner"].to_numpy().astype(str))
    return partners


def carried_partners(
    partners: dict[str, tuple[np.ndarray, np.ndarray]], tail_start: int
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The change points a tail starting on day ``tail_start`` needs.

    Before the tail only the last change point of each key matters: it says who leads on the
    tail's first day.
    """
    carried = {}
    for attr, (code, ids) in partners.items():
        day = code & ((1 << _DAY_BITS) - 1)
        key = code >> _DAY_BITS
        next_key = np.append(key[1:], -1)
        next_day = np.append(day[1:], np.iinfo(np.int64).max)
        keep_mask = (day >= tail_start) | (next_key != key) | (next_day >= tail_start)
        carried[attr] = (code[keep_mask], ids[keep_mask])
    return carried


def partner(
    state: State, attr: str, k, usable, t, j, *, dense_cells: int
) -> tuple[np.ndarray, np.ndarray]:
    """``(codes, vocabulary)``: the partner of each row's key as of its day ``t`` (column ``j``
    of the state), as a code into the distinct partner IDs (objects).

    ``NO_PARTNER`` before the key's first move and for rows that are not ``usable`` (unseen key,
    date outside the history). A history of up to ``dense_cells`` key-days answers from a dense
    key × day table (one gather); a longer one searches the change points.
    """
    code, _ = state.partners[attr]
    of_change_point, vocabulary, none = state.derived(
        f"{attr}_vocabulary", lambda: _partner_vocabulary(state.partners[attr])
    )
    if len(code) == 0:
        return np.full(len(k), none, dtype=np.int64), vocabulary
    n_keys, n_days = state.cum_sold.shape[0], state.n_days
    if n_keys * n_days <= dense_cells:
        table = state.derived(
            f"{attr}_table",
            lambda: _partner_table(code, of_change_point, none, state.start, n_keys, n_days),
        )
        found = table.reshape(-1).take(k * n_days + j).astype(np.int64)
        return np.where(usable, found, none), vocabulary
    query = (k.astype(np.int64) << _DAY_BITS) + t
    pos = np.searchsorted(code, query, side="right") - 1
    pos_safe = np.minimum(np.maximum(pos, 0), len(code) - 1)
    hit = usable & (pos >= 0) & ((code[pos_safe] >> _DAY_BITS) == k)
    return np.where(hit, of_change_point.take(pos_safe), none), vocabulary


def _partner_vocabulary(change_points) -> tuple[np.ndarray, np.ndarray, int]:
    """``(vocabulary code of each change point, vocabulary as objects, code of NO_PARTNER)``."""
    _, ids = change_points
    vocabulary, inverse = np.unique(np.append(ids.astype(str), NO_PARTNER), return_inverse=True)
    inverse = inverse.reshape(-1).astype(np.int64)
    return inverse[:-1], vocabulary.astype(object), int(inverse[-1])


def _partner_table(code, of_change_point, none, start, n_keys, n_days) -> np.ndarray:
    """Vocabulary code of each key's partner on each day ``start … start + n_days - 1``.

    The latest change point at or before each day: change points are sorted by (key, day), so
    the latest is the one with the largest index — a running maximum along the days.
    """
    key = code >> _DAY_BITS
    col = np.maximum((code & ((1 << _DAY_BITS) - 1)) - start, 0)  # earlier ones count from day 0
    keep = col < n_days
    latest = np.full((n_keys, n_days), -1, dtype=np.int32)
    np.maximum.at(latest, (key[keep], col[keep]), np.flatnonzero(keep).astype(np.int32))
    np.maximum.accumulate(latest, axis=1, out=latest)
    return np.where(latest >= 0, of_change_point[latest], none).astype(np.int32)
