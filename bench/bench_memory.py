"""Peak memory (RSS) against recording length and import size.

Each measurement runs in a fresh child process, and its peak RSS comes from the kernel's
rusage for that child (wait4), so one measurement's allocations never inflate another's.

Recordings: stereo 16 kHz WAV made here, mostly quiet room noise with a real speech clip
(the shared stereo recording) every `--every` minutes, so transcription is real but short and
the run stays a few minutes; decoding and voice-activity detection still cover every second.
Streaming (`speech.longform.transcribe_recording`, what the nightly uses) is measured for every
length; the whole-file path (`speech.transcribe_call`) as the baseline for the shorter ones.

Imports: a deals CSV of `--deals-rows` rows through `ingest.deals.import_deals` into SQLite;
a transcripts JSONL of `--transcript-utterances` utterances (calls of 200 utterances, one per
line) through `ingest.transcripts.import_transcripts`, tagged by the current behaviour model
as `talktracks import-transcripts` does.

    .venv/bin/python bench/bench_memory.py [--lengths 10,60,180] [--baseline-max 60]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "data" / "real_audio" / "stereo_diarization.wav"
RATE = 16000


def make_recording(path: Path, minutes: float, every_min: float) -> None:
    """Stereo WAV of `minutes`, written a minute at a time (the bench itself stays small)."""
    sys.path.insert(0, str(ROOT / "src"))
    from talktracks.speech import decode_channels

    left, right = decode_channels(REAL)
    clip = np.stack([left, right])
    rng = np.random.default_rng(0)
    total = int(minutes * 60 * RATE)
    every = int(every_min * 60 * RATE)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(RATE)
        for lo in range(0, total, 60 * RATE):
            n = min(60 * RATE, total - lo)
            block = (rng.standard_normal((2, n)) * 0.002).astype(np.float32)
            for start in range((lo // every) * every, lo + n, every):
                a, b = max(start, lo), min(start + clip.shape[1], lo + n)
                if a < b:
                    block[:, a - lo : b - lo] += clip[:, a - start : b - start]
            w.writeframes((np.clip(block, -1, 1) * 32767).astype("<i2").T.tobytes())


def make_deals(path: Path, rows: int) -> None:
    with path.open("w") as f:
        f.write("deal_id,outcome,amount,closed_at,segment\n")
        for i in range(rows):
            f.write(
                f"D{i},{('won', 'lost', 'open')[i % 3]},{i % 9000 + 100}.5,2026-0{i % 9 + 1}-15,smb\n"
            )


def make_transcripts(path: Path, utterances: int, per_call: int = 200) -> None:
    import json

    lines = (
        "how much does the premium plan cost per seat",
        "could you introduce me to a colleague",
        "let me show you our new dashboard",
        "we are reviewing the budget next quarter",
    )
    with path.open("w") as f:
        per_call = min(per_call, utterances)
        for c in range(max(1, utterances // per_call)):
            utts = [
                {
                    "speaker": ("rep", "customer")[i % 2],
                    "start": i * 5.0,
                    "end": i * 5.0 + 4.0,
                    "text": f"{lines[(c + i) % len(lines)]} number {i}",
                }
                for i in range(per_call)
            ]
            call = {
                "call_id": f"T{c}",
                "rep_id": f"r{c % 7}",
                "deal_id": f"D{c}",
                "started_at": "2026-11-02T10:00:00",
                "utterances": utts,
            }
            f.write(json.dumps(call) + "\n")


def child(kind: str, arg: str) -> None:
    """Runs in the measured process."""
    sys.path.insert(0, str(ROOT / "src"))
    from talktracks.config import Settings

    settings = Settings()
    if kind in ("stream", "whole"):
        from talktracks.speech import load_model, transcribe_call
        from talktracks.speech.longform import transcribe_recording

        model = load_model("embedded", "cpu", "default", 2)
        fn = transcribe_recording if kind == "stream" else transcribe_call
        t = fn(Path(arg), "rep-left", model, settings)
        print(f"{len(t.utterances)} utterances, {t.duration / 60:.1f} min")
    elif kind == "deals":
        from talktracks.ingest.deals import import_deals
        from talktracks.store import open_store

        db = Path(arg).with_suffix(".db")
        db.unlink(missing_ok=True)
        print(import_deals(open_store(f"sqlite:///{db}"), arg).line())
    elif kind == "transcripts":
        from talktracks.behaviours.registry import load_current_model
        from talktracks.behaviours.tagging import session_tagger
        from talktracks.ingest.transcripts import import_transcripts
        from talktracks.store import open_store

        db = Path(arg).with_suffix(".db")
        db.unlink(missing_ok=True)
        tagger = session_tagger(load_current_model(settings.models_dir))
        s = import_transcripts(open_store(f"sqlite:///{db}"), Path(arg), tagger=tagger)
        print(f"{s.imported} calls, {s.utterances} utterances, {s.tags} tags")


def measure(kind: str, arg: str) -> tuple[float, float, str]:
    """(peak RSS in MB, CPU seconds, child's output) of one child run."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", kind, arg],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "OMP_NUM_THREADS": "2"},
    )
    out = proc.stdout.read().decode().strip()
    _pid, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise SystemExit(f"{kind} {arg}: child failed with status {status}")
    cpu = usage.ru_utime + usage.ru_stime
    del started
    return usage.ru_maxrss / 1024, cpu, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lengths", default="10,60,180", help="recording lengths, minutes")
    ap.add_argument("--every", type=float, default=15.0, help="minutes between speech clips")
    ap.add_argument("--baseline-max", type=float, default=60.0, help="whole-file path up to (min)")
    ap.add_argument("--deals-rows", default="100000,1000000")
    ap.add_argument("--transcript-utterances", default="20000,200000")
    ap.add_argument("--per-call", type=int, default=200, help="utterances per transcript line")
    ap.add_argument("--only", choices=("audio", "deals", "transcripts"), help="one part only")
    ap.add_argument("--child", nargs=2, metavar=("KIND", "ARG"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return
    with tempfile.TemporaryDirectory(prefix="tt-bench-mem-") as tmp:
        if args.only in (None, "audio"):
            print("recording (stereo 16 kHz WAV)   path        peak RSS    CPU s   result")
        for minutes in (float(m) for m in args.lengths.split(",") if args.only in (None, "audio")):
            path = Path(tmp) / f"{minutes:g}min.wav"
            make_recording(path, minutes, args.every)
            kinds = ["stream"] + (["whole"] if minutes <= args.baseline_max else [])
            for kind in kinds:
                rss, cpu, out = measure(kind, str(path))
                label = "streaming" if kind == "stream" else "whole-file"
                print(
                    f"  {minutes:6.0f} min                    {label:<11} {rss:7.0f} MB {cpu:7.1f}   {out}"
                )
            path.unlink()
        if args.only in (None, "deals"):
            print("deals import (SQLite)            rows        peak RSS    CPU s")
        for rows in (int(r) for r in args.deals_rows.split(",") if args.only in (None, "deals")):
            csv_path = Path(tmp) / f"deals-{rows}.csv"
            make_deals(csv_path, rows)
            rss, cpu, out = measure("deals", str(csv_path))
            print(
                f"  {csv_path.stat().st_size / 1e6:6.0f} MB CSV                 {rows:<11,} {rss:7.0f} MB {cpu:7.1f}"
            )
        if args.only in (None, "transcripts"):
            print("transcripts import (SQLite)      utterances  peak RSS    CPU s   result")
        for n in (
            int(u)
            for u in args.transcript_utterances.split(",")
            if args.only in (None, "transcripts")
        ):
            jsonl = Path(tmp) / f"transcripts-{n}.jsonl"
            make_transcripts(jsonl, n, args.per_call)
            rss, cpu, out = measure("transcripts", str(jsonl))
            print(
                f"  {jsonl.stat().st_size / 1e6:6.0f} MB JSONL               {n:<11,} {rss:7.0f} MB {cpu:7.1f}   {out}"
            )
    print("target: under 1.5 GB for a 3-hour stereo call (streaming path)")


if __name__ == "__main__":
    main()
