"""Discover recordings and decide which need work, from the manifest and what the store holds.

A recording is work when it is new, its content hash changed, its channel layout changed, it is
pending (a run died mid-way), or it failed fewer than `max_attempts` times. Everything else is
skipped, so a re-run over the same folder processes nothing.

A recording the manifest does not list is matched to the stored call that has it (by path,
then by file stem) and keeps that call's id and channel layout: a manifest that lost rows must
not re-infer and swap rep and customer on stored calls. Only a recording no stored call has
gets an inferred layout. A stored call whose transcript was imported is never re-transcribed
from an unlisted recording. Calls that have killed a process before are planned last.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from talktracks.errors import TalktracksError
from talktracks.hashing import file_sha256 as content_hash
from talktracks.ingest.manifest import ManifestRow, find_recordings, read_manifest
from talktracks.speech.audio import probe_channels
from talktracks.store import Call, Store

DONE_STATES = ("done", "no_speech")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CallJob:
    """One recording to transcribe. `content_hash` is None when the file is missing."""

    call_id: str
    recording: Path
    channels: str
    rep_id: str | None
    deal_id: str | None
    started_at: datetime | None
    content_hash: str | None
    reason: str


@dataclass
class BatchPlan:
    jobs: list[CallJob] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    left_failed: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def discovered(self) -> int:
        return len(self.jobs) + len(self.skipped) + len(self.left_failed)


@dataclass(frozen=True)
class _Unlisted:
    path: Path
    how: str  # how its call id and layout were found


def _unlisted_rows(
    folder: Path,
    listed: set[Path],
    taken_ids: set[str],
    stored: dict[str, Call],
    plan: BatchPlan,
) -> tuple[list[ManifestRow], dict[str, _Unlisted]]:
    """Rows for recordings in the folder that the manifest does not mention."""
    by_path = {c.recording: c for c in stored.values() if c.recording}
    rows: list[ManifestRow] = []
    notes: dict[str, _Unlisted] = {}
    for path in find_recordings(folder):
        if path in listed:
            continue
        call = by_path.get(str(path)) or stored.get(path.stem)
        call_id = call.call_id if call is not None else path.stem
        if call_id in taken_ids:
            plan.warnings.append(
                f"{path.name}: not in the manifest and its call_id {call_id!r} is listed for "
                "another recording; skipped"
            )
            continue
        taken_ids.add(call_id)
        if call is not None and call.source == "import":
            plan.skipped.append(call_id)
            plan.warnings.append(
                f"{path.name}: not in the manifest; call_id {call_id!r} holds an imported "
                "transcript, which is kept (list the recording in the manifest to transcribe it)"
            )
            continue
        if call is not None:
            channels = call.channels
            how = f"stored call {call_id!r}, its stored channels {channels}"
        else:
            try:
                channels = "rep-left" if probe_channels(path) >= 2 else "mono"
            except TalktracksError:
                channels = "mono"  # processing will record the decode failure with its reason
            how = f"new call {call_id!r}, channels inferred as {channels}"
        notes[call_id] = _Unlisted(path, how)
        rows.append(
            ManifestRow(
                call_id=call_id,
                recording=path,
                rep_id=None,
                deal_id=None,
                started_at=None,
                channels=channels,
                row=0,
            )
        )
    return rows, notes


def _dropped_warning(
    manifest: Path, rows: list[ManifestRow], stored: dict[str, Call], share: float
) -> str | None:
    """A loud line when the manifest leaves out more than `share` of the stored audio calls."""
    listed = {r.call_id for r in rows}
    audio = [c.call_id for c in stored.values() if c.source == "audio"]
    dropped = sorted(cid for cid in audio if cid not in listed)
    if not audio or len(dropped) / len(audio) <= share:
        return None
    first = ", ".join(dropped[:5]) + (", ..." if len(dropped) > 5 else "")
    return (
        f"MANIFEST DROPS {len(dropped)} OF {len(audio)} STORED CALLS: {manifest} does not list "
        f"them ({first}); they keep their stored ids, channels and metadata; check the export"
    )


def _decide(
    row: ManifestRow, digest: str | None, existing: Call | None, max_attempts: int
) -> str | None:
    """Why this row needs work, or None to skip it."""
    if existing is None:
        return "new"
    if existing.status == "pending":
        return "pending"
    if digest is None:
        # The file vanished: keep a finished transcript; an unfinished one uses up its attempts.
        if existing.status in DONE_STATES:
            return None
        return "retry" if existing.attempts < max_attempts else None
    if digest != existing.content_hash:
        return "changed"
    if existing.channels != row.channels:
        return "channels changed"
    if existing.status == "failed":
        return "retry" if existing.attempts < max_attempts else None
    return None


def plan_batch(
    store: Store,
    recordings_dir: Path,
    manifest: Path | None,
    *,
    max_attempts: int = 3,
    dry_run: bool = False,
    drop_warn_share: float = 0.2,
) -> BatchPlan:
    """Read the manifest (raising ManifestError before any work), scan the folder, hash, decide.

    A dry run decides the same way but leaves every stored call as it was.
    """
    rows = read_manifest(manifest) if manifest is not None else []
    plan = BatchPlan()
    with store.session() as s:
        existing = {c.call_id: c for c in s.scalars(select(Call))}
        if manifest is not None:
            loud = _dropped_warning(manifest, rows, existing, drop_warn_share)
            if loud:
                log.warning(loud)
                plan.warnings.append(loud)
        unlisted, notes = _unlisted_rows(
            recordings_dir.resolve(),
            {r.recording for r in rows},
            {r.call_id for r in rows},
            existing,
            plan,
        )
        rows += unlisted
        for row in rows:
            digest = content_hash(row.recording) if row.recording.is_file() else None
            call = existing.get(row.call_id)
            reason = _decide(row, digest, call, max_attempts)
            if call is not None and not dry_run:
                # Metadata from the CRM side may be corrected without touching the audio.
                call.rep_id, call.deal_id = row.rep_id or call.rep_id, row.deal_id or call.deal_id
                call.started_at = row.started_at or call.started_at
            note = notes.get(row.call_id)
            if reason is None:
                if call is not None and call.status == "failed":
                    plan.left_failed.append(row.call_id)
                    outcome = "left failed (out of attempts)"
                else:
                    plan.skipped.append(row.call_id)
                    outcome = "skipped (stored, unchanged)"
            else:
                outcome = f"queued ({reason})"
            if note is not None:
                plan.warnings.append(
                    f"{note.path.name}: not in the manifest; {note.how}; {outcome}"
                )
            if reason is None:
                continue
            plan.jobs.append(
                CallJob(
                    call_id=row.call_id,
                    recording=row.recording,
                    channels=row.channels,
                    rep_id=row.rep_id,
                    deal_id=row.deal_id,
                    started_at=row.started_at,
                    content_hash=digest,
                    reason=reason,
                )
            )
        # A recording that killed a process before goes last, so it cannot keep the calls
        # behind it from ever running.
        crashed = {cid for cid, c in existing.items() if c.crashes}
        plan.jobs.sort(key=lambda j: j.call_id in crashed)
    return plan


def apply_job(call: Call, job: CallJob) -> None:
    """Copy a job's metadata onto its call row; blank manifest cells keep what is stored."""
    call.rep_id = job.rep_id or call.rep_id
    call.deal_id = job.deal_id or call.deal_id
    call.started_at = job.started_at or call.started_at
    call.recording = str(job.recording)
    call.channels = job.channels


def register_pending(store: Store, jobs: list[CallJob], run_id: int | None = None) -> None:
    """Record every planned call as 'pending' before work starts.

    A run killed mid-way then leaves visible pending rows, which the next run picks up; the
    transcript itself is only ever written whole, in one transaction, by process_call.
    """
    with store.session() as s:
        for job in jobs:
            call = s.get(Call, job.call_id)
            if call is None:
                call = Call(call_id=job.call_id, status="pending", attempts=0, source="audio")
                s.add(call)
            elif job.reason in ("changed", "channels changed"):
                call.attempts = 0  # new content deserves a fresh set of attempts
            apply_job(call, job)
            call.status = "pending"
            if run_id is not None:
                call.last_run_id = run_id
