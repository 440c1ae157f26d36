"""Decoding and hashing real files written in tmp (stdlib wave and PyAV encoders)."""

from __future__ import annotations

import hashlib
import os
import wave
from pathlib import Path

import av
import numpy as np
import pytest

from talktracks.errors import AudioDecodeError, RecordingNotFound
from talktracks.speech import SAMPLE_RATE, content_hash, decode_channels, probe_channels

LOUD, QUIET = 0.5, 0.05


def tone(seconds: float, rate: int, amplitude: float, freq: float = 440.0) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def stereo(seconds: float, rate: int) -> np.ndarray:
    """Loud left, quiet right: decoding must keep which is which."""
    return np.stack([tone(seconds, rate, LOUD), tone(seconds, rate, QUIET, 660.0)])


def write_wav(path: Path, channels: np.ndarray, rate: int = SAMPLE_RATE) -> Path:
    """channels: shape (n_channels, n_samples) float in [-1, 1]."""
    pcm = (np.clip(channels, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as f:
        f.setnchannels(pcm.shape[0])
        f.setsampwidth(2)
        f.setframerate(rate)
        f.writeframes(pcm.T.tobytes())
    return path


def write_encoded(path: Path, codec: str, channels: np.ndarray, rate: int) -> Path:
    layout = "stereo" if channels.shape[0] == 2 else "mono"
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=rate, layout=layout)
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(channels), format="fltp", layout=layout
        )
        frame.sample_rate = rate
        fmt = stream.codec_context.codec.audio_formats[0].name
        resampler = av.AudioResampler(format=fmt, layout=layout, rate=rate)
        for out in [*resampler.resample(frame), *resampler.resample(None)]:
            container.mux(stream.encode(out))
        container.mux(stream.encode(None))
    return path


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))


def assert_decode_error(path: Path, reason: str | None = None) -> None:
    with pytest.raises(AudioDecodeError) as info:
        decode_channels(path)
    message = str(info.value)
    assert path.name in message
    assert "cannot decode audio" in message
    assert "\n" not in message
    if reason:
        assert reason in message


def test_content_hash_matches_hashlib_across_chunks(tmp_path: Path) -> None:
    data = os.urandom((1 << 20) * 2 + 12345)  # several 1 MiB chunks plus a remainder
    path = tmp_path / "blob.bin"
    path.write_bytes(data)
    assert content_hash(path) == hashlib.sha256(data).hexdigest()


def test_mono_wav_decodes_to_one_channel(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "mono.wav", tone(2.0, SAMPLE_RATE, LOUD)[None, :])
    assert probe_channels(path) == 1
    [samples] = decode_channels(path)
    assert samples.dtype == np.float32
    assert len(samples) == 2 * SAMPLE_RATE
    assert rms(samples) == pytest.approx(LOUD / np.sqrt(2), rel=0.02)


def test_stereo_wav_splits_left_and_right(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "stereo.wav", stereo(1.5, SAMPLE_RATE))
    assert probe_channels(path) == 2
    left, right = decode_channels(path)
    assert len(left) == len(right) == int(1.5 * SAMPLE_RATE)
    assert rms(left) == pytest.approx(LOUD / np.sqrt(2), rel=0.02)
    assert rms(right) == pytest.approx(QUIET / np.sqrt(2), rel=0.05)


def test_other_rates_are_resampled_to_16k(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "cd.wav", stereo(2.0, 44100), rate=44100)
    left, right = decode_channels(path)
    assert abs(len(left) - 2 * SAMPLE_RATE) <= 32
    assert rms(left) > 5 * rms(right)


@pytest.mark.parametrize(
    ("suffix", "codec"),
    [("flac", "flac"), ("mp3", "mp3"), ("m4a", "aac"), ("ogg", "libopus")],
)
def test_compressed_formats_decode_both_channels(tmp_path: Path, suffix: str, codec: str) -> None:
    rate = 48000 if codec == "libopus" else 44100
    path = write_encoded(tmp_path / f"call.{suffix}", codec, stereo(2.0, rate), rate)
    assert probe_channels(path) == 2
    left, right = decode_channels(path)
    # Encoders add priming/padding; a frame or two either way is fine.
    assert abs(len(left) / SAMPLE_RATE - 2.0) < 0.1
    assert rms(left) > 5 * rms(right)


def test_mono_compressed_decodes_to_one_channel(tmp_path: Path) -> None:
    path = write_encoded(tmp_path / "mono.flac", "flac", tone(1.0, 44100, LOUD)[None, :], 44100)
    assert probe_channels(path) == 1
    assert len(decode_channels(path)) == 1


def test_missing_file_is_recording_not_found(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "call.wav"
    with pytest.raises(RecordingNotFound, match="recording not found: .*call.wav"):
        decode_channels(path)
    with pytest.raises(RecordingNotFound):
        probe_channels(path)


def test_zero_byte_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.wav"
    path.touch()
    assert_decode_error(path, "empty file")


def test_random_bytes(tmp_path: Path) -> None:
    path = tmp_path / "noise.mp3"
    path.write_bytes(np.random.default_rng(7).bytes(20_000))
    assert_decode_error(path)


def test_text_file_renamed_wav(tmp_path: Path) -> None:
    path = tmp_path / "notes.wav"
    path.write_text("call notes: customer asked about pricing\n" * 100)
    assert_decode_error(path)


def test_header_only_truncation(tmp_path: Path) -> None:
    full = write_wav(tmp_path / "full.wav", stereo(1.0, SAMPLE_RATE))
    path = tmp_path / "cut.wav"
    path.write_bytes(full.read_bytes()[:20])
    assert_decode_error(path)


@pytest.mark.parametrize("suffix", ["wav", "flac"])
def test_truncated_mid_audio(tmp_path: Path, suffix: str) -> None:
    # FFmpeg would decode the first half without complaint; we must not transcribe half a call.
    if suffix == "wav":
        full = write_wav(tmp_path / "full.wav", stereo(2.0, SAMPLE_RATE))
    else:
        full = write_encoded(tmp_path / "full.flac", "flac", stereo(2.0, 44100), 44100)
    data = full.read_bytes()
    path = tmp_path / f"half.{suffix}"
    path.write_bytes(data[: len(data) // 2])
    assert_decode_error(path, "truncated")


def test_wav_with_no_samples(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "silent.wav", np.zeros((1, 0), dtype=np.float32))
    assert_decode_error(path, "no audio samples")


def test_file_without_audio_stream(tmp_path: Path) -> None:
    path = tmp_path / "screen.mkv"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("ffv1", rate=1)
        stream.width, stream.height, stream.pix_fmt = 16, 16, "yuv420p"
        frame = av.VideoFrame.from_ndarray(np.zeros((16, 16, 3), dtype=np.uint8), format="rgb24")
        container.mux(stream.encode(frame.reformat(format="yuv420p")))
        container.mux(stream.encode(None))
    assert_decode_error(path, "no audio stream")


def test_directory_is_not_a_recording(tmp_path: Path) -> None:
    folder = tmp_path / "calls.wav"
    folder.mkdir()
    assert_decode_error(folder)


SAMPLE_AUDIO = Path(__file__).resolve().parents[1] / "sample_audio"


@pytest.mark.parametrize(
    "name",
    [
        "c01-solar-intro.ogg",
        "c02-solar-followup.mp3",
        "c04-hvac-heatpump.m4a",
        "c05-gym-membership.flac",
        "c09-pest-control.wav",
    ],
)
@pytest.mark.parametrize("keep", [0.37, 0.83])
def test_truncated_sample_calls_are_refused_in_every_container(
    tmp_path: Path, name: str, keep: float
) -> None:
    """A copy cut short decodes 'fine' in FFmpeg; each container's own evidence catches it."""
    data = (SAMPLE_AUDIO / name).read_bytes()
    whole = tmp_path / f"whole-{name}"
    whole.write_bytes(data)
    assert len(decode_channels(whole)[0]) > SAMPLE_RATE * 30  # the untouched copy is accepted
    cut = tmp_path / f"cut-{name}"
    cut.write_bytes(data[: int(len(data) * keep)])
    assert_decode_error(cut, "truncated")


def test_truncated_faststart_m4a_compares_decoded_with_declared_length(tmp_path: Path) -> None:
    """With its index first, a cut MP4 opens; the index's exact length gives the cut away."""
    path = tmp_path / "fast.m4a"
    with av.open(str(path), "w", options={"movflags": "faststart"}) as container:
        stream = container.add_stream("aac", rate=44100, layout="stereo")
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(stereo(20.0, 44100)), format="fltp", layout="stereo"
        )
        frame.sample_rate = 44100
        for out in av.AudioResampler(format="fltp", layout="stereo", rate=44100).resample(frame):
            container.mux(stream.encode(out))
        container.mux(stream.encode(None))
    assert abs(len(decode_channels(path)[0]) / SAMPLE_RATE - 20.0) < 0.1
    data = path.read_bytes()
    cut = tmp_path / "fast-cut.m4a"
    cut.write_bytes(data[: len(data) // 2])
    assert_decode_error(cut, "truncated")


def test_more_than_two_channels_is_refused_with_the_count(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "four.wav", np.stack([tone(1.0, SAMPLE_RATE, LOUD)] * 4))
    assert probe_channels(path) == 4
    assert_decode_error(path, "4 channels; only mono and two-channel recordings are supported")


def test_directory_named_like_a_recording_says_so(tmp_path: Path) -> None:
    folder = tmp_path / "x.wav"
    folder.mkdir()
    assert_decode_error(folder, "is a directory, not a recording file")


def test_blocks_concatenate_to_the_whole_decode(tmp_path: Path) -> None:
    from talktracks.speech.audio import iter_audio_blocks

    path = write_wav(tmp_path / "long.wav", stereo(7.3, SAMPLE_RATE))
    blocks = list(iter_audio_blocks(path, block_seconds=2.0))
    assert [b.shape[1] for b in blocks] == [2 * SAMPLE_RATE] * 3 + [int(1.3 * SAMPLE_RATE)]
    left, right = decode_channels(path)
    assert np.array_equal(np.concatenate([b[0] for b in blocks]), left)
    assert np.array_equal(np.concatenate([b[1] for b in blocks]), right)
