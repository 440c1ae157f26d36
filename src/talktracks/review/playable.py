"""Audio a browser can play: recordings in codecs browsers cannot decode (Microsoft/IMA ADPCM,
GSM 6.10, G.729, A-law/mu-law WAVs...) are transcoded once with PyAV to 16-bit PCM WAV, which
every browser plays, and cached under the data directory; snippets are cut the same way.

The cache key is the source's real path, size and modification time, so a replaced recording
is transcoded again. Files are written to a temporary name and renamed, so a reader never
sees half a file. Only checked paths (review.audio.recording_path) ever reach this module.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import os
import threading
import wave
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger(__name__)

CACHE_DIR_NAME = "audio-cache"
# What Chromium, Firefox and Safari all decode, by container codec name as PyAV reports it.
BROWSER_CODECS = frozenset(
    {"pcm_u8", "pcm_s16le", "pcm_f32le", "mp3", "mp3float", "flac", "vorbis", "opus", "aac"}
)

_probed: dict[str, bool] = {}
_lock = threading.Lock()


class NotDecodable(Exception):
    """PyAV cannot read the recording (corrupt, not audio). The message is for the log."""


def cache_dir(data_dir: Path) -> Path:
    return data_dir / CACHE_DIR_NAME


def _key(path: Path, *extra: object) -> str:
    st = path.stat()
    raw = "|".join(str(x) for x in (path, st.st_size, st.st_mtime_ns, *extra))
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def codec_of(path: Path) -> str:
    """The codec name of the recording's first audio stream."""
    import av  # PyAV (installed with faster-whisper); loaded on first use

    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise NotDecodable(f"{path.name} has no audio stream")
            return container.streams.audio[0].codec_context.name
    except av.FFmpegError as exc:
        raise NotDecodable(f"{path.name} cannot be read: {exc}") from exc


def browser_plays(path: Path) -> bool:
    """Whether browsers decode this recording as it is (probed once per file version)."""
    key = _key(path)
    with _lock:
        known = _probed.get(key)
    if known is None:
        try:
            known = codec_of(path) in BROWSER_CODECS
        except NotDecodable as exc:
            # Nothing better to offer than the file itself; the player reports the failure.
            log.warning("serving %s as stored: %s", path.name, exc)
            known = True
        with _lock:
            _probed[key] = known
    return known


def _pcm_frames(path: Path) -> Iterator[tuple[int, int, bytes]]:
    """(sample rate, channels, interleaved s16 bytes) chunks of the whole recording."""
    import av

    try:
        with av.open(str(path)) as container:
            stream = container.streams.audio[0]
            channels = min(stream.codec_context.channels or 1, 2)
            rate = stream.codec_context.sample_rate or 16_000
            resampler = av.AudioResampler(
                format="s16", layout="stereo" if channels == 2 else "mono", rate=rate
            )
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    yield rate, channels, out.to_ndarray().tobytes()
            for out in resampler.resample(None):
                yield rate, channels, out.to_ndarray().tobytes()
    except av.FFmpegError as exc:
        raise NotDecodable(f"{path.name} cannot be decoded: {exc}") from exc


def _write_wav(target: Path, path: Path, start: float = 0.0, end: float | None = None) -> None:
    """PCM WAV of `path` from `start` to `end` seconds, written to a temp file then renamed."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    chunks = _pcm_frames(path)
    first_chunk = next(chunks, None)
    if first_chunk is None:
        raise NotDecodable(f"{path.name} has no audio frames")
    rate, channels, _ = first_chunk
    width = 2 * channels
    first_sample, last_sample = int(start * rate), None if end is None else int(end * rate)
    position = 0  # samples per channel decoded so far
    try:
        with wave.open(str(tmp), "wb") as out:
            out.setnchannels(channels)
            out.setsampwidth(2)
            out.setframerate(rate)
            for _rate, _channels, chunk in itertools.chain([first_chunk], chunks):
                n = len(chunk) // width
                a = max(0, first_sample - position)
                b = n if last_sample is None else min(n, last_sample - position)
                if a < b:
                    out.writeframes(chunk[a * width : b * width])
                position += n
                if last_sample is not None and position >= last_sample:
                    break
        os.replace(tmp, target)
    finally:
        chunks.close()
        tmp.unlink(missing_ok=True)


def playable_file(path: Path, data_dir: Path) -> Path:
    """`path` itself when browsers play it, else its cached PCM WAV (made on first request)."""
    if browser_plays(path):
        return path
    target = cache_dir(data_dir) / f"{_key(path)}.wav"
    if not target.exists():
        log.info("transcoding %s (%s) for the browser", path.name, codec_of(path))
        _write_wav(target, path)
    return target


def clip_file(path: Path, data_dir: Path, start: float, end: float) -> Path:
    """The span [start, end) seconds of `path` as a cached PCM WAV (snippets)."""
    target = cache_dir(data_dir) / f"clip-{_key(path, round(start, 3), round(end, 3))}.wav"
    if not target.exists():
        _write_wav(target, path, start, end)
    return target
