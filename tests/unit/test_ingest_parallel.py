"""The transaction files read by worker processes give what one process gives (issue #14.4).

:mod:`stockout_sk.ingest.parallel` against ``load_chain(workers=1)`` on the same files: the
chain's tables to the bit, the validation report and the rejects files byte for byte — on a
messy export, on sales whose day/month order is only decided by a slashed date met late in the
file (the spans that meet one are read again), on records whose quoted field holds line breaks
across a cut, on a day the time line cuts off (its rows re-quarantined span by span), on the
committed sample; and a file that may not decode is read by this process, as before. Spans are
a few KiB here so that every file has many; one pool of two processes serves the module.
"""

from __future__ import annotations

import os
import shutil
import threading
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stockout_sk.config import load_ingest_workers
from stockout_sk.ingest import DataContractError, load_chain
from stockout_sk.ingest import load as load_module
from stockout_sk.ingest.aggregate import _SOLD, _SOLD_DTYPES, _Aggregator
from stockout_sk.ingest.load import _load_chain
from stockout_sk.ingest.parallel import _PoolFlows
from stockout_sk.ingest.span_tasks import _SpanSums
from stockout_sk.schemas import SALES_TRANSACTIONS, STOCK_MOVEMENT
from stockout_sk.synth import generate_chain

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
TODAY = "2024-06-01"
SPAN_BYTES = 4096


@pytest.fixture(scope="module")
def pool():
    with ProcessPoolExecutor(2, mp_context=get_context("spawn")) as executor:
        yield executor


def outputs(chain_or_error, out: Path) -> dict:
    if isinstance(chain_or_error, DataContractError):
        found: dict = {"error": str(chain_or_error)}
    else:
        chain = chain_or_error
        found = {t: getattr(chain, t) for t in ("flows", "transfers", "stock_current", "items")}
        found["history"] = (chain.history_start, chain.history_end)
    found["report"] = (out / "validation_report.json").read_text("utf-8")
    found["rejects"] = {p.name: p.read_bytes() for p in sorted((out / "rejects").iterdir())}
    shutil.rmtree(out)
    return found


def load_with(reader: _PoolFlows, data: Path, out: Path | None):
    """``load_chain``'s defaults, the transaction files read by ``reader``."""
    options = {"chunksize": 100_000, "csv_format": None, "horizon": 7, "min_history_days": None}
    return _load_chain(data, out_dir=out, today=TODAY, flow_reader=reader, **options)


def read_both(
    data: Path, tmp_path: Path, pool, span_bytes: int = SPAN_BYTES
) -> tuple[dict, _PoolFlows]:
    """``load_chain`` in one process and on the pool (spans of ``span_bytes``); asserts they
    agree, returns the latter's outputs and reader."""
    out = tmp_path / "out"
    try:
        one = load_chain(data, out_dir=out, today=TODAY, workers=1)
    except DataContractError as exc:
        one = exc
    want = outputs(one, out)
    reader = _PoolFlows(2, span_bytes=span_bytes)
    reader._pool = pool  # the module's processes, which ingestion's close() must not stop
    reader.close = lambda: None  # type: ignore[method-assign]
    try:
        many = load_with(reader, data, out)
    except DataContractError as exc:
        many = exc
    got = outputs(many, out)
    found = dict(got)
    for key in [k for k, v in want.items() if isinstance(v, pd.DataFrame)]:
        pd.testing.assert_frame_equal(found.pop(key), want.pop(key), check_exact=True, obj=key)
    assert found == want
    return got, reader


def insert_after(path: Path, offset: int, text: str) -> None:
    """``text`` inserted after the line holding byte ``offset`` of ``path``."""
    data = path.read_bytes()
    at = data.index(b"\n", offset) + 1
    path.write_bytes(data[:at] + text.encode("utf-8") + data[at:])


def test_a_messy_chain_read_in_spans_equals_one_process(tmp_path, pool):
    data = tmp_path / "messy"
    generate_chain(data, branches=3, items=10, days=90, seed=4, messy=True)
    movements = data / STOCK_MOVEMENT.filename
    lines = movements.read_text("utf-8").splitlines(keepends=True)
    movements.write_text("".join([*lines, lines[1]]), "utf-8")  # a MovementID exported twice
    sales = data / SALES_TRANSACTIONS.filename
    header = sales.read_bytes().decode("utf-8-sig").splitlines()[0]
    insert_after(sales, 30_000, f"{header}\n\n")  # files concatenated; a blank line
    insert_after(sales, 45_000, "2031-02-01,001,Riyadh Olaya,INV-F,ITM0001,x,1\n")  # a typo
    got, reader = read_both(data, tmp_path, pool)
    assert len(reader._spans) > 10  # the sales file was read in spans
    report = got["report"]
    for what in ("header repeated at line", "after today", "duplicate"):
        assert what in report


def test_quoted_line_breaks_across_cuts_and_a_day_cut_off(tmp_path, pool):
    data = tmp_path / "chain"
    generate_chain(data, branches=3, items=10, days=90, seed=5)
    note = "".join(f"\n  shelf {i}: gift boxes and the spare cartons" for i in range(12))
    sales = data / SALES_TRANSACTIONS.filename
    for offset in range(3_000, 200_000, 9_000):  # records of ~560 bytes: some straddle a cut
        insert_after(sales, offset, f'2024-02-01,001,Riyadh Olaya,INV-M,ITM0001,"C{note}",2\n')
    insert_after(sales, 150_000, "2021-02-01,001,Riyadh Olaya,INV-O,ITM0001,x,1\n")  # cut off
    got, reader = read_both(data, tmp_path, pool)
    assert len(reader._spans) > 10
    assert "multiline_records" in got["report"]
    assert "cut off" in got["report"]


@pytest.mark.parametrize("late", ["25/03/2024", "03/25/2024", "01/02/2024"])
def test_a_slashed_date_met_late_is_decided_for_the_whole_file(tmp_path, pool, late):
    """Spans read before it stand; the spans that meet it are read again once decided."""
    data = tmp_path / "chain"
    generate_chain(data, branches=2, items=8, days=60, seed=6)
    sales = data / SALES_TRANSACTIONS.filename
    size = sales.stat().st_size
    insert_after(sales, size - 2_000, f"{late},001,Riyadh Olaya,INV-D,ITM0001,x,1\n")
    insert_after(sales, size // 2, "2024-02-30,001,Riyadh Olaya,INV-X,ITM0001,x,1\n")
    got, reader = read_both(data, tmp_path, pool)
    assert len(reader._spans) > 5
    assert '"dayfirst"' in got["report"]


def test_a_file_that_may_not_decode_is_read_in_this_process(tmp_path, pool):
    data = tmp_path / "chain"
    generate_chain(data, branches=2, items=8, days=60, seed=7)
    sales = data / SALES_TRANSACTIONS.filename
    raw = sales.read_bytes()
    at = raw.index(b"\n", 20_000) + 1
    sales.write_bytes(
        raw[:at] + b"2024-01-05,001,Riyadh Olaya,INV-B,ITM0001,caf\xe9,1\n" + raw[at:]
    )
    got, reader = read_both(data, tmp_path, pool)
    assert reader._spans == []  # not split
    assert "undecodable" in got["report"]


def test_the_committed_sample(tmp_path, pool):
    # Spans of 64 KiB: about sixty over its 4 MB of sales, each cut inside a day as in the
    # other tests (a day of the sample is about 11 KB); of 4 KiB, a thousand took 13 s.
    _, reader = read_both(REPO / "sample_data", tmp_path, pool, span_bytes=64 * 1024)
    assert len(reader._spans) > 50


def test_workers_setting(monkeypatch):
    monkeypatch.setenv("STOCKOUT_INGEST_WORKERS", "3")
    assert load_ingest_workers() == 3
    assert load_ingest_workers(workers=1) == 1
    monkeypatch.setenv("STOCKOUT_INGEST_WORKERS", "0")
    with pytest.raises(ValueError, match="STOCKOUT_INGEST_WORKERS must be a whole number"):
        load_ingest_workers()
    with pytest.raises(ValueError, match="--ingest-workers"):
        load_ingest_workers(workers=0)
    monkeypatch.delenv("STOCKOUT_INGEST_WORKERS")
    assert load_ingest_workers() >= 1


def span_totals(rng, n_spans: int, *, in_date_order: bool, whole: bool) -> list[pd.DataFrame]:
    """Daily totals of consecutive spans, as a reader of each span sums them."""
    out = []
    for s in range(n_spans):
        n = 400
        first_day = s * 3 if in_date_order else 0
        day = pd.Timestamp("2024-01-01") + pd.to_timedelta(
            first_day + rng.integers(0, 4 if in_date_order else 30, n), unit="D"
        )
        branch = rng.choice(["001", "002", "017", None], n, p=[0.45, 0.3, 0.24, 0.01])
        item = rng.choice([f"ITM{i:03d}" for i in range(25)], n)
        sold = rng.integers(-2, 9, n).astype(float)
        if not whole:
            sold = sold * 0.1 + rng.random(n) / 7
        rows = pd.DataFrame(
            {"BranchID": branch, "ItemCode": item, "Date": day.as_unit("ns"), _SOLD: sold}
        ).astype(_SOLD_DTYPES)
        acc = _Aggregator(list(_SOLD_DTYPES)[:3], [_SOLD], _SOLD_DTYPES, 50)
        for start in range(0, n, 100):  # in chunks, as a span is read
            acc.add(rows.iloc[start : start + 100], rows=True)
        out.append(acc.result())
    return out


@pytest.mark.parametrize("in_date_order", [True, False])
@pytest.mark.parametrize("whole", [True, False])
@pytest.mark.parametrize("key_bits", [63, 8])
def test_span_totals_summed_as_one_process_sums_them(in_date_order, whole, key_bits):
    """Days one span holds pass as they are; the days spans share are summed; keys too wide
    to pack are summed by their columns — and all of it is what the aggregator gives."""
    rng = np.random.default_rng([int(in_date_order), int(whole), key_bits])
    totals = span_totals(rng, 9, in_date_order=in_date_order, whole=whole)
    keys = list(_SOLD_DTYPES)[:3]
    want = _Aggregator(keys, [_SOLD], _SOLD_DTYPES, 10**9, key_bits)
    got = _SpanSums(keys, _SOLD, _SOLD_DTYPES, key_bits)
    for frame in totals:
        want.add(frame)
        got.add(frame)
    expected = want.result()
    assert len(expected) > 400
    pd.testing.assert_frame_equal(got.result(), expected, check_exact=True)


def test_load_chain_starts_and_stops_its_own_processes(tmp_path, monkeypatch):
    """``load_chain(workers=2)``: processes copied from this one (no other thread runs here),
    the sales file in spans, the processes gone afterwards; ``workers=1`` starts none."""
    data = tmp_path / "chain"
    generate_chain(data, branches=2, items=8, days=60, seed=8)
    monkeypatch.setattr("stockout_sk.ingest.parallel.SPAN_BYTES", SPAN_BYTES)
    started = []
    original = _PoolFlows._executor
    monkeypatch.setattr(
        _PoolFlows,
        "_executor",
        lambda self: (self._pool is None and started.append(self)) or original(self),
    )
    many = load_chain(data, today=TODAY, workers=2)
    assert len(started) == 1
    assert started[0]._pool is None  # closed
    assert len(started[0]._spans) > 5
    one = load_chain(data, today=TODAY, workers=1)
    assert len(started) == 1
    pd.testing.assert_frame_equal(many.flows, one.flows, check_exact=True)
    assert many.report.to_dict() == one.report.to_dict()


def test_the_processes_read_while_this_one_reads_the_small_files(tmp_path, monkeypatch):
    """The movements and every sales span are handed out before the branches, items,
    employees and snapshot are read here (the processes would wait idle otherwise)."""
    data = tmp_path / "chain"
    generate_chain(data, branches=2, items=8, days=60, seed=8)
    monkeypatch.setattr("stockout_sk.ingest.parallel.SPAN_BYTES", SPAN_BYTES)
    events = []

    def spy(name, original):
        def called(*args, **kwargs):
            result = original(*args, **kwargs)
            events.append((name, getattr(args[0], "_started", None) is not None))
            return result

        return called

    monkeypatch.setattr(_PoolFlows, "start", spy("start", _PoolFlows.start))
    for name in ("_load_keyed_table", "_load_stock_current"):
        original = getattr(load_module, name)
        monkeypatch.setattr(load_module, name, spy(name, original))
    chain = load_chain(data, today=TODAY, workers=2)
    assert events[0] == ("start", True)  # spans handed out
    assert [name for name, _ in events[1:]] == ["_load_keyed_table"] * 3 + ["_load_stock_current"]
    one = load_chain(data, today=TODAY, workers=1)
    pd.testing.assert_frame_equal(chain.flows, one.flows, check_exact=True)


def _die(*args, **kwargs):
    os._exit(9)  # a worker killed mid-span, as the kernel's out-of-memory killer does


def test_a_worker_that_dies_is_said_plainly(tmp_path, monkeypatch):
    data = tmp_path / "chain"
    generate_chain(data, branches=2, items=8, days=60, seed=9)
    monkeypatch.setattr("stockout_sk.ingest.parallel._sales_span", _die)
    reader = _PoolFlows(2, span_bytes=SPAN_BYTES)
    reader._pool = ProcessPoolExecutor(2, mp_context=get_context("fork"))  # the patch inherited
    with pytest.raises(RuntimeError, match=r"worker process died .* --ingest-workers 1"):
        load_with(reader, data, None)
    reader.close()


def _reads_ahead() -> tuple[bool, bool]:
    """In a worker: whether blocks are read on a thread, and whether numpy advises huge pages
    (not in ingestion's memory mode)."""
    from stockout_sk.ingest import reader
    from stockout_sk.ingest.memory import _hugepage_advice

    advise = _hugepage_advice()
    return reader._ahead, advise is not None and advise(False)


@pytest.mark.parametrize("spare_core", [False, True])
def test_workers_read_in_line_when_they_take_every_core(monkeypatch, spare_core):
    """A read-ahead thread per worker only adds switching when the workers take every core;
    with a core to spare it stays. Either way the workers run in ingestion's memory mode."""
    workers = 2
    monkeypatch.setattr(
        "stockout_sk.ingest.parallel.available_cores", lambda: workers + int(spare_core)
    )
    flows = _PoolFlows(workers)
    try:
        assert flows._executor().submit(_reads_ahead).result() == (spare_core, False)
    finally:
        flows.close()


def test_blocks_read_in_line_are_the_same_blocks_on_this_thread(monkeypatch):
    from stockout_sk.ingest import reader

    monkeypatch.setattr(reader, "_ahead", True)
    threads = []

    def blocks():
        for i in range(3):
            threads.append(threading.current_thread())
            yield i

    assert list(reader._read_ahead(blocks(), "x")) == [0, 1, 2]
    assert threads[0] is not threading.current_thread()
    reader._read_in_line()
    assert reader._ahead is False
    threads.clear()
    assert list(reader._read_ahead(blocks(), "x")) == [0, 1, 2]
    assert set(threads) == {threading.current_thread()}
