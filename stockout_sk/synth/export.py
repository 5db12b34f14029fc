"""The six CSV exports written from a simulated chain, clean or messy.

:class:`Writer` turns the master data, the snapshot, the movements and the sales into lines of
text; :class:`~stockout_sk.synth.formats.Formatter` decides how each value is written. With
``messy`` a handful of *extra* rows is added per file (unparseable dates, non-numeric quantities,
missing item codes, exact duplicate movements); they are counted in ``Writer.injected``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from stockout_sk.schemas import (
    BRANCHES,
    EMPLOYEES,
    ITEM_MASTER,
    SALES_TRANSACTIONS,
    STOCK_CURRENT,
    STOCK_MOVEMENT,
    FileSchema,
)
from stockout_sk.synth.catalogue import (
    SUPPLIER_ID,
    SUPPLIER_NAME,
    WAREHOUSE_ID,
    WAREHOUSE_NAME,
    Chain,
)
from stockout_sk.synth.formats import (
    BAD_DATES,
    BAD_QUANTITIES,
    DATE_FORMATS,
    Formatter,
    force_quote,
    quote,
)
from stockout_sk.synth.policy import Policy
from stockout_sk.synth.simulate import Simulation

__all__ = ["Writer"]

# Days of sales per chunk of the sales writer, and rows per chunk of the movement writer: they
# bound the memory held in Python strings.
_CHUNK_DAYS = 7
_CHUNK_ROWS = 200_000


class Writer:
    """Formats and writes the six files; with ``messy`` it varies the representation per row."""

    def __init__(
        self,
        out: Path,
        dates: pd.DatetimeIndex,
        chain: Chain,
        rng: np.random.Generator,
        *,
        messy: bool,
    ) -> None:
        self.out = out
        self.dates = dates
        self.chain = chain
        # One messy stream: the formatter's variants and the injected rows draw from the same
        # generator, in the order the files are written.
        self.rng = rng
        self.messy = messy
        self.fmt = Formatter(dates, rng, messy=messy)
        self.rows: dict[str, int] = {}
        self.injected: dict[str, int] = {}

    def _write(self, schema: FileSchema, chunks: Iterable[list[str]], injected: int = 0) -> None:
        """Write the header and the chunks of lines of one table; count its rows."""
        newline = self.fmt.newline(schema.name)
        count = 0
        with open(
            self.out / schema.filename, "w", encoding=self.fmt.encoding(schema.name), newline=""
        ) as handle:
            handle.write(",".join(schema.columns) + newline)
            for lines in chunks:
                if lines:
                    handle.write(newline.join(lines) + newline)
                    count += len(lines)
        self.rows[schema.name] = count
        self.injected[schema.name] = injected if self.messy else 0

    # -- master data -----------------------------------------------------------------------

    def branches(self) -> None:
        """Write ``branches.csv``: IDs, names with a comma inside, opening dates."""
        ch = self.chain
        opened = pd.DatetimeIndex(ch.opening)
        variant = self.fmt.pick(len(opened), (0.7, 0.3))
        dates = [
            d.strftime(DATE_FORMATS["ymd_slash" if v else "iso"])
            for d, v in zip(opened, variant.tolist(), strict=True)
        ]
        ids = self.fmt.spaced(ch.branch_ids)
        idx = self.fmt.space_index(np.arange(ch.n_branches), ch.n_branches, share=0.05)
        lines = [
            f"{ids[k]},{quote(name)},{date}"
            for k, name, date in zip(idx.tolist(), ch.branch_names, dates, strict=True)
        ]
        self._write(BRANCHES, [lines])

    def item_master(self) -> None:
        """Write ``item_master.csv``: codes, Arabic and English names, brands."""
        ch = self.chain
        codes = self.fmt.spaced(ch.item_codes)
        idx = self.fmt.space_index(np.arange(ch.n_items), ch.n_items, share=0.03)
        lines = [
            f"{codes[k]},{quote(ar)},{quote(en)},{quote(brand)}"
            for k, ar, en, brand in zip(idx.tolist(), ch.arabic, ch.english, ch.brand, strict=True)
        ]
        self._write(ITEM_MASTER, [lines])

    def employees(self) -> None:
        """Write ``employees.csv``; head-office staff have no branch."""
        rows = self.chain.employees
        lines = []
        pad = self.fmt.pick(len(rows), (0.95, 0.025, 0.025)).tolist()
        for (emp, name, dept, home), p in zip(rows, pad, strict=True):
            if p and home:
                home = f" {home}" if p == 1 else f"{home} "
            lines.append(f"{emp},{quote(name)},{quote(dept)},{home}")
        self._write(EMPLOYEES, [lines])

    # -- stock snapshot ----------------------------------------------------------------------

    def stock_current(self, sim: Simulation, policy: Policy, rng: np.random.Generator) -> None:
        """Write ``stock_current.csv``, the snapshot; ``rng`` draws its content (update times)."""
        ch = self.chain
        n_b, n_i = ch.n_branches, ch.n_items
        n_days, n_keys = sim.stock.shape
        branch_of = np.repeat(np.arange(n_b), n_i)
        item_of = np.tile(np.arange(n_i), n_b)
        # Content (not a quirk): exports are not synchronous, a few keys were last updated
        # 1–3 days before the end of the history. The quantity is the stock of that day.
        lag = np.where(rng.random(n_keys) < 0.04, rng.integers(1, 4, n_keys), 0)
        lag = np.minimum(lag, n_days - 1)
        day = n_days - 1 - lag
        current = sim.stock[day, np.arange(n_keys)].astype(np.int64)
        seconds = rng.integers(20 * 3600, 24 * 3600, n_keys)
        stamps = pd.DatetimeIndex(self.dates.values[day] + seconds.astype("timedelta64[s]"))
        variant = self.fmt.pick(n_keys, (0.6, 0.2, 0.2))
        formats = ("ts", "ts_t", "ts_tz")
        stamp_text = {v: stamps.strftime(DATE_FORMATS[f]).tolist() for v, f in enumerate(formats)}
        updated = [stamp_text[v][k] for k, v in enumerate(variant.tolist())]

        b_text = self.fmt.spaced(ch.branch_ids, [f",{quote(n)}" for n in ch.branch_names])
        i_text = self.fmt.spaced(ch.item_codes, [f",{quote(a)}" for a in ch.arabic])
        b_idx = self.fmt.space_index(branch_of, n_b)
        i_idx = self.fmt.space_index(item_of, n_i)
        cur = self.fmt.quantities(current, float_share=0.05)
        res = self.fmt.quantities(policy.reserved)
        ss = self.fmt.quantities(policy.safety, float_share=0.05)
        lines = [
            f"{b_text[b]},{i_text[i]},{c},{r},{s},{u}"
            for b, i, c, r, s, u in zip(
                b_idx.tolist(), i_idx.tolist(), cur, res, ss, updated, strict=True
            )
        ]
        extra: list[str] = []
        if self.messy:
            last = self.dates[-1].strftime(DATE_FORMATS["iso"])
            for n in range(2):
                b = int(self.rng.integers(0, n_b))
                branch = f"{ch.branch_ids[b]},{quote(ch.branch_names[b])}"
                extra.append(f"{branch},,,{5 + n},0,3,{last} 21:0{n}:00")  # no ItemCode
            # An item unknown elsewhere, so the bad row cannot shadow a valid snapshot row.
            branch = f"{ch.branch_ids[0]},{quote(ch.branch_names[0])}"
            extra.append(f"{branch},ITMX0001,,4,0,2,{BAD_DATES[0]}")
            self.fmt.insert(lines, extra)
        self._write(STOCK_CURRENT, [lines], injected=len(extra))

    # -- movements -------------------------------------------------------------------------

    def stock_movement(self, sim: Simulation) -> None:
        """Write ``stock_movement.csv``: receipts and transfers in the order simulated."""
        ch = self.chain
        n_rows = len(sim.mv_day)
        node_ids = [*ch.branch_ids, WAREHOUSE_ID, SUPPLIER_ID]
        node_names = [*ch.branch_names, WAREHOUSE_NAME, SUPPLIER_NAME]
        # Messy exports quote every name, needed or not.
        name = force_quote if self.messy else quote
        n_nodes = len(node_ids)
        node_text = self.fmt.spaced(node_ids, [f",{name(n)}" for n in node_names])
        item_text = self.fmt.spaced(ch.item_codes, [f",{name(a)}" for a in ch.arabic])
        date_variants = ("iso", "ts", "ts_t", "ts_tz") if self.messy else ("iso",)
        date_text = self.fmt.date_table(date_variants)
        date_probs = (0.4, 0.2, 0.2, 0.2) if self.messy else (1.0,)

        duplicates: set[int] = set()
        bad: dict[int, list[str]] = {}
        if self.messy and n_rows:
            duplicates = {int(r) for r in self.rng.choice(n_rows, min(5, n_rows), replace=False)}
            for n, kind in enumerate(("date", "date", "qty", "qty", "item", "item")):
                at = int(self.rng.integers(0, n_rows))
                b, i = (
                    int(self.rng.integers(0, ch.n_branches)),
                    int(self.rng.integers(0, ch.n_items)),
                )
                day = self.dates[min(at * len(self.dates) // n_rows, len(self.dates) - 1)]
                date = (
                    BAD_DATES[n % len(BAD_DATES)]
                    if kind == "date"
                    else day.strftime(DATE_FORMATS["iso"])
                )
                qty = BAD_QUANTITIES[n % len(BAD_QUANTITIES)] if kind == "qty" else str(n + 3)
                item = (
                    f",{name('')}" if kind == "item" else f"{ch.item_codes[i]},{name(ch.arabic[i])}"
                )
                src = f"{WAREHOUSE_ID},{name(WAREHOUSE_NAME)}"
                dst = f"{ch.branch_ids[b]},{name(ch.branch_names[b])}"
                bad.setdefault(at, []).append(f"MVX{n + 1:05d},{date},{src},{dst},{item},{qty}")

        def chunks() -> Iterator[list[str]]:
            for r0 in range(0, n_rows, _CHUNK_ROWS):
                r1 = min(r0 + _CHUNK_ROWS, n_rows)
                day = sim.mv_day[r0:r1]
                d_idx = self.fmt.date_index(day, date_probs)
                s_idx = self.fmt.space_index(sim.mv_src[r0:r1], n_nodes)
                t_idx = self.fmt.space_index(sim.mv_dst[r0:r1], n_nodes)
                i_idx = self.fmt.space_index(sim.mv_item[r0:r1], ch.n_items)
                qty = self.fmt.quantities(sim.mv_qty[r0:r1])
                lines = [
                    f"MV{r:08d},{date_text[a]},{node_text[s]},{node_text[t]},{item_text[i]},{q}"
                    for r, a, s, t, i, q in zip(
                        range(r0 + 1, r1 + 1),
                        d_idx.tolist(),
                        s_idx.tolist(),
                        t_idx.tolist(),
                        i_idx.tolist(),
                        qty,
                        strict=True,
                    )
                ]
                # Walk backwards so insertions do not shift the rows still to visit.
                marked = sorted((duplicates | bad.keys()) & set(range(r0, r1)), reverse=True)
                for r in marked:
                    if r in duplicates:
                        lines.insert(r - r0 + 1, lines[r - r0])
                    for row in bad.get(r, ()):
                        lines.insert(r - r0 + 1, row)
                yield lines

        injected = len(duplicates) + sum(len(v) for v in bad.values())
        self._write(STOCK_MOVEMENT, chunks(), injected=injected)

    # -- sales -----------------------------------------------------------------------------

    def sales(self, sold: np.ndarray, rng: np.random.Generator) -> None:
        """Write ``sales_transactions.csv``; ``rng`` splits the daily sales into invoice lines."""
        ch = self.chain
        n_days, _ = sold.shape
        n_b, n_i = ch.n_branches, ch.n_items
        yymmdd = self.dates.strftime("%y%m%d").tolist()
        date_variants = ("iso", "dmy", "ts") if self.messy else ("iso",)
        date_probs = (0.6, 0.3, 0.1) if self.messy else (1.0,)
        date_text = self.fmt.date_table(date_variants)
        # Invoice numbers are <branch><yymmdd><nnn>: digits with leading zeros, an ID to keep as
        # text. Each line position draws from its own block of numbers, so an item never appears
        # twice on one invoice, while different items share invoices as in a real basket.
        # "BranchID,BranchName,<invoice prefix>" per (space variant, branch, day):
        spaced_ids = self.fmt.spaced(ch.branch_ids)
        names = [quote(n) for n in ch.branch_names] * 3
        branch_text = [
            f"{bid},{name},{ch.branch_ids[vb % n_b]}{yymmdd[d]}"
            for vb, (bid, name) in enumerate(zip(spaced_ids, names, strict=True))
            for d in range(n_days)
        ]
        item_text = self.fmt.spaced(ch.item_codes, [f",{quote(e)}" for e in ch.english])
        pool = 300  # invoices per branch-day and line position (900–999: the bad rows)
        number = [f"{n:03d}" for n in range(3 * pool)]

        n_chunks = -(-n_days // _CHUNK_DAYS)
        bad_at: dict[int, list[str]] = {}
        if self.messy:
            for n, kind in enumerate(("date",) * 3 + ("qty",) * 3 + ("item",) * 3):
                c = int(self.rng.integers(0, n_chunks))
                d = min(c * _CHUNK_DAYS + int(self.rng.integers(0, _CHUNK_DAYS)), n_days - 1)
                b, i = int(self.rng.integers(0, n_b)), int(self.rng.integers(0, n_i))
                date = (
                    BAD_DATES[n % len(BAD_DATES)]
                    if kind == "date"
                    else self.dates[d].strftime(DATE_FORMATS["iso"])
                )
                qty = BAD_QUANTITIES[n % len(BAD_QUANTITIES)] if kind == "qty" else str(n % 4 + 1)
                item = "," if kind == "item" else f"{ch.item_codes[i]},{quote(ch.english[i])}"
                branch = f"{ch.branch_ids[b]},{quote(ch.branch_names[b])}"
                invoice = f"{ch.branch_ids[b]}{yymmdd[d]}{900 + n}"
                row = f"{date},{branch},{invoice},{item},{qty}"
                bad_at.setdefault(c, []).append(row)

        def chunks() -> Iterator[list[str]]:
            for c, d0 in enumerate(range(0, n_days, _CHUNK_DAYS)):
                block = sold[d0 : d0 + _CHUNK_DAYS]
                day, key = np.nonzero(block)
                qty = block[day, key].astype(np.int64)
                day += d0
                line_day, line_key, position, line_qty = _split_lines(day, key, qty, rng)
                invoice = position * pool + rng.integers(0, pool, len(line_qty))
                branch = line_key // n_i
                d_idx = self.fmt.date_index(line_day, date_probs)
                b_idx = self.fmt.space_index(branch, n_b) * n_days + line_day
                i_idx = self.fmt.space_index(line_key % n_i, n_i)
                q_text = self.fmt.quantities(line_qty)
                lines = [
                    f"{date_text[a]},{branch_text[b]}{number[v]},{item_text[i]},{q}"
                    for a, b, v, i, q in zip(
                        d_idx.tolist(),
                        b_idx.tolist(),
                        invoice.tolist(),
                        i_idx.tolist(),
                        q_text,
                        strict=True,
                    )
                ]
                yield self.fmt.insert(lines, bad_at.get(c, []))

        injected = sum(len(v) for v in bad_at.values())
        self._write(SALES_TRANSACTIONS, chunks(), injected=injected)


def _split_lines(
    day: np.ndarray, key: np.ndarray, qty: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split each key-day's sales into 1–3 invoice lines with positive quantities.

    Returns the day, key, line position (0, 1, 2) and quantity of every line, lines of a key-day
    adjacent and in order.
    """
    lines = np.minimum(qty, rng.choice(np.array([1, 2, 3]), len(qty), p=[0.6, 0.3, 0.1]))
    first = np.cumsum(lines) - lines  # index of each key-day's first line
    owner = np.repeat(np.arange(len(qty)), lines)
    position = np.arange(len(owner)) - first[owner]
    parts = np.ones(len(owner), dtype=np.int64)
    parts[first[lines == 1]] = qty[lines == 1]
    for m in (2, 3):
        rows = np.flatnonzero(lines == m)
        if len(rows):
            # One unit per line, the rest spread evenly at random: parts are ≥ 1 and sum to qty.
            spread = rng.multinomial(qty[rows] - m, np.full(m, 1.0 / m))
            parts[first[rows][:, None] + np.arange(m)] += spread
    return day[owner], key[owner], position, parts
