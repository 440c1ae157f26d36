"""Voice features of short stretches of speech: what diarization clusters and voice prints match.

Two extractors share one shape (frames at a fixed rate, pooled over windows):
- WhisperEncoderFeatures: the output of the Whisper encoder the product already loads
  (CTranslate2 `model.model.encode`), one 384-dim vector per 20 ms for tiny.en. No extra model,
  no download; costs one encoder pass over the call (the decoder, which dominates
  transcription, is not run again).
- MfccFeatures: classical statistics (mean and standard deviation of 20 MFCCs per window) from
  the same log-mel spectrogram. Cheaper, weaker on similar voices; kept as the measured
  baseline (docs/diarization.md).

A window is one embedding: frames between `start` and `end` seconds, pooled (mean and standard
deviation), so a clustering step sees fixed-size vectors however long people speak.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from talktracks.speech.audio import SAMPLE_RATE

_MEL_HOP = 160  # samples per log-mel frame (10 ms), Whisper's hop
_CHUNK_FRAMES = 3000  # 30 s of log-mel frames: the encoder's fixed input
_N_MFCC = 20


@dataclass(frozen=True)
class FrameFeatures:
    """Per-frame voice features of one recording: `values[i]` covers i*step .. (i+1)*step s."""

    values: np.ndarray
    """float32, shape (frames, dims)."""
    step: float
    """Seconds per frame."""
    extractor: str
    """Which extractor made them; voice prints only compare like with like."""

    def window(self, start: float, end: float) -> np.ndarray | None:
        """Pooled embedding (mean and std of the frames) of start..end s; None when empty."""
        lo = max(0, int(start / self.step))
        hi = min(len(self.values), int(np.ceil(end / self.step)))
        if hi - lo < 2:
            return None
        frames = self.values[lo:hi]
        return np.concatenate([frames.mean(axis=0), frames.std(axis=0)]).astype(np.float32)


class FeatureExtractor(Protocol):
    name: str

    def frames(self, audio: np.ndarray) -> FrameFeatures: ...


def log_mel(whisper_model: object, audio: np.ndarray) -> np.ndarray:
    """Whisper's log-mel spectrogram (n_mels, frames) of 16 kHz audio, 10 ms per frame."""
    extractor = whisper_model.feature_extractor  # type: ignore[attr-defined]
    return extractor(np.ascontiguousarray(audio, dtype=np.float32))


class WhisperEncoderFeatures:
    """Encoder output of the loaded Whisper model, 20 ms per frame.

    In: the faster-whisper WhisperModel (LoadedModel.whisper) and 16 kHz mono audio.
    Out: FrameFeatures of the encoder's last layer. Audio is cut into the encoder's 30 s
    windows and encoded in one batch per `batch` windows; padding frames are dropped.
    """

    def __init__(self, whisper_model: object, model_hash: str = "", batch: int = 4) -> None:
        self.whisper = whisper_model
        self.batch = batch
        self.name = f"whisper-encoder:{model_hash[:12]}" if model_hash else "whisper-encoder"

    def frames(self, audio: np.ndarray) -> FrameFeatures:
        import ctranslate2

        mel = log_mel(self.whisper, audio)
        n_mel_frames = mel.shape[1]
        chunks = []
        for lo in range(0, max(n_mel_frames, 1), _CHUNK_FRAMES):
            chunk = mel[:, lo : lo + _CHUNK_FRAMES]
            if chunk.shape[1] < _CHUNK_FRAMES:
                # Whisper pads its input with log-mel of silence (the floor value), not zeros.
                pad = np.full(
                    (mel.shape[0], _CHUNK_FRAMES - chunk.shape[1]), mel.min(), dtype=mel.dtype
                )
                chunk = np.concatenate([chunk, pad], axis=1)
            chunks.append(chunk)
        model = self.whisper.model  # type: ignore[attr-defined]
        outputs = []
        for lo in range(0, len(chunks), self.batch):
            batch = np.ascontiguousarray(np.stack(chunks[lo : lo + self.batch]), dtype=np.float32)
            encoded = model.encode(ctranslate2.StorageView.from_array(batch), to_cpu=True)
            outputs.append(np.asarray(encoded, dtype=np.float32))
        values = np.concatenate(outputs, axis=0).reshape(-1, outputs[0].shape[-1])
        # Two log-mel frames per encoder frame (the encoder's stride-2 convolution).
        n_frames = (n_mel_frames + 1) // 2
        return FrameFeatures(values=values[:n_frames], step=0.02, extractor=self.name)


class MfccFeatures:
    """MFCCs 1-20 per 10 ms (DCT of Whisper's log-mel).

    No cepstral mean removal: on a rep's own channel it would subtract the rep's voice itself,
    and voice prints enrolled there must compare with clusters of a mixed recording. Clustering
    standardises per recording, which removes the channel offset where it matters.
    """

    name = "mfcc20"

    def __init__(self, whisper_model: object) -> None:
        self.whisper = whisper_model

    def frames(self, audio: np.ndarray) -> FrameFeatures:
        from scipy.fft import dct

        mel = log_mel(self.whisper, audio)  # (80, frames)
        # c0 is the frame's loudness: a mixed-down call is quieter than the rep's own channel,
        # and loudness says nothing about who is speaking.
        mfcc = dct(mel, type=2, axis=0, norm="ortho")[1 : _N_MFCC + 1].T
        return FrameFeatures(
            values=np.ascontiguousarray(mfcc, dtype=np.float32),
            step=_MEL_HOP / SAMPLE_RATE,
            extractor=self.name,
        )
