"""What request parameters may hold, checked at the boundary before any query runs.

An id beyond the database's integer range or a date outside what the queries can compute
with would otherwise surface as an OverflowError deep in a driver (HTTP 500); here it is a
400 with the usual page.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from annotated_types import Ge, Le

# The smallest INTEGER of the supported backends (PostgreSQL's int4; SQLite's is 64-bit).
MAX_DB_ID = 2**31 - 1
DbId = Annotated[int, Ge(1), Le(MAX_DB_ID)]
MAX_PAGE = 1_000_000

# Call dates the queue can filter on: day arithmetic (an inclusive "to" is "before the next
# day") must not leave Python's date range, and no call was recorded before 1900.
MIN_DATE = date(1900, 1, 1)
MAX_DATE = date(9998, 12, 31)


def filter_date(value: str, label: str, problems: list[str]) -> date | None:
    """A YYYY-MM-DD filter value, or None (blank, not a date, or outside MIN_DATE..MAX_DATE);
    what was wrong is appended to `problems` for the page, which still answers with 200."""
    if not value.strip():
        return None
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        problems.append(f"{label} {value!r} is not a date (YYYY-MM-DD); it was ignored.")
        return None
    if not MIN_DATE <= day <= MAX_DATE:  # the query adds a day to "to": keep it computable
        problems.append(
            f"{label} {day.isoformat()} is outside {MIN_DATE.isoformat()} to "
            f"{MAX_DATE.isoformat()}; it was ignored."
        )
        return None
    return day
