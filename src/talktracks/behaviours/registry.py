"""The behaviour model registry: models/behaviours/<version>/ plus `registry.json` and `current`.

Layout:
    models/behaviours/
      current                 the production version, one line of text
      registry.json           {"versions": {version: {"created_at", "files": {name: sha256}, ...}}}
      <version>/model.skops   features, classifiers, thresholds (skops, never pickle)
      <version>/taxonomy.json, patterns.jsonl   the taxonomy and trackers it was trained with
      <version>/model_card.json, MODEL_CARD.md
      <version>/subword-<behaviour>.bin   fastText subword models (fastText's own format)

Loading checks every file against the SHA-256 in registry.json before reading it, and skops
loads with an explicit list of trusted types, so a swapped, tampered or foreign model file is
refused with a one-line error instead of being executed.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import skops.io as sio
from skops.io.exceptions import UntrustedTypesFoundException

from talktracks.behaviours.card import render_markdown
from talktracks.behaviours.classifier import Thresholds
from talktracks.behaviours.model import BehaviourModel
from talktracks.behaviours.subword import SubwordClassifier
from talktracks.behaviours.taxonomy import load_patterns, taxonomy_from_dict
from talktracks.errors import ModelHashMismatch, ModelNotFound, TalktracksError
from talktracks.hashing import check_pinned_files, file_sha256

MODEL_FILE = "model.skops"
TAXONOMY_FILE = "taxonomy.json"
PATTERNS_FILE = "patterns.jsonl"
CARD_JSON = "model_card.json"
CARD_MD = "MODEL_CARD.md"
REGISTRY_FILE = "registry.json"
CURRENT_FILE = "current"
FORMAT = 1
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_-]+$")

# Every type a behaviour model file may contain beyond skops' defaults. Anything else in the
# file (a swapped-in estimator, a function reference) makes loading fail.
TRUSTED_TYPES: list[str] = [
    "builtins.bool",
    "builtins.dict",
    "builtins.float",
    "builtins.int",
    "builtins.list",
    "builtins.str",
    "builtins.tuple",
    "numpy.dtype",
    "numpy.float32",
    "numpy.float64",
    "numpy.int64",
    "numpy.ndarray",
    "scipy.sparse._csr.csr_matrix",
    "sklearn.calibration.CalibratedClassifierCV",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.feature_extraction.text.TfidfTransformer",
    "sklearn.feature_extraction.text.TfidfVectorizer",
    "sklearn.pipeline.FeatureUnion",
    "sklearn.svm._classes.LinearSVC",
    "talktracks.behaviours.features.AmountFeatures",
    "talktracks.behaviours.features.CachedTfidfVectorizer",
    "talktracks.behaviours.features.TrackerFeatures",
    "talktracks.behaviours.features.normalise_text",
    "talktracks.behaviours.features.word_tokens",
]


class UntrustedModel(ModelHashMismatch):
    """A model file holds types outside TRUSTED_TYPES."""


def subword_file(behaviour: str) -> str:
    """The fastText file of a behaviour's subword classifier, beside model.skops."""
    if not _SAFE_NAME.match(behaviour):  # the name becomes part of a path
        raise TalktracksError(f"behaviour name {behaviour!r} cannot name a model file")
    return f"subword-{behaviour}.bin"


def new_version(data_hash: str, now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    return f"{now:%Y%m%d-%H%M%S}-{data_hash[:8]}"


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; other services read the registry
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class ModelRegistry:
    """Versions of the behaviour model under one root folder."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @classmethod
    def under(cls, models_dir: Path) -> ModelRegistry:
        """The registry in `<models_dir>/behaviours` (Settings.models_dir)."""
        return cls(Path(models_dir) / "behaviours")

    # -- reading -------------------------------------------------------------------------

    def index(self) -> dict[str, Any]:
        path = self.root / REGISTRY_FILE
        if not path.exists():
            return {"format": FORMAT, "versions": {}}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ModelNotFound(f"cannot read model registry {path}: {exc}") from exc
        data.setdefault("versions", {})
        return data

    def versions(self) -> dict[str, dict[str, Any]]:
        return dict(self.index()["versions"])

    def current_version(self) -> str | None:
        path = self.root / CURRENT_FILE
        try:
            version = path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        return version or None

    def card(self, version: str) -> dict[str, Any]:
        path = self.root / version / CARD_JSON
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ModelNotFound(f"cannot read model card {path}: {exc}") from exc

    def verify(self, version: str) -> dict[str, Path]:
        """Paths of the version's files, each checked against its registered SHA-256."""
        entry = self.versions().get(version)
        if entry is None:
            raise ModelNotFound(
                f"behaviour model version {version!r} is not in {self.root / REGISTRY_FILE}"
            )
        # Hashed afresh on every load (no size/mtime cache): these files are what skops loads.
        paths = check_pinned_files(self.root / version, entry.get("files", {}))
        for name in (MODEL_FILE, TAXONOMY_FILE, PATTERNS_FILE):
            if name not in paths:
                raise ModelNotFound(f"behaviour model {version} has no registered {name}")
        return paths

    def load(self, version: str) -> BehaviourModel:
        """The model of `version`, after its hashes and skops types are checked."""
        paths = self.verify(version)
        try:
            blob = sio.load(paths[MODEL_FILE], trusted=TRUSTED_TYPES)
        except UntrustedTypesFoundException as exc:
            raise UntrustedModel(
                f"refusing to load {paths[MODEL_FILE]}: " + " ".join(str(exc).split())
            ) from exc
        except Exception as exc:  # a corrupt zip or schema reads as many error types
            raise ModelNotFound(
                f"cannot load {paths[MODEL_FILE]}: {type(exc).__name__}: {exc}"
            ) from exc
        if not isinstance(blob, dict) or blob.get("format") != FORMAT:
            raise ModelNotFound(f"{paths[MODEL_FILE]} is not a format-{FORMAT} behaviour model")
        taxonomy = taxonomy_from_dict(
            json.loads(paths[TAXONOMY_FILE].read_text(encoding="utf-8")), str(paths[TAXONOMY_FILE])
        )
        subwords = {}
        for b in blob.get("subword", []):
            name = subword_file(b)
            if name not in paths:
                raise ModelNotFound(f"behaviour model {version} has no registered {name}")
            try:  # already hash-checked by verify()
                subwords[b] = SubwordClassifier.load(paths[name])
            except Exception as exc:
                raise ModelNotFound(f"cannot load {paths[name]}: {exc}") from exc
        return BehaviourModel(
            taxonomy=taxonomy,
            patterns=load_patterns(paths[PATTERNS_FILE], taxonomy),
            features=blob["features"],
            classifiers=dict(blob["classifiers"]),
            thresholds={
                b: Thresholds(model=t[0], rule=t[1]) for b, t in blob["thresholds"].items()
            },
            version=version,
            subwords=subwords,
        )

    def load_current(self) -> BehaviourModel:
        version = self.current_version()
        if version is None:
            raise ModelNotFound(
                f"no current behaviour model in {self.root}: run `talktracks train --promote`"
            )
        return self.load(version)

    # -- writing -------------------------------------------------------------------------

    def save(self, model: BehaviourModel, card: dict[str, Any]) -> str:
        """Write a new version (files, card, registry entry); returns the version. Not promoted."""
        self.root.mkdir(parents=True, exist_ok=True)
        base = new_version(card.get("training_data", {}).get("hash", "0" * 8))
        version, n = base, 1
        while (self.root / version).exists():
            n += 1
            version = f"{base}-{n}"
        folder = self.root / version
        folder.mkdir()
        blob = {
            "format": FORMAT,
            "features": model.features,
            "classifiers": model.classifiers,
            "thresholds": {b: [t.model, t.rule] for b, t in model.thresholds.items()},
            "subword": sorted(model.subwords),
        }
        sio.dump(blob, folder / MODEL_FILE, compression=zipfile.ZIP_DEFLATED, compresslevel=9)
        names = [MODEL_FILE, TAXONOMY_FILE, PATTERNS_FILE]
        for b, sub in sorted(model.subwords.items()):
            sub.save(folder / subword_file(b))
            names.append(subword_file(b))
        (folder / TAXONOMY_FILE).write_text(
            json.dumps(model.taxonomy.to_dict(), indent=2) + "\n", encoding="utf-8"
        )
        (folder / PATTERNS_FILE).write_text(
            "".join(json.dumps(p) + "\n" for p in model.patterns), encoding="utf-8"
        )
        files = {name: file_sha256(folder / name) for name in names}
        card = {"version": version, **card, "files": files}
        (folder / CARD_JSON).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
        (folder / CARD_MD).write_text(render_markdown(card), encoding="utf-8")
        index = self.index()
        index["format"] = FORMAT
        index["versions"][version] = {
            "created_at": card.get("created_at"),
            "files": files,
            "heldout_macro_f1": card.get("heldout", {}).get("macro_f1"),
        }
        _write_atomic(self.root / REGISTRY_FILE, json.dumps(index, indent=2, sort_keys=True) + "\n")
        model.version = version
        return version

    def promote(self, version: str) -> None:
        """Make `version` the production model (after checking its files load)."""
        self.verify(version)
        index = self.index()
        index["versions"][version]["promoted_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        _write_atomic(self.root / REGISTRY_FILE, json.dumps(index, indent=2, sort_keys=True) + "\n")
        _write_atomic(self.root / CURRENT_FILE, version + "\n")


_LOADED: dict[tuple[str, str], BehaviourModel] = {}


def load_current_model(models_dir: Path | None = None) -> BehaviourModel:
    """The production model, loaded (and hash-checked) once per process per version.

    `models_dir` defaults to Settings.models_dir. A promotion is picked up by the next call,
    since the `current` pointer is read every time.
    """
    if models_dir is None:
        from talktracks.config import get_settings

        models_dir = get_settings().models_dir
    registry = ModelRegistry.under(models_dir)
    version = registry.current_version()
    if version is None:
        raise ModelNotFound(
            f"no current behaviour model in {registry.root}: run `talktracks train --promote`"
        )
    key = (str(registry.root.resolve()), version)
    if key not in _LOADED:
        _LOADED[key] = registry.load(version)
    return _LOADED[key]


__all__ = [
    "TRUSTED_TYPES",
    "ModelRegistry",
    "TalktracksError",
    "UntrustedModel",
    "load_current_model",
]
