"""Unit tests of the blocks read without classifying their lines (``records._simple_block``).

A block whose quotes all sit where RFC 4180 puts them goes straight to Arrow's parser, which
checks every record's number of fields itself. Everything the line classifier would find must
still be found: the property below reads random blocks both ways and holds every output equal.
"""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest

from stockout_sk.ingest import records
from stockout_sk.ingest.records import _parse_block, _Shape, _simple_block

pytestmark = pytest.mark.unit

NAMES = ["Date", "BranchID", "ItemName", "QuantitySold"]
SHAPE = _Shape(",", NAMES, np.array([False, False, True, False]))
#: As the sales are read: checked columns as distinct values, the free text not at all.
DISTINCT = _Shape(",", NAMES, SHAPE.newline_ok, usecols=[0, 1, 3], distinct=[0, 1, 3])

GOOD = [
    "2024-01-01,001,Tea,6",
    '2024-01-02,002,"Milk, full fat",4',
    '2024-01-02,002,"Lentils ""Premium""",2',
    '2024-01-03,"003","""Quoted"" start",1',
    '2024-01-03,003,"",7',
    '"2024-01-04",004,Oil,"12"',
    "2024-01-05,005,Rice 5 kg,  3 ",
    '2024-01-06,006,"ends with ""quote""""",9',
]
TROUBLE = {
    "literal quote inside a field": '2024-01-01,001,TV 5" screen,1',
    "literal quotes in pairs": '2024-01-01,001,TV 5" or 7",1',
    "text after a closing quote": '2024-01-01,001,"Tea"bag,1',
    "an empty quoted field then text": '2024-01-01,001,""Tea,1',
    "an unbalanced quote": '2024-01-01,001,"Tea,1',
    "a quoted line break": '2024-01-01,001,"Tea\nblack",1',
    "a quoted line break in an ID": '2024-01-01,"0\n01",Tea,1',
    "too few fields": "2024-01-01,001,1",
    "too many fields": "2024-01-01,001,Tea,1,EXTRA",
    "an empty line": "",
    "a line of spaces": "   ",
    "a space after a closing quote": '2024-01-01,001,"Tea" ,1',
    "a lone carriage return": "2024-01-01,001,Tea\rblack,1",
}


def _both_ways(text: str, shape: _Shape, monkeypatch, **kw):
    body = text.encode("utf-8")
    args = {"first_line": 2, "shape": shape, "final": True, **kw}
    fast = _parse_block(body, **args)
    with monkeypatch.context() as m:
        m.setattr(records, "_simple_block", lambda *a, **k: None)
        classified = _parse_block(body, **args)
    return fast, classified


def _assert_same(a, b):
    (pa_, ca), (pb, cb) = a, b
    assert ca == cb
    pd.testing.assert_frame_equal(pa_.frame, pb.frame)
    assert pa_.lines.tolist() == pb.lines.tolist()
    assert (pa_.physical, pa_.clean, pa_.blank) == (pb.physical, pb.clean, pb.blank)
    assert (pa_.bad, pa_.multiline, pa_.unbalanced) == (pb.bad, pb.multiline, pb.unbalanced)
    assert (pa_.distinct is None) == (pb.distinct is None)
    if pa_.distinct is not None:
        assert pa_.distinct.rows == pb.distinct.rows
        assert pa_.distinct.payload == pb.distinct.payload
        for name, (codes, values) in pa_.distinct.columns.items():
            other_codes, other_values = pb.distinct.columns[name]
            np.testing.assert_array_equal(codes, other_codes)
            pd.testing.assert_series_equal(values, other_values)


@pytest.mark.parametrize("shape", [SHAPE, DISTINCT], ids=["strings", "distinct"])
def test_random_blocks_read_the_same_with_or_without_classifying(shape, monkeypatch):
    """Property: on random blocks of good lines with now and then one kind of trouble, the
    block read unclassified (where it may be) gives what classifying its lines gives."""
    rng = random.Random(3)
    taken = refused = 0
    for _ in range(400):
        lines = [rng.choice(GOOD) for _ in range(rng.randint(1, 12))]
        if rng.random() < 0.5:
            lines.insert(rng.randint(0, len(lines)), rng.choice(list(TROUBLE.values())))
        text = "\n".join(lines) + "\n"
        if rng.random() < 0.2:
            text = text.replace("\n", "\r\n")
        simple = _simple_block(text.encode("utf-8"), 2, shape) is not None
        taken, refused = taken + simple, refused + (not simple)
        _assert_same(*_both_ways(text, shape, monkeypatch))
    assert taken > 100
    assert refused > 100


@pytest.mark.parametrize("trouble", list(TROUBLE), ids=list(TROUBLE))
def test_every_kind_of_trouble_is_left_to_the_classifier(trouble):
    text = "\n".join([GOOD[1], TROUBLE[trouble], GOOD[2]]) + "\n"
    assert _simple_block(text.encode("utf-8"), 2, SHAPE) is None
    assert _simple_block(text.encode("utf-8"), 2, DISTINCT) is None


@pytest.mark.parametrize("shape", [SHAPE, DISTINCT], ids=["strings", "distinct"])
def test_good_lines_are_read_unclassified_with_their_line_numbers(shape):
    text = "\n".join(GOOD) + "\n"
    parsed = _simple_block(text.encode("utf-8"), 7, shape)
    assert parsed is not None
    assert parsed.clean
    assert parsed.lines.tolist() == list(range(7, 7 + len(GOOD)))
    assert parsed.physical == len(GOOD)


def test_undecodable_bytes_and_a_one_column_file_are_classified(monkeypatch):
    calls = []
    real = records._classify
    monkeypatch.setattr(records, "_classify", lambda *a: calls.append(1) or real(*a))
    text = "\n".join(GOOD[:3]) + "\n"
    _parse_block(text.encode(), first_line=2, shape=SHAPE, final=True, undecodable=((0, 1),))
    one = _Shape(",", ["ItemCode"], np.array([False]))
    _parse_block(b"ITM1\n\nITM2\n", first_line=2, shape=one, final=True)
    assert len(calls) == 2
    _parse_block(text.encode(), first_line=2, shape=SHAPE, final=True)
    assert len(calls) == 2  # a simple block is not classified


def test_an_empty_line_is_found_at_any_offset():
    for n in range(0, 12):
        for at in range(0, n):
            raw = bytearray(b"a" * n)
            raw[at : at + 2] = b"\n\n"
            buf = np.frombuffer(bytes(raw), dtype=np.uint8)
            assert records._has_empty_line(buf) == (b"\n\n" in bytes(raw))
        plain = np.frombuffer(b"a\n" * n, dtype=np.uint8)
        assert not records._has_empty_line(plain)
