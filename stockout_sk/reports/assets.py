"""The CSS and JavaScript of the HTML pages, shipped as package files (``assets/``)."""

from __future__ import annotations

from functools import cache
from importlib import resources

__all__ = ["asset"]


@cache
def asset(name: str) -> str:
    """The text of ``assets/<name>`` (e.g. ``"morning_list.css"``), read once per process."""
    return resources.files("stockout_sk.reports").joinpath("assets", name).read_text("utf-8")
