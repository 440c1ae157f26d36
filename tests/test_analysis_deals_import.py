"""Deals CSV import: every kind of bad input is refused with one line and writes nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from stores import both_stores
from talktracks.cli import main
from talktracks.errors import InputError
from talktracks.ingest.deals import import_deals
from talktracks.store import Call, Deal, Store, open_store


@pytest.fixture
def store(db_url: str) -> Store:
    s = open_store(db_url)
    yield s
    s.dispose()


def write(tmp_path: Path, text: str | bytes, name: str = "deals.csv") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def deal_count(store: Store) -> int:
    with store.session() as s:
        return s.scalar(select(func.count()).select_from(Deal)) or 0


GOOD = "deal_id,outcome,amount,closed_at,segment,region\nD1,won,1200.50,2024-03-01,smb,EU\nD2,Lost,,,enterprise,\nD3,open,0,,,\n"

BAD = [
    ("no_deal_id", "id,outcome\nD1,won\n", "missing required column 'deal_id'", None, None),
    ("no_outcome", "deal_id,amount\nD1,5\n", "missing required column 'outcome'", None, None),
    ("empty_id", "deal_id,outcome\nD1,won\n ,lost\n", "empty", 3, "deal_id"),
    ("duplicate_id", "deal_id,outcome\nD1,won\nD2,lost\nD1,open\n", "repeats row 2", 4, "deal_id"),
    (
        "bad_outcome",
        "deal_id,outcome\nD1,closed-won\n",
        "'closed-won' is not one of won, lost, open",
        2,
        "outcome",
    ),
    ("text_amount", "deal_id,outcome,amount\nD1,won,lots\n", "'lots' is not a number", 2, "amount"),
    (
        "currency_amount",
        'deal_id,outcome,amount\nD1,won,"1,200"\n',
        "'1,200' is not a number",
        2,
        "amount",
    ),
    ("negative_amount", "deal_id,outcome,amount\nD1,won,-5\n", "'-5' is negative", 2, "amount"),
    ("nan_amount", "deal_id,outcome,amount\nD1,won,nan\n", "not a finite number", 2, "amount"),
    (
        "bad_date",
        "deal_id,outcome,closed_at\nD1,won,03/01/2024\n",
        "'03/01/2024' is not an ISO date",
        2,
        "closed_at",
    ),
    (
        "impossible_date",
        "deal_id,outcome,closed_at\nD1,won,2024-02-30\n",
        "not an ISO date",
        2,
        "closed_at",
    ),
    ("short_row", "deal_id,outcome,amount\nD1,won\n", "2 fields, but the header has 3", 2, None),
    ("duplicate_header", "deal_id,outcome,Outcome\nD1,won,won\n", "appears twice", 1, "Outcome"),
]


@pytest.mark.parametrize(("case", "text", "message", "row", "column"), BAD, ids=[b[0] for b in BAD])
@both_stores
def test_bad_file_names_file_row_column_and_writes_nothing(
    store: Store,
    tmp_path: Path,
    case: str,
    text: str,
    message: str,
    row: int | None,
    column: str | None,
) -> None:
    # A valid first import, so "writes nothing" also covers "changes nothing".
    import_deals(store, write(tmp_path, GOOD, "good.csv"))
    path = write(tmp_path, text)
    with pytest.raises(InputError) as err:
        import_deals(store, path)
    msg = str(err.value)
    assert "\n" not in msg
    assert str(path) in msg and message in msg
    if row is not None:
        assert f"row {row}" in msg
    if column is not None:
        assert f"column '{column}'" in msg
    assert deal_count(store) == 3
    with store.session() as s:
        assert s.get(Deal, "D1").amount == 1200.5


def test_every_problem_is_counted_but_one_is_named(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path, "deal_id,outcome,amount\nD1,maybe,-1\n,won,x\n")
    with pytest.raises(InputError, match=r"row 2, column 'outcome'.*\(and 3 more problems\)"):
        import_deals(store, path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (b"  \n\n", "the file is empty"),
        (b"deal_id,outcome\nD1,w\xe9n\n", "not UTF-8"),
    ],
    ids=["empty", "blank", "latin1"],
)
def test_empty_or_undecodable_file(
    store: Store, tmp_path: Path, content: bytes, message: str
) -> None:
    with pytest.raises(InputError, match=message):
        import_deals(store, write(tmp_path, content))
    assert deal_count(store) == 0


def test_missing_file(store: Store, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        import_deals(store, tmp_path / "nope.csv")


def test_import_parses_values_and_keeps_extra_columns(store: Store, tmp_path: Path) -> None:
    # BOM (Excel's UTF-8 CSV), header in other case with spaces, CRLF line ends.
    text = "\ufeffDeal_ID , OUTCOME,Amount,closed_at,segment\r\nD1,WON,99.5,2024-03-01T10:00:00Z,smb\r\n"
    summary = import_deals(store, write(tmp_path, text))
    assert (summary.rows, summary.inserted, summary.updated) == (1, 1, 0)
    with store.session() as s:
        d = s.get(Deal, "D1")
        assert (d.outcome, d.amount, d.closed_at) == ("won", 99.5, date(2024, 3, 1))
        assert d.attributes == {"segment": "smb"}


@both_stores
def test_reimport_updates_in_place_and_counts_unlinked_calls(store: Store, tmp_path: Path) -> None:
    with store.session() as s:
        t = datetime(2024, 3, 1, tzinfo=UTC)
        s.add_all(
            [
                Call(call_id="c1", deal_id="D1", started_at=t),
                Call(call_id="c2", deal_id="D9", started_at=t),  # unknown deal
                Call(call_id="c3", deal_id=None, started_at=t),
            ]
        )
    first = import_deals(store, write(tmp_path, GOOD))
    assert (first.inserted, first.updated, first.calls_linked, first.calls_unlinked) == (3, 0, 1, 2)
    with store.session() as s:
        before = s.get(Deal, "D1").updated_at

    second_text = "deal_id,outcome,amount,region\nD1,lost,1500,US\nD4,won,10,EU\n"
    second = import_deals(store, write(tmp_path, second_text, "again.csv"))
    assert (second.inserted, second.updated) == (1, 1)
    assert deal_count(store) == 4  # D2, D3 kept: a later export may be filtered
    with store.session() as s:
        d1 = s.get(Deal, "D1")
        assert (d1.outcome, d1.amount, d1.closed_at) == ("lost", 1500.0, None)
        assert d1.attributes == {"region": "US"}  # replaced, not merged
        assert d1.updated_at >= before
        assert s.get(Call, "c2") is not None  # calls of unknown deals stay


def test_cli_import_deals(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    assert main(["import-deals", str(write(tmp_path, GOOD)), "--db", db]) == 0
    assert "imported 3 deals" in capsys.readouterr().out
    bad = write(tmp_path, "deal_id,outcome\nD1,won\nD1,won\n", "bad.csv")
    assert main(["import-deals", str(bad), "--db", db]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "row 3, column 'deal_id'" in err
