"""Benchmark behaviour tagging throughput on one core.

Two figures, in utterances per second:
- tagger alone: BehaviourModel.tag over batches of utterances in memory (spaCy trackers,
  features, three calibrated classifiers, combiner, evidence spans);
- with the store: tag_calls over a fresh SQLite store (read utterances, tag, delete old tags,
  insert new ones, commit per batch of calls).
The tagger runs on two mixes: the repo's labelled utterances (data/behaviours; dense with
behaviours, so many evidence spans to choose) and the sample calls' scripted turns (whole
calls, small talk included), in random order with speakers and start times; the current
model in models/behaviours is used. BLAS and OpenMP pools are
limited to one thread (the tagger itself is single-threaded Python). Target: >= 5,000 / s
for the tagger alone.

    .venv/bin/python bench/bench_tagging.py [--utterances 30000] [--calls 300] [--repeats 3]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402

from threadpoolctl import threadpool_limits  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TARGET = 5_000
BATCH = 5_000  # about what tag_calls hands the tagger: 50 calls of ~100 utterances


def corpus(n: int, seed: int) -> list[tuple[str, str, float]]:
    """(text, speaker, start) triples drawn from the labelled data, in random order."""
    from talktracks.behaviours.data import read_labelled_dir
    from talktracks.behaviours.taxonomy import load_taxonomy

    taxonomy = load_taxonomy()
    rows = [
        r
        for split in ("train", "test")
        for r in read_labelled_dir(ROOT / "data" / "behaviours" / split, taxonomy)
    ]
    rng = random.Random(seed)
    return [(r.text, r.speaker, rng.uniform(0, 3600)) for r in (rng.choice(rows) for _ in range(n))]


def call_corpus(n: int, seed: int) -> list[tuple[str, str, float]]:
    """(text, speaker, start) triples from the sample calls' scripts (sample_audio/scripts):
    whole calls, greetings and small talk included, so far fewer tagged utterances than the
    labelled data. 160 turns, so each repeats; the per-word caches are warm, as they become
    on a real store after a few nights."""
    import json

    turns = [
        (t["text"], t["speaker"], float(t["start"]))
        for path in sorted((ROOT / "sample_audio" / "scripts").glob("*.json"))
        for t in json.loads(path.read_text())["turns"]
    ]
    rng = random.Random(seed)
    return [rng.choice(turns) for _ in range(n)]


def sample_calls() -> list[tuple[str, list[tuple[str, str, float, set[str]]]]]:
    """The ten sample calls' scripts with each turn's scripted behaviours (the truth)."""
    import json

    out = []
    for path in sorted((ROOT / "sample_audio" / "scripts").glob("*.json")):
        script = json.loads(path.read_text())
        turns = [
            (t["text"], t["speaker"], float(t["start"]), set(t["behaviours"]))
            for t in script["turns"]
        ]
        out.append((script["call_id"], turns))
    return out


def synthetic_calls(n: int) -> list[tuple[str, list[tuple[str, str, float, set[str]]]]]:
    """Calls of tests/synthetic.py (the planted-effect generator). Its tags are planted on
    neutral template lines (greetings, discovery questions, "We mostly do it by hand"), none
    of which shows a behaviour under the labelling guide, so re-tagging them, every tag is
    wrong: the figure is the false-tag rate on behaviour-free call talk."""
    sys.path.insert(0, str(ROOT / "tests"))
    from synthetic import generate

    syn = generate(3, n_deals=max(1, n // 3), n_reps=5)
    utts = syn.utterances.sort_values(["call_id", "idx"])
    out = []
    for call_id, group in utts.groupby("call_id", sort=True):
        turns = [
            (str(t), str(s), float(st), set())
            for t, s, st in zip(group["text"], group["speaker"], group["start"], strict=True)
        ]
        out.append((str(call_id), turns))
    return out[:n]


def print_per_call(model, name: str, calls) -> None:
    from talktracks.behaviours.evaluation import per_call_precision

    found = per_call_precision(model, calls)
    tags = sum(c.tags for c in found)
    wrong = sum(c.wrong for c in found)
    clean = sum(1 for c in found if c.wrong == 0)
    print(
        f"per-call precision, {name}: {len(found)} calls, {tags / len(found):.1f} tags/call, "
        f"{wrong} wrong of {tags} ({wrong / max(tags, 1):.1%}); {clean} calls with no wrong tag; "
        f"{sum(c.missed for c in found)} scripted behaviours missed"
    )
    if len(found) <= 10:
        for c in found:
            print(f"  {c.call_id:<28} {c.utterances:>3} turns  {c.tags:>2} tags  {c.wrong} wrong")


def core_speed() -> float:
    """Seconds this core takes for a 10M-step pure-Python loop: a yardstick for comparing
    the figures across machines (a recent laptop core takes about 0.4 s)."""
    t0 = time.perf_counter()
    total = 0
    for i in range(10_000_000):
        total += i
    return time.perf_counter() - t0


def bench_tagger(model, items, repeats: int) -> list[float]:
    rates = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for i in range(0, len(items), BATCH):
            batch = items[i : i + BATCH]
            model.tag(
                [t for t, _, _ in batch], [s for _, s, _ in batch], [st for _, _, st in batch]
            )
        rates.append(len(items) / (time.perf_counter() - t0))
    return rates


def tags_per_utterance(model, items) -> float:
    found = model.tag([t for t, _, _ in items], [s for _, s, _ in items], [st for *_, st in items])
    return sum(map(len, found)) / len(items)


def build_store(path: Path, items, calls: int):
    from sqlalchemy import insert

    from talktracks.store import Call, Utterance, open_store

    store = open_store(f"sqlite:///{path}")
    per_call = max(1, len(items) // calls)
    with store.session() as s:
        s.execute(
            insert(Call),
            [
                {
                    "call_id": f"c{c:05d}",
                    "status": "done",
                    "source": "import",
                    "started_at": datetime(2025, 1, 1, tzinfo=UTC),
                }
                for c in range(calls)
            ],
        )
        rows = []
        for k, (text, speaker, _) in enumerate(items[: per_call * calls]):
            c, idx = divmod(k, per_call)
            rows.append(
                {
                    "call_id": f"c{c:05d}",
                    "idx": idx,
                    "speaker": speaker,
                    "start": idx * 6.0,
                    "end": idx * 6.0 + 5.0,
                    "text": text,
                }
            )
        s.execute(insert(Utterance), rows)
    return store, per_call * calls


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--utterances", type=int, default=30_000)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--version", help="a registered model version (default: current)")
    parser.add_argument(
        "--pipeline-seconds",
        type=float,
        default=93.9,
        help="nightly pipeline time of the ten sample calls from bench_pipeline.py (for the "
        "tagging share)",
    )
    args = parser.parse_args()

    from talktracks.behaviours.registry import load_current_model
    from talktracks.behaviours.tagging import tag_calls

    print(f"core yardstick: 10M-step Python loop in {core_speed():.2f} s")
    with threadpool_limits(limits=1):
        t0 = time.perf_counter()
        if args.version:
            from talktracks.behaviours.registry import ModelRegistry
            from talktracks.config import get_settings

            model = ModelRegistry.under(get_settings().models_dir).load(args.version)
        else:
            model = load_current_model()
        print(f"model {model.version} loaded in {time.perf_counter() - t0:.1f} s")
        items = corpus(args.utterances, args.seed)
        bench_tagger(model, items[:BATCH], 1)  # warm-up: lookups, caches, first allocations

        for name, texts in (
            ("labelled-data mix", items),
            ("sample-call mix", call_corpus(args.utterances, args.seed)),
        ):
            bench_tagger(model, texts[:BATCH], 1)  # warm-up for this corpus
            rates = bench_tagger(model, texts, args.repeats)
            density = tags_per_utterance(model, texts[:BATCH])
            print(
                f"tagger alone, {name} ({density:.2f} tags/utterance): "
                f"{statistics.median(rates):,.0f} utterances/s median, "
                f"{max(rates):,.0f} best of {args.repeats} x {len(texts):,} "
                f"(target >= {TARGET:,}: "
                f"{'met' if statistics.median(rates) >= TARGET else 'MISSED'})"
            )

        calls = sample_calls()
        print_per_call(model, "ten sample calls (scripts)", calls)
        print_per_call(model, "synthetic planted-effect calls", synthetic_calls(200))
        turns = [t for _, ts in calls for t in ts]
        t0 = time.process_time()
        for _, ts in calls:  # one tag() per call, as the nightly task does
            model.tag([t[0] for t in ts], [t[1] for t in ts], [t[2] for t in ts])
        spent = time.process_time() - t0
        print(
            f"nightly share: tagging the ten sample calls ({len(turns)} turns) one call at a "
            f"time takes {spent:.3f} CPU s, {spent / args.pipeline_seconds:.2%} of their "
            f"{args.pipeline_seconds:.1f} s pipeline time (bench_pipeline.py)"
        )

        with tempfile.TemporaryDirectory() as tmp:
            store, n = build_store(Path(tmp) / "bench.db", items, args.calls)
            store_rates = []
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                summary = tag_calls(store, None, model=model)
                store_rates.append(n / (time.perf_counter() - t0))
            store.dispose()
        print(
            f"with SQLite store (read, tag, replace tags, commit per {50} calls): "
            f"{statistics.median(store_rates):,.0f} utterances/s median over {n:,} utterances "
            f"in {args.calls} calls; {summary.tags:,} tags"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
