"""Mono calls diarized for real: real recordings, the real embedded model, no mocked embeddings.

Sample calls are mixed to mono here (their scripts say who spoke when); nothing mixed is kept.
"""

from __future__ import annotations

import json
import shutil
import wave
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from talktracks.batch.plan import CallJob
from talktracks.batch.process import process_call
from talktracks.behaviours import load_current_model, session_tagger
from talktracks.coaching import compute_flags
from talktracks.config import PROJECT_ROOT, Settings
from talktracks.hashing import file_sha256
from talktracks.speech import SAMPLE_RATE, decode_channels, transcribe_call
from talktracks.speech.voiceprint import VoicePrint, VoicePrintError
from talktracks.store import (
    AuditEvent,
    CallSpeakers,
    Flag,
    Tag,
    Utterance,
    VoiceSample,
    open_store,
)

SAMPLES = PROJECT_ROOT / "sample_audio"
REP_ONLY = ("product_introduction", "referral_request")


def write_wav(path: Path, samples: np.ndarray) -> Path:
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(SAMPLE_RATE)
        f.writeframes(pcm.tobytes())
    return path


def mono_mix(call_id: str, folder: Path) -> Path:
    script = json.loads((SAMPLES / "scripts" / f"{call_id}.json").read_text())
    left, right = decode_channels(SAMPLES / script["recording"])
    return write_wav(folder / f"{call_id}-mono.wav", (left + right) * 0.5)


def scripted_rep_behaviours(call_id: str) -> set[str]:
    script = json.loads((SAMPLES / "scripts" / f"{call_id}.json").read_text())
    return {b for t in script["turns"] if t["speaker"] == "rep" for b in t["behaviours"]} & set(
        REP_ONLY
    )


def settings_for(tmp: Path) -> Settings:
    return Settings(
        data_dir=tmp / "data",
        whisper_beam_size=5,
        whisper_language=None,
        vad_filter=True,
        utterance_pause_s=1.0,
    )


def job(call_id: str, path: Path, channels: str, rep_id: str) -> CallJob:
    return CallJob(
        call_id=call_id,
        recording=path,
        channels=channels,
        rep_id=rep_id,
        deal_id="deal-101",
        started_at=None,
        content_hash=file_sha256(path),
        reason="new",
    )


@pytest.fixture(scope="module")
def diarized_store(whisper_model, tmp_path_factory):
    """c02 (dual channel) enrols rep-alex's print; then a mono mix of c01 is processed."""
    tmp = tmp_path_factory.mktemp("diarized")
    settings = settings_for(tmp)
    store = open_store(f"sqlite:///{tmp / 'talktracks.db'}")
    tagger = session_tagger(load_current_model(settings.models_dir))
    stereo = process_call(
        store,
        job("c02", SAMPLES / "c02-solar-followup.mp3", "rep-left", "rep-alex"),
        whisper_model,
        settings,
        tagger,
    )
    assert stereo.status == "done"
    mono = process_call(
        store,
        job("c01m", mono_mix("c01-solar-intro", tmp), "mono", "rep-alex"),
        whisper_model,
        settings,
        tagger,
    )
    assert mono.status == "done"
    compute_flags(store, settings)
    store.dispose()
    return tmp, settings


def test_mono_mix_tags_rep_only_behaviours_on_the_enrolled_rep(diarized_store) -> None:
    tmp, _ = diarized_store
    store = open_store(f"sqlite:///{tmp / 'talktracks.db'}")
    with store.session() as s:
        samples = s.scalars(select(VoiceSample)).all()
        assert [(v.call_id, v.rep_id, v.source) for v in samples] == [
            ("c02", "rep-alex", "dual_channel")
        ]
        row = s.get(CallSpeakers, "c01m")
        assert row is not None and row.n_speakers == 2
        assert row.rep_method == "voice_print" and row.rep_confidence > 0.1
        speakers = set(s.scalars(select(Utterance.speaker).where(Utterance.call_id == "c01m")))
        assert speakers == {"rep", "customer"}
        tagged = s.execute(
            select(Tag.behaviour, Utterance.speaker)
            .join(Utterance, Tag.utterance_id == Utterance.id)
            .where(Tag.call_id == "c01m", Tag.behaviour.in_(REP_ONLY))
        ).all()
        assert {b for b, _ in tagged} == scripted_rep_behaviours("c01-solar-intro")
        assert {who for _, who in tagged} == {"rep"}
        # The rep's self-introduction opens the call and is on the rep.
        first = s.scalars(
            select(Utterance).where(Utterance.call_id == "c01m").order_by(Utterance.idx)
        ).first()
        assert first.speaker == "rep" and "sunridge" in first.text.lower()
    store.dispose()


def test_unenrolled_rep_is_named_by_word_cues_and_says_so(whisper_model, tmp_path: Path) -> None:
    t = transcribe_call(
        mono_mix("c10-dental-aligners", tmp_path), "mono", whisper_model, settings_for(tmp_path)
    )
    d = t.diarization
    assert d is not None and d.n_speakers == 2
    assert d.rep_method == "word_cues" and d.rep_confidence > 0
    assert d.details["voice_print"] == "no print enrolled for this rep"
    assert d.details["word_cues"]["counts"]  # what each voice scored is kept
    rep_text = " ".join(u.text for u in t.utterances if u.speaker == "rep").lower()
    assert "testimonial" in rep_text or "review" in rep_text  # the scripted rep-only request


def test_one_speaker_recording_stays_one_speaker(whisper_model, real_audio_dir: Path) -> None:
    t = transcribe_call(real_audio_dir / "jfk.flac", "mono", whisper_model, settings_for(Path(".")))
    assert t.diarization is not None and t.diarization.n_speakers == 1
    assert {u.speaker for u in t.utterances} == {"speaker_1"}
    assert t.diarization.rep_method == "none"
    rttm = t.diarization.rttm("jfk").splitlines()
    assert rttm and all(
        line.startswith("SPEAKER jfk 1 ") and " speaker_1 " in line for line in rttm
    )


def test_silence_and_very_short_recordings_do_not_crash(
    whisper_model, real_audio_dir: Path, tmp_path: Path
) -> None:
    settings = settings_for(tmp_path)
    silent = transcribe_call(
        write_wav(tmp_path / "silence.wav", np.zeros(SAMPLE_RATE * 3)),
        "mono",
        whisper_model,
        settings,
    )
    assert silent.utterances == [] and silent.diarization.n_speakers == 0
    jfk = decode_channels(real_audio_dir / "jfk.flac")[0]
    for seconds in (0.05, 0.6, 2.0):
        short = write_wav(tmp_path / f"short-{seconds}.wav", jfk[: int(SAMPLE_RATE * seconds)])
        t = transcribe_call(short, "mono", whisper_model, settings)
        assert t.diarization is not None and t.diarization.n_speakers <= 1
        assert all(u.speaker in ("speaker_1",) for u in t.utterances)


def test_voice_print_with_a_wrong_hash_is_refused() -> None:
    vp = VoicePrint("mfcc20", np.array([0.5, -1.25], dtype=np.float32), 3)
    again = VoicePrint.from_json(vp.extractor, vp.to_json(), vp.windows, vp.digest())
    assert np.allclose(again.vector, vp.vector)
    with pytest.raises(VoicePrintError, match="hash"):
        VoicePrint.from_json(vp.extractor, "[0.5, -1.0]", vp.windows, vp.digest())


def test_review_swap_is_audited_and_recomputes_tags_and_flags(
    diarized_store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastapi.testclient import TestClient

    from talktracks.review.app import create_app
    from talktracks.review.users import add_user
    from test_review_support import PASSWORD, csrf_of, sign_in, use_cheap_argon2

    use_cheap_argon2(monkeypatch)
    src, settings = diarized_store
    shutil.copy(src / "talktracks.db", tmp_path / "talktracks.db")
    store = open_store(f"sqlite:///{tmp_path / 'talktracks.db'}")
    settings = settings.model_copy(update={"data_dir": tmp_path / "data"})
    add_user(store, "cora", PASSWORD, "coach", actor="test")
    client = TestClient(create_app(settings, store=store), follow_redirects=False)
    sign_in(client, "cora")

    def snapshot():
        with store.session() as s:
            speakers = dict(
                s.execute(
                    select(Utterance.idx, Utterance.speaker).where(Utterance.call_id == "c01m")
                ).all()
            )
            tags = s.execute(
                select(Tag.behaviour, Utterance.speaker)
                .join(Utterance, Tag.utterance_id == Utterance.id)
                .where(Tag.call_id == "c01m")
            ).all()
            flags = [
                f.rule
                for f in s.scalars(
                    select(Flag).where(Flag.call_id == "c01m", Flag.status == "open")
                )
            ]
        return speakers, tags, flags

    before, tags_before, _ = snapshot()
    page = client.get("/calls/c01m").text
    assert "Swap rep and customer" in page
    # Without the CSRF token nothing happens.
    assert client.post("/calls/c01m/speakers", data={"rep": "customer"}).status_code == 403
    assert snapshot()[0] == before
    r = client.post(
        "/calls/c01m/speakers",
        data={"rep": "customer", "csrf_token": csrf_of(client, "/calls/c01m")},
    )
    assert r.status_code == 303
    after, tags_after, flags_after = snapshot()
    swap = {"rep": "customer", "customer": "rep"}
    assert after == {i: swap[who] for i, who in before.items()}
    # Rep-only behaviours are re-tagged under the new speakers: none sits on the customer.
    assert all(who == "rep" for b, who in tags_after if b in REP_ONLY)
    assert {b for b, _ in tags_after if b in REP_ONLY} != {
        b for b, _ in tags_before if b in REP_ONLY
    }
    with store.session() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "speakers.swap")).one()
        assert event.actor == "cora" and event.target == "call:c01m"
        ratio_before = event.details["rep_talk_ratio_before"]
        assert event.details["rep_talk_ratio_after"] == pytest.approx(1 - ratio_before, abs=1e-3)
        assert event.details["open_flags_after"] == len(flags_after)
        assert s.get(CallSpeakers, "c01m").rep_method == "coach"
        coach = s.scalars(select(VoiceSample).where(VoiceSample.source == "coach")).one()
        assert (coach.call_id, coach.rep_id) == ("c01m", "rep-alex")
    store.dispose()


def test_cli_transcribe_mono_prints_the_attributed_transcript(
    data_settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from talktracks.cli import main

    clip = mono_mix("c10-dental-aligners", tmp_path)
    assert main(["transcribe", str(clip), "--channels", "mono"]) == 0
    out, err = capsys.readouterr()
    speakers = [line.split("] ", 1)[1].split(":", 1)[0].strip() for line in out.splitlines()]
    assert set(speakers) == {"rep", "customer"}
    intro = [line for line in out.splitlines() if "smile" in line.lower()]
    assert intro and "     rep: " in intro[0]  # "this is Alex from Bright Smile Dental"
    assert "mono: 2 voice(s); rep named by word cues" in err
