"""Human labels for behaviours, deal features, call metrics and talk tracks.

Behaviour labels come from the taxonomy (src/talktracks/behaviours/taxonomy.json): an entry
may carry `label` ("Referral request") and `phrase` ("the rep asked for a referral"); a
behaviour without them, or one the taxonomy does not know (tags from another tool), gets a
label made from its name, so a new behaviour is readable without a code change.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path

from talktracks.behaviours.taxonomy import TAXONOMY_PATH

METRIC_LABELS = {
    "duration_s": ("Call length", "s"),
    "rep_talk_ratio": ("Rep's share of talk time", ""),
    "longest_monologue_s": ("Longest rep monologue", "s"),
    "rep_questions_per_min": ("Rep questions per minute", ""),
    "switches_per_min": ("Speaker switches per minute", ""),
    "patience_s": ("Rep's pause before answering", "s"),
}
DERIVED_LABELS = {
    "early_price_mention": "Price raised early in a call",
    "price_before_product_introduction": "Price raised before the product",
}


@lru_cache(maxsize=8)
def _taxonomy_entries(path: Path) -> dict[str, dict]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {b["name"]: b for b in data.get("behaviours", []) if isinstance(b, dict)}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def _humanise(name: str) -> str:
    words = name.replace("_", " ").replace("-", " ").strip()
    return words[:1].upper() + words[1:] if words else name


def behaviour_label(name: str, path: Path = TAXONOMY_PATH) -> str:
    """'referral_request' -> 'Referral request' (the taxonomy's label when it has one)."""
    entry = _taxonomy_entries(path).get(name, {})
    label = entry.get("label")
    return str(label) if isinstance(label, str) and label else _humanise(name)


def behaviour_phrase(name: str, path: Path = TAXONOMY_PATH) -> str:
    """What happened, as a clause: 'the rep asked for a referral'."""
    entry = _taxonomy_entries(path).get(name, {})
    phrase = entry.get("phrase")
    if isinstance(phrase, str) and phrase:
        return phrase
    return f"{behaviour_label(name, path).lower()} came up"


def track_label(track: str, arrow: str = " → ") -> str:
    """A talk track with behaviour labels: 'Product introduction → Price mention'."""
    if arrow not in track and track.startswith("("):
        return track
    return arrow.join(behaviour_label(b) for b in track.split(arrow))


def metric_of(feature: str) -> str | None:
    """'mean_rep_talk_ratio_above_median' -> 'rep_talk_ratio'; None for other features."""
    if feature.startswith("mean_") and feature.endswith("_above_median"):
        return feature[len("mean_") : -len("_above_median")]
    return None


def feature_label(feature: str) -> str:
    """A short human label for a deal feature name as it appears in effects."""
    if feature.startswith("has_"):
        return behaviour_label(feature[4:])
    if feature in DERIVED_LABELS:
        return DERIVED_LABELS[feature]
    metric = metric_of(feature)
    if metric is not None:
        return f"{METRIC_LABELS.get(metric, (_humanise(metric), ''))[0]} above the median"
    if feature.startswith("mean_"):
        return METRIC_LABELS.get(feature[5:], (_humanise(feature[5:]), ""))[0]
    return _humanise(feature)


def format_threshold(metric: str, value: float) -> str:
    if not math.isfinite(value):
        return "–"
    unit = METRIC_LABELS.get(metric, ("", ""))[1]
    if metric == "rep_talk_ratio":
        return f"{value:.0%}"
    return f"{value:.1f} {unit}".strip()


HELD = "holding the other features fixed"


def _not_children(children: tuple[str, ...]) -> str:
    parts = [CHILD_WORDS.get(k, f"not {feature_label(k).lower()}") for k in children]
    return " and ".join(parts) if parts else ""


CHILD_WORDS = {
    "early_price_mention": "not early",
    "price_before_product_introduction": "not before the product",
}


def reading(
    feature: str,
    threshold: float = math.nan,
    *,
    nested: bool,
    joint: bool,
    children: tuple[str, ...] = ("early_price_mention", "price_before_product_introduction"),
) -> str:
    """What a row of effects compares, in plain words.

    `nested`: the feature is coded against its parent (early price against later price) or,
    for a parent, against never with its `children` (the nested features in the same model)
    held at "no". `joint`: the row comes from
    the mutually adjusted model (else from a model of this feature alone).
    """
    tail = HELD if joint else "not adjusted for the other features"
    price = behaviour_phrase("price_mention")
    if feature == "early_price_mention":
        if nested:
            return f"rep raised price early in a call (first quarter) vs {price} only later; {tail}"
        return f"rep raised price early in a call (first quarter) vs not; {tail}"
    if feature == "price_before_product_introduction":
        if nested:
            return (
                "rep raised price before introducing the product (or with no introduction) vs "
                f"{price} only after it; {tail}"
            )
        return f"rep raised price before introducing the product vs not; {tail}"
    if feature.startswith("has_"):
        phrase = behaviour_phrase(feature[4:])
        if nested and children:
            return f"{phrase}, but {_not_children(children)}, vs it never did; {tail}"
        return f"{phrase} in some call vs never; {tail}"
    metric = metric_of(feature)
    if metric is not None:
        label = METRIC_LABELS.get(metric, (_humanise(metric), ""))[0]
        return (
            f"{label} above the median deal ({format_threshold(metric, threshold)}) vs at or "
            f"below; {tail}"
        )
    return f"{_humanise(feature)} vs not; {tail}"


def comparison_words(feature: str, threshold: float = math.nan, *, nested: bool) -> tuple[str, str]:
    """(what the 'with' deals did, how the 'without' deals differ) for a headline sentence."""
    if feature == "early_price_mention":
        return "the rep raised price early in a call", (
            "where price came up only later" if nested else "where the rep did not"
        )
    if feature == "price_before_product_introduction":
        return "the rep raised price before introducing the product", (
            "where price came up only after it" if nested else "where the rep did not"
        )
    if feature == "has_price_mention" and nested:
        return "price came up (not early)", "where it never came up"
    if feature.startswith("has_"):
        return behaviour_phrase(feature[4:]), "without it"
    metric = metric_of(feature)
    if metric is not None:
        label = METRIC_LABELS.get(metric, (_humanise(metric), ""))[0].lower()
        return (
            f"the {label} was above the median ({format_threshold(metric, threshold)})",
            "at or below it",
        )
    return _humanise(feature).lower(), "without it"


def _points(v: float) -> str:
    return f"{v * 100:+.0f}".replace("-", "−")


def headline(effects_rows: list[dict], significance: float = 0.05) -> str | None:
    """One sentence a sales leader can repeat, from the most clearly significant row.

    In: effects rows (dicts with feature, q_value, win rates, Newcombe difference, odds ratio,
    nested flag). Out: the sentence, or None when no row is significant.
    """
    sig = [
        r
        for r in effects_rows
        if isinstance(r.get("q_value"), float)
        and math.isfinite(r["q_value"])
        and r["q_value"] < significance
    ]
    if not sig:
        return None
    r = min(sig, key=lambda r: (r["q_value"], -abs(r.get("win_rate_diff") or 0)))
    did, other = comparison_words(r["feature"], r.get("threshold", math.nan), nested=r["nested"])
    held = (
        "holding the other behaviours, the rep, deal size and number of calls fixed"
        if r.get("model") == "joint"
        else "for the same rep, deal size and number of calls"
    )
    return (
        f"Deals where {did} won {r['win_rate_with']:.0%} vs {r['win_rate_without']:.0%} {other} "
        f"({_points(r['win_rate_diff'])} points, 95% CI {_points(r['win_rate_diff_low'])} to "
        f"{_points(r['win_rate_diff_high'])}); {held}, the odds of winning were "
        f"{r['odds_ratio']:.2f} times as high (95% CI {r['ci_low']:.2f} to {r['ci_high']:.2f})."
    )
