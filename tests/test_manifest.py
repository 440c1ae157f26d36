"""calls.csv validation: every malformed manifest names its row and column; good ones parse."""

from __future__ import annotations

from pathlib import Path

import pytest

from talktracks.errors import ManifestError
from talktracks.ingest.manifest import read_manifest

HEADER = "call_id,recording,rep_id,deal_id,started_at,channels\n"
GOOD = "c1,a.ogg,rep-a,d1,2026-11-02T14:05:00+00:00,rep-left\n"


def write(tmp_path: Path, body: str, header: str = HEADER) -> Path:
    path = tmp_path / "calls.csv"
    path.write_text(header + body, encoding="utf-8")
    return path


def test_good_manifest_parses_and_resolves_paths(tmp_path):
    rows = read_manifest(write(tmp_path, GOOD + "c2,sub/b.flac,,,2026-11-02T09:00:00Z,mono\n"))
    assert [r.call_id for r in rows] == ["c1", "c2"]
    assert rows[0].recording == (tmp_path / "a.ogg").resolve()
    assert rows[0].started_at.utcoffset().total_seconds() == 0
    assert rows[1].rep_id is None and rows[1].deal_id is None and rows[1].channels == "mono"


@pytest.mark.parametrize(
    ("body", "header", "expected"),
    [
        (GOOD, "call_id,recording,rep_id,deal_id,started_at\n", "missing column channels"),
        (GOOD + "c2,b.ogg,r,d,yesterday,mono\n", HEADER, "row 2, column started_at"),
        (GOOD + "c2,b.ogg,r,d,2026-11-02T14:05:00,mono\n", HEADER, "row 2, column started_at"),
        (GOOD + "c2,b.ogg,r,d,2026-11-02T14:05:00Z,left\n", HEADER, "row 2, column channels"),
        (
            GOOD + "c1,b.ogg,r,d,2026-11-02T14:05:00Z,mono\n",
            HEADER,
            "row 2, column call_id: duplicate",
        ),
        (GOOD + ",b.ogg,r,d,2026-11-02T14:05:00Z,mono\n", HEADER, "row 2, column call_id: empty"),
        (GOOD + "c2,,r,d,2026-11-02T14:05:00Z,mono\n", HEADER, "row 2, column recording: empty"),
        (
            GOOD + "c2,/etc/passwd,r,d,2026-11-02T14:05:00Z,mono\n",
            HEADER,
            "row 2, column recording",
        ),
        (GOOD + "c2,b.ogg,r,d,2026-11-02T14:05:00Z,mono,extra\n", HEADER, "row 2: more fields"),
        ("", "", "empty manifest"),
    ],
)
def test_malformed_manifest_names_row_and_column(tmp_path, body, header, expected):
    with pytest.raises(ManifestError) as info:
        read_manifest(write(tmp_path, body, header))
    message = str(info.value)
    assert expected in message
    assert "calls.csv" in message and "\n" not in message


def test_manifest_not_utf8(tmp_path):
    path = tmp_path / "calls.csv"
    path.write_bytes(HEADER.encode() + b"c1,\xff\xfe.ogg,r,d,2026-11-02T14:05:00Z,mono\n")
    with pytest.raises(ManifestError, match="not UTF-8"):
        read_manifest(path)


def test_missing_manifest(tmp_path):
    with pytest.raises(ManifestError, match="manifest not found"):
        read_manifest(tmp_path / "nope.csv")
