"""Behaviour commands: train, evaluate, tag, import-transcripts."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from talktracks.cli.common import add_db_option, settings_from, store_from
from talktracks.cli.progress import phase

if TYPE_CHECKING:
    from talktracks.behaviours.evaluation import Evaluation
    from talktracks.behaviours.retraining import PromotionDecision


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "train",
        help="train the behaviour classifiers (repo data + stored labels + --labels files)",
        description="Train, cross-validate and evaluate a new behaviour model, register it under "
        "models/behaviours/, and with --promote make it current if its held-out macro F1 is not "
        "lower than the current model's.",
    )
    p.add_argument(
        "--labels",
        metavar="FILE",
        nargs="+",
        action="extend",
        type=Path,
        default=[],
        help="extra labelled JSONL files (same format as data/behaviours)",
    )
    p.add_argument("--promote", action="store_true", help="make the new model current if not worse")
    p.add_argument("--force", action="store_true", help="promote even if worse (implies --promote)")
    add_db_option(p)
    p.set_defaults(handler=cmd_train)

    p = sub.add_parser("evaluate", help="precision/recall/F1 of the current behaviour model")
    p.add_argument(
        "--labels",
        metavar="FILE",
        type=Path,
        help="labelled JSONL file (default: the held-out set data/behaviours/test, then the "
        "independent set data/behaviours/independent when present)",
    )
    p.set_defaults(handler=cmd_evaluate)

    p = sub.add_parser("tag", help="tag stored utterances with the current behaviour model")
    p.add_argument(
        "--all",
        action="store_true",
        help="re-tag every call (default: calls without tags from the current model)",
    )
    add_db_option(p)
    p.set_defaults(handler=cmd_tag)

    p = sub.add_parser(
        "models",
        help="list registered behaviour models; promote one through the gate",
        description="Registered behaviour model versions (models/behaviours/registry.json).",
    )
    models = p.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    q = models.add_parser("list", help="every registered version, newest first; * = current")
    q.set_defaults(handler=cmd_models_list)
    q = models.add_parser(
        "promote",
        help="make a registered version current if its held-out macro F1 is not lower",
        description="Evaluate VERSION and the current model on today's held-out set and make "
        "VERSION current if its macro F1 is not lower (the same gate as train --promote).",
    )
    q.add_argument("version", metavar="VERSION")
    q.add_argument("--force", action="store_true", help="promote even if worse")
    q.set_defaults(handler=cmd_models_promote)

    p = sub.add_parser(
        "import-transcripts", help="import existing transcripts (JSONL, one call a line)"
    )
    p.add_argument("file", type=Path, metavar="FILE.jsonl")
    p.add_argument(
        "--replace",
        action="store_true",
        help="overwrite calls whose transcript came from a recording (refused otherwise)",
    )
    add_db_option(p)
    p.set_defaults(handler=cmd_import_transcripts)


def _row(name: str, cells: list[str]) -> str:
    return f"{name:<24}" + "".join(f"{c:>8}" for c in cells)


def _prf(ev: Evaluation | None, b: str) -> list[str]:
    if ev is None or b not in ev.behaviours:
        return ["-", "-", "-"]
    c = ev.behaviours[b]
    return [f"{c.precision:.3f}", f"{c.recall:.3f}", f"{c.f1:.3f}"]


def print_comparison(
    new: Evaluation,
    cur: Evaluation | None,
    version: str,
    current_version: str | None,
    decision: PromotionDecision,
) -> None:
    print(f"held-out set: {new.rows} utterances (never used for training or thresholds)")
    print(f"new: {version}    current: {current_version or 'none'}")
    print(_row("behaviour", ["new P", "new R", "new F1", "cur P", "cur R", "cur F1"]))
    for b in new.behaviours:
        print(_row(b, _prf(new, b) + _prf(cur, b)))
    cur_macro = "-" if decision.current_macro_f1 is None else f"{decision.current_macro_f1:.3f}"
    print(_row("macro F1", ["", "", f"{decision.new_macro_f1:.3f}", "", "", cur_macro]))


def cmd_train(args: argparse.Namespace) -> int:
    from talktracks.behaviours.data import label_counts
    from talktracks.behaviours.retraining import retrain
    from talktracks.store import open_store

    settings = settings_from(args)
    store = open_store(settings.database_url, writable=False)
    try:
        with phase("training, cross-validating and evaluating the behaviour model"):
            result = retrain(
                store=store,
                label_files=args.labels,
                promote=args.promote or args.force,
                force=args.force,
                settings=settings,
            )
    finally:
        store.dispose()
    data = result.candidate.data
    counts = label_counts(data.train)["by_origin"]
    origins = ", ".join(f"{o} {c.get('labels', 0)}" for o, c in counts.items())
    print(f"training data: {len(data.train)} utterances; labels by origin: {origins}")
    if data.dropped_heldout_overlap:
        print(f"dropped {data.dropped_heldout_overlap} training texts that are in the held-out set")
    print("cross-validation on training data:")
    print(_row("behaviour", ["rows", "pos", "t_model", "t_rule", "CV F1", "sd"]))
    for b, r in result.candidate.reports.items():
        print(
            _row(
                b,
                [
                    str(r.rows),
                    str(r.positives),
                    f"{r.thresholds.model:.2f}",
                    f"{r.thresholds.rule:.2f}",
                    f"{r.cv['f1_mean']:.3f}",
                    f"{r.cv['f1_std']:.3f}",
                ],
            )
        )
    print_comparison(
        result.candidate.heldout,
        result.current,
        result.version,
        result.current_version,
        result.decision,
    )
    if result.candidate.independent is not None:
        print_evaluation(
            result.candidate.independent,
            result.version,
            "the independent set (reported only, not part of the gate)",
        )
    print(f"registered {result.version} in {settings.models_dir / 'behaviours'}")
    if result.promoted:
        print(f"promoted {result.version} to current: {result.decision.reason}")
    elif args.promote or args.force:
        print(f"not promoted: {result.decision.reason} (use --force to promote anyway)")
    else:
        print("not promoted (use --promote)")
    return 0


def print_evaluation(ev: Evaluation, version: str, source: str) -> None:
    print(f"model {version} on {source}: {ev.rows} utterances")
    print(_row("behaviour", ["P", "R", "F1", "TP", "FP", "FN", "TN"]))
    for b, c in ev.behaviours.items():
        print(
            _row(
                b,
                [
                    f"{c.precision:.3f}",
                    f"{c.recall:.3f}",
                    f"{c.f1:.3f}",
                    str(c.tp),
                    str(c.fp),
                    str(c.fn),
                    str(c.tn),
                ],
            )
        )
    print(_row("macro F1", ["", "", f"{ev.macro_f1:.3f}"]))


def cmd_evaluate(args: argparse.Namespace) -> int:
    from talktracks.behaviours.data import read_heldout, read_independent, read_labelled_file
    from talktracks.behaviours.evaluation import evaluate
    from talktracks.behaviours.registry import load_current_model

    settings = settings_from(args)
    with phase("loading the behaviour model"):
        model = load_current_model(settings.models_dir)
    if args.labels:
        rows, source = read_labelled_file(args.labels, model.taxonomy), str(args.labels)
        print_evaluation(evaluate(model, rows), model.version, source)
        return 0
    data_dir = settings.behaviour_data_dir
    rows = read_heldout(data_dir, model.taxonomy)
    print_evaluation(evaluate(model, rows), model.version, f"held-out set {data_dir / 'test'}")
    independent = read_independent(data_dir, model.taxonomy)
    if independent:
        print()
        print_evaluation(
            evaluate(model, independent),
            model.version,
            f"independent set {data_dir / 'independent'} (aggregate scores only)",
        )
    return 0


def cmd_tag(args: argparse.Namespace) -> int:
    from talktracks.behaviours.registry import load_current_model
    from talktracks.behaviours.tagging import calls_needing_tags, tag_calls

    settings = settings_from(args)
    with phase("loading the behaviour model"):
        model = load_current_model(settings.models_dir)
    store = store_from(args)
    try:
        ids = None if args.all else calls_needing_tags(store, model.version)
        with phase("tagging stored calls"):
            summary = tag_calls(store, ids, model=model)
    finally:
        store.dispose()
    print(summary)
    return 0


def cmd_import_transcripts(args: argparse.Namespace) -> int:
    from talktracks.behaviours.registry import load_current_model
    from talktracks.behaviours.tagging import session_tagger
    from talktracks.ingest.transcripts import import_transcripts

    settings = settings_from(args)
    with phase("loading the behaviour model"):
        model = load_current_model(settings.models_dir)
    store = store_from(args)
    try:
        with phase(f"importing and tagging {args.file}"):
            summary = import_transcripts(
                store,
                args.file,
                tagger=session_tagger(model),
                replace=args.replace,
                max_utterance_chars=settings.max_utterance_chars,
                max_line_bytes=int(settings.max_transcript_line_mb * 1_000_000),
            )
    finally:
        store.dispose()
    for r in summary.rejected:
        print(f"{args.file}:{r.line}: rejected: {r.reason}", file=sys.stderr)
    print(
        f"imported {summary.imported} calls ({summary.replaced} replaced), "
        f"{summary.utterances} utterances, {summary.tags} tags; {len(summary.rejected)} lines rejected"
    )
    if summary.rejects_path:
        print(f"rejected lines (line number, reason, line) written to {summary.rejects_path}")
    return 2 if summary.rejected else 0


def cmd_models_list(args: argparse.Namespace) -> int:
    from talktracks.behaviours.registry import ModelRegistry

    registry = ModelRegistry.under(settings_from(args).models_dir)
    versions = registry.versions()
    if not versions:
        print(f"no behaviour models registered in {registry.root}")
        return 0
    current = registry.current_version()
    print(f"{'':2}{'version':<28}{'created':<27}{'held-out macro F1':>18}  promoted")
    for version, entry in sorted(versions.items(), reverse=True):
        f1 = entry.get("heldout_macro_f1")
        print(
            f"{'*' if version == current else '':2}{version:<28}"
            f"{entry.get('created_at') or '-':<27}"
            f"{'-' if f1 is None else f'{f1:.4f}':>18}  {entry.get('promoted_at') or '-'}"
        )
    return 0


def cmd_models_promote(args: argparse.Namespace) -> int:
    from talktracks.behaviours.retraining import promote_registered

    with phase(f"evaluating {args.version} against the current model"):
        result = promote_registered(args.version, force=args.force, settings=settings_from(args))
    print_comparison(
        result.candidate, result.current, result.version, result.current_version, result.decision
    )
    if result.promoted:
        print(f"promoted {result.version} to current: {result.decision.reason}")
        return 0
    print(f"not promoted: {result.decision.reason}")
    return 1
