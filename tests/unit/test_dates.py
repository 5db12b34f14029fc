"""Unit tests of stockout_sk.dates: the grammar, the day-first decision, the unique-value trick."""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import pandas as pd
import pytest

from stockout_sk.dates import (
    AmbiguousDateOrderWarning,
    DayfirstEvidence,
    dayfirst_evidence,
    decide_dayfirst,
    parse_date_scalar,
    parse_dates,
    vectorised,
)

pytestmark = pytest.mark.unit

T = pd.Timestamp


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03-01", T("2024-03-01")),
        ("2024-3-1", T("2024-03-01")),
        ("  2024-03-01\t", T("2024-03-01")),
        ("2024-03-01T10:15", T("2024-03-01 10:15")),
        ("2024-03-01 10:15", T("2024-03-01 10:15")),
        ("2024-03-01T10:15:30", T("2024-03-01 10:15:30")),
        ("2024-03-01 10:15:30.250", T("2024-03-01 10:15:30.250")),
        ("2024-03-01T10:15:30,5", T("2024-03-01 10:15:30.5")),
        ("2024-03-01T10:15:30Z", T("2024-03-01 10:15:30")),
        ("2024-03-01t10:15:30z", T("2024-03-01 10:15:30")),
        ("2024-03-01 10:15 UTC", T("2024-03-01 10:15")),
        # The offset is dropped, not converted: the wall-clock date as written is kept.
        ("2024-03-01T23:30:00+03:00", T("2024-03-01 23:30")),
        ("2024-03-01T23:30:00-05:00", T("2024-03-01 23:30")),
        ("2024-03-01 00:30:00-0500", T("2024-03-01 00:30")),
        ("2024-03-01T02:00:00.123456+0530", T("2024-03-01 02:00:00.123456")),
        ("2024/03/01", T("2024-03-01")),
        ("2024/03/01 07:05:09", T("2024-03-01 07:05:09")),
    ],
)
def test_iso_and_ymd_forms(text, expected):
    result = parse_dates(pd.Series([text]), column="Date")
    assert result.values.iloc[0] == expected
    assert not result.unparseable.iloc[0]
    assert parse_date_scalar(text) == expected


def test_mixed_column_keeps_index_dtype_and_distinguishes_missing_from_garbage():
    s = pd.Series(
        ["2024-03-01", "", "   ", None, "tomorrow", "25/03/2024", "2024-02-30"],
        index=[10, 11, 12, 13, 14, 15, 16],
        dtype="str",
    )
    r = parse_dates(s, column="Date")
    assert r.values.dtype == np.dtype("datetime64[ns]")
    assert list(r.values.index) == [10, 11, 12, 13, 14, 15, 16]
    assert r.missing.tolist() == [False, True, True, True, False, False, False]
    assert r.unparseable.tolist() == [False, False, False, False, True, False, True]
    assert r.values[15] == T("2024-03-25")
    assert (r.n_missing, r.n_unparseable) == (3, 2)


def test_dayfirst_proven_by_a_day_above_12():
    s = pd.Series(["01/02/2024", "13/02/2024", "2024-02-05"])
    r = parse_dates(s, column="Date")
    assert r.dayfirst is True
    assert r.values.tolist() == [T("2024-02-01"), T("2024-02-13"), T("2024-02-05")]
    assert r.notes
    assert "day-first" in r.notes[0]


def test_monthfirst_proven_by_a_second_part_above_12():
    s = pd.Series(["01/02/2024", "02/13/2024 14:05", "1/3/2024 2:05 PM"])
    r = parse_dates(s, column="Date")
    assert r.dayfirst is False
    assert r.values.tolist() == [T("2024-01-02"), T("2024-02-13 14:05"), T("2024-01-03 14:05")]


def test_explicit_dayfirst_overrides_and_contradicting_values_fail():
    s = pd.Series(["01/02/2024", "02/13/2024"])
    r = parse_dates(s, dayfirst=True)
    assert r.values.iloc[0] == T("2024-02-01")
    assert r.unparseable.tolist() == [False, True]
    assert r.formats == {"%d/%m/%Y": 1, "impossible date as %d/%m/%Y": 1}


def test_ambiguous_only_defaults_to_dayfirst_and_warns():
    with pytest.warns(AmbiguousDateOrderWarning, match=r"ambiguous.*day-first"):
        assert decide_dayfirst(["01/02/2024", "03/04/2024"], column="Date") is True
    with pytest.warns(AmbiguousDateOrderWarning):
        assert decide_dayfirst(["01/02/2024"], default=False) is False
    r = parse_dates(pd.Series(["01/02/2024"]), column="Date")
    assert r.dayfirst is True
    assert r.values.iloc[0] == T("2024-02-01")
    assert "ambiguous" in r.notes[0]


def test_conflicting_evidence_majority_wins_with_warning():
    values = ["13/01/2024", "14/01/2024", "01/13/2024"]
    with pytest.warns(AmbiguousDateOrderWarning, match="contradict"):
        assert decide_dayfirst(values) is True
    decision = dayfirst_evidence(values).decide(column="Date")
    assert decision.conflicting
    assert decision.is_warning


def test_no_slashed_dates_means_no_decision_and_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert decide_dayfirst(["2024-01-13", "2024-01-14T10:00:00Z"]) is None
        # Values impossible in both orders are no evidence and not worth a warning either.
        assert decide_dayfirst(["31/31/2024"]) is True
    assert parse_dates(pd.Series(["2024-01-13"])).dayfirst is None


def test_evidence_counts_rows_and_is_additive():
    a = ["25/01/2024", "25/01/2024", "01/02/2024", "2024-01-01"]
    b = ["01/25/2024", "31/31/2024", None]
    ea, eb, eab = dayfirst_evidence(a), dayfirst_evidence(b), dayfirst_evidence(a + b)
    assert (ea.n_day_month_year, ea.n_first_over_12, ea.n_second_over_12) == (3, 2, 0)
    assert ea.n_ambiguous == 1
    assert (eb.n_second_over_12, eb.n_both_over_12) == (1, 1)
    summed = ea + eb
    assert summed.n_day_month_year == eab.n_day_month_year == 5
    assert summed.n_first_over_12 == eab.n_first_over_12 == 2
    assert summed.n_second_over_12 == eab.n_second_over_12 == 1
    assert summed.example_dayfirst == "25/01/2024"
    assert summed.example_monthfirst == "01/25/2024"
    assert DayfirstEvidence().decide().dayfirst is None


def test_separators_dots_and_dashes_follow_the_same_order():
    r = parse_dates(pd.Series(["13.01.2024", "02-01-2024", "02/01/2024 08:00"]))
    assert r.values.tolist() == [T("2024-01-13"), T("2024-01-02"), T("2024-01-02 08:00")]


def test_formats_and_offsets_are_counted_in_rows():
    s = pd.Series(["2024-03-01"] * 3 + ["2024-03-01T10:00:00+03:00"] * 2 + ["x", ""])
    r = parse_dates(s)
    assert r.formats == {"%Y-%m-%d": 3, "%Y-%m-%d %H:%M:%S": 2, "unrecognised": 1}
    assert r.n_offset_dropped == 2


def test_only_unique_strings_are_parsed_and_always_with_a_format(monkeypatch):
    calls: list[tuple[int, str | None]] = []
    real = pd.to_datetime

    def spy(arg, *args, **kwargs):
        calls.append((len(arg), kwargs.get("format")))
        return real(arg, *args, **kwargs)

    monkeypatch.setattr(vectorised.pd, "to_datetime", spy)
    vectorised._remembered.cache_clear()  # what an earlier test read is remembered
    s = pd.Series(["2024-03-01", "13/03/2024", "2024-03-02T10:00:00Z"] * 10_000)
    r = parse_dates(s)
    assert r.values.iloc[-1] == T("2024-03-02 10:00")
    assert sum(n for n, _ in calls) == 3  # three distinct strings, not 30,000 rows
    assert all(fmt not in (None, "mixed", "ISO8601") for _, fmt in calls)


def test_a_few_distinct_strings_are_read_once_and_weighed_each_time(monkeypatch):
    """A chunk's few dates are remembered; the counts still come from each call's rows."""
    vectorised._remembered.cache_clear()
    values = pd.Series(["05/03/2024", "2024-03-06T10:00:00+03:00", "", "13/13/2024"])
    fresh = [
        parse_dates(values, column="Date", dayfirst=d, weights=np.array(w))
        for d, w in ((None, [1, 2, 3, 4]), (False, [7, 1, 1, 1]), (True, [1, 1, 1, 9]))
    ]
    calls: list[int] = []
    real = vectorised.normalise
    monkeypatch.setattr(vectorised, "normalise", lambda u: calls.append(len(u)) or real(u))
    again = [
        parse_dates(values, column="Date", dayfirst=d, weights=np.array(w))
        for d, w in ((None, [1, 2, 3, 4]), (False, [7, 1, 1, 1]), (True, [1, 1, 1, 9]))
    ]
    assert calls == []  # read once, above
    for a, b in zip(fresh, again, strict=True):
        _assert_same_reading(a, b)
    assert fresh[1].values.iloc[0] == T("2024-05-03")  # month first
    assert fresh[2].values.iloc[0] == T("2024-03-05")  # day first, from the same memory
    assert fresh[1].formats == {
        "%m/%d/%Y": 7,
        "%Y-%m-%d %H:%M:%S": 1,
        "impossible date as %m/%d/%Y": 1,
    }
    assert fresh[2].formats["impossible date as %d/%m/%Y"] == 9
    assert fresh[0].n_offset_dropped == 2
    many = pd.Series([f"2024-01-01T00:{m:02d}:{s:02d}" for m in range(10) for s in range(60)])
    parse_dates(many)
    assert calls == [600]  # more distinct strings than are remembered: read every time
    parse_dates(many)
    assert calls == [600, 600]


def _random_seconds(n: int) -> list[str]:
    """``n`` ISO times to the second, some on days that do not exist (2023-02-30)."""
    rng = np.random.default_rng(7)
    y, m, d = rng.integers(1700, 2200, n), rng.integers(1, 13, n), rng.integers(1, 31, n)
    h, mi, s = rng.integers(0, 24, n), rng.integers(0, 60, n), rng.integers(0, 60, n)
    return [
        f"{a:04d}-{b:02d}-{c:02d} {e:02d}:{f:02d}:{g:02d}"
        for a, b, c, e, f, g in zip(y, m, d, h, mi, s, strict=True)
    ]


@pytest.mark.parametrize(
    "values",
    [
        ["2024-03-01", "2024-02-29", "1999-12-31"],
        ["2024-03-01", "2023-02-29"],  # a day that does not exist
        ["2024-13-01"],
        ["1699-12-31", "2024-01-01"],  # outside the years read at once
        ["1700-01-01", "2199-12-31"],
        ["2262-05-01"],  # beyond nanosecond dates
        ["0000-01-01"],
        ["٢٠٢٤-٠٣-٠١"],  # Arabic-Indic digits
        ["2024-03-01 ", " 2024-03-01"],
        ["2024-03-01", ""],
        ["2024-03-01", "2024-03-01T10:00"],
        ["2024-12-30 21:36:19", "2024-02-29 00:00:00", "1999-12-31 23:59:59"],
        ["2024-12-30 21:36:19", "2023-02-29 10:00:00"],  # a day that does not exist
        ["2024-12-30 24:00:00"],
        ["2024-12-30 21:60:00", "2024-12-30 21:36:60"],
        ["2024-12-30 21:36:19", "2024-12-30"],  # times and days mixed
        ["2024-12-30", "2024-12-30 21:36:19"],
        ["2024-12-30 21:36", "2024-12-30T21:36:19", "2024-12-30 21:36:19.5"],
        ["2262-05-01 00:00:00", "1699-12-31 23:59:59"],
        ["2024-12-30  21:36:19", "2024-12-30 21:36:19 "],
        ["2024-12-30 21:36:19", "2024-12-30 09:36:19 PM"],
        _random_seconds(500),
    ],
)
def test_iso_days_read_at_once_as_the_grammar_reads_them(values, monkeypatch):
    """Strings that are all ISO days, or all ISO times to the second, are read by numpy in one
    go: the same values, formats, counts and evidence as the grammar's path."""
    vectorised._remembered.cache_clear()
    series = pd.Series(values * 3)
    weights = np.arange(1, len(series) + 1)
    fast = parse_dates(series, column="Date", weights=weights)
    monkeypatch.setattr(vectorised, "_iso_dates", lambda uniques: None)
    vectorised._remembered.cache_clear()
    slow = parse_dates(series, column="Date", weights=weights)
    _assert_same_reading(fast, slow)


def _assert_same_reading(a, b) -> None:
    """Two :class:`DateParseResult` alike in every respect."""
    for name in ("values", "missing", "unparseable"):
        pd.testing.assert_series_equal(getattr(a, name), getattr(b, name))
    assert (a.formats, a.n_offset_dropped, a.evidence) == (
        b.formats,
        b.n_offset_dropped,
        b.evidence,
    )
    assert (a.dayfirst, a.notes) == (b.dayfirst, b.notes)


def test_a_year_nanosecond_dates_cannot_hold_is_an_impossible_date():
    """``0202-03-01`` (a typo of 2020 or 2022) was read as 1955-10-28 22:43:41: pandas reads it
    in seconds, and the cast to nanoseconds wrapped around."""
    r = parse_dates(
        pd.Series(["0202-03-01", "2262-05-01", "01/03/0202", "2024-03-01", "1677-09-22"]),
        column="Date",
        dayfirst=True,
    )
    assert r.unparseable.tolist() == [True, True, True, False, False]
    assert r.values.iloc[3:].tolist() == [T("2024-03-01"), T("1677-09-22")]
    assert r.formats == {
        "impossible date as %Y-%m-%d": 2,
        "impossible date as %d/%m/%Y": 1,
        "%Y-%m-%d": 2,
    }


def test_iso_days_are_read_by_numpy_not_the_grammar(monkeypatch):
    monkeypatch.setattr(vectorised, "normalise", lambda u: pytest.fail("read by the grammar"))
    r = parse_dates(pd.Series(["2024-03-01", "2024-02-29"] * 5), column="Date")
    assert r.values.iloc[1] == T("2024-02-29")
    assert r.formats == {"%Y-%m-%d": 10}
    times = pd.Series(["2024-03-01 21:36:19", "2024-02-29 00:00:01"] * 5)
    r = parse_dates(times, column="LastUpdatedAt")
    assert r.values.iloc[1] == T("2024-02-29 00:00:01")
    assert r.formats == {"%Y-%m-%d %H:%M:%S": 10}


def test_datetime_input_goes_through_with_timezone_dropped():
    aware = pd.Series(pd.to_datetime(["2024-01-01 23:00"]).tz_localize("Asia/Riyadh"))
    assert parse_dates(aware).values.iloc[0] == T("2024-01-01 23:00")
    naive = pd.Series(pd.to_datetime(["2024-01-01 23:00", None]))
    r = parse_dates(naive)
    assert r.values.iloc[0] == T("2024-01-01 23:00")
    assert r.missing.tolist() == [False, True]


def test_pandas_string_dtype_with_na():
    r = parse_dates(pd.Series(["2024-01-02", pd.NA], dtype="string"))
    assert r.values.iloc[0] == T("2024-01-02")
    assert r.missing.tolist() == [False, True]


def test_empty_series():
    r = parse_dates(pd.Series([], dtype="str"))
    assert len(r.values) == 0
    assert r.values.dtype == np.dtype("datetime64[ns]")
    assert r.formats == {}


# --- scalar -------------------------------------------------------------------------------------
def test_scalar_matches_vectorised_on_a_mixed_sample():
    sample = [
        "2024-03-01",
        "2024-03-01T10:00:00+03:00",
        "01/03/2024",
        "13/03/2024 14:05",
        "1/3/2024 2:05 pm",
        "12:00 PM 01/03/2024",
        "2024/12/31 23:59:59.999999",
        "31/02/2024",
        "nope",
    ]
    vector = parse_dates(pd.Series(sample), dayfirst=True).values
    for text, v in zip(sample, vector, strict=True):
        if pd.isna(v):
            with pytest.raises(ValueError, match="unparseable date"):
                parse_date_scalar(text, dayfirst=True)
        else:
            assert parse_date_scalar(text, dayfirst=True) == v


def test_scalar_dayfirst_flag_and_errors():
    assert parse_date_scalar("04/01/2024", dayfirst=False) == T("2024-04-01")
    assert parse_date_scalar("04/01/2024", dayfirst=True) == T("2024-01-04")
    assert parse_date_scalar("04/01/2024", dayfirst=None) == T("2024-01-04")
    with pytest.raises(ValueError, match=r"'2024-13-01'"):
        parse_date_scalar("2024-13-01")
    with pytest.raises(ValueError, match="unparseable"):
        parse_date_scalar("   ")
    with pytest.raises(ValueError, match="unparseable"):
        parse_date_scalar("1/3/2024 13:05 PM")
    with pytest.raises(TypeError, match="int"):
        parse_date_scalar(20240101)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="missing"):
        parse_date_scalar(pd.NaT)
    with pytest.raises(ValueError, match="missing"):
        parse_date_scalar(None)  # type: ignore[arg-type]


def test_scalar_accepts_date_objects():
    tz = dt.timezone(dt.timedelta(hours=3))
    assert parse_date_scalar(dt.datetime(2024, 1, 2, 23, 0, tzinfo=tz)) == T("2024-01-02 23:00")
    assert parse_date_scalar(dt.date(2024, 1, 2)) == T("2024-01-02")
    assert parse_date_scalar(T("2024-01-02 05:00", tz="UTC")) == T("2024-01-02 05:00")
