"""What people look at: plots and the assets (CSS, JavaScript) of the self-contained HTML pages.

The pages are the morning list (:mod:`stockout_sk.scoring`) and the monitoring report
(:mod:`stockout_sk.monitoring`); their CSS and JavaScript live as files in ``assets/``, read by
:func:`asset` and inlined, so a page needs no network.
"""

from stockout_sk.reports.assets import asset
from stockout_sk.reports.figures import new_figure, png_bytes, save_png

__all__ = ["asset", "new_figure", "png_bytes", "save_png"]
