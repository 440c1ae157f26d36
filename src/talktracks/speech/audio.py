"""Reading recordings: channel probing and decoding to 16 kHz float32 channels, in blocks.

Decoding follows faster-whisper's own `decode_audio` (PyAV, bundled FFmpeg: resample to 16 kHz
s16, then scale to float32), so what we transcribe is what faster-whisper would have read
itself; but it streams, so a three-hour call never sits in memory whole (`iter_audio_blocks`).
Every way a file can fail to decode becomes one AudioDecodeError line naming the file, so a bad
recording fails its call, not the run.

Truncation (a copy cut short) is checked for every container, because FFmpeg decodes what is
there and stays quiet about what is missing:
- WAV: the data chunk's declared size against the file size;
- FLAC, M4A/MP4, MP3 with a Xing/Info/VBRI header: decoded length against the exact length
  the container declares;
- OGG (Opus, Vorbis): the last page must be complete and carry the end-of-stream flag;
- any container: decoder errors at the very end of the stream (no good frame after them).
"""

from __future__ import annotations

import gc
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from talktracks.errors import AudioDecodeError, RecordingNotFound

SAMPLE_RATE = 16000
"""Whisper's input rate; every decoded channel is at this rate."""

MAX_CHANNELS = 2
"""Mono, or two channels (one party each). More are refused: nothing says which is whom."""

# A decoded length this much shorter than an exactly declared one is lost audio, not the
# encoder's priming and padding (AAC, MP3) or resampling rounding.
_TRUNCATION_TOLERANCE_S = 0.25
_BLOCK_SECONDS = 60.0


@dataclass(frozen=True)
class _Probe:
    channels: int
    declared_seconds: float | None
    """Length stated by the container, only where the format states it exactly."""
    container: str


def probe_channels(path: Path) -> int:
    """Number of channels in the first audio stream (1 mono, 2 stereo)."""
    path = _existing(path)
    return _probe(path).channels


def decode_channels(path: Path) -> list[np.ndarray]:
    """Decode the whole file to 16 kHz float32: [samples] for mono, [left, right] for stereo.

    Holds the whole recording in memory; long recordings go through `iter_audio_blocks`.
    """
    blocks = list(iter_audio_blocks(path))
    return [np.concatenate([b[c] for b in blocks]) for c in range(blocks[0].shape[0])]


def iter_audio_blocks(path: Path, block_seconds: float = _BLOCK_SECONDS) -> Iterator[np.ndarray]:
    """Blocks of shape (channels, samples), float32 at 16 kHz, about `block_seconds` each.

    Raises AudioDecodeError (possibly after the last block: truncation is only known at the
    end) for files that cannot be decoded, have no samples, have more than two channels or
    are truncated.
    """
    path = _existing(path)
    probe = _probe(path)
    if probe.channels > MAX_CHANNELS:
        raise _decode_error(
            path,
            f"{probe.channels} channels; only mono and two-channel recordings are supported "
            "(split it or mix it down first)",
        )
    if _wav_data_truncated(path):
        raise _decode_error(path, "truncated: the WAV header declares more audio than the file has")
    problem = {"ogg": _ogg_end_problem, "mp3-cbr": _mp3_end_problem}.get(
        probe.container, lambda _p: None
    )(path)
    if problem:
        raise _decode_error(path, f"truncated: {problem}")
    layout = "stereo" if probe.channels == 2 else "mono"
    n_channels = 2 if layout == "stereo" else 1
    block = int(block_seconds * SAMPLE_RATE)
    pending: list[np.ndarray] = []
    pending_n = 0
    total = 0
    resampler = av.audio.resampler.AudioResampler(format="s16", layout=layout, rate=SAMPLE_RATE)
    try:
        for samples in _decoded_s16(path, resampler, n_channels):
            pending.append(samples)
            pending_n += samples.shape[1]
            total += samples.shape[1]
            while pending_n >= block:
                joined = np.concatenate(pending, axis=1)
                yield joined[:, :block].astype(np.float32) / 32768.0
                rest = joined[:, block:]
                pending, pending_n = ([rest] if rest.shape[1] else []), rest.shape[1]
    finally:
        # Resampler internals are only freed by a collection (faster-whisper issue 390).
        del resampler
        gc.collect()
    if total == 0:
        raise _decode_error(path, "no audio samples")
    if pending_n:
        yield np.concatenate(pending, axis=1).astype(np.float32) / 32768.0
    if probe.declared_seconds is not None:
        decoded_s = total / SAMPLE_RATE
        if decoded_s < probe.declared_seconds - _TRUNCATION_TOLERANCE_S:
            raise _decode_error(
                path,
                f"truncated: decoded {decoded_s:.2f} s of {probe.declared_seconds:.2f} s declared",
            )


def _decoded_s16(
    path: Path, resampler: av.audio.resampler.AudioResampler, n_channels: int
) -> Iterator[np.ndarray]:
    """(channels, n) int16 arrays at 16 kHz; decoder errors at the end mean truncation."""
    error_at_end: str | None = None
    try:
        with av.open(str(path), mode="r", metadata_errors="ignore") as container:
            stream = container.streams.audio[0]
            for packet in container.demux(stream):
                try:
                    frames = packet.decode()
                except av.error.InvalidDataError as exc:
                    # One bad frame mid-stream is skipped, as faster-whisper does; only an
                    # error with nothing good after it says the file ends early.
                    error_at_end = _reason(exc)
                    continue
                for frame in frames:
                    error_at_end = None
                    frame.pts = None  # regrouped frames confuse the resampler's timing
                    for out in resampler.resample(frame):
                        yield _planar(out.to_ndarray(), n_channels)
            for out in resampler.resample(None):
                yield _planar(out.to_ndarray(), n_channels)
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise _decode_error(path, _reason(exc)) from exc
    if error_at_end is not None:
        raise _decode_error(
            path, f"truncated: decoder error at the end of the stream ({error_at_end})"
        )


def _planar(interleaved: np.ndarray, n_channels: int) -> np.ndarray:
    # PyAV gives packed s16 as shape (1, samples * channels).
    return interleaved.reshape(-1, n_channels).T


def _existing(path: Path) -> Path:
    path = Path(path)
    if not path.exists():
        raise RecordingNotFound(f"recording not found: {path}")
    if path.is_dir():
        raise _decode_error(path, "is a directory, not a recording file")
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
            names = set(container.format.name.split(","))
            declared = None
            mp3_without_length = codec.startswith("mp3") and not _mp3_has_length_header(path)
            # Only exact lengths are compared: FLAC's STREAMINFO sample count, the MP4 index,
            # an MP3 frame-count header. Bitrate estimates (an MP3 without such a header)
            # would reject good variable-bitrate files.
            exact = (
                codec == "flac"
                or names & {"mov", "mp4", "m4a"}
                or (codec.startswith("mp3") and _mp3_has_length_header(path))
            )
            if exact and stream.duration and stream.time_base:
                declared = float(stream.duration * stream.time_base)
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        reason = _reason(exc)
        if path.suffix.lower() in (".m4a", ".mp4") and "Invalid data" in reason:
            # An MP4 whose index (moov) was written last and is missing: a cut-short copy.
            reason += " (truncated or corrupt: the MP4 index is missing)"
        raise _decode_error(path, reason) from exc
    if channels < 1:
        raise _decode_error(path, "audio stream has no channels")
    container_kind = "ogg" if "ogg" in names else next(iter(sorted(names)))
    if mp3_without_length:
        container_kind = "mp3-cbr"
    return _Probe(channels=channels, declared_seconds=declared, container=container_kind)


def _mp3_has_length_header(path: Path) -> bool:
    """A Xing, Info (LAME) or VBRI header in the first frame states the exact frame count."""
    with path.open("rb") as f:
        head = f.read(10)
        start = 0
        if head[:3] == b"ID3" and len(head) == 10:
            size = head[6] << 21 | head[7] << 14 | head[8] << 7 | head[9]
            start = 10 + size
        f.seek(start)
        first = f.read(4096)
    return any(tag in first for tag in (b"Xing", b"Info", b"VBRI"))


_MP3_BITRATES = {
    3: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),  # MPEG-1 layer III
    2: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),  # MPEG-2 and 2.5
}
_MP3_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}
_MP3_TRAILERS = (b"TAG", b"APETAGEX", b"LYRICS")


def _mp3_end_problem(path: Path) -> str | None:
    """Whether an MP3 without a length header ends in a cut-off frame (walks frame headers).

    Such a file states no length, so a copy cut exactly at a frame boundary cannot be told
    from a whole one; a cut anywhere else leaves a last frame longer than what remains.
    """
    end = path.stat().st_size
    with path.open("rb", buffering=1 << 20) as f:  # header by header: bounded memory
        head = f.read(10)
        pos = 0
        if head[:3] == b"ID3" and len(head) == 10:
            pos = 10 + (head[6] << 21 | head[7] << 14 | head[8] << 7 | head[9])
        frames = 0
        while pos + 4 <= end:
            f.seek(pos)
            raw = f.read(8)
            h = int.from_bytes(raw[:4], "big")
            version, layer = (h >> 19) & 3, (h >> 17) & 3
            bitrate_i, rate_i, pad = (h >> 12) & 15, (h >> 10) & 3, (h >> 9) & 1
            valid = (h >> 21) == 0x7FF and layer == 1 and version != 1
            if not valid or bitrate_i in (0, 15) or rate_i == 3:
                if frames == 0:
                    return None  # not a layer III stream we can walk; FFmpeg read it as audio
                if any(raw.startswith(t) for t in _MP3_TRAILERS):
                    return None
                return "data after the last whole MP3 frame is not a frame or a tag"
            bitrate = _MP3_BITRATES[3 if version == 3 else 2][bitrate_i] * 1000
            rate = _MP3_RATES[version][rate_i]
            pos += (144 if version == 3 else 72) * bitrate // rate + pad
            frames += 1
    if pos > end or 0 < end - pos < 4:
        return "the last MP3 frame is cut off"
    return None


def _ogg_end_problem(path: Path) -> str | None:
    """Why the OGG file's end is not a clean end of stream, or None.

    The OGG demuxer reports the last complete page's position as the length, so a cut copy
    looks whole; but only a complete last page flagged end-of-stream (0x04) ends a stream.
    """
    size = path.stat().st_size
    with path.open("rb") as f:
        f.seek(max(0, size - 65536 - 282))
        tail = f.read()
    # The last page is the one whose header and body end exactly at the end of the file;
    # "OggS" may also occur inside packet data, so candidates are checked from the end.
    at = len(tail)
    while (at := tail.rfind(b"OggS", 0, at)) >= 0:
        if len(tail) - at < 27 or tail[at + 4] != 0:
            continue
        n_segments = tail[at + 26]
        body = sum(tail[at + 27 : at + 27 + n_segments])
        if at + 27 + n_segments + body == len(tail):
            if not tail[at + 5] & 0x04:
                return "the stream has no end-of-stream page"
            return None
    return "the last OGG page is cut off"


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
