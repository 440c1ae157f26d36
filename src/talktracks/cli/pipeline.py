"""Commands for the nightly batch: nightly, transcribe, status, requeue, export, schedule."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from talktracks.cli.common import add_db_option, settings_from, store_from
from talktracks.cli.progress import Bar, phase

if TYPE_CHECKING:
    from talktracks.config import Settings

# `talktracks nightly` exit statuses (README "Exit codes"); 2 is TalktracksError's default,
# 3 belongs to the nightly lease (another run holds the store), 130 to an interrupt.
EXIT_OK = 0
EXIT_FAILURES = 1

# Kept here, not imported from talktracks.export, so `--help` does not load pandas.
EXPORTS = (
    "utterances",
    "tags",
    "calls",
    "deals",
    "labels",
    "flags",
    "deal_features",
    "effects",
)


def add_run_options(p: argparse.ArgumentParser) -> None:
    """The operator's choices for a nightly run; `nightly` and `schedule` take the same ones."""
    p.add_argument("--recordings", type=Path, metavar="DIR", help="folder of recordings")
    p.add_argument("--manifest", type=Path, metavar="CSV", help="calls.csv (default DIR/calls.csv)")
    p.add_argument("--deals", type=Path, metavar="CSV", help="CRM deals export to import")
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="plan only: list what would be processed, change nothing",
    )
    add_db_option(p)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "nightly",
        help="run the nightly batch once (Prefect flow)",
        description="Exit status: 0 no call failed; 1 calls or a step (deals, analysis...) "
        "failed this run (0 with --allow-failures); 2 could not start; 3 another run holds the "
        "store; 130 interrupted.",
    )
    add_run_options(p)
    p.add_argument(
        "--allow-failures",
        action="store_true",
        help="exit 0 even when calls failed (setting allow_failures)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress display")
    p.set_defaults(handler=cmd_nightly)

    p = sub.add_parser("transcribe", help="transcribe one recording and print it")
    p.add_argument("file", type=Path)
    p.add_argument(
        "--channels",
        choices=("rep-left", "rep-right", "mono"),
        default=None,
        help="default: rep-left for stereo, mono otherwise",
    )
    p.set_defaults(handler=cmd_transcribe)

    p = sub.add_parser("status", help="calls per state, failures with reasons, last runs")
    add_db_option(p)
    p.set_defaults(handler=cmd_status)

    p = sub.add_parser("requeue", help="reset a failed call so the next run retries it")
    p.add_argument("call_ids", nargs="+", metavar="CALL_ID")
    add_db_option(p)
    p.set_defaults(handler=cmd_requeue)

    p = sub.add_parser(
        "export",
        help="export stored data (utterances, tags, calls, deals, labels, flags, deal_features, "
        "effects)",
    )
    p.add_argument("what", choices=EXPORTS)
    p.add_argument("--format", choices=("jsonl", "csv", "parquet"), default="jsonl")
    p.add_argument("--out", type=Path, metavar="FILE", help="default: standard output (jsonl/csv)")
    add_db_option(p)
    p.set_defaults(handler=cmd_export)

    p = sub.add_parser(
        "schedule",
        help="serve the nightly deployment on its cron schedule",
        description="Serve the talktracks-nightly/nightly deployment from this process. "
        "--recordings, --manifest, --deals and --dry-run become the deployment's default "
        "parameters (editable per run in the Prefect UI); --db applies to every scheduled run.",
    )
    add_run_options(p)
    p.add_argument("--cron", help="cron expression (default from settings: 0 2 * * *)")
    p.add_argument("--timezone", help="IANA zone (default: local)")
    p.set_defaults(handler=cmd_schedule)


def run_settings(args: argparse.Namespace) -> Settings:
    return settings_from(args).for_run(args.recordings, args.manifest, args.deals)


def check_can_start(
    settings: Settings, *, show: bool, folder: bool = True, lease: bool = True
) -> None:
    """Refuse, before Prefect starts, what would fail the run anyway: a bad recordings folder,
    an unusable database, another nightly holding the store (exit 3), a malformed manifest
    (model files are hash-checked as they load)."""
    from talktracks.batch.lease import check_free
    from talktracks.ingest.manifest import check_recordings_dir, read_manifest
    from talktracks.store import open_store

    if folder:
        check_recordings_dir(settings.recordings_dir)
    with phase("opening the database", enabled=show):
        store = open_store(settings.database_url)
        try:
            if lease:
                check_free(store)
        finally:
            store.dispose()
    if settings.manifest_path is not None:
        read_manifest(settings.manifest_path)


def cmd_nightly(args: argparse.Namespace) -> int:
    settings = run_settings(args)
    show = not args.no_progress
    check_can_start(settings, show=show)
    with phase("loading models", enabled=show):
        from talktracks.behaviours import load_current_model
        from talktracks.speech import load_model

        # Loaded once per process: the flow's tasks reuse these, so the bar below only ever
        # measures transcription.
        load_model(
            settings.whisper_model,
            settings.whisper_device,
            settings.whisper_compute_type,
            settings.whisper_cpu_threads,
        )
        load_current_model(settings.models_dir)
    from talktracks.orchestration import configure_prefect, load_flow_module

    configure_prefect(settings)
    with phase("starting Prefect", enabled=show):
        nightly = load_flow_module("nightly").nightly
        from talktracks.orchestration import ensure_prefect_api

        ensure_prefect_api()

    from talktracks.batch.progress import listening

    bar: Bar | None = None

    def on_event(event: str, payload: Any) -> None:
        nonlocal bar
        if event == "planned":
            bar = Bar(len(payload.jobs), "transcribing", enabled=show)
        elif event == "call":
            note = f"{payload.call_id}: {payload.status}"
            if bar is not None and bar.shown:
                bar.advance(note)
            else:  # logs (cron, systemd): one line per call, with the reason when it failed
                print(
                    f"  {note}" + (f" ({payload.error})" if payload.error else ""), file=sys.stderr
                )

    try:
        with listening(on_event):
            state = nightly(settings=settings, dry_run=args.dry_run, return_state=True)
    finally:
        if bar is not None:
            bar.close()
    from talktracks.batch import RunSummary

    summary = state.result(raise_on_failure=False)
    if not isinstance(summary, RunSummary):
        # The flow itself raised: a TalktracksError (bad folder, lease...) keeps its exit code.
        if isinstance(summary, BaseException):
            raise summary
        raise RuntimeError(f"nightly flow ended {state.type.value}: {state.message}")
    if summary.status == "failed":  # the store stopped taking writes; stored calls untouched
        from talktracks.errors import StoreWriteError

        raise StoreWriteError(f"run {summary.run_id} failed: {summary.error}")
    print("\n".join(summary.lines()))
    print(f"  data directory   : {settings.data_dir.resolve()}")
    out = settings.analysis_dir_for(settings.database_url)
    if out is not None and (out / "report.html").exists() and not args.dry_run:
        print(f"  report           : {(out / 'report.html').resolve()}")
    if summary.ok or args.allow_failures or settings.allow_failures:
        return EXIT_OK
    print(f"talktracks: {summary.problem()}", file=sys.stderr)
    return EXIT_FAILURES


def cmd_transcribe(args: argparse.Namespace) -> int:
    from talktracks.speech import load_model, probe_channels
    from talktracks.speech.longform import transcribe_recording

    settings = settings_from(args)
    channels = args.channels or ("rep-left" if probe_channels(args.file) >= 2 else "mono")
    with phase("loading model"):
        model = load_model(
            settings.whisper_model,
            settings.whisper_device,
            settings.whisper_compute_type,
            settings.whisper_cpu_threads,
        )
    with phase(f"transcribing {args.file.name}"):
        t = transcribe_recording(
            args.file, channels, model, settings, chunk_s=settings.transcribe_chunk_s
        )
    for u in t.utterances:
        print(f"[{_clock(u.start)} - {_clock(u.end)}] {u.speaker:>8}: {u.text}")
    print(
        f"-- {t.duration:.1f} s of audio, language {t.language}, model {t.model_name}, "
        f"{t.processing_seconds:.1f} s to transcribe",
        file=sys.stderr,
    )
    if t.diarization is not None:
        d = t.diarization
        named = (
            f"rep named by {d.rep_method.replace('_', ' ')} (confidence {d.rep_confidence:.2f})"
            if d.rep_method != "none"
            else "rep not named (no voice print, word cues inconclusive)"
        )
        print(f"-- mono: {d.n_speakers} voice(s); {named}", file=sys.stderr)
    return 0


def _clock(seconds: float) -> str:
    m, s = divmod(seconds, 60)
    return f"{int(m):02d}:{s:04.1f}"


def cmd_status(args: argparse.Namespace) -> int:
    from talktracks.store.queries import call_status_counts, failed_calls, recent_runs

    store = store_from(args, writable=False)
    counts = call_status_counts(store)
    print("calls by state: " + (", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none"))
    failed = failed_calls(store)
    if failed:
        print("failed calls:")
        for call_id, attempts, error in failed:
            print(f"  {call_id} (attempt {attempts}): {error}")
    runs = recent_runs(store, limit=5)
    if runs:
        print("recent runs:")
        for r in runs:
            print(
                f"  #{r.id} {r.kind} {r.started_at:%Y-%m-%d %H:%M} {r.status}: "
                f"{r.processed} processed, {r.skipped} skipped, {r.failed} failed"
            )
    return 0


def cmd_requeue(args: argparse.Namespace) -> int:
    from talktracks.store.queries import requeue

    store = store_from(args)
    for call_id in args.call_ids:
        print(requeue(store, call_id))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from talktracks.export import export_table

    store = store_from(args, writable=False)
    # A spinner only when the rows go to a file: on stdout they are the output itself.
    with phase(f"exporting {args.what}", enabled=args.out is not None):
        n = export_table(store, args.what, args.format, args.out)
    print(
        f"exported {n} {args.what} rows" + (f" to {args.out}" if args.out else ""), file=sys.stderr
    )
    return 0


def cmd_schedule(args: argparse.Namespace) -> int:
    settings = run_settings(args)
    # The folder may be a share mounted only at night; each run checks it when it starts.
    check_can_start(settings, show=True, folder=args.recordings is not None, lease=False)
    if args.db:
        # Scheduled runs execute in child processes that read their settings afresh; the
        # environment is how --db reaches them (config.py reads it there).
        os.environ["TALKTRACKS_DB_URL"] = args.db
        from talktracks.config import get_settings

        get_settings.cache_clear()
    from talktracks.orchestration import configure_prefect, load_flow_module

    configure_prefect(settings)
    module = load_flow_module("deployments")
    module.serve_nightly(
        cron=args.cron or settings.schedule_cron,
        timezone=args.timezone or settings.schedule_timezone,
        parameters=module.run_parameters(
            recordings=args.recordings,
            manifest=args.manifest,
            deals=args.deals,
            dry_run=args.dry_run,
        ),
    )
    return 0
