"""Calendar arithmetic the pathway counts in: months, as a clinician means them."""

from __future__ import annotations

import calendar
from datetime import date
from functools import lru_cache


# Reviews cluster on few dates; caching keeps screening a large file fast.
@lru_cache(maxsize=8192)
def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (or earlier), clamped to the month's end.

    31 January + 1 month is 28 (or 29) February."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    last = calendar.monthrange(year, month)[1]
    return date(year, month, min(day.day, last))


def months_before(day: date, months: int) -> date:
    return add_months(day, -months)
