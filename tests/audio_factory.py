"""Small audio files made on the fly for tests: silence, tones, broken files."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np


def write_wav(path: Path, samples: np.ndarray, rate: int = 16000) -> Path:
    """Write int16 PCM; `samples` is (n,) for mono or (n, channels)."""
    data = np.clip(samples, -1, 1)
    channels = 1 if data.ndim == 1 else data.shape[1]
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((data * 32767).astype("<i2").tobytes())
    return path


def silence(path: Path, seconds: float = 4.0, channels: int = 2) -> Path:
    shape = (int(16000 * seconds), channels) if channels > 1 else (int(16000 * seconds),)
    return write_wav(path, np.zeros(shape))
