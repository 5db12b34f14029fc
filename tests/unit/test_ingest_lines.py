"""Unit tests of how ingestion turns bytes into records (issues #16 and #17).

Physical lines → records (:mod:`stockout_sk.ingest.records`), the encoding of a file
(:mod:`stockout_sk.ingest.encoding`), its delimiter and header (:mod:`stockout_sk.ingest.header`),
Arabic-Indic digits (:mod:`stockout_sk.ingest.quantities`) and the run's CSV settings
(:mod:`stockout_sk.config.csv_format`). Each block of lines is written by hand so that every
expected record, line number and reason can be read off it.
"""

from __future__ import annotations

import codecs
import csv
import random

import numpy as np
import pandas as pd
import pytest

from stockout_sk.config import CsvFormat, load_csv_format
from stockout_sk.ingest import DataContractError
from stockout_sk.ingest.encoding import _detect_encoding, _guess_encoding, _undecodable
from stockout_sk.ingest.header import _read_header
from stockout_sk.ingest.parse import _read_checked, _read_checked_c
from stockout_sk.ingest.quantities import (
    _QTY_ARABIC_DIGITS,
    _QTY_NON_NUMERIC,
    _parse_quantities,
    _to_float,
)
from stockout_sk.ingest.reader import _Reader
from stockout_sk.ingest.records import (
    MAX_RECORD_LINES,
    _classify,
    _parse_block,
    _Shape,
    _split_record,
)
from stockout_sk.schemas import SCHEMAS

pytestmark = pytest.mark.unit

NAMES = ["Date", "BranchID", "ItemName", "QuantitySold"]
#: A line break may sit in ItemName only (free text), never in an ID, a date or a quantity.
SHAPE = _Shape(",", NAMES, np.array([False, False, True, False]))


def parse(text: str, *, first_line: int = 2, final: bool = True, shape: _Shape = SHAPE):
    return _parse_block(text.encode("utf-8"), first_line=first_line, shape=shape, final=final)


# --- one record -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "fields", "status"),
    [
        ("a,b,,d\n", ["a", "b", "", "d"], "ok"),
        ('a,"b,c",d\n', ["a", "b,c", "d"], "ok"),
        ('a,"say ""hi""",d\n', ["a", 'say "hi"', "d"], "ok"),
        ('a,"two\nlines",d\n', ["a", "two\nlines", "d"], "ok"),
        ('a,TV 5" screen,d\n', ["a", 'TV 5" screen', "d"], "ok"),  # a literal quote
        ('a,"",d\n', ["a", "", "d"], "ok"),
        ('a,"b,c\n', ["a"], "unclosed"),
        ('a,"b"c,d\n', ["a"], "junk"),
    ],
)
def test_split_record(text, fields, status):
    got, _, got_status = _split_record(text, 0, ",")
    assert (got, got_status) == (fields, status)


def test_split_record_other_delimiters():
    assert _split_record("a;b,c;d\n", 0, ";")[0] == ["a", "b,c", "d"]
    assert _split_record('a\t"b\tc"\td\n', 0, "\t")[0] == ["a", "b\tc", "d"]


def test_field_counts_of_simple_lines_match_the_csv_module():
    """Property: wherever the vectorised classifier calls a line simple, its field count is
    what the csv module reads (on random lines of quotes, delimiters and text)."""
    rng = random.Random(7)
    pieces = ["a", "b", ",", '"', '""', " ", "é", "x,y"]
    lines = ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 12))) for _ in range(3000)]
    data = ("\n".join(lines) + "\n").encode("utf-8")
    buf = np.frombuffer(data, dtype=np.uint8)
    nl, fields, not_simple = _classify(buf, ord(","))
    assert len(nl) == len(lines)
    checked = 0
    for i, line in enumerate(lines):
        if not not_simple[i]:
            assert fields[i] == len(next(csv.reader([line]))) if line else fields[i] == 1, line
            checked += 1
    assert checked > 1000  # most random lines are simple: the check is not vacuous


def test_arrow_reads_the_simple_lines_as_the_c_tokenizer_does():
    """Property: the lines the classifier calls simple (and of the header's field count) read
    the same, value for value, through Arrow's parser and pandas' C tokenizer, also with
    leading and trailing spaces, empty and quoted fields, doubled quotes and non-ASCII text."""
    rng = random.Random(11)
    pieces = ["a", " b ", "", '"x,y"', '"say ""hi"""', '""', "é", "١٢", "NA", "null", " "]
    shape = _Shape(",", ["A", "B", "C"], np.zeros(3, dtype=bool))
    lines = [",".join(rng.choice(pieces) for _ in range(3)) for _ in range(3000)]
    payload = ("\n".join(lines) + "\n").encode("utf-8")
    buf = np.frombuffer(payload, dtype=np.uint8)
    _, fields, not_simple = _classify(buf, ord(","))
    assert not not_simple.any()
    assert (fields == 3).all()
    arrow, c = _read_checked(payload, shape), _read_checked_c(payload, shape)
    pd.testing.assert_frame_equal(arrow, c)
    assert arrow["A"].isna().sum() == 0  # "NA", "null", "" stay text
    subset = _Shape(",", ["A", "B", "C"], np.zeros(3, dtype=bool), usecols=[2, 0])
    pd.testing.assert_frame_equal(_read_checked(payload, subset), c[["C", "A"]])


def test_a_lone_carriage_return_is_data_not_a_line_end():
    # Arrow's parser ends a line at a lone CR; the line scanner counts line feeds only.
    parsed, _ = parse("2024-01-01,001,Tea\rblack,6\r\n2024-01-02,002,Milk,4\n")
    assert parsed.frame.values.tolist() == [
        ["2024-01-01", "001", "Tea\rblack", "6"],
        ["2024-01-02", "002", "Milk", "4"],
    ]
    assert parsed.lines.tolist() == [2, 3]
    assert parsed.clean


# --- blocks of lines --------------------------------------------------------------------------
def test_ragged_first_line_is_quarantined_and_later_lines_keep_their_values():
    # pandas switched to truncation mode on a first row with an extra field, then read the
    # 5-field line 4 with its values shifted; every ragged line is quarantined instead.
    parsed, carry = parse(
        "2024-01-01,001,Tea,6,EXTRA\n2024-01-01,001,Tea,3\n2024-01-02,x,001,Tea,3\n"
        "2024-01-02,001,Tea\n2024-01-03,002,Milk,4\n"
    )
    assert carry is None
    assert parsed.frame.values.tolist() == [
        ["2024-01-01", "001", "Tea", "3"],
        ["2024-01-03", "002", "Milk", "4"],
    ]
    assert parsed.lines.tolist() == [3, 6]
    assert [(b.line, b.reason) for b in parsed.bad] == [
        (2, "malformed line: expected 4 fields, saw 5"),
        (4, "malformed line: expected 4 fields, saw 5"),
        (5, "malformed line: expected 4 fields, saw 3"),
    ]
    assert parsed.bad[0].text == "2024-01-01,001,Tea,6,EXTRA"


def test_unbalanced_quote_costs_its_own_line_only():
    # The quote opened on line 3 would swallow line 4 up to the quote of "Milk, 1 l"; both real
    # transactions after it are read on their own.
    parsed, _ = parse(
        '2024-01-01,001,Tea,6\n2024-01-01,001,"Tea,3\n2024-01-02,002,"Milk, 1 l",4\n'
        "2024-01-02,003,Salt,1\n"
    )
    assert parsed.frame["ItemName"].tolist() == ["Tea", "Milk, 1 l", "Salt"]
    assert parsed.lines.tolist() == [2, 4, 5]
    assert [(b.line, b.reason) for b in parsed.bad] == [
        (3, "unbalanced quote: a quoted field opened on this line does not close on it")
    ]
    assert parsed.unbalanced == [(3, 4)]  # it would have merged lines 3–4


def test_a_quoted_line_break_is_one_record_and_line_numbers_stay_physical():
    parsed, _ = parse(
        '2024-01-01,001,"Tea\nblack",6\n2024-01-01,001,Milk,x\n2024-01-02,002,"a\nb\nc",1\n'
        "2024-01-03,002,Salt,2\n"
    )
    assert parsed.frame["ItemName"].tolist() == ["Tea\nblack", "Milk", "a\nb\nc", "Salt"]
    assert parsed.lines.tolist() == [2, 4, 5, 8]
    assert parsed.multiline == [(2, 3), (5, 7)]
    assert parsed.physical == 7


def test_a_line_break_in_an_id_or_a_number_is_an_unbalanced_quote():
    # Four fields, but the "line break" sits in QuantitySold: a merge, not a record. Line 3 is
    # read on its own: its literal quote makes QuantitySold '4"', which validation rejects.
    parsed, _ = parse('2024-01-01,001,Tea,"6\n2024-01-02,002,Milk,4"\n2024-01-03,003,Salt,1\n')
    assert [b.line for b in parsed.bad] == [2]
    assert parsed.unbalanced == [(2, 3)]
    assert parsed.frame.values.tolist() == [
        ["2024-01-02", "002", "Milk", '4"'],
        ["2024-01-03", "003", "Salt", "1"],
    ]
    assert parsed.lines.tolist() == [3, 4]


def test_malformed_quoting_and_blank_lines():
    parsed, _ = parse('2024-01-01,001,"Tea"x,6\n\n   \n2024-01-02,002,Milk,4\n')
    assert [(b.line, b.reason) for b in parsed.bad] == [
        (2, "malformed quoting: text after a closing quote")
    ]
    assert parsed.blank == 2
    assert parsed.lines.tolist() == [5]


def test_crlf_line_ends_and_a_stray_cr_in_a_value():
    parsed, _ = parse('2024-01-01,001,"Tea, black",6\r\n2024-01-02,002,Mi\rlk,4\r\n')
    assert parsed.frame.values.tolist() == [
        ["2024-01-01", "001", "Tea, black", "6"],
        ["2024-01-02", "002", "Mi\rlk", "4"],
    ]


def test_an_open_quote_at_the_end_of_a_block_is_carried_to_the_next():
    text = '2024-01-01,001,Tea,6\r\n2024-01-02,002,"Milk\r\n'
    parsed, carry = parse(text, final=False)
    assert parsed.physical == 1
    assert parsed.lines.tolist() == [2]
    assert carry == len("2024-01-01,001,Tea,6\r\n")
    assert not parsed.bad
    # At the end of the file nothing can close it any more.
    parsed, carry = parse(text, final=True)
    assert carry is None
    assert [b.line for b in parsed.bad] == [3]


def test_a_quote_open_for_more_than_max_record_lines_is_unbalanced():
    text = '2024-01-01,001,"Tea\n' + "x\n" * (MAX_RECORD_LINES + 5) + '",6\n'
    parsed, carry = parse(text, final=True)
    assert carry is None
    assert parsed.bad[0].line == 2
    assert parsed.unbalanced[0] == (2, 2 + MAX_RECORD_LINES - 1)


def test_undecodable_lines_are_quarantined_with_their_bytes_shown():
    body = b"2024-01-01,001,Tea,6\n2024-01-02,002,Caf" + b"\xe9,4\n2024-01-03,003,Salt,1\n"
    spans = tuple(_undecodable(body, 10))
    assert spans == ((39, 40),)
    parsed, _ = _parse_block(body, first_line=2, shape=SHAPE, final=True, undecodable=spans)
    assert parsed.lines.tolist() == [2, 4]
    assert [(b.line, b.reason, b.text) for b in parsed.bad] == [
        (3, "not valid UTF-8", "2024-01-02,002,Caf\\xe9,4")
    ]
    assert parsed.undecodable == [(3, 19, 39)]  # line 3, byte 19 of the line, byte 39 of the block


def test_usecols_reads_the_requested_columns_in_the_requested_order():
    shape = _Shape(",", NAMES, SHAPE.newline_ok, usecols=[3, 0])
    parsed, _ = parse('2024-01-01,001,"Tea\nblack",6\n2024-01-02,002,Milk,4\n', shape=shape)
    assert list(parsed.frame.columns) == ["QuantitySold", "Date"]
    assert parsed.frame.values.tolist() == [["6", "2024-01-01"], ["4", "2024-01-02"]]


# --- the reader ---------------------------------------------------------------------------------
def _encoding(path):
    return _detect_encoding(path.read_bytes()[:4096], None)


@pytest.mark.parametrize("block_bytes", [16, 64, 4096])
def test_reader_gives_the_same_records_whatever_the_block_size(tmp_path, block_bytes):
    text = (
        'h1,h2,h3,h4\n2024-01-01,001,"Tea\nblack",6\n\n2024-01-02,002,Milk,4\n2024-01-03,003,Salt,1'
    )
    path = tmp_path / "f.csv"
    path.write_bytes(codecs.BOM_UTF8 + text.encode("utf-8"))
    reader = _Reader(path, "f.csv", _encoding(path), SHAPE, 1, block_bytes)
    blocks = list(reader)
    frame = pd.concat([b.frame for b in blocks], ignore_index=True)
    assert frame["ItemName"].tolist() == ["Tea\nblack", "Milk", "Salt"]
    assert np.concatenate([b.lines for b in blocks]).tolist() == [2, 5, 6]
    assert sum(b.blank for b in blocks) == 1
    assert reader.lines == 6  # physical lines, the header's included


def test_reader_reads_utf16_through_utf8(tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes("h1,h2,h3,h4\n2024-01-01,001,شاي,6\n".encode("utf-16"))
    reader = _Reader(path, "f.csv", _encoding(path), SHAPE, 1, 8)
    (frame,) = [b.frame for b in reader if len(b.frame)]
    assert frame.values.tolist() == [["2024-01-01", "001", "شاي", "6"]]


def test_reader_refuses_a_file_in_another_encoding_and_names_it(tmp_path):
    path = tmp_path / "f.csv"
    rows = "".join(f"2024-01-0{i % 9 + 1},00{i},شاي أخضر,{i}\n" for i in range(30))
    path.write_bytes(("h1,h2,h3,h4\n" + rows).encode("cp1256"))
    with pytest.raises(DataContractError) as err:
        list(_Reader(path, "f.csv", _encoding(path), SHAPE, 1, 1 << 16))
    message = str(err.value)
    assert "f.csv: not valid UTF-8 at line 2, byte 16 of the line (byte 27 of the file)" in message
    assert "cp1256 (Arabic Windows)" in message
    assert "--encoding cp1256" in message


# --- encodings ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("head", "requested", "codec", "skip"),
    [
        (b"a,b\n", None, "utf-8", 0),
        (codecs.BOM_UTF8 + b"a,b\n", None, "utf-8", 3),
        ("a,b\n".encode("utf-16"), None, "utf-16-le", 2),
        ("a,b\n".encode("utf-16-be"), None, "utf-16-be", 0),
        ("a,b\n".encode("utf-16-le"), None, "utf-16-le", 0),
        (codecs.BOM_UTF32_LE + "a".encode("utf-32-le"), None, "utf-32-le", 4),
        ("é,b\n".encode("cp1256"), "cp1256", "cp1256", 0),
        (codecs.BOM_UTF8 + "ش,b\n".encode(), "cp1256", "utf-8", 3),  # a BOM cannot lie
        ("ش,b\n".encode(), "cp1256", "utf-8", 0),  # valid UTF-8 is not cp1256
        (b"a,b\n", "cp1256", "cp1256", 0),
        (codecs.BOM_UTF8 + b"a,b\n", "utf-8", "utf-8", 3),
        ("a,b\n".encode("utf-16-le"), "utf-8", "utf-16-le", 0),  # NULs are not UTF-8 text
    ],
)
def test_detect_encoding(head, requested, codec, skip):
    got = _detect_encoding(head, requested)
    assert (got.codec, got.skip) == (codec, skip)


def test_guess_encoding_tells_arabic_windows_from_western_european():
    assert _guess_encoding("شوكولاتة النور".encode("cp1256"))[0] == "cp1256"
    assert _guess_encoding("Crème brûlée, café".encode("cp1252"))[0] == "latin-1"
    assert _guess_encoding("abc".encode("utf-16-le"))[0] == "utf-16"


def test_undecodable_reports_one_span_per_line_up_to_a_limit():
    data = b"ok\n\xe9\xe9\xe9\nok\n\xff\n"
    assert _undecodable(data, 10) == [(3, 4), (10, 11)]
    assert _undecodable(data, 1) == [(3, 4)]
    assert _undecodable(b"all fine\n", 10) == []


# --- the header ---------------------------------------------------------------------------------
SALES = SCHEMAS["sales_transactions"]
SALES_HEADER = "Date,BranchID,BranchName,InvoiceNumber,ItemCode,ItemName,QuantitySold"


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_the_delimiter_is_read_off_the_header(tmp_path, delimiter):
    path = tmp_path / "sales_transactions.csv"
    path.write_text(SALES_HEADER.replace(",", delimiter) + "\n2024-01-01;1;x;1;I;n;1\n", "utf-8")
    header = _read_header(SALES, path)
    assert header.delimiter == delimiter
    assert header.colmap["QuantitySold"] == "QuantitySold"
    assert [f.code for f in header.findings] == ["delimiter"]
    assert "detected from the header" in header.findings[0].message


def test_a_wrong_delimiter_option_says_which_one_fits(tmp_path):
    path = tmp_path / "sales_transactions.csv"
    path.write_text(SALES_HEADER.replace(",", ";") + "\n", "utf-8")
    with pytest.raises(DataContractError, match="re-run with --delimiter ';'"):
        _read_header(SALES, path, CsvFormat(delimiter=","))


def test_the_header_reports_encoding_and_its_physical_lines(tmp_path):
    path = tmp_path / "sales_transactions.csv"
    path.write_bytes((SALES_HEADER + ',"Notes\n(free text)"\r\n').encode("utf-16"))
    header = _read_header(SALES, path)
    assert header.lines == 2
    assert header.extra_columns == ["Notes\n(free text)"]
    assert header.encoding.codec == "utf-16-le"
    assert header.findings[0].message == "read as UTF-16 LE (byte-order mark)"


def test_an_undecodable_header_is_fatal_and_names_the_likely_encoding(tmp_path):
    path = tmp_path / "item_master.csv"
    path.write_bytes("ItemCode,الاسم العربي\n".encode("cp1256"))
    with pytest.raises(DataContractError, match=r"line 1, byte 10 of the line.*--encoding cp1256"):
        _read_header(SCHEMAS["item_master"], path)


# --- Arabic-Indic digits --------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["str", object])
def test_quantities_read_as_pd_to_numeric_reads_them(dtype):
    """Property: the Arrow fast path for plain integers changes no value, bit for bit (the sign
    of a zero included), on random numbers, integers too long for it, and text."""
    rng = random.Random(5)
    pieces = ["0", "7", "-", "+", ".", "e", "1", "00", "9" * 16, "inf", "nan", "x", ""]
    values = ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 4))) for _ in range(5000)]
    values += ["-0", "+5", "007", "-007", "999999999999999", "-999999999999999", "1e3", "1.5"]
    series = pd.Series(values, dtype=dtype)
    got = _to_float(series)
    want = np.asarray(pd.to_numeric(np.array(values, dtype=object), errors="coerce"), float)
    assert got.tobytes() == want.tobytes()


def test_arabic_indic_and_persian_digits_are_numbers():
    values, status = _parse_quantities(
        pd.Series(["١٢", "۱۲", "٣٫٥", "١٬٢٣٤", "\u200f٧", "١x", "12"], dtype="str")
    )
    np.testing.assert_array_equal(values[:5], [12.0, 12.0, 3.5, 1234.0, 7.0])
    assert status.tolist()[:5] == [_QTY_ARABIC_DIGITS] * 5
    assert status[5] == _QTY_NON_NUMERIC
    assert values[6] == 12.0


# --- the run's CSV settings -------------------------------------------------------------------
def test_csv_format_from_options_over_the_environment():
    env = {"STOCKOUT_CSV_ENCODING": "CP1256", "STOCKOUT_CSV_DELIMITER": "semicolon"}
    assert load_csv_format(env) == CsvFormat(encoding="cp1256", delimiter=";")
    assert load_csv_format(env, encoding="utf-16", delimiter="tab") == CsvFormat(
        encoding="utf-16", delimiter="\t"
    )
    assert load_csv_format({}) == CsvFormat()


@pytest.mark.parametrize(
    ("kwargs", "env", "source"),
    [
        ({"encoding": "klingon"}, {}, "--encoding"),
        ({}, {"STOCKOUT_CSV_ENCODING": "klingon"}, "STOCKOUT_CSV_ENCODING"),
        ({"delimiter": ";;"}, {}, "--delimiter"),
        ({}, {"STOCKOUT_CSV_DELIMITER": '"'}, "STOCKOUT_CSV_DELIMITER"),
    ],
)
def test_csv_format_names_where_a_bad_value_came_from(kwargs, env, source):
    with pytest.raises(ValueError, match=source):
        load_csv_format(env, **kwargs)


def test_a_second_read_skips_the_classification_of_blocks_found_clean(tmp_path):
    lines = [f"2024-01-{d:02d},00{d % 3},Tea,{d}\n" for d in range(1, 29)]
    lines[20] = "2024-01-21,001,Tea,1,EXTRA\n"  # one bad line: its block is not clean
    path = tmp_path / "f.csv"
    path.write_text("h1,h2,h3,h4\n" + "".join(lines), "utf-8")
    clean: dict[int, int] = {}
    first = list(_Reader(path, "f.csv", _encoding(path), SHAPE, 1, 128, clean))
    assert clean
    assert all(first[i].clean for i in clean)
    assert not all(b.clean for b in first)  # the block holding line 22 was classified again
    second = list(_Reader(path, "f.csv", _encoding(path), SHAPE, 1, 128, clean))
    for a, b in zip(first, second, strict=True):
        pd.testing.assert_frame_equal(a.frame, b.frame)
        assert a.lines.tolist() == b.lines.tolist()
        assert [x.line for x in a.bad] == [x.line for x in b.bad] == ([22] if a.bad else [])


def test_an_empty_line_inside_a_quoted_field_belongs_to_its_record():
    parsed, _ = parse('2024-01-01,001,"Tea\n\nblack",6\n2024-01-02,002,Milk,4\n')
    assert parsed.frame["ItemName"].tolist() == ["Tea\n\nblack", "Milk"]
    assert parsed.lines.tolist() == [2, 5]
    assert (parsed.blank, parsed.bad, parsed.multiline) == (0, [], [(2, 4)])
