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
