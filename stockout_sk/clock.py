"""The time the system writes on what it records: UTC, ISO 8601."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Literal

__all__ = ["utc_now", "utc_stamp", "utc_today"]


def utc_now(timespec: Literal["seconds", "milliseconds"] = "seconds") -> str:
    """Now in UTC, e.g. ``2024-04-01T05:00:00+00:00``.

    Seconds for what is recorded (tags, reports); milliseconds where two events can fall within
    one second and their order matters (the API's model swaps and polls).
    """
    return datetime.now(UTC).isoformat(timespec=timespec)


def utc_today() -> date:
    """Today's date in UTC: what a date in the data may not lie after (plus a day of grace)."""
    return datetime.now(UTC).date()


def utc_stamp() -> str:
    """Now in UTC for a file or folder name, e.g. ``20240401T050000Z`` (sorts by time)."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
