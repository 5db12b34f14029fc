"""What people look at: plots and the assets (CSS, JavaScript) of the self-contained HTML pages.

The pages are the morning list (:mod:`stockout_sk.scoring`) and the monitoring report
(:mod:`stockout_sk.monitoring`); their CSS and JavaScript live as files in ``assets/``, read by
:func:`asset` and inlined, so a page needs no network. CSV files a person opens in a
spreadsheet go through :func:`spreadsheet_safe` (no cell runs as a formula).
"""

from stockout_sk.reports.assets import asset
from stockout_sk.reports.figures import new_figure, png_bytes, save_png
from stockout_sk.reports.tables import FORMULA_PREFIXES, spreadsheet_safe

__all__ = ["FORMULA_PREFIXES", "asset", "new_figure", "png_bytes", "save_png", "spreadsheet_safe"]
