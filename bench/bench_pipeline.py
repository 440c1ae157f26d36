"""Nightly pipeline overhead vs calling faster-whisper directly, on the sample calls.

Prints, for the same recordings, model, thread count and decoding options:
- direct: decode each channel with faster-whisper's decode_audio and drain WhisperModel.transcribe
- pipeline: plan_batch + process_call (hashing, decoding, transcription, merge, one transaction
  per call into a fresh SQLite store), i.e. what each Prefect task runs
- flow: the whole Prefect flow run (ephemeral API server start included), for reference
and the ratios, the real-time factor and the peak RSS. Not part of the test suite.

Usage: .venv/bin/python bench/bench_pipeline.py [--recordings DIR] [--repeat N] [--no-flow]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from talktracks.config import PROJECT_ROOT, Settings


def direct_seconds(jobs, settings: Settings, model) -> float:
    from faster_whisper import decode_audio

    started = time.perf_counter()
    for job in jobs:
        split = job.channels != "mono"
        audio = decode_audio(str(job.recording), sampling_rate=16000, split_stereo=split)
        channels = audio if split else (audio,)
        for samples in channels:
            segments, _ = model.whisper.transcribe(
                samples,
                beam_size=settings.whisper_beam_size,
                vad_filter=settings.vad_filter,
                word_timestamps=True,
                language=settings.whisper_language,
            )
            for _ in segments:
                pass
    return time.perf_counter() - started


def pipeline_seconds(settings: Settings, recordings: Path, model) -> tuple[float, float, int]:
    from talktracks.batch import plan_batch, process_call, register_pending
    from talktracks.store import open_store

    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{tmp}/bench.db")
        started = time.perf_counter()
        manifest = recordings / "calls.csv"
        plan = plan_batch(store, recordings, manifest if manifest.exists() else None)
        register_pending(store, plan.jobs)
        outcomes = [process_call(store, job, model, settings) for job in plan.jobs]
        elapsed = time.perf_counter() - started
        store.dispose()
    failed = [o for o in outcomes if o.status == "failed"]
    if failed:
        sys.exit(f"bench: {len(failed)} call(s) failed: {failed[0].error}")
    return elapsed, sum(o.audio_seconds for o in outcomes), len(outcomes)


def flow_seconds(settings: Settings, recordings: Path) -> float:
    from talktracks.orchestration import configure_prefect, load_flow_module

    with tempfile.TemporaryDirectory() as tmp:
        s = settings.with_overrides(data_dir=Path(tmp), recordings_dir=recordings)
        configure_prefect(s)
        nightly = load_flow_module("nightly").nightly
        started = time.perf_counter()
        nightly(s)
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recordings", type=Path, default=PROJECT_ROOT / "sample_audio")
    parser.add_argument("--repeat", type=int, default=2, help="best of N for each side")
    parser.add_argument("--no-flow", action="store_true", help="skip the full Prefect flow run")
    args = parser.parse_args()

    from talktracks.batch import plan_batch
    from talktracks.speech import load_model
    from talktracks.store import open_store

    settings = Settings()
    model = load_model(
        settings.whisper_model,
        settings.whisper_device,
        settings.whisper_compute_type,
        settings.whisper_cpu_threads,
    )
    with tempfile.TemporaryDirectory() as tmp:
        manifest = args.recordings / "calls.csv"
        jobs = plan_batch(
            open_store(f"sqlite:///{tmp}/plan.db"),
            args.recordings,
            manifest if manifest.exists() else None,
        ).jobs

    # Alternate the two sides so drift in machine load hits both alike; keep the best of each.
    direct, pipeline = [], []
    audio_s = 0.0
    for _ in range(args.repeat):
        direct.append(direct_seconds(jobs, settings, model))
        elapsed, audio_s, n_calls = pipeline_seconds(settings, args.recordings, model)
        pipeline.append(elapsed)
    best_direct, best_pipeline = min(direct), min(pipeline)

    print(
        f"calls: {n_calls}, audio: {audio_s / 60:.2f} min, model: {model.name} "
        f"({model.device}/{model.compute_type}, threads={settings.whisper_cpu_threads or os.cpu_count()}),"
        f" beam={settings.whisper_beam_size}"
    )
    print(
        f"direct faster-whisper : {best_direct:7.1f} s   (runs: {', '.join(f'{x:.1f}' for x in direct)})"
    )
    print(
        f"pipeline (per-call)   : {best_pipeline:7.1f} s   (runs: {', '.join(f'{x:.1f}' for x in pipeline)})"
    )
    print(f"pipeline / direct     : {best_pipeline / best_direct:7.3f}   (target <= 1.10)")
    print(f"real-time factor      : {best_pipeline / audio_s:7.3f}   (processing s per audio s)")
    if not args.no_flow:
        flow = flow_seconds(settings, args.recordings)
        print(
            f"full Prefect flow     : {flow:7.1f} s   (incl. API server start, tagging, analysis, flags)"
        )
        print(f"flow / direct         : {flow / best_direct:7.3f}")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS              : {peak_mb:7.0f} MB")


if __name__ == "__main__":
    main()
