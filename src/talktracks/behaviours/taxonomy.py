"""The behaviour taxonomy: which behaviours exist, who may show them, and their tracker filters.

The taxonomy is data (`taxonomy.json` beside this module, or any file of the same shape), so a
new behaviour is a data change plus retraining. Each behaviour names its keyword trackers; the
patterns themselves live in `patterns.jsonl` (spaCy SpanRuler format, `label` = behaviour,
`id` = tracker) and the filters a tracker applies (Gong-style: who said it, questions only,
within the first N minutes) live here.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from talktracks.errors import InputError

TAXONOMY_PATH = Path(__file__).with_name("taxonomy.json")
PATTERNS_PATH = Path(__file__).with_name("patterns.jsonl")

SpeakerRule = Literal["rep", "customer", "anyone"]
SPEAKER_RULES: tuple[str, ...] = ("rep", "customer", "anyone")
SPEAKERS: tuple[str, ...] = ("rep", "customer", "unknown")


def speaker_allowed(rule: str, speaker: str | None) -> bool:
    """Whether `speaker` passes a rep/customer/anyone rule.

    "unknown" (mono calls, where nobody knows who spoke) passes every rule: refusing it would
    make every behaviour invisible on mono calls, and the classifier still has to agree. So do
    speaker_1, speaker_2, ...: voices diarization told apart but could not name.
    """
    return rule == "anyone" or speaker not in ("rep", "customer") or speaker == rule


@dataclass(frozen=True)
class TrackerFilter:
    """When a keyword tracker's match counts. `first_minutes=None` means any time."""

    speaker: str = "anyone"
    questions_only: bool = False
    first_minutes: float | None = None


@dataclass(frozen=True)
class Behaviour:
    name: str
    definition: str
    speakers: str
    trackers: dict[str, TrackerFilter] = field(default_factory=dict)

    def eligible(self, speaker: str | None) -> bool:
        return speaker_allowed(self.speakers, speaker)


@dataclass(frozen=True)
class Taxonomy:
    behaviours: tuple[Behaviour, ...]

    @property
    def names(self) -> list[str]:
        return [b.name for b in self.behaviours]

    def __getitem__(self, name: str) -> Behaviour:
        for b in self.behaviours:
            if b.name == name:
                return b
        raise KeyError(name)

    def tracker_filter(self, behaviour: str, tracker: str) -> TrackerFilter:
        # A pattern whose tracker is not declared still counts, unfiltered: a typo in the data
        # should not silently disable a pattern.
        return self[behaviour].trackers.get(tracker, TrackerFilter())

    def filters(self) -> dict[str, dict[str, dict[str, Any]]]:
        """{behaviour: {tracker: filter fields}} as plain JSON (spaCy config, model files)."""
        return {b.name: {t: asdict(f) for t, f in b.trackers.items()} for b in self.behaviours}

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": 1,
            "behaviours": [
                {
                    "name": b.name,
                    "definition": b.definition,
                    "speakers": b.speakers,
                    "trackers": {t: asdict(f) for t, f in b.trackers.items()},
                }
                for b in self.behaviours
            ],
        }


def _parse_filter(where: str, raw: Any) -> TrackerFilter:
    if not isinstance(raw, dict):
        raise InputError(f"{where}: tracker filter must be an object")
    speaker = raw.get("speaker", "anyone")
    if speaker not in SPEAKER_RULES:
        raise InputError(f"{where}: speaker must be one of {', '.join(SPEAKER_RULES)}")
    minutes = raw.get("first_minutes")
    if minutes is not None and (
        isinstance(minutes, bool) or not isinstance(minutes, int | float) or minutes <= 0
    ):
        raise InputError(f"{where}: first_minutes must be a positive number or null")
    return TrackerFilter(
        speaker=speaker,
        questions_only=bool(raw.get("questions_only", False)),
        first_minutes=None if minutes is None else float(minutes),
    )


def taxonomy_from_dict(data: Any, where: str = "taxonomy") -> Taxonomy:
    if not isinstance(data, dict) or not isinstance(data.get("behaviours"), list):
        raise InputError(f"{where}: expected an object with a 'behaviours' list")
    behaviours: list[Behaviour] = []
    for i, raw in enumerate(data["behaviours"]):
        at = f"{where}: behaviour #{i + 1}"
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str) or not raw["name"]:
            raise InputError(f"{at}: needs a non-empty 'name'")
        name = raw["name"]
        speakers = raw.get("speakers", "anyone")
        if speakers not in SPEAKER_RULES:
            raise InputError(f"{at} ({name}): speakers must be one of {', '.join(SPEAKER_RULES)}")
        trackers = raw.get("trackers", {})
        if not isinstance(trackers, dict):
            raise InputError(f"{at} ({name}): trackers must be an object")
        behaviours.append(
            Behaviour(
                name=name,
                definition=str(raw.get("definition", "")),
                speakers=speakers,
                trackers={
                    t: _parse_filter(f"{at} ({name}) tracker {t}", f) for t, f in trackers.items()
                },
            )
        )
    names = [b.name for b in behaviours]
    if len(set(names)) != len(names):
        raise InputError(f"{where}: behaviour names must be unique")
    return Taxonomy(tuple(behaviours))


def load_taxonomy(path: Path | None = None) -> Taxonomy:
    """The taxonomy in `path` (default: the packaged taxonomy.json)."""
    path = path or TAXONOMY_PATH
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read taxonomy {path}: {exc}") from exc
    return taxonomy_from_dict(data, str(path))


def load_patterns(
    path: Path | None = None, taxonomy: Taxonomy | None = None
) -> list[dict[str, Any]]:
    """SpanRuler patterns from a JSONL file, each {"label": behaviour, "id": tracker, "pattern": ...}.

    Patterns for behaviours not in `taxonomy` are dropped, so a pattern file can run ahead of
    the taxonomy without breaking tagging.
    """
    path = path or PATTERNS_PATH
    names = set(taxonomy.names) if taxonomy else None
    patterns: list[dict[str, Any]] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InputError(f"cannot read patterns {path}: {exc.strerror}") from exc
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            p = json.loads(line)
        except ValueError as exc:
            raise InputError(f"{path}:{n}: not JSON: {exc}") from exc
        if not isinstance(p, dict) or "label" not in p or "pattern" not in p:
            raise InputError(f"{path}:{n}: a pattern needs 'label' and 'pattern'")
        if names is not None and p["label"] not in names:
            continue
        patterns.append(
            {"label": p["label"], "id": p.get("id", p["label"]), "pattern": p["pattern"]}
        )
    return patterns
