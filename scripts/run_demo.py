"""`make demo`: a year of synthetic history plus the ten sample calls, analysed end to end.

Steps (each timed): write the demo history (talktracks.demo), import its transcripts with
`talktracks import-transcripts` (so the real tagger tags them) and its deals with
`talktracks import-deals`, then run `talktracks nightly` over sample_audio/ (transcription,
tagging, flags and the analysis of everything in the store). Ends by printing the headline,
the estimated effects with their intervals and the path of the report.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def step(name: str, argv: list[str], timings: list[tuple[str, float]]) -> None:
    print(f"==> {name}: {' '.join(argv)}", flush=True)
    t0 = time.perf_counter()
    rc = subprocess.call(argv, cwd=ROOT)
    seconds = time.perf_counter() - t0
    timings.append((name, seconds))
    print(f"    {name} took {seconds:.1f} s", flush=True)
    if rc != 0:
        sys.exit(f"demo step {name!r} failed with exit code {rc}")


def main() -> None:
    data_dir = Path(os.environ.get("TALKTRACKS_DATA_DIR", "talktracks-data"))
    if not data_dir.is_absolute():
        data_dir = ROOT / data_dir
    demo_dir = data_dir / "demo"
    timings: list[tuple[str, float]] = []
    t0 = time.perf_counter()
    from talktracks.demo import write_demo_history

    transcripts, deals = write_demo_history(demo_dir)
    timings.append(("generate demo history", time.perf_counter() - t0))
    print(f"==> wrote synthetic history: {transcripts}, {deals}")
    tt = str(BIN / "talktracks")
    step("import demo transcripts", [tt, "import-transcripts", str(transcripts)], timings)
    step("import demo deals", [tt, "import-deals", str(deals)], timings)
    step(
        "nightly over sample_audio",
        [tt, "nightly", "--recordings", "sample_audio", "--deals", "sample_audio/deals.csv"],
        timings,
    )

    out = data_dir / "analysis"
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    print()
    print("Step timings:")
    for name, seconds in timings:
        print(f"  {name:<28} {seconds:7.1f} s")
    print()
    if summary.get("synthetic_note"):
        print(summary["synthetic_note"])
    print(summary.get("headline") or summary["message"])
    with (out / "effects.csv").open(newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["odds_ratio"]]
    print(f"Estimated effects ({len(rows)}), odds ratio holding the other features fixed:")
    for r in rows:
        q = float(r["q_value"])
        star = " *" if q < 0.05 else ""
        print(
            f"  {r['feature']:<42} {float(r['odds_ratio']):5.2f} "
            f"[{float(r['ci_low']):.2f}, {float(r['ci_high']):.2f}] q={q:.3f}{star}"
        )
    print(summary.get("top_performers_message", ""))
    print(f"Report: {out / 'report.html'}")


if __name__ == "__main__":
    main()
