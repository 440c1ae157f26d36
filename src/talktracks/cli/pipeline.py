"""Commands for the nightly batch: nightly, transcribe, status, requeue, export, schedule."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from talktracks.cli.common import add_db_option, settings_from, store_from


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("nightly", help="run the nightly batch once (Prefect flow)")
    p.add_argument("--recordings", type=Path, metavar="DIR", help="folder of recordings")
    p.add_argument("--manifest", type=Path, metavar="CSV", help="calls.csv (default DIR/calls.csv)")
    p.add_argument("--deals", type=Path, metavar="CSV", help="CRM deals export to import")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_db_option(p)
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

    p = sub.add_parser("export", help="export stored data")
    p.add_argument("what", choices=("utterances", "tags", "calls"))
    p.add_argument("--format", choices=("jsonl", "csv", "parquet"), default="jsonl")
    p.add_argument("--out", type=Path, metavar="FILE", help="default: standard output (jsonl/csv)")
    add_db_option(p)
    p.set_defaults(handler=cmd_export)

    p = sub.add_parser("schedule", help="serve the nightly deployment on its cron schedule")
    p.add_argument("--cron", help="cron expression (default from settings: 0 2 * * *)")
    p.add_argument("--timezone", help="IANA zone (default: local)")
    p.set_defaults(handler=cmd_schedule)


def cmd_nightly(args: argparse.Namespace) -> int:
    from talktracks.orchestration import configure_prefect, load_flow_module

    settings = settings_from(
        args,
        recordings_dir=args.recordings,
        manifest=args.manifest,
        deals_csv=args.deals,
    )
    if args.recordings is not None and args.manifest is None:
        settings = settings.model_copy(update={"manifest": None})
    # Fail fast, before Prefect starts: bad DB URL, malformed manifest, tampered model.
    from talktracks.batch.lease import check_free
    from talktracks.ingest.manifest import read_manifest
    from talktracks.speech import resolve_model
    from talktracks.store import open_store

    # Another nightly on this store: say who, before Prefect starts (exit 3).
    check_free(open_store(settings.database_url))
    if settings.manifest_path is not None:
        read_manifest(settings.manifest_path)
    resolve_model(settings.whisper_model)
    from talktracks.behaviours import load_current_model

    load_current_model(settings.models_dir)
    configure_prefect(settings)
    nightly = load_flow_module("nightly").nightly

    from talktracks.batch.progress import listening

    bar: Any = None

    def on_event(event: str, payload: Any) -> None:
        nonlocal bar
        if args.no_progress or not sys.stderr.isatty():
            if event == "call":
                print(
                    f"  {payload.call_id}: {payload.status}"
                    + (f" ({payload.error})" if payload.error else ""),
                    file=sys.stderr,
                )
            return
        from tqdm import tqdm

        if event == "planned":
            bar = tqdm(total=len(payload.jobs), unit="call", desc="transcribing")
        elif event == "call" and bar is not None:
            bar.set_postfix_str(f"{payload.call_id}: {payload.status}")
            bar.update(1)

    with listening(on_event):
        summary = nightly(settings)
    if bar is not None:
        bar.close()
    if summary.status == "failed":
        from talktracks.errors import StoreWriteError

        raise StoreWriteError(f"run {summary.run_id} failed: {summary.error}")
    print("\n".join(summary.lines()))
    print(f"  data directory   : {settings.data_dir.resolve()}")
    report = (settings.data_dir / "analysis" / "report.html").resolve()
    if report.exists():
        print(f"  report           : {report}")
    return 0 if summary.status == "completed" else 1


def cmd_transcribe(args: argparse.Namespace) -> int:
    from talktracks.speech import load_model, probe_channels
    from talktracks.speech.longform import transcribe_recording

    settings = settings_from(args)
    channels = args.channels or ("rep-left" if probe_channels(args.file) >= 2 else "mono")
    model = load_model(
        settings.whisper_model,
        settings.whisper_device,
        settings.whisper_compute_type,
        settings.whisper_cpu_threads,
    )
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
    n = export_table(store, args.what, args.format, args.out)
    print(
        f"exported {n} {args.what} rows" + (f" to {args.out}" if args.out else ""), file=sys.stderr
    )
    return 0


def cmd_schedule(args: argparse.Namespace) -> int:
    from talktracks.orchestration import configure_prefect, load_flow_module

    settings = settings_from(args)
    configure_prefect(settings)
    module = load_flow_module("deployments")
    module.serve_nightly(
        cron=args.cron or settings.schedule_cron,
        timezone=args.timezone or settings.schedule_timezone,
    )
    return 0
