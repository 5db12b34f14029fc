"""The labelled table on a Dask cluster: partitions of whole branches, labelled on the workers.

:func:`prepare_on_cluster` cuts the chain into partitions of whole branches and builds each
partition's labelled table on the workers (``labels.build_dataset`` as is); the tables are
gathered in the order one process writes them and split by time on the client, exactly as
:func:`stockout_sk.training.prepare` splits them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
from distributed import Client, Future

from stockout_sk.config import ModelConfig
from stockout_sk.contract import DATE, ITEM_CODE, LABEL
from stockout_sk.distributed.parts import ChainPart, split_chain
from stockout_sk.features import ChainContext, chain_context
from stockout_sk.features.calendar import to_day_numbers
from stockout_sk.ingest import ChainData
from stockout_sk.labels import LabelledDataset
from stockout_sk.training import Prepared, split_dataset

__all__ = ["KEYS_PER_PARTITION", "ChainOnCluster", "default_parts", "prepare_on_cluster"]

logger = logging.getLogger(__name__)

#: Branch×item keys per partition by default: the label panel and the history of a partition
#: (keys × days float64 arrays) then stay in the hundreds of MB on a year of history.
KEYS_PER_PARTITION = 5_000


@dataclass(eq=False)
class ChainOnCluster:
    """The partitions of a chain and their labelled tables, held by the workers."""

    parts: list[Future]
    labelled: list[Future]
    n_parts: int


def _labelled(part: ChainPart, horizon: int) -> LabelledDataset:
    return part.labelled(horizon)


def _frame(dataset: LabelledDataset) -> pd.DataFrame:
    return dataset.frame


def default_parts(chain: ChainData, client: Client) -> int:
    """Partitions for ``chain``: about :data:`KEYS_PER_PARTITION` keys each, two per worker at
    least (so a slow worker does not hold everyone up)."""
    workers = len(client.scheduler_info(n_workers=-1)["workers"])
    by_keys = -(-len(chain.stock_current) // KEYS_PER_PARTITION)
    return max(2 * workers, by_keys, 1)


def prepare_on_cluster(
    client: Client, chain: ChainData, config: ModelConfig, *, n_parts: int | None = None
) -> tuple[Prepared, ChainOnCluster]:
    """Labelled table per partition on the workers, gathered and split by time.

    Returns
    -------
    (Prepared, ChainOnCluster)
        The table and its split, identical to :func:`stockout_sk.training.prepare`'s; and the
        partitions with their tables, kept on the workers for :func:`fit_on_cluster`.
    """
    n_parts = n_parts or default_parts(chain, client)
    parts = client.scatter(split_chain(chain, n_parts))
    datasets = client.map(_labelled, parts, horizon=config.horizon, pure=False)
    labelled = client.map(_frame, datasets, pure=False)
    gathered = client.gather(datasets)
    # Each partition's rows are in (Date, BranchID, ItemCode) order and partitions follow the
    # branch order: a stable sort on Date alone gives one process's order.
    # A partition of external IDs only (a warehouse) has no snapshot row, hence no labelled row.
    frames = [d.frame for d in gathered if len(d.frame)] or [gathered[0].frame]
    frame = pd.concat(frames, ignore_index=True)
    frame = frame.sort_values(DATE, kind="stable", ignore_index=True)
    dataset = LabelledDataset(
        frame=frame, horizon=config.horizon, report=_merged_report(gathered, frame)
    )
    for future in datasets:
        future.release()
    logger.info("labelled %d rows in %d partitions on the cluster", len(frame), len(parts))
    prepared = split_dataset(dataset, chain, config)
    return prepared, ChainOnCluster(parts, labelled, len(parts))


def _merged_report(parts: list[LabelledDataset], frame: pd.DataFrame) -> dict:
    """The report one process writes, from the partitions' reports."""
    reports = [p.report for p in parts]
    first = max(reports, key=lambda r: r["asof_days"])
    summed = ("keys", "negative_stock_cells", "negative_stock_keys", "flow_rows_outside_snapshot")
    report = dict(first)
    report.update({key: int(sum(r[key] for r in reports)) for key in summed})
    report["rows"] = len(frame)
    report["positive_rate"] = float(frame[LABEL].mean()) if len(frame) else 0.0
    return report


def _context(chain: ChainData, rows: pd.DataFrame, until: pd.Timestamp | None) -> ChainContext:
    """The chain context of a fit on ``rows`` with the flows up to ``until``."""
    flows = chain.flows if until is None else chain.flows[chain.flows[DATE] <= until]
    days = np.concatenate([to_day_numbers(flows[DATE]), to_day_numbers(rows[DATE])])
    days = days[~np.isnan(days)]
    start, last = int(days.min()), int(days.max())
    return chain_context(
        flows.groupby(DATE)["inflow"].sum(),
        flows.groupby([ITEM_CODE, DATE], as_index=False)["sold"].sum(),
        np.concatenate([flows[ITEM_CODE].unique(), rows[ITEM_CODE].unique()]),
        start=start,
        n_days=last - start + 1,
    )
