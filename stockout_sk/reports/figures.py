"""Matplotlib figures without pyplot: each on its own Agg canvas, no global state.

matplotlib is imported inside these functions, not at module import: importing it builds its
font cache on first use, and code that only scores or monitors must not pay for that.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["DPI", "new_figure", "png_bytes", "save_png"]

#: Resolution of every PNG the system writes.
DPI = 110


def new_figure(width: float, height: float) -> Figure:
    """A constrained-layout Figure of ``width`` × ``height`` inches on its own Agg canvas."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def png_bytes(figure: Figure) -> bytes:
    """The figure as PNG bytes."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def save_png(figure: Figure, path: Path) -> Path:
    """Write the figure as a PNG file; return ``path``."""
    figure.savefig(path, format="png", dpi=DPI)
    return path
