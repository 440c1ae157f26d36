"""Model cards: what a behaviour model was trained on and how well it does, as JSON and Markdown."""

from __future__ import annotations

import platform
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

from talktracks.behaviours.data import TrainingData, data_hash, label_counts

INDEPENDENT_NOTE = (
    "written by someone who never saw the training data (data/behaviours/independent/README.md); "
    "aggregate scores only, never used for training, thresholds, model choice or the gate"
)

LIBRARIES = ("talktracks", "spacy", "spacy-lookups-data", "scikit-learn", "skops", "numpy", "scipy")


def library_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def build_card(
    *,
    model: Any,
    reports: dict[str, Any],
    heldout: Any,
    data: TrainingData,
    created_at: datetime | None = None,
    independent: Any = None,
) -> dict[str, Any]:
    """The card's JSON content (registry.save adds version and file hashes)."""
    created_at = created_at or datetime.now(UTC)
    held = heldout.to_dict()
    indep = independent.to_dict() if independent is not None else None
    behaviours = {}
    for b in model.behaviours:
        spec = model.taxonomy[b]
        behaviours[b] = {
            "definition": spec.definition,
            "speakers": spec.speakers,
            "trackers": sorted(spec.trackers),
            **reports[b].to_dict(),
            "heldout": held["behaviours"].get(b),
            "independent": indep["behaviours"].get(b) if indep else None,
        }
    return {
        "created_at": created_at.isoformat(timespec="seconds"),
        "model": {
            "features": "word 1-2-grams + char_wb 2-5-grams (TF-IDF, sublinear, digits -> 0) + "
            "keyword-tracker match counts and question/number/currency flags + spoken-amount "
            "features (kind, offer or other, how-much questions; amounts.py)",
            "classifier": "LinearSVC(C=1, class_weight=balanced) calibrated by "
            "CalibratedClassifierCV(method=sigmoid, cv=5, ensemble=False), one per behaviour; "
            "averaged with a fastText subword classifier for "
            + (", ".join(sorted(model.subwords)) or "no behaviour")
            + " (chosen per behaviour by CV F1 on training data)",
            "thresholds": "per behaviour (model, rule), chosen by 5-fold CV F1 on training data",
        },
        "behaviours": behaviours,
        "training_data": {
            "hash": data.train_hash,
            "rows": len(data.train),
            "sources": data.sources,
            "dropped_heldout_overlap": data.dropped_heldout_overlap,
            "label_counts": label_counts(data.train),
        },
        "heldout": {"hash": data.heldout_hash, **held},
        "independent": (
            {"hash": data_hash(data.independent), **indep, "note": INDEPENDENT_NOTE}
            if indep
            else None
        ),
        "library_versions": library_versions(),
    }


def _f(x: Any) -> str:
    return "-" if x is None else f"{x:.3f}"


def render_markdown(card: dict[str, Any]) -> str:
    """MODEL_CARD.md: the same facts as model_card.json, for people."""
    lines = [
        f"# Behaviour model {card.get('version', '')}",
        "",
        f"Created {card['created_at']}. Tags sales-call utterances with behaviours; each tag has a "
        "calibrated score, a source (rule, model, both) and an evidence span.",
        "",
        "## Held-out results",
        "",
        f"Held-out set: {card['heldout']['rows']} utterances (sha256 `{card['heldout']['hash'][:16]}`), "
        "never used for training or thresholds.",
        "",
        "| behaviour | precision | recall | F1 | TP | FP | FN | TN | thresholds (model / rule) | CV F1 (mean ± sd) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for b, info in card["behaviours"].items():
        h = info.get("heldout") or {}
        t = info["thresholds"]
        cv = info["cv"]
        lines.append(
            f"| {b} | {_f(h.get('precision'))} | {_f(h.get('recall'))} | {_f(h.get('f1'))} | "
            f"{h.get('tp', '-')} | {h.get('fp', '-')} | {h.get('fn', '-')} | {h.get('tn', '-')} | "
            f"{t['model']:.2f} / {t['rule']:.2f} | {cv['f1_mean']:.3f} ± {cv['f1_std']:.3f} |"
        )
    lines += ["", f"Macro F1: **{_f(card['heldout'].get('macro_f1'))}**", ""]
    indep = card.get("independent")
    if indep:
        lines += [
            "## Independent evaluation set",
            "",
            f"{indep['rows']} utterances (sha256 `{indep['hash'][:16]}`), {indep['note']}.",
            "",
            "| behaviour | precision | recall | F1 | TP | FP | FN | TN |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for b, h in indep["behaviours"].items():
            lines.append(
                f"| {b} | {_f(h['precision'])} | {_f(h['recall'])} | {_f(h['f1'])} | "
                f"{h['tp']} | {h['fp']} | {h['fn']} | {h['tn']} |"
            )
        lines += ["", f"Macro F1: **{_f(indep.get('macro_f1'))}**", ""]
    lines += ["## Behaviours", ""]
    for b, info in card["behaviours"].items():
        lines.append(f"- **{b}** ({info['speakers']}): {info['definition']}")
    td = card["training_data"]
    lines += [
        "",
        "## Training data",
        "",
        f"{td['rows']} utterances after merging (sha256 `{td['hash'][:16]}`); "
        f"{td['dropped_heldout_overlap']} dropped because their text is in the held-out set.",
        "",
        "| origin | utterances | labels | positive | negative |",
        "| --- | --- | --- | --- | --- |",
    ]
    for origin, c in td["label_counts"]["by_origin"].items():
        lines.append(
            f"| {origin} | {c.get('utterances', 0)} | {c.get('labels', 0)} | "
            f"{c.get('positive', 0)} | {c.get('negative', 0)} |"
        )
    lines += ["", "Sources:", ""]
    for s in td["sources"]:
        lines.append(f"- {s['source']}: {s['rows']} rows")
    m = card["model"]
    lines += [
        "",
        "## Model",
        "",
        f"- Features: {m['features']}",
        f"- Classifier: {m['classifier']}",
        f"- Thresholds: {m['thresholds']}",
        "- Combiner and evidence spans: docs/behaviour-model.md",
        "",
        "## Limits",
        "",
        "- English sales calls only; trained on written and ASR-style text authored for this purpose "
        "(docs/behaviour-data.md), not on real customer calls.",
        "- Scores are calibrated on the training distribution; real call mixes differ, so watch "
        "coach corrections and retrain.",
        "",
        "## Library versions",
        "",
    ]
    for name, v in card["library_versions"].items():
        lines.append(f"- {name} {v}")
    return "\n".join(lines) + "\n"
