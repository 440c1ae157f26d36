"""Benchmark `talktracks analyze` end to end on a synthetic store.

Builds a SQLite store of 20,000 deals, ~60,000 calls and ~3 million utterances (tests/synthetic.py,
inserted with Core executemany) in a temporary folder, in a child process so that neither its
time nor its memory counts, then runs refresh_analysis (load, metrics, KPIs, features,
effects from the joint model plus one model per feature, tracks, top performers,
adoption and trend, report and CSVs, stored results) and prints each stage's seconds and the
peak RSS. Targets: under 60 s and under 4 GB.

    .venv/bin/python bench/bench_analyze.py [--deals 20000] [--utterances-per-call 50] [--keep DIR]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the synthetic generator lives with the tests

TARGET_SECONDS = 60.0
TARGET_RSS_GB = 4.0


def build(db_path: Path, deals: int, reps: int, utterances_per_call: int, seed: int) -> None:
    """Generate the synthetic team and write it into a fresh store at db_path."""
    from synthetic import generate
    from talktracks.store import open_store

    t0 = time.perf_counter()
    syn = generate(seed, n_deals=deals, n_reps=reps, utterances_per_call=utterances_per_call)
    t1 = time.perf_counter()
    store = open_store(f"sqlite:///{db_path}")
    syn.write(store)
    store.dispose()
    t2 = time.perf_counter()
    print(
        f"build: generated {len(syn.deals):,} deals, {len(syn.calls):,} calls, "
        f"{len(syn.utterances):,} utterances, {len(syn.tags):,} tags in {t1 - t0:.1f} s; "
        f"inserted in {t2 - t1:.1f} s ({db_path.stat().st_size / 1e9:.2f} GB on disk)"
    )


def peak_rss_gb() -> float:
    # ru_maxrss is in kilobytes on Linux (bytes on macOS).
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024**3 if sys.platform == "darwin" else 1024**2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=20_000)
    parser.add_argument("--reps", type=int, default=100)
    parser.add_argument("--utterances-per-call", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="build (or reuse) the store in this folder")
    parser.add_argument("--build-only", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build_only:
        build(args.build_only, args.deals, args.reps, args.utterances_per_call, args.seed)
        return 0

    with tempfile.TemporaryDirectory(prefix="talktracks-bench-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        db = folder / "bench.db"
        if not db.exists():
            t0 = time.perf_counter()
            cmd = [sys.executable, __file__, "--build-only", str(db), "--deals", str(args.deals)]
            cmd += [
                "--reps",
                str(args.reps),
                "--utterances-per-call",
                str(args.utterances_per_call),
            ]
            cmd += ["--seed", str(args.seed)]
            subprocess.run(cmd, check=True)
            print(f"build total (not measured): {time.perf_counter() - t0:.1f} s")
        else:
            print(f"reusing {db}")

        t_import = time.perf_counter()
        from talktracks.analysis import refresh_analysis
        from talktracks.store import open_store

        import_s = time.perf_counter() - t_import
        t0 = time.perf_counter()
        store = open_store(f"sqlite:///{db}")
        summary = refresh_analysis(store, folder / "out")
        store.dispose()
        total = time.perf_counter() - t0
        rss = peak_rss_gb()

        print(f"imports (pandas, statsmodels; not counted): {import_s:.1f} s")
        for stage, seconds in summary.stage_seconds.items():
            print(f"  {stage:<9} {seconds:7.2f} s")
        print(f"analyze end to end: {total:.1f} s (target < {TARGET_SECONDS:.0f} s)")
        print(f"peak RSS: {rss:.2f} GB (target < {TARGET_RSS_GB:.0f} GB)")
        print(
            f"result: {summary.n_calls_analysed:,} calls, {summary.n_deals_with_calls:,} deals, "
            f"{summary.n_estimated}/{summary.n_features} effects estimated, rep control "
            f"{summary.rep_control}, model {summary.model}"
        )
        print(summary.message)
        ok = total < TARGET_SECONDS and rss < TARGET_RSS_GB
        print("PASS" if ok else "OVER TARGET")
    return 0


if __name__ == "__main__":
    sys.exit(main())
