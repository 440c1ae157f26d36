"""Labelled utterances: reading JSONL files and the labels table, and merging them for training.

File format (data/behaviours/{train,test}/*.jsonl and `--labels` files), one object a line:
`{"text", "speaker": "rep"|"customer"|"unknown", "labels": [behaviour, ...], "style", "industry"}`.
A behaviour in `labels` is a positive; every other behaviour of the taxonomy is a negative.

A labels-table row judges one behaviour of one text. When the same text (compared
case-insensitively, whitespace collapsed) is labelled more than once for a behaviour, the
higher-precedence origin wins: coach > import > seed, and within one origin the later label
(later file, later `created_at`). So a coach's correction overrides the repo label for that
behaviour, and only for that behaviour.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from talktracks.behaviours.taxonomy import SPEAKERS, Taxonomy
from talktracks.errors import InputError
from talktracks.hashing import file_sha256
from talktracks.store import Label, Store

ORIGIN_RANK = {"seed": 0, "import": 1, "coach": 2}


def text_key(text: str) -> str:
    """The identity of an utterance text for merging labels: casefolded, whitespace collapsed."""
    return " ".join(text.split()).casefold()


@dataclass
class LabelledUtterance:
    """One text with the behaviours known for it: `labels[b]` is True, False, or absent (unknown)."""

    text: str
    speaker: str
    labels: dict[str, bool]
    origins: dict[str, str] = field(default_factory=dict)
    style: str | None = None
    industry: str | None = None

    def positives(self) -> list[str]:
        return sorted(b for b, v in self.labels.items() if v)


def read_labelled_file(
    path: Path, taxonomy: Taxonomy, origin: str = "seed"
) -> list[LabelledUtterance]:
    """Rows of a labelled JSONL file; raises InputError naming file and line for a bad row.

    Labels naming behaviours outside the taxonomy are ignored (a retired behaviour's data
    stays readable).
    """
    try:
        lines = path.read_bytes().splitlines()
    except OSError as exc:
        raise InputError(f"cannot read labels file {path}: {exc.strerror}") from exc
    names = set(taxonomy.names)
    rows: list[LabelledUtterance] = []
    for n, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        where = f"{path}:{n}"
        try:
            obj = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise InputError(f"{where}: not UTF-8") from exc
        except ValueError as exc:
            raise InputError(f"{where}: not JSON ({exc.args[0].split(':')[0]})") from exc
        if not isinstance(obj, dict):
            raise InputError(f"{where}: expected a JSON object")
        text, speaker, labels = obj.get("text"), obj.get("speaker", "unknown"), obj.get("labels")
        if not isinstance(text, str) or not text.strip():
            raise InputError(f"{where}: 'text' must be a non-empty string")
        if speaker not in SPEAKERS:
            raise InputError(f"{where}: 'speaker' must be one of {', '.join(SPEAKERS)}")
        if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
            raise InputError(f"{where}: 'labels' must be a list of behaviour names")
        rows.append(
            LabelledUtterance(
                text=text,
                speaker=speaker,
                labels={b: b in labels for b in names},
                origins=dict.fromkeys(names, origin),
                style=obj.get("style"),
                industry=obj.get("industry"),
            )
        )
    return rows


def read_labelled_dir(
    directory: Path, taxonomy: Taxonomy, origin: str = "seed"
) -> list[LabelledUtterance]:
    """Every *.jsonl file under `directory`, in name order."""
    rows: list[LabelledUtterance] = []
    for path in sorted(directory.glob("*.jsonl")):
        rows.extend(read_labelled_file(path, taxonomy, origin))
    return rows


def labels_from_store(store: Store, taxonomy: Taxonomy) -> list[LabelledUtterance]:
    """One single-behaviour row per labels-table row, oldest first (later ones win ties)."""
    names = set(taxonomy.names)
    with store.session() as s:
        found = s.execute(
            select(Label.text, Label.speaker, Label.behaviour, Label.value, Label.origin).order_by(
                Label.created_at, Label.id
            )
        ).all()
    return [
        LabelledUtterance(
            text=text,
            speaker=speaker if speaker in SPEAKERS else "unknown",
            labels={behaviour: bool(value)},
            origins={behaviour: origin if origin in ORIGIN_RANK else "import"},
        )
        for text, speaker, behaviour, value, origin in found
        if behaviour in names and text and text.strip()
    ]


def merge_labelled(rows: Iterable[LabelledUtterance]) -> list[LabelledUtterance]:
    """One row per text; per behaviour the label of the highest-precedence origin, later wins ties.

    The speaker is taken from the row that last set any label, unless it says "unknown".
    """
    merged: dict[str, LabelledUtterance] = {}
    for row in rows:
        key = text_key(row.text)
        into = merged.get(key)
        if into is None:
            merged[key] = LabelledUtterance(
                row.text, row.speaker, dict(row.labels), dict(row.origins), row.style, row.industry
            )
            continue
        changed = False
        for b, value in row.labels.items():
            origin = row.origins.get(b, "seed")
            current = into.origins.get(b)
            if current is None or ORIGIN_RANK[origin] >= ORIGIN_RANK[current]:
                into.labels[b] = value
                into.origins[b] = origin
                changed = True
        if changed and row.speaker != "unknown":
            into.speaker = row.speaker
    return list(merged.values())


def data_hash(rows: Sequence[LabelledUtterance]) -> str:
    """SHA-256 over the rows' texts, speakers and labels, independent of row order."""
    lines = sorted(
        json.dumps([text_key(r.text), r.speaker, sorted(r.labels.items())], ensure_ascii=False)
        for r in rows
    )
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def label_counts(rows: Sequence[LabelledUtterance]) -> dict[str, Any]:
    """Effective label counts by origin and by behaviour (after merging)."""
    by_origin: dict[str, Counter[str]] = defaultdict(Counter)
    by_behaviour: dict[str, Counter[str]] = defaultdict(Counter)
    for r in rows:
        for origin in set(r.origins.values()):
            by_origin[origin]["utterances"] += 1
        for b, value in r.labels.items():
            origin = r.origins.get(b, "seed")
            by_origin[origin]["labels"] += 1
            by_origin[origin]["positive" if value else "negative"] += 1
            by_behaviour[b]["positive" if value else "negative"] += 1
    return {
        "by_origin": {o: dict(c) for o, c in sorted(by_origin.items())},
        "by_behaviour": {b: dict(c) for b, c in sorted(by_behaviour.items())},
    }


@dataclass
class TrainingData:
    """What a model is trained and judged on, with where it came from."""

    train: list[LabelledUtterance]
    heldout: list[LabelledUtterance]
    sources: list[dict[str, Any]]
    dropped_heldout_overlap: int = 0
    independent: list[LabelledUtterance] = field(default_factory=list)

    @property
    def train_hash(self) -> str:
        return data_hash(self.train)

    @property
    def heldout_hash(self) -> str:
        return data_hash(self.heldout)


def shown_path(path: Path) -> str:
    """`path` relative to the checkout when it is inside it (model cards travel with the repo)."""
    from talktracks.config import PROJECT_ROOT

    try:
        return str(Path(path).resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


def read_heldout(data_dir: Path, taxonomy: Taxonomy) -> list[LabelledUtterance]:
    """The held-out set (`<data_dir>/test/*.jsonl`), merged as training data is: what the
    model card, the promotion gate and `talktracks evaluate` all judge on."""
    return merge_labelled(read_labelled_dir(data_dir / "test", taxonomy, "seed"))


INDEPENDENT_DIR = "independent"


def read_independent(data_dir: Path, taxonomy: Taxonomy) -> list[LabelledUtterance]:
    """The independent evaluation set (`<data_dir>/independent/*.jsonl`), written by someone who
    never saw the training data. Only a finished model's aggregate scores are computed on it:
    never training, thresholds, features, model choice or the promotion gate."""
    folder = data_dir / INDEPENDENT_DIR
    if not folder.is_dir():
        return []
    return merge_labelled(read_labelled_dir(folder, taxonomy, "seed"))


def collect_training_data(
    taxonomy: Taxonomy,
    data_dir: Path,
    store: Store | None = None,
    label_files: Sequence[Path] = (),
) -> TrainingData:
    """Repo training data + the labels table + extra label files, merged; and the held-out set.

    Held-out texts never train: any training text that also appears in the held-out set or
    the independent evaluation set is dropped (and counted), whichever source it came from.
    """
    sources: list[dict[str, Any]] = []
    rows: list[LabelledUtterance] = []
    for path in sorted((data_dir / "train").glob("*.jsonl")):
        part = read_labelled_file(path, taxonomy, "seed")
        rows.extend(part)
        sources.append(
            {
                "source": shown_path(path),
                "origin": "seed",
                "rows": len(part),
                "sha256": file_sha256(path),
            }
        )
    if store is not None:
        part = labels_from_store(store, taxonomy)
        rows.extend(part)
        sources.append(
            {
                "source": "labels table",
                "origins": dict(Counter(o for r in part for o in r.origins.values())),
                "rows": len(part),
            }
        )
    for path in label_files:
        part = read_labelled_file(Path(path), taxonomy, "import")
        rows.extend(part)
        sources.append(
            {
                "source": shown_path(path),
                "origin": "import",
                "rows": len(part),
                "sha256": file_sha256(Path(path)),
            }
        )
    heldout = read_heldout(data_dir, taxonomy)
    held_keys = {text_key(r.text) for r in heldout}
    held_keys |= {text_key(r.text) for r in read_independent(data_dir, taxonomy)}
    merged = merge_labelled(rows)
    train = [r for r in merged if text_key(r.text) not in held_keys]
    if not train:
        raise InputError(
            f"no training data: nothing under {data_dir / 'train'}, the labels table or --labels"
        )
    return TrainingData(
        train,
        heldout,
        sources,
        dropped_heldout_overlap=len(merged) - len(train),
        independent=read_independent(data_dir, taxonomy),
    )
