"""A chain cut into partitions of whole branches: every row of a branch×item in one partition.

Plain pandas, no Dask: what each partition holds and the functions a worker runs on it. A
partition holds a contiguous range of the chain's sorted branch IDs, so partitions concatenated
in order list their branch×item keys in the order one process sorts them, and the history fitted
per partition combines into the model's (:func:`stockout_sk.features.combine_parts`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from stockout_sk.contract import BRANCH_ID, DATE
from stockout_sk.ingest import ChainData, ValidationReport
from stockout_sk.labels import LabelledDataset, build_dataset

__all__ = ["ChainPart", "branch_ranges", "split_chain"]

_FROM, _TO = "FromBranchID", "ToBranchID"


@dataclass(frozen=True, eq=False)
class ChainPart:
    """The part of a chain one partition works on.

    Attributes
    ----------
    index : int
        Position of the partition (its branches sort after those of every lower index).
    branches : tuple of str
        Its branch IDs, sorted (external IDs of movements included: their flows are keyed by
        them too).
    chain : ChainData
        The snapshot rows, daily flows and branches of those IDs, with the chain's history
        bounds; ``transfers`` holds every movement into or out of them (a movement between two
        partitions is in both); no master tables, an empty report.
    """

    index: int
    branches: tuple[str, ...]
    chain: ChainData

    def labelled(self, horizon: int) -> LabelledDataset:
        """The partition's point-in-time table: :func:`stockout_sk.labels.build_dataset` as is."""
        return build_dataset(self.chain, horizon=horizon)

    def flows_until(self, last: pd.Timestamp | None) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Its flows and transfers of days up to ``last`` (all when ``None``)."""
        flows, transfers = self.chain.flows, self.chain.transfers
        if last is None:
            return flows, transfers
        return flows[flows[DATE] <= last], transfers[transfers[DATE] <= last]


def branch_ranges(branch_ids: np.ndarray, n_parts: int) -> list[np.ndarray]:
    """The sorted distinct IDs cut into at most ``n_parts`` contiguous, non-empty ranges."""
    ids = np.unique(np.asarray(branch_ids, dtype=object).astype(str))
    n_parts = max(1, min(int(n_parts), len(ids)))
    return [part for part in np.array_split(ids, n_parts) if len(part)]


def split_chain(chain: ChainData, n_parts: int) -> list[ChainPart]:
    """``chain`` cut into at most ``n_parts`` partitions of whole branches (:class:`ChainPart`).

    Every ID that keys a snapshot row or a flow row belongs to exactly one partition.
    """
    ids = np.concatenate(
        [
            chain.stock_current[BRANCH_ID].astype(str).to_numpy(),
            chain.flows[BRANCH_ID].astype(str).to_numpy(),
        ]
    )
    parts = []
    for index, members in enumerate(branch_ranges(ids, n_parts)):
        lo, hi = members[0], members[-1]

        def inside(values: pd.Series, lo: str = lo, hi: str = hi) -> np.ndarray:
            text = values.astype(str)
            return ((text >= lo) & (text <= hi)).to_numpy(dtype=bool)

        transfers = chain.transfers
        moved = inside(transfers[_FROM]) | inside(transfers[_TO])
        part = ChainData(
            stock_current=chain.stock_current[inside(chain.stock_current[BRANCH_ID])],
            flows=chain.flows[inside(chain.flows[BRANCH_ID])],
            transfers=transfers[moved],
            branches=chain.branches[inside(chain.branches[BRANCH_ID])],
            items=chain.items.iloc[:0],
            employees=chain.employees.iloc[:0],
            report=ValidationReport(),
            history_start=chain.history_start,
            history_end=chain.history_end,
        )
        parts.append(ChainPart(index=index, branches=tuple(members), chain=part))
    return parts
