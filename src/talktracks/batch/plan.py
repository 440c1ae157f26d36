"""Discover recordings and decide which need work, from the manifest and what the store holds.

A recording is work when it is new, its content hash changed, its channel layout changed, it is
pending (a run died mid-way), or it failed fewer than `max_attempts` times. Everything else is
skipped, so a re-run over the same folder processes nothing.
"""

from __future__ import annotations

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


def _unlisted_rows(
    folder: Path, listed: set[Path], taken_ids: set[str], warnings: list[str]
) -> list[ManifestRow]:
    """Rows for recordings in the folder that the manifest does not mention."""
    rows = []
    for path in find_recordings(folder):
        if path in listed:
            continue
        call_id = path.stem
        if call_id in taken_ids:
            warnings.append(
                f"{path.name}: not in the manifest and its name clashes with call_id {call_id!r}; skipped"
            )
            continue
        try:
            channels = "rep-left" if probe_channels(path) >= 2 else "mono"
        except TalktracksError:
            channels = "mono"  # processing will record the decode failure with its reason
        warnings.append(
            f"{path.name}: not in the manifest; processed as call_id={call_id!r}, channels={channels}"
        )
        taken_ids.add(call_id)
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
    return rows


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
) -> BatchPlan:
    """Read the manifest (raising ManifestError before any work), scan the folder, hash, decide.

    A dry run decides the same way but leaves every stored call as it was.
    """
    rows = read_manifest(manifest) if manifest is not None else []
    plan = BatchPlan()
    rows += _unlisted_rows(
        recordings_dir.resolve(),
        {r.recording for r in rows},
        {r.call_id for r in rows},
        plan.warnings,
    )
    with store.session() as s:
        existing = {c.call_id: c for c in s.scalars(select(Call))}
        for row in rows:
            digest = content_hash(row.recording) if row.recording.is_file() else None
            call = existing.get(row.call_id)
            reason = _decide(row, digest, call, max_attempts)
            if call is not None and not dry_run:
                # Metadata from the CRM side may be corrected without touching the audio.
                call.rep_id, call.deal_id = row.rep_id or call.rep_id, row.deal_id or call.deal_id
                call.started_at = row.started_at or call.started_at
            if reason is None:
                if call is not None and call.status == "failed":
                    plan.left_failed.append(row.call_id)
                else:
                    plan.skipped.append(row.call_id)
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
    return plan


def apply_job(call: Call, job: CallJob) -> None:
    """Copy a job's metadata onto its call row; blank manifest cells keep what is stored."""
    call.rep_id = job.rep_id or call.rep_id
    call.deal_id = job.deal_id or call.deal_id
    call.started_at = job.started_at or call.started_at
    call.recording = str(job.recording)
    call.channels = job.channels


def register_pending(store: Store, jobs: list[CallJob]) -> None:
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
