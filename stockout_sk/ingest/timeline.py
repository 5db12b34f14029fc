"""The history's time line: which days of sales and movements belong to the history.

A typo in a year (``2031`` for ``2024``) must never stretch the history: a label row would exist
for every empty day in between, and a holdout in that empty stretch scores every model perfectly.
So, on the accepted rows' days (rows after today were already quarantined by the scan):

1. **Stretches.** The active days (any sale, movement or snapshot ``LastUpdatedAt``) are cut
   wherever more than ``max_gap_days`` pass with no activity at all. The stretch that holds the
   most snapshot rows is the history (the snapshot anchors stock; walking it across a stretch
   with no data would invent the stock of that stretch). Sales and movements of the other
   stretches are quarantined with a reason that names both stretches. When those hold more rows
   than the history does, the dates are too broken to choose from, and ingestion stops with a
   message saying how many days and rows lie where.
2. **After the snapshot.** Sales and movements dated more than one day after the latest snapshot
   day of the history are quarantined: stock cannot be anchored on a count older than the flows
   (the one day of grace covers an export taken just after midnight).
3. **Snapshot rows outside the history** keep their row: nothing moved between their
   ``LastUpdatedAt`` and the history, so their stock at its nearest end is exactly their
   ``CurrentQuantity`` (:func:`stockout_sk.labels.reconstruct_stock` anchors them there); a
   finding names them, since such a date is often a typo too.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from stockout_sk.ingest.report import DataContractError, Finding
from stockout_sk.schemas import STOCK_CURRENT

#: Flows may be dated this many days after the latest snapshot day (an export taken just after
#: midnight).
AFTER_SNAPSHOT_GRACE_DAYS = 1
_EXAMPLES = 3


@dataclass(frozen=True)
class _Stretch:
    """Consecutive active days with no gap longer than allowed."""

    start: pd.Timestamp
    end: pd.Timestamp
    days: int
    flow_rows: int
    snapshot_rows: int

    def describe(self) -> str:
        return (
            f"{self.start.date()}..{self.end.date()} ({self.days} active day(s), "
            f"{self.flow_rows:,} sales/movement row(s), {self.snapshot_rows:,} snapshot row(s))"
        )


@dataclass
class _Timeline:
    """What the time line decided.

    Attributes
    ----------
    start, end : pandas.Timestamp or None
        The history's first and last day (``None``: no dated row at all).
    drop : dict of str to pandas.Series
        Per flow file, the days whose rows are quarantined (day → reason).
    findings : list of Finding
    """

    start: pd.Timestamp | None = None
    end: pd.Timestamp | None = None
    drop: dict[str, pd.Series] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)


def _decide_timeline(
    flow_days: dict[str, pd.Series], snapshot: pd.DataFrame, *, max_gap_days: int
) -> _Timeline:
    """Cut the time line into stretches, keep the snapshot's, drop what lies after it.

    Parameters
    ----------
    flow_days : dict of str to pandas.Series
        Per flow file (sales, movements), accepted rows per day.
    snapshot : pandas.DataFrame
        The accepted ``stock_current`` rows (``LastUpdatedAt``, ``BranchID``, ``ItemCode``).
    max_gap_days : int
        Longest run of days with no activity inside one stretch.

    Raises
    ------
    DataContractError
        The stretches outside the snapshot's hold more sales and movements than it does.
    """
    snap_days = snapshot["LastUpdatedAt"].dt.normalize()
    snap_counts = snap_days.value_counts()
    flows = pd.concat(list(flow_days.values())).groupby(level=0).sum()
    active = flows.index.union(snap_counts.index).sort_values()
    out = _Timeline()
    if not len(active):
        return out
    stretches = _stretches(active, flows, snap_counts, max_gap_days)
    main = max(stretches, key=lambda s: (s.snapshot_rows, s.flow_rows, s.end))
    others = [s for s in stretches if s is not main]
    dropped = sum(s.flow_rows for s in others)
    if dropped:
        listing = "; ".join(s.describe() for s in stretches)
        if dropped > main.flow_rows:
            raise DataContractError(
                f"the dates do not form one history: more than {max_gap_days} days with no sale, "
                f"movement or snapshot separate {len(stretches)} stretches — {listing}. The "
                f"stretch that holds the stock snapshot ({main.start.date()}..{main.end.date()}) "
                f"has {main.flow_rows:,} sales/movement rows, the others {dropped:,}: the dates "
                "are wrong (a typo in the year, or LastUpdatedAt from another clock?). Fix them "
                "in the export."
            )
        out.findings.append(
            Finding(
                "history_trimmed",
                f"the history has {len(stretches)} stretches of activity separated by more than "
                f"{max_gap_days} days with no sale or movement: {listing}. Kept the one that "
                f"holds the snapshot ({main.start.date()}..{main.end.date()}); the {dropped:,} "
                "sales/movement row(s) of the others were quarantined (a typo in the year?): "
                "fix their dates in the export",
                severity="warning",
                count=dropped,
                blocking=True,
            )
        )
    latest_snapshot = snap_days[(snap_days >= main.start) & (snap_days <= main.end)].max()
    limit = main.end if pd.isna(latest_snapshot) else latest_snapshot
    limit = limit + pd.Timedelta(days=AFTER_SNAPSHOT_GRACE_DAYS)
    for name, days in flow_days.items():
        reasons = pd.Series(dtype=object, index=pd.DatetimeIndex([], dtype="datetime64[ns]"))
        for s in others:
            outside = days.index[(days.index >= s.start) & (days.index <= s.end)]
            reasons = pd.concat([reasons, pd.Series(_outside_reason(s, main), index=outside)])
        after = days.index[(days.index > limit) & (days.index <= main.end)]
        if len(after):
            reasons = pd.concat([reasons, pd.Series(_after_reason(limit), index=after)])
            rows = int(days[after].sum())
            out.findings.append(
                Finding(
                    "after_snapshot",
                    f"{rows:,} row(s) on {len(after)} day(s) "
                    f"({after[0].date()}..{after[-1].date()}) are dated after the stock "
                    "snapshot (latest LastUpdatedAt day "
                    f"{(limit - pd.Timedelta(days=AFTER_SNAPSHOT_GRACE_DAYS)).date()}, plus one "
                    "day of grace) and were quarantined: stock cannot be anchored on a count "
                    "older than the flows. Export stock_current.csv together with the other files",
                    severity="warning",
                    file=name,
                    count=rows,
                    blocking=True,
                )
            )
        if len(reasons):
            out.drop[name] = reasons
    kept_flows = flows.index[(flows.index >= main.start) & (flows.index <= limit)]
    inside = snap_days[(snap_days >= main.start) & (snap_days <= main.end)]
    bounds = kept_flows.union(pd.DatetimeIndex(inside.unique()))
    out.start, out.end = bounds.min(), bounds.max()
    out.findings += _snapshot_outside(snapshot, snap_days, out.start, out.end)
    return out


def _stretches(
    active: pd.DatetimeIndex, flows: pd.Series, snap_counts: pd.Series, max_gap_days: int
) -> list[_Stretch]:
    gaps = np.diff(active.asi8) // (86_400 * 10**9) if len(active) > 1 else np.empty(0)
    cuts = np.flatnonzero(gaps > max_gap_days + 1)  # more than max_gap_days empty days between
    bounds = np.concatenate([[0], cuts + 1, [len(active)]])
    out = []
    for a, b in itertools.pairwise(bounds):
        days = active[a:b]
        out.append(
            _Stretch(
                start=days[0],
                end=days[-1],
                days=len(days),
                flow_rows=int(flows.reindex(days, fill_value=0).sum()),
                snapshot_rows=int(snap_counts.reindex(days, fill_value=0).sum()),
            )
        )
    return out


def _outside_reason(stretch: _Stretch, main: _Stretch) -> str:
    return (
        f"dated {stretch.start.date()}..{stretch.end.date()}, cut off from the history "
        f"{main.start.date()}..{main.end.date()} by a stretch with no activity: a typo in the "
        "date?"
    )


def _after_reason(limit: pd.Timestamp) -> str:
    snapshot = (limit - pd.Timedelta(days=AFTER_SNAPSHOT_GRACE_DAYS)).date()
    return f"dated after the stock snapshot ({snapshot}, latest LastUpdatedAt day)"


def _snapshot_outside(
    snapshot: pd.DataFrame, snap_days: pd.Series, start: pd.Timestamp, end: pd.Timestamp
) -> list[Finding]:
    """Snapshot rows whose LastUpdatedAt lies outside the history: kept, anchored at its end."""
    outside = ((snap_days < start) | (snap_days > end)).to_numpy(dtype=bool)
    if not outside.any():
        return []
    rows = snapshot[outside].head(_EXAMPLES)
    shown = ", ".join(
        f"{b}×{i} {d.date()}"
        for b, i, d in zip(rows["BranchID"], rows["ItemCode"], rows["LastUpdatedAt"], strict=True)
    )
    n = int(outside.sum())
    more = f" and {n - _EXAMPLES} more" if n > _EXAMPLES else ""
    return [
        Finding(
            "snapshot_outside_history",
            f"{n} snapshot row(s) have a LastUpdatedAt day outside the history "
            f"{start.date()}..{end.date()} ({shown}{more}). Nothing moved in between, so their "
            "stock at the history's nearest end is their CurrentQuantity; if the date is a "
            "typo, fix LastUpdatedAt in the export",
            severity="warning",
            file=STOCK_CURRENT.filename,
            count=n,
        )
    ]
