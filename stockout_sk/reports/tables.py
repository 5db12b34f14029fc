"""Tables people open in a spreadsheet: text cells that a spreadsheet would run as a formula.

A cell that begins with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return, which some
spreadsheets skip before looking) is read by Excel, LibreOffice and Google Sheets as a formula:
a branch name ``=HYPERLINK("http://…", "click")`` in an export becomes a live link, and worse
formulas can run commands. :func:`spreadsheet_safe` prefixes such text cells with a single quote
(``'``), the escape the OWASP "CSV injection" guidance recommends: the spreadsheet shows the text
as it was, and a program reading the CSV sees the quote.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["FORMULA_PREFIXES", "spreadsheet_safe"]

#: First characters that make a spreadsheet read a cell as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells cannot start a spreadsheet formula.

    Only text columns are touched: a number column keeps its negative numbers (a spreadsheet
    reads ``-18`` as the number it is).

    Examples
    --------
    >>> frame = pd.DataFrame({"name": ["=HYPERLINK(1)", "Olaya", "-x"], "n": [-1, 2, 3]})
    >>> spreadsheet_safe(frame).to_dict("list")
    {'name': ["'=HYPERLINK(1)", 'Olaya', "'-x"], 'n': [-1, 2, 3]}
    """
    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if values.dtype != object and not pd.api.types.is_string_dtype(values):
            continue
        text = values.astype(object)
        strings = text.map(lambda v: isinstance(v, str))
        risky = strings & text.where(strings, "").str.startswith(FORMULA_PREFIXES)
        if risky.any():
            out[column] = text.where(~risky, "'" + text.where(risky, ""))
    return out
