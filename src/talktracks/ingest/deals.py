"""Deal outcomes from the CRM: validate a deals CSV, then upsert it in one transaction.

Columns: deal_id, outcome (won|lost|open) required; amount (number >= 0) and closed_at (ISO
date, or an ISO datetime whose date is used) optional; every other column is kept as a
string attribute of the deal (segment, stage, region...). Header names are matched without
regard to case or surrounding spaces.

The whole file is validated before anything is written, so an invalid file changes nothing.
Both passes stream (validate, then write in batches of `_BATCH` rows inside one transaction),
so memory stays bounded by the set of deal ids, not the file: a 1M-row export fits.
Errors are one line naming the file, the row (spreadsheet numbering: the header is row 1) and
the column. Re-importing updates existing deals in place; deals missing from a later file are
left alone (a CRM export may be filtered), and calls whose deal_id is unknown stay in the store
and are counted as unlinked.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, update

from talktracks.errors import InputError
from talktracks.store import Call, Deal, Store
from talktracks.store.models import utcnow

REQUIRED = ("deal_id", "outcome")
OPTIONAL = ("amount", "closed_at")
OUTCOMES = ("won", "lost", "open")
_MAX_REPORTED = 1  # the message names the first problem and counts the rest
_IN_CHUNK = 500  # deal ids per IN (...) lookup; keeps well under SQLite's variable limit
_BATCH = 5000  # rows per insert/update executemany


@dataclass
class ImportSummary:
    """What an import did: rows read, deals inserted and updated, and call linkage after it."""

    path: str
    rows: int
    inserted: int
    updated: int
    calls_linked: int
    calls_unlinked: int

    def __str__(self) -> str:
        return self.line()

    def line(self) -> str:
        """One human-readable line for the CLI and logs."""
        return (
            f"imported {self.rows} deals from {self.path}: {self.inserted} new, {self.updated} "
            f"updated; {self.calls_linked} calls linked to a deal, {self.calls_unlinked} unlinked"
        )


@dataclass
class _Problem:
    row: int | None
    column: str | None
    message: str


def _not_utf8(path: Path, exc: UnicodeDecodeError, line: int) -> InputError:
    return InputError(
        f"{path}: not UTF-8 text (invalid byte 0x{exc.object[exc.start]:02x} on line {line}); "
        "export the file as UTF-8 CSV"
    )


def _records(p: Path) -> Iterator[tuple[int, list[str]]]:
    """(physical line number, fields) of each CSV record, streamed."""
    try:
        # utf-8-sig: Excel puts a BOM in front of UTF-8 CSVs.
        f = p.open(encoding="utf-8-sig", newline="")
    except FileNotFoundError as exc:
        raise InputError(f"{p}: file not found") from exc
    except IsADirectoryError as exc:
        raise InputError(f"{p}: is a directory, not a CSV file") from exc
    except OSError as exc:
        raise InputError(f"{p}: cannot read ({exc.strerror})") from exc
    with f:
        reader = csv.reader(f)
        number = 0
        try:
            for fields in reader:
                number += 1
                yield number, fields
        except UnicodeDecodeError as exc:
            raise _not_utf8(p, exc, reader.line_num + 1) from exc
        except csv.Error as exc:
            raise InputError(f"{p}: not a valid CSV file ({exc})") from exc


def _parse_amount(raw: str) -> tuple[float | None, str | None]:
    if raw == "":
        return None, None
    try:
        value = float(raw)
    except ValueError:
        return (
            None,
            f"{raw!r} is not a number (use digits and a decimal point, no currency or thousands separators)",
        )
    if not math.isfinite(value):
        return None, f"{raw!r} is not a finite number"
    if value < 0:
        return None, f"{raw!r} is negative; amounts must be 0 or more"
    return value, None


def _parse_date(raw: str) -> tuple[date | None, str | None]:
    if raw == "":
        return None, None
    try:
        return date.fromisoformat(raw), None
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00")).date(), None
    except ValueError:
        return None, f"{raw!r} is not an ISO date (YYYY-MM-DD)"


def _header(p: Path, records: Iterator[tuple[int, list[str]]]) -> tuple[list[str], list[str]]:
    """(canonical column names, extra columns); raises InputError on a bad header."""
    first = next(records, None)
    if first is None or not any(f.strip() for f in first[1]):
        if all(not any(f.strip() for f in fields) for _n, fields in records):
            raise InputError(
                f"{p}: the file is empty; expected a header row with deal_id and outcome"
            )
        first = (1, [])
    header = [h.strip() for h in first[1]]
    problems: list[_Problem] = []
    canon: list[str] = []
    for i, name in enumerate(header):
        lower = name.lower()
        key = lower if lower in REQUIRED + OPTIONAL else name
        if not name:
            problems.append(_Problem(1, f"#{i + 1}", "empty column name in the header"))
        elif key in canon:
            problems.append(_Problem(1, name, "column name appears twice in the header"))
        canon.append(key)
    for need in REQUIRED:
        if need not in canon:
            raise InputError(
                f"{p}: missing required column {need!r} (header has: {', '.join(header) or 'nothing'})"
            )
    if problems:
        _raise(p, problems, len(problems))
    return canon, [c for c in canon if c not in REQUIRED + OPTIONAL]


def _deals(
    p: Path, seen: dict[str, int] | None = None
) -> Iterator[tuple[dict[str, Any] | None, list[_Problem]]]:
    """(deal or None, problems) per data row, streamed; `seen` collects ids for duplicates."""
    records = _records(p)
    canon, extras = _header(p, records)
    for number, fields in records:
        if not any(f.strip() for f in fields):
            continue  # blank line, e.g. at the end of a hand-edited file
        if len(fields) != len(canon):
            yield (
                None,
                [_Problem(number, None, f"{len(fields)} fields, but the header has {len(canon)}")],
            )
            continue
        problems: list[_Problem] = []
        row = {k: v.strip() for k, v in zip(canon, fields, strict=True)}
        deal_id = row["deal_id"]
        if not deal_id:
            problems.append(_Problem(number, "deal_id", "empty; every deal needs an id"))
        elif seen is not None and deal_id in seen:
            problems.append(_Problem(number, "deal_id", f"{deal_id!r} repeats row {seen[deal_id]}"))
        elif seen is not None:
            seen[deal_id] = number
        outcome = row["outcome"].lower()
        if outcome not in OUTCOMES:
            problems.append(
                _Problem(
                    number, "outcome", f"{row['outcome']!r} is not one of {', '.join(OUTCOMES)}"
                )
            )
        amount, err = _parse_amount(row.get("amount", ""))
        if err:
            problems.append(_Problem(number, "amount", err))
        closed_at, err = _parse_date(row.get("closed_at", ""))
        if err:
            problems.append(_Problem(number, "closed_at", err))
        attributes = {c: row[c] for c in extras if row[c] != ""}
        deal = {
            "deal_id": deal_id,
            "outcome": outcome,
            "amount": amount,
            "closed_at": closed_at,
            "attributes": attributes or None,
        }
        yield deal, problems


def validate_deals_csv(path: Path | str) -> int:
    """Check every row without keeping them (only the ids); returns the row count.

    Raises InputError (one line) on the first problem, saying how many more there are.
    """
    p = Path(path)
    first: _Problem | None = None
    count = rows = 0
    seen: dict[str, int] = {}
    for deal, problems in _deals(p, seen):
        rows += deal is not None
        if problems:
            first = first or problems[0]
            count += len(problems)
    if first is not None:
        _raise(p, [first], count)
    return rows


def read_deals_csv(path: Path | str) -> list[dict[str, Any]]:
    """Parse and validate a deals CSV without touching the store (small files; tests, notebooks).

    In: the file path. Out: one dict per deal with deal_id, outcome, amount, closed_at,
    attributes (dict or None). Raises InputError (one line) on the first problem, saying how
    many more there are.
    """
    validate_deals_csv(path)
    return [deal for deal, _problems in _deals(Path(path)) if deal is not None]


def _raise(path: Path, problems: list[_Problem], total: int) -> None:
    first = problems[0]
    where = f"{path}"
    if first.row is not None:
        where += f", row {first.row}"
    if first.column is not None:
        where += f", column {first.column!r}"
    more = total - _MAX_REPORTED
    tail = f" (and {more} more problem{'s' if more > 1 else ''})" if more > 0 else ""
    raise InputError(f"{where}: {first.message}{tail}")


def call_linkage(store: Store) -> tuple[int, int]:
    """(calls whose deal_id names a known deal, calls with no or an unknown deal_id)."""
    with store.session() as s:
        total = s.scalar(select(func.count()).select_from(Call)) or 0
        linked = (
            s.scalar(
                select(func.count()).select_from(Call).join(Deal, Deal.deal_id == Call.deal_id)
            )
            or 0
        )
    return int(linked), int(total - linked)


def import_deals(store: Store, path: Path | str) -> ImportSummary:
    """Validate a deals CSV, then insert new deals and update existing ones in one transaction.

    In: an opened Store and the CSV path. Out: ImportSummary. Raises InputError (nothing
    written) when any row is invalid. The nightly flow calls this for `--deals`. Memory is
    bounded: the file is read twice, in a stream, and written `_BATCH` rows at a time.
    """
    validate_deals_csv(path)
    now = utcnow()
    rows = inserted = updated = 0
    with store.session() as s:
        batch: list[dict[str, Any]] = []

        def flush() -> tuple[int, int]:
            existing: set[str] = set()
            ids = [d["deal_id"] for d in batch]
            for lo in range(0, len(ids), _IN_CHUNK):
                chunk = ids[lo : lo + _IN_CHUNK]
                existing.update(s.scalars(select(Deal.deal_id).where(Deal.deal_id.in_(chunk))))
            new = [d for d in batch if d["deal_id"] not in existing]
            old = [d for d in batch if d["deal_id"] in existing]
            if new:
                s.execute(insert(Deal), new)
            if old:
                # ORM bulk UPDATE by primary key: one executemany, rows change in place.
                s.execute(update(Deal), old)
            batch.clear()
            return len(new), len(old)

        for deal, _problems in _deals(Path(path)):
            if deal is None:
                continue
            deal["updated_at"] = now
            batch.append(deal)
            rows += 1
            if len(batch) >= _BATCH:
                n_new, n_old = flush()
                inserted, updated = inserted + n_new, updated + n_old
        if batch:
            n_new, n_old = flush()
            inserted, updated = inserted + n_new, updated + n_old
    linked, unlinked = call_linkage(store)
    return ImportSummary(
        path=str(path),
        rows=rows,
        inserted=inserted,
        updated=updated,
        calls_linked=linked,
        calls_unlinked=unlinked,
    )


__all__ = [
    "ImportSummary",
    "call_linkage",
    "import_deals",
    "read_deals_csv",
    "validate_deals_csv",
]
