"""Reading recordings: channel probing and decoding to 16 kHz float32 channels.

Decoding goes through faster-whisper's own `decode_audio` (PyAV, bundled FFmpeg), so what we
transcribe is exactly what faster-whisper would have read itself. Every way a file can fail
to decode becomes one AudioDecodeError line naming the file, so a bad recording fails its
call, not the run.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
from faster_whisper.audio import decode_audio

from talktracks.errors import AudioDecodeError, RecordingNotFound

SAMPLE_RATE = 16000
"""Whisper's input rate; every decoded channel is at this rate."""

# Below this, a FLAC that decodes shorter than its header says is resampling noise, not loss.
_FLAC_SHORTFALL_S = 0.1


@dataclass(frozen=True)
class _Probe:
    channels: int
    declared_seconds: float | None
    """Length stated by the header, only where the format states it exactly (FLAC)."""


def probe_channels(path: Path) -> int:
    """Number of channels in the first audio stream (1 mono, 2 stereo)."""
    path = _existing(path)
    return _probe(path).channels


def decode_channels(path: Path) -> list[np.ndarray]:
    """Decode to 16 kHz float32: [samples] for mono, [left, right] for stereo.

    Recordings with more than two channels are mixed down to one, as nothing says which
    channel is which party.
    """
    path = _existing(path)
    probe = _probe(path)
    # FFmpeg decodes what is there and stays quiet about what is missing, so a recording cut
    # short by a failed copy would otherwise become a silently partial transcript.
    if _wav_data_truncated(path):
        raise _decode_error(path, "truncated: the WAV header declares more audio than the file has")
    stereo = probe.channels == 2
    try:
        decoded = decode_audio(str(path), sampling_rate=SAMPLE_RATE, split_stereo=stereo)
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise _decode_error(path, _reason(exc)) from exc
    channels = list(decoded) if stereo else [decoded]

    samples = len(channels[0])
    if samples == 0:
        raise _decode_error(path, "no audio samples")
    if probe.declared_seconds is not None:
        decoded_s = samples / SAMPLE_RATE
        if decoded_s < probe.declared_seconds - _FLAC_SHORTFALL_S:
            raise _decode_error(
                path,
                f"truncated: decoded {decoded_s:.2f} s of {probe.declared_seconds:.2f} s declared",
            )
    return channels


def _existing(path: Path) -> Path:
    path = Path(path)
    if not path.exists():
        raise RecordingNotFound(f"recording not found: {path}")
    if not path.is_file():
        raise _decode_error(path, "not a regular file")
    return path


def _probe(path: Path) -> _Probe:
    if path.stat().st_size == 0:
        raise _decode_error(path, "empty file")
    try:
        with av.open(str(path), mode="r", metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise _decode_error(path, "no audio stream")
            stream = container.streams.audio[0]
            codec = stream.codec_context.name
            channels = stream.codec_context.channels
            declared = None
            # FLAC's STREAMINFO holds the exact sample count; other formats' durations are
            # often estimated from bitrate, and comparing against an estimate would reject
            # good variable-bitrate files.
            if codec == "flac" and stream.duration and stream.time_base:
                declared = float(stream.duration * stream.time_base)
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise _decode_error(path, _reason(exc)) from exc
    if channels < 1:
        raise _decode_error(path, "audio stream has no channels")
    return _Probe(channels=channels, declared_seconds=declared)


def _wav_data_truncated(path: Path) -> bool:
    """True when a RIFF/WAVE data chunk claims more bytes than the file has.

    FFmpeg clamps the data size to the file size without an error, so this is checked here.
    """
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return False
        pos = 12
        while pos + 8 <= size:
            f.seek(pos)
            chunk_id, chunk_size = struct.unpack("<4sI", f.read(8))
            if chunk_id == b"data":
                # Streaming recorders that never rewrite the header leave 0 or 0xFFFFFFFF.
                if chunk_size in (0, 0xFFFFFFFF):
                    return False
                return pos + 8 + chunk_size > size
            pos += 8 + chunk_size + (chunk_size & 1)
    return False


def _reason(exc: BaseException) -> str:
    # FFmpeg errors repeat the path and errno in str(); strerror is the short human part.
    reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return " ".join(str(reason).split())


def _decode_error(path: Path, reason: str) -> AudioDecodeError:
    return AudioDecodeError(f"{path}: cannot decode audio: {reason}")
