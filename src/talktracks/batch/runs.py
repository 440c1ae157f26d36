"""Pipeline run records: what each run saw, did and failed at."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select

from talktracks.batch.plan import BatchPlan
from talktracks.batch.process import CallOutcome
from talktracks.store import Call, Run, Store, mask_url

_RESERVE_BYTES = 1 << 20
_RESERVE_NAME = ".talktracks-run-reserve"


def reserve_space(store: Store) -> Path | None:
    """Set aside 1 MiB beside a SQLite file, so a run stopped by a full disk can still close
    its run record (fail_run frees it first). None for other databases or when it cannot."""
    if store.engine.dialect.name != "sqlite" or not store.engine.url.database:
        return None
    path = Path(store.engine.url.database).resolve().parent / _RESERVE_NAME
    try:
        with path.open("wb") as f:
            f.write(b"\0" * _RESERVE_BYTES)
            f.flush()
            os.fsync(f.fileno())
    except OSError:
        with contextlib.suppress(OSError):
            path.unlink()
        return None
    return path


def free_reserve(reserve: Path | None) -> None:
    if reserve is not None:
        with contextlib.suppress(OSError):
            reserve.unlink()


@dataclass
class RunSummary:
    run_id: int
    status: str
    discovered: int
    processed: int
    skipped: int
    failed: int
    no_speech: int
    left_failed: int
    audio_seconds: float
    wall_seconds: float
    failures: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    database: str = ""
    extra: dict[str, str] = field(default_factory=dict)
    failed_steps: dict[str, str] = field(default_factory=dict)
    planned: list[tuple[str, str]] = field(default_factory=list)  # dry run: (call_id, reason)

    @property
    def ok(self) -> bool:
        """True when no call and no step (deals, tagging, analysis, flags) failed this run."""
        return self.status != "failed" and not self.failed and not self.failed_steps

    def problem(self) -> str:
        """One line naming what failed, for the flow's Failed state and alerts."""
        parts = [f"run stopped: {self.error}"] if self.status == "failed" else []
        if self.failed:
            ids = ", ".join(cid for cid, _ in self.failures[:10])
            more = f" and {self.failed - 10} more" if self.failed > 10 else ""
            parts.append(f"{self.failed} of {self.discovered} calls failed ({ids}{more})")
        parts += [f"step {name} failed: {reason}" for name, reason in self.failed_steps.items()]
        return "; ".join(parts) or "no failures"

    error: str = ""
    """Why the run stopped, when status is 'failed'."""

    def lines(self) -> list[str]:
        """The human-readable summary the CLI prints."""
        if self.status == "failed":
            return [f"run {self.run_id}: failed: {self.error}"]
        if self.status == DRY_RUN:
            return [
                f"dry run: {len(self.planned)} of {self.discovered} recordings would be processed",
                *(f"  would process {cid} ({reason})" for cid, reason in self.planned),
                f"  skipped (stored) : {self.skipped}",
                f"  left failed      : {self.left_failed}",
                f"  database         : {self.database}",
                *(f"  warning: {w}" for w in self.warnings),
            ]
        out = [
            f"run {self.run_id}: {self.status}",
            f"  recordings found : {self.discovered}",
            f"  transcribed      : {self.processed} ({self.no_speech} with no speech)",
            f"  skipped (stored) : {self.skipped}",
            f"  failed this run  : {self.failed}",
            f"  audio            : {self.audio_seconds / 60:.1f} min in {self.wall_seconds:.0f} s",
        ]
        if self.left_failed:
            out.append(
                f"  left failed      : {self.left_failed} (out of attempts; `talktracks requeue CALL_ID`)"
            )
        out += [f"  {k:<17}: {v}" for k, v in self.extra.items()]
        out.append(f"  database         : {self.database}")
        out += [f"  FAILED {cid}: {reason}" for cid, reason in self.failures]
        out += [f"  warning: {w}" for w in self.warnings]
        return out

    def markdown(self) -> str:
        """The run summary as Markdown (the flow attaches it to the run as an artifact)."""
        title = "Dry run" if self.status == DRY_RUN else f"Run {self.run_id}: {self.status}"
        rows = [
            ("recordings found", self.discovered),
            ("transcribed", f"{self.processed} ({self.no_speech} with no speech)"),
            ("skipped (stored)", self.skipped),
            ("failed this run", self.failed),
            ("left failed (out of attempts)", self.left_failed),
            ("audio", f"{self.audio_seconds / 60:.1f} min in {self.wall_seconds:.0f} s"),
            *self.extra.items(),
            ("database", self.database),
        ]
        out = [f"# talktracks nightly: {title}", "", "| | |", "| --- | --- |"]
        out += [f"| {_cell(k)} | {_cell(v)} |" for k, v in rows]
        if self.planned:
            out += ["", "## Would process", "", "| call | reason |", "| --- | --- |"]
            out += [f"| {_cell(c)} | {_cell(r)} |" for c, r in self.planned]
        if self.failures or self.failed_steps:
            out += ["", "## Failures", "", "| call or step | reason |", "| --- | --- |"]
            out += [f"| {_cell(c)} | {_cell(r)} |" for c, r in self.failures]
            out += [f"| step {_cell(n)} | {_cell(r)} |" for n, r in self.failed_steps.items()]
        if self.warnings:
            out += ["", "## Warnings", ""] + [f"- {_cell(w)}" for w in self.warnings]
        return "\n".join(out) + "\n"


DRY_RUN = "dry run"


def _cell(value: object) -> str:
    """Table-safe text: a reason with a pipe or a newline must not break the table."""
    return str(value).replace("|", "\\|").replace("\n", " ")


def dry_run_summary(store: Store, plan: BatchPlan) -> RunSummary:
    """What a run would do, without recording a run or touching a call."""
    return RunSummary(
        run_id=0,
        status=DRY_RUN,
        discovered=plan.discovered,
        processed=0,
        skipped=len(plan.skipped),
        failed=0,
        no_speech=0,
        left_failed=len(plan.left_failed),
        audio_seconds=0.0,
        wall_seconds=0.0,
        warnings=list(plan.warnings),
        database=mask_url(store.url),
        planned=[(j.call_id, j.reason) for j in plan.jobs],
    )


def close_dead_runs(store: Store, kind: str = "nightly") -> list[int]:
    """Close runs a killed process left 'running', with what they really did; returns their ids.

    Call while holding the lease: then no live run can be among them. Calls record the run
    that last worked on them, so the counts come from the calls, not from the dead process.
    """
    with store.session() as s:
        runs = list(s.scalars(select(Run).where(Run.status == "running", Run.kind == kind)))
        for run in runs:
            by_status = dict(
                s.execute(
                    select(Call.status, func.count())
                    .where(Call.last_run_id == run.id)
                    .group_by(Call.status)
                ).all()
            )
            run.status = "aborted"
            run.error = "the process ended before the run finished (closed by the next run)"
            run.processed = by_status.get("done", 0) + by_status.get("no_speech", 0)
            run.no_speech = by_status.get("no_speech", 0)
            run.failed = by_status.get("failed", 0)
            run.audio_seconds = float(
                s.scalar(
                    select(func.coalesce(func.sum(Call.duration), 0.0)).where(
                        Call.last_run_id == run.id, Call.status.in_(("done", "no_speech"))
                    )
                )
                or 0.0
            )
            last = s.scalar(select(func.max(Call.processed_at)).where(Call.last_run_id == run.id))
            run.finished_at = last or run.started_at
        return [r.id for r in runs]


def start_run(store: Store, kind: str = "nightly", flow_run_id: str | None = None) -> int:
    """Open a run record, after closing runs a killed process left 'running'."""
    close_dead_runs(store, kind)
    with store.session() as s:
        run = Run(kind=kind, status="running", flow_run_id=flow_run_id)
        s.add(run)
        s.flush()
        return run.id


def fail_run(store: Store, run_id: int, error: str, reserve: Path | None = None) -> RunSummary:
    """Close the run as failed (the store refused writes); calls stay as they are.

    The space set aside by reserve_space is freed first, so on a full disk this small write
    still fits; if it is refused anyway the run row stays 'running' and the next start
    closes it with its real counts.
    """
    free_reserve(reserve)
    try:
        with store.session() as s:
            run = s.get(Run, run_id)
            if run is not None:
                run.status = "failed"
                run.error = error
                run.finished_at = datetime.now(UTC)
    except Exception:  # noqa: BLE001 - the error we report is the first one
        error += "; the run record could not be closed either (the next run closes it)"
    return RunSummary(
        run_id=run_id,
        status="failed",
        discovered=0,
        processed=0,
        skipped=0,
        failed=0,
        no_speech=0,
        left_failed=0,
        audio_seconds=0.0,
        wall_seconds=0.0,
        database=mask_url(store.url),
        error=error,
    )


def finish_run(
    store: Store,
    run_id: int,
    plan: BatchPlan,
    outcomes: list[CallOutcome],
    *,
    extra: dict[str, str] | None = None,
    failed_steps: dict[str, str] | None = None,
) -> RunSummary:
    """Close the run record with its counts and return the summary."""
    failures = [(o.call_id, o.error or "unknown error") for o in outcomes if o.status == "failed"]
    failed_steps = dict(failed_steps or {})
    done = [o for o in outcomes if o.status in ("done", "no_speech")]
    with store.session() as s:
        run = s.get(Run, run_id)
        assert run is not None, f"run {run_id} vanished"
        run.finished_at = datetime.now(UTC)
        run.status = "completed" if not (failures or failed_steps) else "completed_with_failures"
        run.discovered = plan.discovered
        run.processed = len(done)
        run.skipped = len(plan.skipped)
        run.failed = len(failures)
        run.no_speech = sum(o.status == "no_speech" for o in outcomes)
        run.audio_seconds = sum(o.audio_seconds for o in outcomes)
        run.warnings = list(plan.warnings)
        left = s.scalars(select(Call.call_id).where(Call.call_id.in_(plan.left_failed))).all()
        started = run.started_at
        summary = RunSummary(
            run_id=run_id,
            status=run.status,
            discovered=run.discovered,
            processed=run.processed,
            skipped=run.skipped,
            failed=run.failed,
            no_speech=run.no_speech,
            left_failed=len(left),
            audio_seconds=run.audio_seconds,
            wall_seconds=(run.finished_at - started).total_seconds(),
            failures=failures,
            warnings=list(plan.warnings),
            database=mask_url(store.url),
            extra=dict(extra or {}),
            failed_steps=failed_steps,
        )
    return summary
