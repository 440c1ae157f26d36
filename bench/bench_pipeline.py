"""Nightly pipeline overhead vs calling faster-whisper directly, on the sample calls.

Prints, for the same recordings, model, thread count and decoding options:
- direct: decode each channel with faster-whisper's decode_audio and drain WhisperModel.transcribe
- pipeline: plan_batch + process_call (hashing, decoding, transcription, merge, behaviour
  tagging, one transaction per call into a fresh SQLite store), i.e. what each Prefect task
  runs; the time spent in the tagger is measured separately and printed as its share
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


def direct_seconds(job, settings: Settings, model) -> float:
    """faster-whisper on its own: decode the channels, drain transcribe() for each."""
    from faster_whisper import decode_audio

    started = time.perf_counter()
    split = job.channels != "mono"
    audio = decode_audio(str(job.recording), sampling_rate=16000, split_stereo=split)
    for samples in audio if split else (audio,):
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


class TimedTagger:
    """The nightly task's in-transaction tagger, with the seconds spent in it added up."""

    def __init__(self, tagger) -> None:
        self.tagger = tagger
        self.seconds = 0.0
        self.utterances = 0

    def __call__(self, session, rows) -> int:
        started = time.perf_counter()
        try:
            return self.tagger(session, rows)
        finally:
            self.seconds += time.perf_counter() - started
            self.utterances += len(rows)


def pipeline_seconds(
    store, job, settings: Settings, model, tagger: TimedTagger
) -> tuple[float, float, float]:
    """What one nightly task runs: transcribe, merge, tag, write the call in one transaction.

    Returns (total seconds, of which tagging seconds, audio seconds)."""
    from talktracks.batch import process_call

    before = tagger.seconds
    started = time.perf_counter()
    outcome = process_call(store, job, model, settings, tagger)
    elapsed = time.perf_counter() - started
    if outcome.status == "failed":
        sys.exit(f"bench: {job.call_id} failed: {outcome.error}")
    return elapsed, tagger.seconds - before, outcome.audio_seconds


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

    from talktracks.batch import plan_batch, register_pending
    from talktracks.behaviours import load_current_model, session_tagger
    from talktracks.speech import load_model
    from talktracks.store import open_store

    settings = Settings()
    model = load_model(
        settings.whisper_model,
        settings.whisper_device,
        settings.whisper_compute_type,
        settings.whisper_cpu_threads,
    )
    behaviour_model = load_current_model(settings.models_dir)
    started = time.perf_counter()
    behaviour_model.tag(["Warm-up: builds the tracker pipeline once per process."])
    tag_warmup = time.perf_counter() - started  # paid once per nightly run, not per call
    tagger = TimedTagger(session_tagger(behaviour_model))
    manifest = args.recordings / "calls.csv"
    tmp = tempfile.TemporaryDirectory()
    store = open_store(f"sqlite:///{tmp.name}/bench.db")
    started = time.perf_counter()
    plan = plan_batch(store, args.recordings, manifest if manifest.exists() else None)
    register_pending(store, plan.jobs)
    planning = time.perf_counter() - started  # discovery, hashing, pending rows: pipeline-only

    # Per call, the two sides run back to back in alternating order, so drift in machine load
    # hits both alike; each side keeps its best of --repeat runs per call.
    direct: dict[str, float] = {}
    pipeline: dict[str, float] = {}
    tagging: dict[str, float] = {}
    audio_s = 0.0
    for rep in range(args.repeat):
        for i, job in enumerate(plan.jobs):
            order = ("direct", "pipeline") if (i + rep) % 2 == 0 else ("pipeline", "direct")
            for side in order:
                if side == "direct":
                    t = direct_seconds(job, settings, model)
                    direct[job.call_id] = min(t, direct.get(job.call_id, t))
                else:
                    t, tag_s, audio = pipeline_seconds(store, job, settings, model, tagger)
                    if t < pipeline.get(job.call_id, float("inf")):
                        pipeline[job.call_id], tagging[job.call_id] = t, tag_s
                    audio_s += audio if rep == 0 else 0.0
    store.dispose()
    tmp.cleanup()
    best_direct = sum(direct.values())
    best_pipeline = sum(pipeline.values()) + planning

    threads = settings.whisper_cpu_threads or os.cpu_count()
    print(
        f"calls: {len(plan.jobs)}, audio: {audio_s / 60:.2f} min, model: {model.name} "
        f"({model.device}/{model.compute_type}, threads={threads}), "
        f"beam={settings.whisper_beam_size}, vad={settings.vad_filter}, word timestamps"
    )
    print(
        f"direct faster-whisper : {best_direct:7.1f} s   (per call best of {args.repeat}, summed)"
    )
    print(
        f"pipeline              : {best_pipeline:7.1f} s   (incl. {planning:.2f} s discovery+hashing)"
    )
    print(f"pipeline / direct     : {best_pipeline / best_direct:7.3f}   (target <= 1.10)")
    print(f"real-time factor      : {best_pipeline / audio_s:7.3f}   (processing s per audio s)")
    tag_s = sum(tagging.values())
    print(
        f"tagging               : {tag_s:7.2f} s   ({100 * tag_s / best_pipeline:.2f} % of the "
        f"pipeline; {tagger.utterances // args.repeat} utterances tagged per call in-transaction)"
        f"\n                        + {tag_warmup:.2f} s once per run to build the tracker pipeline "
        f"({100 * (tag_s + tag_warmup) / best_pipeline:.2f} % with it)"
    )
    if not args.no_flow:
        flow = flow_seconds(settings, args.recordings)
        print(
            f"full Prefect flow     : {flow:7.1f} s   (API server start, tagging, analysis, flags)"
        )
        print(f"flow / direct         : {flow / best_direct:7.3f}")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS              : {peak_mb:7.0f} MB")


if __name__ == "__main__":
    main()
