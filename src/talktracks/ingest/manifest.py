"""calls.csv: which recording is which call, by which rep, for which deal.

The manifest is validated whole before anything is processed: a malformed manifest stops the
run with one line naming the row and column, so a half-understood file never writes anything.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from talktracks.errors import ConfigError, ManifestError

COLUMNS = ("call_id", "recording", "rep_id", "deal_id", "started_at", "channels")
CHANNELS = ("rep-left", "rep-right", "mono")
AUDIO_EXTENSIONS = (".wav", ".flac", ".mp3", ".m4a", ".ogg")


@dataclass(frozen=True)
class ManifestRow:
    """One validated manifest row. `recording` is resolved against the manifest's folder."""

    call_id: str
    recording: Path
    rep_id: str | None
    deal_id: str | None
    started_at: datetime | None
    channels: str
    row: int


def parse_started_at(value: str) -> datetime:
    """ISO 8601 with a UTC offset ('Z' accepted). Raises ValueError otherwise."""
    parsed = datetime.fromisoformat(value.strip())
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError("has no UTC offset")
    return parsed


def read_manifest(path: Path) -> list[ManifestRow]:
    """Parse and validate calls.csv. Rows are numbered from 1 after the header."""
    where = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise ManifestError(f"{where}: manifest not found") from exc
    except OSError as exc:
        raise ManifestError(f"{where}: cannot read manifest: {exc.strerror}") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ManifestError(f"{where}: not UTF-8 text (byte {exc.start})") from exc
    reader = csv.DictReader(text.splitlines())
    header = [h.strip() for h in (reader.fieldnames or [])]
    if not header:
        raise ManifestError(f"{where}: empty manifest, expected header {','.join(COLUMNS)}")
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise ManifestError(f"{where}: header is missing column {', '.join(missing)}")
    reader.fieldnames = header

    rows: list[ManifestRow] = []
    seen: dict[str, int] = {}
    for n, record in enumerate(reader, start=1):
        if None in record:
            raise ManifestError(f"{where} row {n}: more fields than the header has columns")

        def cell(col: str, n: int = n, record: dict[str, str | None] = record) -> str:
            value = record.get(col)
            return "" if value is None else value.strip()

        call_id = cell("call_id")
        if not call_id:
            raise ManifestError(f"{where} row {n}, column call_id: empty")
        if call_id in seen:
            raise ManifestError(
                f"{where} row {n}, column call_id: duplicate {call_id!r} (first at row {seen[call_id]})"
            )
        seen[call_id] = n
        recording = cell("recording")
        if not recording:
            raise ManifestError(f"{where} row {n}, column recording: empty")
        rec_path = Path(recording)
        if rec_path.is_absolute():
            raise ManifestError(
                f"{where} row {n}, column recording: {recording!r} must be relative to the manifest"
            )
        channels = cell("channels")
        if channels not in CHANNELS:
            raise ManifestError(
                f"{where} row {n}, column channels: {channels!r} is not one of {', '.join(CHANNELS)}"
            )
        started_raw = cell("started_at")
        started_at = None
        if started_raw:
            try:
                started_at = parse_started_at(started_raw)
            except ValueError as exc:
                raise ManifestError(
                    f"{where} row {n}, column started_at: {started_raw!r} is not ISO 8601 with a UTC offset"
                ) from exc
        else:
            raise ManifestError(f"{where} row {n}, column started_at: empty")
        rows.append(
            ManifestRow(
                call_id=call_id,
                recording=(path.parent / rec_path).resolve(),
                rep_id=cell("rep_id") or None,
                deal_id=cell("deal_id") or None,
                started_at=started_at,
                channels=channels,
                row=n,
            )
        )
    return rows


def check_recordings_dir(folder: Path) -> None:
    """Refuse a folder that does not exist, is not a folder or cannot be listed.

    An unmounted share or a typo would otherwise look like a quiet night with 0 recordings.
    """
    if not folder.exists():
        raise ConfigError(f"recordings folder {folder} does not exist")
    if not folder.is_dir():
        raise ConfigError(f"recordings folder {folder} is not a folder")
    try:
        with os.scandir(folder) as entries:
            next(entries, None)
    except OSError as exc:
        raise ConfigError(f"recordings folder {folder} cannot be read: {exc.strerror}") from exc


def find_recordings(folder: Path) -> list[Path]:
    """Audio files under `folder` (recursively), in a stable order; refuses a bad folder."""
    check_recordings_dir(folder)
    return sorted(
        p.resolve()
        for p in folder.rglob("*")
        if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS and not p.name.startswith(".")
    )
