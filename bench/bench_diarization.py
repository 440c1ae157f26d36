"""Diarization quality and cost on mono mixes of the sample calls and a real two-voice mix.

For each sample call the two channels are mixed to mono (the scripts give who spoke when),
transcribed with the embedded tiny.en, and diarized with the rep's voice print enrolled from
the rep's OTHER dual-channel calls (leave-one-out: a call never enrols the print it is
judged with). The same mixes are also run as 8 kHz telephone-band audio (300-3400 Hz), and
without a print (word cues only). The real mix is ../shared/data/real_audio/stereo_diarization.wav
with its two channels mixed here (never stored).

Printed per condition:
- DER: diarization error rate (missed speech + false alarm + speaker confusion over reference
  speech), pyannote-style: 10 ms frames, a 0.25 s collar (0.125 s either side of each
  reference boundary) left out, hypothesis labels mapped to reference speakers one-to-one to
  minimise the error (Hungarian).
- words right: share of recognised words on the right speaker under that mapping (the
  reference speaker of a word is the script turn, or for the real mix the louder channel,
  under its midpoint).
- rep named right: the voice named "rep" is the reference rep, and the method that named it.
- extra CPU: diarization CPU seconds / transcription CPU seconds of the same mono audio, and
  diarization CPU seconds per audio minute.

Usage: .venv/bin/python bench/bench_diarization.py [--calls c01,c05] [--no-8k] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from talktracks.config import PROJECT_ROOT

SAMPLES = PROJECT_ROOT / "sample_audio"
REAL = PROJECT_ROOT.parent / "shared" / "data" / "real_audio" / "stereo_diarization.wav"
STEP = 0.01
COLLAR = 0.25


def telephone(audio: np.ndarray) -> np.ndarray:
    """16 kHz -> 8 kHz telephone band (300-3400 Hz) -> back to 16 kHz for the model."""
    from scipy.signal import butter, resample_poly, sosfiltfilt

    narrow = resample_poly(audio, 1, 2)
    sos = butter(4, [300, 3400], btype="bandpass", fs=8000, output="sos")
    return resample_poly(sosfiltfilt(sos, narrow), 2, 1).astype(np.float32)


def frames_of(turns: list[tuple[str, float, float]], n: int) -> list[set[str]]:
    out: list[set[str]] = [set() for _ in range(n)]
    for speaker, start, end in turns:
        for i in range(int(start / STEP), min(n, int(np.ceil(end / STEP)))):
            out[i].add(speaker)
    return out


def der(reference: list[tuple[str, float, float]], hypothesis, duration: float) -> float:
    from scipy.optimize import linear_sum_assignment

    n = int(np.ceil(duration / STEP)) + 1
    ref = frames_of(reference, n)
    hyp = frames_of([(t.speaker, t.start, t.end) for t in hypothesis], n)
    keep = np.ones(n, dtype=bool)
    half = int(COLLAR / 2 / STEP)
    for _, start, end in reference:
        for b in (start, end):
            keep[max(0, int(b / STEP) - half) : int(b / STEP) + half + 1] = False
    refs = sorted({s for s, _, _ in reference})
    hyps = sorted({t.speaker for t in hypothesis})
    overlap = np.zeros((len(refs), max(1, len(hyps))))
    for i in np.flatnonzero(keep):
        for r in ref[i]:
            for h in hyp[i]:
                overlap[refs.index(r), hyps.index(h)] += 1
    rows, cols = linear_sum_assignment(-overlap)
    mapping = {hyps[c]: refs[r] for r, c in zip(rows, cols, strict=True) if c < len(hyps)}
    total = errors = 0
    for i in np.flatnonzero(keep):
        r, h = ref[i], {mapping.get(s, "?" + s) for s in hyp[i]}
        total += len(r)
        errors += max(len(r), len(h)) - len(r & h)
    return errors / total if total else 0.0


def words_right(diarization, truth_of) -> tuple[float, dict[str, str]]:
    """Share of words on the right speaker under the best one-to-one label mapping."""
    from scipy.optimize import linear_sum_assignment

    labels = sorted(diarization.words_by_speaker)
    refs = ["rep", "customer"]
    counts = np.zeros((len(labels), 2))
    for i, label in enumerate(labels):
        for w in diarization.words_by_speaker[label]:
            counts[i, refs.index(truth_of((w.start + w.end) / 2))] += 1
    if counts.sum() == 0:
        return 0.0, {}
    rows, cols = linear_sum_assignment(-counts)
    mapping = {labels[r]: refs[c] for r, c in zip(rows, cols, strict=True)}
    return float(counts[rows, cols].sum() / counts.sum()), mapping


def script_truth(turns: list[dict]):
    spans = [(t["speaker"], t["start"], t["end"]) for t in turns]

    def truth(t: float) -> str:
        return min(
            spans, key=lambda s: 0 if s[1] <= t <= s[2] else min(abs(t - s[1]), abs(t - s[2]))
        )[0]

    return spans, truth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", default="", help="comma-separated call id prefixes")
    parser.add_argument("--no-8k", action="store_true")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--extractor",
        choices=("mfcc", "whisper"),
        default="mfcc",
        help="voice features: MFCC statistics (the default) or the Whisper encoder's output",
    )
    args = parser.parse_args()

    from talktracks.speech import decode_channels, load_model, transcribe_channel
    from talktracks.speech.clustering import speech_regions, speech_windows
    from talktracks.speech.diarize import VoiceDiarizer
    from talktracks.speech.embeddings import WhisperEncoderFeatures
    from talktracks.speech.voiceprint import combine, voice_print
    from talktracks.speech.voices import rep_voice_sample, voice_extractor

    model = load_model("embedded", "cpu", "int8", args.threads)

    def words(audio: np.ndarray):
        return transcribe_channel(model, audio, beam_size=5, vad_filter=True)[0]

    scripts = [json.loads(p.read_text()) for p in sorted((SAMPLES / "scripts").glob("*.json"))]
    reps = {
        row.split(",")[0]: row.split(",")[2]
        for row in (SAMPLES / "calls.csv").read_text().splitlines()[1:]
    }
    audio: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    samples = {}
    rep_words = {}
    print("enrolling prints from each call's rep channel ...", flush=True)
    for d in scripts:
        left, right = decode_channels(SAMPLES / d["recording"])
        rep_audio, cust_audio = (left, right) if d["channels"] == "rep-left" else (right, left)
        audio[d["call_id"]] = (rep_audio, cust_audio)
        rep_words[d["call_id"]] = words(rep_audio)
        samples[d["call_id"]] = rep_voice_sample(model, rep_audio, rep_words[d["call_id"]])

    wanted = [c for c in args.calls.split(",") if c]
    conditions = ["16k", "16k no print"] + ([] if args.no_8k else ["8k"])
    totals: dict[str, list] = {c: [] for c in conditions}
    extractor = (
        WhisperEncoderFeatures(model.whisper, model.hash)
        if args.extractor == "whisper"
        else voice_extractor(model)
    )
    if args.extractor == "whisper":
        # Prints must come from the extractor they are compared with.
        for cid, (rep_audio, _) in audio.items():
            feats = extractor.frames(rep_audio)
            win = speech_windows(feats, speech_regions(rep_words[cid]))
            samples[cid] = voice_print(extractor.name, win.embeddings)
    # Warm-up: the first diarization pays for importing scipy and scikit-learn once per process.
    first = next(iter(audio.values()))[0][: 16000 * 10]
    VoiceDiarizer(extractor).diarize(first, words(first))
    print(
        f"{'call':24s} {'condition':13s} {'DER':>6s} {'words':>6s} {'rep':>4s} {'method':12s} {'conf':>5s} {'spk':>3s}  extra-CPU"
    )
    for d in scripts:
        cid = d["call_id"]
        if wanted and not any(cid.startswith(w) for w in wanted):
            continue
        rep_audio, cust_audio = audio[cid]
        mono = ((rep_audio + cust_audio) * 0.5).astype(np.float32)
        others = [samples[c] for c in samples if c != cid and reps[c] == reps[cid] and samples[c]]
        rep_print = combine(others)
        spans, truth = script_truth(d["turns"])
        for condition in conditions:
            signal = telephone(mono) if condition == "8k" else mono
            t0 = time.process_time()
            ws = words(signal)
            asr_cpu = time.process_time() - t0
            diarizer = VoiceDiarizer(extractor, None if condition == "16k no print" else rep_print)
            t0 = time.process_time()
            result = diarizer.diarize(signal, ws)
            dia_cpu = time.process_time() - t0
            share, mapping = words_right(result, truth)
            rep_ok = result.rep_method != "none" and mapping.get("rep") == "rep"
            error = der(spans, result.turns, d["duration"])
            minutes = len(signal) / 16000 / 60
            totals[condition].append(
                (error, share, rep_ok, dia_cpu, asr_cpu, minutes, result.rep_method)
            )
            print(
                f"{cid:24s} {condition:13s} {error:6.1%} {share:6.1%} {'yes' if rep_ok else 'NO':>4s} "
                f"{result.rep_method:12s} {result.rep_confidence:5.2f} {result.n_speakers:3d}  "
                f"{dia_cpu / asr_cpu:5.1%} ({dia_cpu / minutes:.2f} s/min)",
                flush=True,
            )

    # The real two-voice recording: mixed here, truth per word from the louder channel.
    left, right = decode_channels(REAL)
    mix = ((left + right) * 0.5).astype(np.float32)
    ws = words(mix)
    result = VoiceDiarizer(extractor).diarize(mix, ws)

    def louder(t: float) -> str:
        i = int(t * 16000)
        lo, hi = max(0, i - 1600), i + 1600
        return "rep" if np.abs(left[lo:hi]).mean() >= np.abs(right[lo:hi]).mean() else "customer"

    share, _ = words_right(result, louder)
    ref_turns = []
    for name, channel in (("rep", left), ("customer", right)):
        loud = np.abs(channel[: len(channel) // 160 * 160]).reshape(-1, 160).max(axis=1) > 0.01
        on = np.flatnonzero(loud)
        if len(on):
            ref_turns.append((name, on[0] * STEP, (on[-1] + 1) * STEP))
    error = der(ref_turns, result.turns, len(mix) / 16000)
    print(
        f"\nreal two-voice mix (stereo_diarization.wav, channels mixed): {len(ws)} words, "
        f"{result.n_speakers} voice(s), DER {error:.1%}, words right {share:.1%}"
    )
    print("  (the two voices overlap for 2.3 of 4.9 s; Whisper transcribes one voice at a time)")

    print("\nsummary (mean over calls; words pooled per call then averaged):")
    for condition, rows in totals.items():
        if not rows:
            continue
        e, s, ok, dia, asr, minutes, methods = zip(*rows, strict=True)
        print(
            f"  {condition:13s} DER {np.mean(e):6.1%}  words right {np.mean(s):6.1%} (min {min(s):.1%})  "
            f"rep named right {sum(ok)}/{len(ok)}  methods {dict(zip(*np.unique(methods, return_counts=True), strict=True))}  "
            f"extra CPU {sum(dia) / sum(asr):.1%} of transcription, {sum(dia) / sum(minutes):.2f} s per audio min"
        )


if __name__ == "__main__":
    main()
