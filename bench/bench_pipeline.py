"""Naive sequential faster-whisper vs the product's nightly pipeline, on the sample calls.

Both sides use the same model, the same total threads and the same decoding options (beam 5,
VAD, word timestamps) and run alternately (naive, product, naive, product, ...) so drift in
machine load hits both alike:
- naive: one call after another, each channel through WhisperModel.transcribe with all the
  threads, nothing stored;
- product: what the nightly run does per call (decode, transcribe, merge, tag, one transaction
  per call into a fresh SQLite store), with its default layout: calls in flight x threads per
  call = the same total threads (talktracks.batch.layout), transcription mode from settings.
Prints CPU and wall seconds, their ratios, WER per channel for both (Whisper's English
normaliser, so "$49" and "forty-nine dollars" agree), the real-time factor, peak RSS, and the
product's throughput with 1 and with 2 calls in flight. Not part of the test suite.

Usage: .venv/bin/python bench/bench_pipeline.py [--calls N] [--repeat N] [--transcription MODE]
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

from talktracks.config import PROJECT_ROOT, Settings

SAMPLES = PROJECT_ROOT / "sample_audio"


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)  # every thread of this process
    return usage.ru_utime + usage.ru_stime


def naive(jobs, settings: Settings, threads: int) -> dict[str, dict[str, str]]:
    """faster-whisper on its own, one call and one channel after another."""
    from faster_whisper import decode_audio

    from talktracks.speech import load_model

    model = load_model(
        settings.whisper_model, settings.whisper_device, settings.whisper_compute_type, threads
    )
    out: dict[str, dict[str, str]] = {}
    for job in jobs:
        left, right = decode_audio(str(job.recording), sampling_rate=16000, split_stereo=True)
        sides = {"rep": left, "customer": right}
        if job.channels == "rep-right":
            sides = {"rep": right, "customer": left}
        out[job.call_id] = {}
        for speaker, samples in sides.items():
            segments, _ = model.whisper.transcribe(
                samples,
                beam_size=settings.whisper_beam_size,
                vad_filter=settings.vad_filter,
                word_timestamps=True,
                language=settings.whisper_language or model.language,
            )
            out[job.call_id][speaker] = " ".join(s.text for s in segments)
    return out


def product(jobs, settings: Settings, calls: int, threads: int) -> dict[str, dict[str, str]]:
    """The nightly per-call work, `calls` at a time, into a fresh store."""
    from sqlalchemy import select

    from talktracks.batch import register_pending
    from talktracks.batch.work import transcribe_and_store_call
    from talktracks.store import Utterance, open_store

    with tempfile.TemporaryDirectory() as tmp:
        per_call = settings.model_copy(
            update={
                "db_url": f"sqlite:///{tmp}/bench.db",
                "whisper_cpu_threads": threads,
                "calls_in_flight": calls,
            }
        )
        store = open_store(per_call.database_url)
        register_pending(store, jobs)
        with ThreadPoolExecutor(calls) as pool:
            outcomes = list(pool.map(lambda j: transcribe_and_store_call(j, per_call), jobs))
        failed = [o for o in outcomes if o.status != "done"]
        if failed:
            raise SystemExit(f"bench: {failed[0].call_id} failed: {failed[0].error}")
        out: dict[str, dict[str, list[str]]] = {}
        with store.session() as s:
            for u in s.scalars(select(Utterance).order_by(Utterance.call_id, Utterance.idx)):
                out.setdefault(u.call_id, {}).setdefault(u.speaker, []).append(u.text)
        store.dispose()
        from talktracks.store import engine

        engine._open.pop(per_call.database_url, None)
    return {c: {k: " ".join(v) for k, v in sides.items()} for c, sides in out.items()}


def wer_per_channel(texts: dict[str, dict[str, str]]) -> dict[str, float]:
    import jiwer
    from whisper_normalizer.english import EnglishTextNormalizer

    norm = EnglishTextNormalizer()
    result = {}
    for speaker in ("rep", "customer"):
        refs, hyps = [], []
        for call_id, sides in texts.items():
            script = json.loads((SAMPLES / "scripts" / f"{call_id}.json").read_text())
            ref = " ".join(t["text"] for t in script["turns"] if t["speaker"] == speaker)
            refs.append(norm(ref))
            hyps.append(norm(sides.get(speaker, "")))
        result[speaker] = jiwer.wer(refs, hyps)
    return result


def timed(fn, *args):  # noqa: ANN001, ANN202
    cpu, wall = cpu_seconds(), time.perf_counter()
    out = fn(*args)
    return out, cpu_seconds() - cpu, time.perf_counter() - wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=10, help="first N sample calls")
    parser.add_argument("--repeat", type=int, default=1, help="alternating pairs")
    parser.add_argument("--transcription", choices=["sequential", "batched"], default=None)
    parser.add_argument("--threads", type=int, default=0, help="total threads; 0 = all cores")
    args = parser.parse_args()

    from talktracks.batch import plan_batch
    from talktracks.batch.layout import call_layout, machine_cores
    from talktracks.speech.model import resolve_device
    from talktracks.store import open_store

    settings = Settings()
    if args.transcription:
        settings = settings.model_copy(update={"transcription": args.transcription})
    total = args.threads or machine_cores()
    device = resolve_device(settings.whisper_device)
    layout = call_layout(settings.calls_in_flight, 0, cores=total, device=device)
    with tempfile.TemporaryDirectory() as tmp:
        plan = plan_batch(open_store(f"sqlite:///{tmp}/plan.db"), SAMPLES, SAMPLES / "calls.csv")
    jobs = sorted(plan.jobs, key=lambda j: j.call_id)[: args.calls]
    scripts = [json.loads((SAMPLES / "scripts" / f"{j.call_id}.json").read_text()) for j in jobs]
    audio_s = sum(s["duration"] for s in scripts)
    print(
        f"calls: {len(jobs)}, audio: {audio_s / 60:.2f} min, model: {settings.whisper_model} "
        f"({device}), total threads {total}, beam {settings.whisper_beam_size}, VAD, word "
        f"timestamps; product: {layout.calls_in_flight} calls x {layout.threads_per_call} "
        f"threads, transcription={settings.transcription}"
    )
    sides = {"naive": [0.0, 0.0], "product": [0.0, 0.0]}
    texts: dict[str, dict] = {}
    for rep in range(args.repeat):
        order = ("naive", "product") if rep % 2 == 0 else ("product", "naive")
        for side in order:
            if side == "naive":
                out, cpu, wall = timed(naive, jobs, settings, total)
            else:
                out, cpu, wall = timed(
                    product, jobs, settings, layout.calls_in_flight, layout.threads_per_call
                )
            sides[side][0] += cpu / args.repeat
            sides[side][1] += wall / args.repeat
            texts[side] = out
            print(f"  run {rep + 1} {side:<8}: cpu {cpu:7.1f} s  wall {wall:7.1f} s")
    (n_cpu, n_wall), (p_cpu, p_wall) = sides["naive"], sides["product"]
    print(
        f"naive sequential : cpu {n_cpu:7.1f} s  wall {n_wall:7.1f} s  RTF {n_wall / audio_s:.3f}"
    )
    print(
        f"product pipeline : cpu {p_cpu:7.1f} s  wall {p_wall:7.1f} s  RTF {p_wall / audio_s:.3f}"
    )
    print(
        f"naive / product  : cpu {n_cpu / p_cpu:5.2f}x  wall {n_wall / p_wall:5.2f}x  "
        "(target: product >= 2x faster per audio minute)"
    )
    for side in ("naive", "product"):
        w = wer_per_channel(texts[side])
        print(f"WER {side:<8}     : rep {w['rep']:.3f}  customer {w['customer']:.3f}")
    print("throughput, product (audio min per wall min):")
    for calls in (1, 2):
        threads = max(1, total // calls)
        _, cpu, wall = timed(product, jobs, settings, calls, threads)
        print(
            f"  {calls} call(s) in flight x {threads} threads: {audio_s / wall:6.1f}  "
            f"(wall {wall:.1f} s, cpu {cpu:.1f} s)"
        )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS         : {peak_mb:7.0f} MB (whole bench process)")


if __name__ == "__main__":
    main()
