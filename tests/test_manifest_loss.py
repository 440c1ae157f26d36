"""A manifest that loses rows changes no stored call, and says so loudly (real flow runs)."""

from __future__ import annotations

import shutil

from sqlalchemy import select

from talktracks.ingest.transcripts import import_transcripts
from talktracks.orchestration import load_flow_module
from talktracks.store import Call, Utterance, open_store

HEADER = "call_id,recording,rep_id,deal_id,started_at,channels\n"


def snapshot(store):
    with store.session() as s:
        calls = {
            c.call_id: (c.channels, c.rep_id, c.deal_id, c.status, c.content_hash, c.source)
            for c in s.scalars(select(Call))
        }
        utterances = s.execute(
            select(Utterance.id, Utterance.call_id, Utterance.speaker, Utterance.text)
        ).all()
    return calls, sorted(utterances)


def test_header_only_manifest_changes_no_stored_call(
    prefect_api, data_settings, tmp_path, real_audio_dir
):
    rec = tmp_path / "rec"
    rec.mkdir()
    shutil.copy(real_audio_dir / "stereo_diarization.wav", rec / "duo.wav")
    shutil.copy(real_audio_dir / "stereo_diarization.wav", rec / "c-imported.wav")
    manifest = rec / "calls.csv"
    manifest.write_text(
        HEADER + "deal-7-call,duo.wav,rep-a,deal-7,2026-11-02T14:05:00+00:00,rep-right\n"
    )
    nightly = load_flow_module("nightly").nightly
    settings = data_settings.with_overrides(recordings_dir=rec, manifest=manifest)
    first = nightly(settings)
    assert first.processed == 2  # deal-7-call, and c-imported (unlisted, inferred)
    store = open_store(data_settings.database_url)
    jsonl = tmp_path / "imported.jsonl"
    jsonl.write_text(
        '{"call_id": "c-imported", "started_at": "2026-11-01T10:00:00Z", "utterances": '
        '[{"speaker": "rep", "start": 0, "end": 2, "text": "an imported transcript"}]}\n'
    )
    assert import_transcripts(store, jsonl, replace=True).imported == 1
    before = snapshot(store)
    assert before[0]["deal-7-call"][0] == "rep-right"

    manifest.write_text(HEADER)  # every row lost
    second = nightly(settings)
    assert (second.processed, second.failed) == (0, 0)
    assert snapshot(store) == before  # no layout re-inferred, nothing re-transcribed or dropped
    warnings = "\n".join(second.warnings)
    assert second.warnings[0].startswith("MANIFEST DROPS 1 OF 1 STORED CALLS")
    assert (
        "duo.wav: not in the manifest; stored call 'deal-7-call', its stored channels "
        "rep-right; skipped (stored, unchanged)" in warnings
    )
    assert "c-imported.wav: not in the manifest; call_id 'c-imported' holds an imported" in warnings
    assert "processed as" not in warnings
    store.dispose()
