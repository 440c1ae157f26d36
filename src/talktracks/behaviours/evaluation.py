"""Precision, recall, F1 and the confusion counts of a model on labelled utterances."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from talktracks.behaviours.data import LabelledUtterance
from talktracks.behaviours.model import BehaviourModel


@dataclass(frozen=True)
class Confusion:
    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        d = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / d if d else 0.0

    @property
    def support(self) -> int:
        return self.tp + self.fn

    def to_dict(self) -> dict[str, float | int]:
        return {
            **asdict(self),
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
            "support": self.support,
        }

    @classmethod
    def of(cls, y: np.ndarray, pred: np.ndarray) -> Confusion:
        y, pred = np.asarray(y, dtype=bool), np.asarray(pred, dtype=bool)
        return cls(
            tp=int((y & pred).sum()),
            fp=int((~y & pred).sum()),
            fn=int((y & ~pred).sum()),
            tn=int((~y & ~pred).sum()),
        )


@dataclass(frozen=True)
class Evaluation:
    rows: int
    behaviours: dict[str, Confusion]

    @property
    def macro_f1(self) -> float:
        return float(np.mean([c.f1 for c in self.behaviours.values()])) if self.behaviours else 0.0

    def to_dict(self) -> dict[str, object]:
        return {
            "rows": self.rows,
            "macro_f1": round(self.macro_f1, 4),
            "behaviours": {b: c.to_dict() for b, c in self.behaviours.items()},
        }


def evaluate(model: BehaviourModel, rows: Sequence[LabelledUtterance]) -> Evaluation:
    """The model's tags against the labels, per behaviour, over rows where that label is known.

    Rows carry no timestamps, so first-N-minutes tracker filters cannot reject here.
    """
    tracked = model.track([r.text for r in rows], [r.speaker for r in rows])
    decided = model.decisions(tracked) if rows else {}
    out: dict[str, Confusion] = {}
    for b in model.behaviours:
        known = np.array([b in r.labels for r in rows], dtype=bool)
        y = np.array([r.labels.get(b, False) for r in rows], dtype=bool)
        pred = decided.get(b, np.zeros(len(rows), dtype=bool))
        out[b] = Confusion.of(y[known], pred[known])
    return Evaluation(rows=len(rows), behaviours=out)


@dataclass(frozen=True)
class CallPrecision:
    """Tags a model puts on one call, and how many of them the truth does not have."""

    call_id: str
    utterances: int
    tags: int
    wrong: int
    missed: int


def per_call_precision(
    model: BehaviourModel,
    calls: Sequence[tuple[str, Sequence[tuple[str, str, float | None, set[str]]]]],
) -> list[CallPrecision]:
    """Per call: the tags and the wrong ones (a tag on an utterance whose truth lacks it).

    `calls` are (call_id, [(text, speaker, start, true behaviours), ...]). On a call a false
    tag costs more than a missed one (coaches stop trusting the tags), so both are counted.
    """
    out: list[CallPrecision] = []
    for call_id, turns in calls:
        found = model.tag([t[0] for t in turns], [t[1] for t in turns], [t[2] for t in turns])
        tags = wrong = missed = 0
        for decisions, (_, _, _, truth) in zip(found, turns, strict=True):
            tagged = {d.behaviour for d in decisions}
            tags += len(tagged)
            wrong += len(tagged - truth)
            missed += len(truth - tagged)
        out.append(CallPrecision(call_id, len(turns), tags, wrong, missed))
    return out
