"""Importing transcripts that already exist (no audio), one call per JSONL line.

Line format:
    {"call_id", "rep_id", "deal_id", "started_at" (ISO 8601, with a date),
     "duration" (seconds, optional: defaults to the last utterance's end),
     "utterances": [{"speaker": "rep"|"customer"|"unknown", "start", "end", "text"}]}

Each line is validated on its own: a bad line is reported with its number and reason and
written to FILE.rejects.jsonl beside the input as {"line", "reason", "text"} (the line as it
was); good lines are imported. A call_id seen on an earlier line of the same file is
rejected, since which of the two is right cannot be known. An utterance longer than
`max_utterance_chars` is rejected with its line (the tagger would choke on it). A line larger
than `max_line_bytes` is rejected without being held in memory: only its first bytes go to the
rejects file, and reading goes on at the next line. A call_id
that holds a transcribed recording is rejected unless `replace=True` (`--replace`): an
import must not silently overwrite what the nightly transcribed.

Each call is written in one transaction: the call row is created or updated (status "done",
source "import"), its old utterances and tags are deleted, the new utterances inserted, and
the optional `tagger` hook tags them inside the same transaction. The hook keeps this module
free of model code: the CLI passes behaviours.tagging.session_tagger(model).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import delete
from sqlalchemy.orm import Session

from talktracks.errors import InputError
from talktracks.store import Call, Store, Tag, Utterance

SPEAKERS = ("rep", "customer", "unknown")
MAX_ID_LENGTH = 200  # calls.call_id, rep_id, deal_id are String(200)

Tagger = Callable[[Session, Sequence[Utterance]], int]


class LineRejected(ValueError):
    """A transcript line that cannot be imported; the message is the reason."""


@dataclass(frozen=True)
class TranscriptUtterance:
    speaker: str
    start: float
    end: float
    text: str


@dataclass(frozen=True)
class TranscriptCall:
    call_id: str
    rep_id: str | None
    deal_id: str | None
    started_at: datetime
    duration: float
    utterances: tuple[TranscriptUtterance, ...]

    @property
    def channels(self) -> str:
        # Speakers told apart on every utterance is what stereo recordings give the rest of
        # the pipeline; any "unknown" makes the call behave like a mono one.
        known = self.utterances and all(u.speaker != "unknown" for u in self.utterances)
        return "stereo" if known else "mono"


@dataclass(frozen=True)
class Rejection:
    line: int
    reason: str


@dataclass
class ImportSummary:
    path: Path
    imported: int = 0
    replaced: int = 0
    utterances: int = 0
    tags: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    rejects_path: Path | None = None


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise LineRejected(f"{what} must be a number, got {json.dumps(value)[:40]}")
    if value < 0:
        raise LineRejected(f"{what} must not be negative, got {value}")
    return float(value)


def _optional_id(obj: dict[str, Any], key: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise LineRejected(f"{key} must be a string or null")
    if len(value) > MAX_ID_LENGTH:
        raise LineRejected(f"{key} is longer than {MAX_ID_LENGTH} characters")
    return value.strip() or None


def call_id_of(obj: dict[str, Any]) -> str:
    if "call_id" not in obj:
        raise LineRejected("missing call_id")
    call_id = obj["call_id"]
    if not isinstance(call_id, str):
        raise LineRejected("call_id must be a string")
    if not call_id.strip():
        raise LineRejected("call_id is empty")
    if len(call_id) > MAX_ID_LENGTH:
        raise LineRejected(f"call_id is longer than {MAX_ID_LENGTH} characters")
    return call_id.strip()


def parse_started_at(value: Any) -> datetime:
    """An ISO 8601 date or date-time; a time without a date is refused. Naive means UTC."""
    if not isinstance(value, str) or not value.strip():
        raise LineRejected("started_at must be an ISO 8601 date-time string")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise LineRejected(
            f"started_at {value!r} is not an ISO 8601 date-time with a date"
        ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def parse_utterance(i: int, raw: Any, max_chars: int = 20000) -> TranscriptUtterance:
    at = f"utterances[{i}]"
    if not isinstance(raw, dict):
        raise LineRejected(f"{at} must be an object")
    speaker = raw.get("speaker")
    if speaker not in SPEAKERS:
        raise LineRejected(
            f"{at}: speaker {json.dumps(speaker)[:40]} is not one of {', '.join(SPEAKERS)}"
        )
    for key in ("start", "end"):
        if key not in raw:
            raise LineRejected(f"{at}: missing {key}")
    start = _number(raw["start"], f"{at}.start")
    end = _number(raw["end"], f"{at}.end")
    if start > end:
        raise LineRejected(f"{at}: start {start:g} is after end {end:g}")
    if "text" not in raw:
        raise LineRejected(f"{at}: missing text")
    if not isinstance(raw["text"], str):
        raise LineRejected(f"{at}: text must be a string")
    if len(raw["text"]) > max_chars:
        raise LineRejected(
            f"{at}: text is {len(raw['text']):,} characters, over the limit of {max_chars:,} "
            "(TALKTRACKS_MAX_UTTERANCE_CHARS); split it into utterances"
        )
    return TranscriptUtterance(speaker, start, end, raw["text"])


def parse_call(obj: Any, call_id: str | None = None, max_chars: int = 20000) -> TranscriptCall:
    """A validated call from one decoded JSON value; raises LineRejected with the reason."""
    if not isinstance(obj, dict):
        raise LineRejected("not a JSON object")
    call_id = call_id or call_id_of(obj)
    if "started_at" not in obj:
        raise LineRejected("missing started_at")
    started_at = parse_started_at(obj["started_at"])
    if "utterances" not in obj:
        raise LineRejected("missing utterances")
    if not isinstance(obj["utterances"], list):
        raise LineRejected("utterances must be a list")
    utterances = tuple(parse_utterance(i, u, max_chars) for i, u in enumerate(obj["utterances"]))
    duration_raw = obj.get("duration")
    if duration_raw is None:
        duration = max((u.end for u in utterances), default=0.0)
    else:
        duration = _number(duration_raw, "duration")
    return TranscriptCall(
        call_id=call_id,
        rep_id=_optional_id(obj, "rep_id"),
        deal_id=_optional_id(obj, "deal_id"),
        started_at=started_at,
        duration=duration,
        utterances=utterances,
    )


MAX_LINE_BYTES = 8_000_000  # a 3-hour call is about 0.3 MB; 8 MB peaks near 1.3 GB
REJECT_PREFIX_BYTES = 200  # what the rejects file keeps of a line too large to hold


def _lines(f: BinaryIO, max_bytes: int) -> Iterator[tuple[bytes, int | None]]:
    """(line, None) for each line up to `max_bytes`; (its first bytes, its size) for a larger
    one, read past in blocks so it is never held whole."""
    while True:
        raw = f.readline(max_bytes + 1)
        if not raw:
            return
        if len(raw) <= max_bytes or raw.endswith(b"\n"):
            yield raw, None
            continue
        head, size = raw[:REJECT_PREFIX_BYTES], len(raw)
        while raw and not raw.endswith(b"\n"):
            raw = f.readline(1024 * 1024)
            size += len(raw)
        yield head, size


def read_transcripts(
    path: Path, max_chars: int = 20000, max_line_bytes: int = MAX_LINE_BYTES
) -> Iterator[tuple[int, bytes, TranscriptCall | Rejection]]:
    """(line number, raw line, parsed call or rejection) for each non-blank line."""
    seen: dict[str, int] = {}
    try:
        f = path.open("rb")
    except IsADirectoryError as exc:
        raise InputError(f"{path} is a directory, not a transcripts file") from exc
    except OSError as exc:
        raise InputError(f"cannot read transcripts file {path}: {exc.strerror}") from exc
    with f:
        for n, (raw, oversize) in enumerate(_lines(f, max_line_bytes), 1):
            if oversize is not None:
                reason = (
                    f"line is {oversize / 1e6:.1f} MB, over the {max_line_bytes / 1e6:.1f} MB "
                    "limit (max_transcript_line_mb); split the call or raise the limit"
                )
                yield n, raw, Rejection(n, reason)
                continue
            line = raw.rstrip(b"\r\n")
            if n == 1 and line.startswith(b"\xef\xbb\xbf"):
                line = line[3:]
            if not line.strip():
                continue
            try:
                try:
                    text = line.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise LineRejected(f"not valid UTF-8 (byte {exc.start + 1})") from None
                try:
                    obj = json.loads(text)
                except ValueError as exc:
                    raise LineRejected(f"not valid JSON: {str(exc).split(':')[0]}") from None
                if not isinstance(obj, dict):
                    raise LineRejected("not a JSON object")
                call_id = call_id_of(obj)
                if call_id in seen:
                    raise LineRejected(
                        f"call_id {call_id!r} already appears on line {seen[call_id]}"
                    )
                seen[call_id] = n
                yield n, raw, parse_call(obj, call_id, max_chars)
            except LineRejected as exc:
                yield n, raw, Rejection(n, str(exc))


def rejects_path_for(path: Path) -> Path:
    """FILE.jsonl -> FILE.rejects.jsonl, beside the input."""
    stem = path.name[: -len(".jsonl")] if path.name.endswith(".jsonl") else path.name
    return path.with_name(f"{stem}.rejects.jsonl")


def write_call(
    session: Session, call: TranscriptCall, tagger: Tagger | None = None
) -> tuple[bool, int, int]:
    """Create or replace one call inside the caller's transaction: (replaced, utterances, tags)."""
    row = session.get(Call, call.call_id)
    replaced = row is not None
    if row is None:
        row = Call(call_id=call.call_id)
        session.add(row)
    else:
        # Explicit deletes instead of relying on ON DELETE CASCADE, so it holds on any backend.
        session.execute(delete(Tag).where(Tag.call_id == call.call_id))
        session.execute(delete(Utterance).where(Utterance.call_id == call.call_id))
        session.expire(row, ["utterances"])
    row.rep_id = call.rep_id
    row.deal_id = call.deal_id
    row.started_at = call.started_at
    row.duration = call.duration
    row.channels = call.channels
    row.status = "done"
    row.source = "import"
    row.recording = None
    row.content_hash = None
    row.asr_model = None
    row.asr_model_hash = None
    row.last_error = None
    row.processed_at = datetime.now(UTC)
    row.tagged_with = None  # set by the tagger, if one runs
    utterances = [
        Utterance(
            call_id=call.call_id,
            idx=i,
            speaker=u.speaker,
            start=u.start,
            end=u.end,
            text=u.text,
            confidence=None,
            words=None,
        )
        for i, u in enumerate(call.utterances)
    ]
    session.add_all(utterances)
    session.flush()
    tags = tagger(session, utterances) if tagger and utterances else 0
    return replaced, len(utterances), tags


def _audio_conflict(session: Session, call: TranscriptCall) -> str | None:
    row = session.get(Call, call.call_id)
    if row is None or row.source != "audio":
        return None
    return (
        f"call_id {call.call_id!r} holds a transcribed recording ({row.recording or 'no path'}, "
        f"status {row.status}); pass --replace to overwrite it with this transcript"
    )


def _reject_record(rejection: Rejection, raw: bytes) -> bytes:
    text = raw.rstrip(b"\r\n").decode("utf-8", errors="replace")
    record = {"line": rejection.line, "reason": rejection.reason, "text": text}
    return json.dumps(record, ensure_ascii=False).encode() + b"\n"


def import_transcripts(
    store: Store,
    path: Path,
    *,
    tagger: Tagger | None = None,
    replace: bool = False,
    max_utterance_chars: int = 20000,
    max_line_bytes: int = MAX_LINE_BYTES,
) -> ImportSummary:
    """Import every valid line of `path`; see the module docstring for the rules."""
    path = Path(path)
    summary = ImportSummary(path=path)
    rejects = rejects_path_for(path)
    out = None
    try:
        for n, raw, parsed in read_transcripts(path, max_utterance_chars, max_line_bytes):
            if not isinstance(parsed, Rejection):
                with store.session() as s:
                    conflict = None if replace else _audio_conflict(s, parsed)
                    if conflict is None:
                        replaced, n_utterances, n_tags = write_call(s, parsed, tagger)
                if conflict is None:
                    summary.imported += 1
                    summary.replaced += int(replaced)
                    summary.utterances += n_utterances
                    summary.tags += n_tags
                    continue
                parsed = Rejection(n, conflict)
            summary.rejected.append(parsed)
            # Streamed to disk as found: a file of bad lines never sits in memory.
            out = out or rejects.open("wb")
            out.write(_reject_record(parsed, raw))
    finally:
        if out is not None:
            out.close()
    if summary.rejected:
        summary.rejects_path = rejects
    else:
        # A rejects file from an earlier run would describe lines that are now fixed.
        rejects.unlink(missing_ok=True)
    return summary
