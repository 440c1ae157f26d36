"""SHA-256 of files, and the check every pinned model file goes through before it is loaded.

One home for both because the Whisper model files (pinned in speech.model) and the behaviour
model files (pinned in models/behaviours/registry.json) are refused the same way.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from pathlib import Path

from talktracks.errors import ModelHashMismatch, ModelNotFound

_CHUNK = 1 << 20


def file_sha256(path: Path) -> str:
    """SHA-256 hex of the file's bytes, read in 1 MiB chunks so large files stay cheap."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def check_pinned_files(
    folder: Path,
    pinned: Mapping[str, str],
    hash_file: Callable[[Path], str] = file_sha256,
) -> dict[str, Path]:
    """Every file named in `pinned` (name -> SHA-256) exists in `folder` with that hash.

    Returns name -> path. Raises ModelNotFound for a missing file and ModelHashMismatch, naming
    the file and both hashes on one line, for a changed one. `hash_file` lets a caller reuse
    digests it already trusts for an unchanged file.
    """
    paths: dict[str, Path] = {}
    for name, expected in pinned.items():
        path = Path(folder) / name
        if not path.is_file():
            raise ModelNotFound(f"model file {path} is missing")
        actual = hash_file(path)
        if actual != expected:
            raise ModelHashMismatch(
                f"refusing to load {path}: SHA-256 does not match the registered one "
                f"(expected {expected}, got {actual})"
            )
        paths[name] = path
    return paths
