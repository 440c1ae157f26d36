"""`talktracks import-transcripts`: validation per line, rejects file, replacement, tagging."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from stores import both_stores
from talktracks import config
from talktracks.behaviours.registry import ModelRegistry
from talktracks.cli import main
from talktracks.ingest.transcripts import import_transcripts, rejects_path_for
from talktracks.store import Call, Store, Tag, Utterance, open_store
from test_behaviours_registry import save


def call(call_id: str = "imp-1", **overrides) -> dict:
    base = {
        "call_id": call_id,
        "rep_id": "rep-7",
        "deal_id": "deal-9",
        "started_at": "2025-03-04T15:30:00+01:00",
        "utterances": [
            {"speaker": "rep", "start": 0.0, "end": 4.5, "text": "Hi, thanks for joining."},
            {
                "speaker": "customer",
                "start": 5.0,
                "end": 8.0,
                "text": "Happy to. What does it cost?",
            },
            {
                "speaker": "rep",
                "start": 8.5,
                "end": 14.0,
                "text": "The standard plan is $199 a month per location.",
            },
        ],
    }
    base.update(overrides)
    return base


def utterance(**overrides) -> dict:
    return {"speaker": "rep", "start": 1.0, "end": 2.0, "text": "hello", **overrides}


BAD_LINES: dict[str, tuple[bytes, str]] = {
    "not JSON": (b'{"call_id": "x", ', "not valid JSON"),
    "not an object": (b'["call_id", "x"]', "not a JSON object"),
    "missing call_id": (
        json.dumps({k: v for k, v in call().items() if k != "call_id"}).encode(),
        "missing call_id",
    ),
    "empty call_id": (json.dumps(call("  ")).encode(), "call_id is empty"),
    "bad started_at": (
        json.dumps(call("b1", started_at="last tuesday")).encode(),
        "not an ISO 8601",
    ),
    "started_at without a date": (
        json.dumps(call("b2", started_at="15:30:00")).encode(),
        "not an ISO 8601",
    ),
    "negative duration": (
        json.dumps(call("b3", duration=-5)).encode(),
        "duration must not be negative",
    ),
    "non-numeric duration": (
        json.dumps(call("b4", duration="ten")).encode(),
        "duration must be a number",
    ),
    "utterances not a list": (
        json.dumps(call("b5", utterances={"a": 1})).encode(),
        "utterances must be a list",
    ),
    "unknown speaker": (
        json.dumps(call("b6", utterances=[utterance(speaker="agent")])).encode(),
        "speaker",
    ),
    "start after end": (
        json.dumps(call("b7", utterances=[utterance(start=5, end=3)])).encode(),
        "start 5 is after end 3",
    ),
    "negative time": (
        json.dumps(call("b8", utterances=[utterance(start=-1)])).encode(),
        "start must not be negative",
    ),
    "missing text": (
        json.dumps(call("b9", utterances=[{"speaker": "rep", "start": 0, "end": 1}])).encode(),
        "missing text",
    ),
    "duplicate call_id": (json.dumps(call("good-1")).encode(), "already appears on line 1"),
    "non-UTF-8": (b'{"call_id": "b10", "text": "caf\xe9"}', "not valid UTF-8"),
    "utterance over the length limit": (
        json.dumps(call("b11", utterances=[utterance(text="price " * 200_000)])).encode(),
        "utterances[0]: text is 1,200,000 characters, over the limit of 20,000",
    ),
}


@pytest.fixture()
def env(tmp_path: Path, monkeypatch, db_url: str) -> Store:
    registry = ModelRegistry(tmp_path / "models" / "behaviours")
    registry.promote(save(registry))
    monkeypatch.setenv("TALKTRACKS_MODELS_DIR", str(tmp_path / "models"))
    config.get_settings.cache_clear()
    store = open_store(db_url)
    yield store
    store.dispose()
    config.get_settings.cache_clear()


def write(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def counts(store: Store, call_id: str) -> tuple[int, int]:
    with store.session() as s:
        n_utt = s.scalar(
            select(func.count()).select_from(Utterance).where(Utterance.call_id == call_id)
        )
        n_tag = s.scalar(select(func.count()).select_from(Tag).where(Tag.call_id == call_id))
    return n_utt, n_tag


@both_stores
def test_valid_file_imports_and_tags(env: Store, tmp_path: Path, capsys) -> None:
    path = write(
        tmp_path / "calls.jsonl",
        [json.dumps(call()).encode(), json.dumps(call("imp-2", duration=60)).encode()],
    )
    assert main(["import-transcripts", str(path), "--db", env.url]) == 0
    assert "imported 2 calls" in capsys.readouterr().out
    assert not rejects_path_for(path).exists()
    with env.session() as s:
        c = s.get(Call, "imp-1")
        assert (c.status, c.source, c.rep_id, c.deal_id, c.channels) == (
            "done",
            "import",
            "rep-7",
            "deal-9",
            "stereo",
        )
        assert c.duration == 14.0  # defaults to the last utterance's end
        assert c.started_at.isoformat() == "2025-03-04T14:30:00+00:00"
        assert s.get(Call, "imp-2").duration == 60
        tags = s.execute(
            select(Tag.behaviour, Tag.source, Tag.model_version).where(Tag.call_id == "imp-1")
        ).all()
    assert ("price_mention",) in {(t[0],) for t in tags}
    assert all(t[2] for t in tags)


@pytest.mark.parametrize("case", list(BAD_LINES))
def test_each_invalid_line_is_rejected_with_its_reason(
    case: str, env: Store, tmp_path: Path, capsys
) -> None:
    raw, reason = BAD_LINES[case]
    good = json.dumps(call("good-1")).encode()
    path = write(tmp_path / "in.jsonl", [good, raw])
    assert main(["import-transcripts", str(path), "--db", env.url]) == 2
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if "rejected" in line]
    assert (
        len(lines) == 1 and lines[0].startswith(f"{path}:2: rejected: ") and reason in lines[0]
    ), lines
    [record] = [json.loads(x) for x in rejects_path_for(path).read_bytes().splitlines()]
    assert record["line"] == 2 and reason in record["reason"]
    assert record["text"] == raw.decode("utf-8", errors="replace")
    assert "imported 1 calls" in captured.out
    assert counts(env, "good-1")[0] == 3


def test_all_rejections_in_one_file(env: Store, tmp_path: Path) -> None:
    good = json.dumps(call("good-1")).encode()
    path = write(tmp_path / "mixed.jsonl", [good, *(raw for raw, _ in BAD_LINES.values())])
    summary = import_transcripts(env, path)
    assert summary.imported == 1
    assert [r.line for r in summary.rejected] == list(range(2, 2 + len(BAD_LINES)))
    assert summary.rejects_path == tmp_path / "mixed.rejects.jsonl"
    assert len(summary.rejects_path.read_bytes().splitlines()) == len(BAD_LINES)


@both_stores
def test_reimport_replaces_the_call(env: Store, tmp_path: Path) -> None:
    first = write(tmp_path / "a.jsonl", [json.dumps(call()).encode()])
    assert main(["import-transcripts", str(first), "--db", env.url]) == 0
    utts, tags = counts(env, "imp-1")
    assert utts == 3 and tags > 0
    shorter = call(
        utterances=[
            {"speaker": "unknown", "start": 0, "end": 3, "text": "Would you refer us to a friend?"}
        ]
    )
    second = write(tmp_path / "b.jsonl", [json.dumps(shorter).encode()])
    assert main(["import-transcripts", str(second), "--db", env.url]) == 0
    assert counts(env, "imp-1")[0] == 1
    with env.session() as s:
        texts = s.scalars(select(Utterance.text).where(Utterance.call_id == "imp-1")).all()
        tag_utts = set(s.scalars(select(Tag.utterance_id).where(Tag.call_id == "imp-1")))
        utt_ids = set(s.scalars(select(Utterance.id).where(Utterance.call_id == "imp-1")))
        assert s.get(Call, "imp-1").channels == "mono"
    assert texts == ["Would you refer us to a friend?"]
    assert tag_utts <= utt_ids  # no tag points at a deleted utterance


@both_stores
def test_failed_write_leaves_the_previous_version(env: Store, tmp_path: Path) -> None:
    """The replace runs in one transaction: if tagging fails midway, nothing changes."""
    path = write(tmp_path / "a.jsonl", [json.dumps(call()).encode()])
    import_transcripts(env, path)
    before = counts(env, "imp-1")

    def broken_tagger(session, utterances):
        raise RuntimeError("tagger down")

    with pytest.raises(RuntimeError):
        import_transcripts(
            env,
            write(tmp_path / "b.jsonl", [json.dumps(call(utterances=[utterance()])).encode()]),
            tagger=broken_tagger,
        )
    assert counts(env, "imp-1") == before


def test_stale_rejects_file_is_removed(env: Store, tmp_path: Path) -> None:
    path = write(tmp_path / "c.jsonl", [json.dumps(call()).encode()])
    rejects_path_for(path).write_text("old\n")
    assert import_transcripts(env, path).rejects_path is None
    assert not rejects_path_for(path).exists()


def test_import_over_an_audio_call_is_refused_unless_replace(env: Store, tmp_path: Path, capsys):
    with env.session() as s:
        s.add(
            Call(
                call_id="rec-1",
                status="done",
                source="audio",
                channels="rep-left",
                recording="/srv/calls/rec-1.ogg",
                content_hash="ab" * 32,
                attempts=1,
            )
        )
        s.add(Utterance(call_id="rec-1", idx=0, speaker="rep", start=0, end=1, text="from audio"))
    path = write(tmp_path / "over.jsonl", [json.dumps(call("rec-1")).encode()])
    assert main(["import-transcripts", str(path), "--db", env.url]) == 2
    err = capsys.readouterr().err
    assert "call_id 'rec-1' holds a transcribed recording (/srv/calls/rec-1.ogg" in err
    assert "--replace" in err
    with env.session() as s:
        assert s.get(Call, "rec-1").source == "audio"
        assert s.scalars(select(Utterance.text).where(Utterance.call_id == "rec-1")).all() == [
            "from audio"
        ]
    assert main(["import-transcripts", str(path), "--db", env.url, "--replace"]) == 0
    with env.session() as s:
        assert s.get(Call, "rec-1").source == "import"
    assert counts(env, "rec-1")[0] == 3


def test_a_line_over_the_size_limit_is_rejected_unread_and_reading_goes_on(
    env: Store, tmp_path: Path, capsys, monkeypatch
) -> None:
    """One runaway line (a whole day's calls glued together, a missing newline) must not be
    held in memory: it is rejected by size, its first bytes kept, and the next lines import."""
    huge = json.dumps(call("huge", utterances=[utterance(text="x" * 900)] * 3000)).encode()
    assert len(huge) > 2_000_000  # over the 2 MB limit set below, under the default
    path = write(tmp_path / "big.jsonl", [json.dumps(call("a")).encode(), huge, b"", b'{"b'])
    path.write_bytes(path.read_bytes() + json.dumps(call("c")).encode())  # no final newline
    monkeypatch.setenv("TALKTRACKS_MAX_TRANSCRIPT_LINE_MB", "2")
    config.get_settings.cache_clear()
    assert main(["import-transcripts", str(path), "--db", env.url]) == 2
    err = capsys.readouterr().err
    size_line = f"{path}:2: rejected: line is {len(huge) / 1e6:.1f} MB, over the 2.0 MB limit"
    assert size_line in err, err
    assert f"{path}:4: rejected: not valid JSON" in err  # the lines after it are still read
    [big, bad] = [json.loads(x) for x in rejects_path_for(path).read_bytes().splitlines()]
    assert big["line"] == 2 and huge.decode().startswith(big["text"]) and len(big["text"]) == 200
    assert bad["line"] == 4
    assert counts(env, "a")[0] == 3 and counts(env, "huge") == (0, 0)
    assert counts(env, "c")[0] == 3  # the last line, with no newline after it
    # The same line under the default limit is an ordinary call.
    monkeypatch.delenv("TALKTRACKS_MAX_TRANSCRIPT_LINE_MB")
    config.get_settings.cache_clear()
    assert main(["import-transcripts", str(path), "--db", env.url, "--replace"]) == 2
    assert counts(env, "huge")[0] == 3000


def test_a_line_exactly_at_the_limit_is_read(env: Store, tmp_path: Path) -> None:
    line = json.dumps(call("edge")).encode()
    path = write(tmp_path / "edge.jsonl", [line])
    summary = import_transcripts(env, path, max_line_bytes=len(line))
    assert summary.imported == 1 and not summary.rejected
    summary = import_transcripts(env, path, max_line_bytes=len(line) - 1, replace=True)
    assert summary.imported == 0 and "over the" in summary.rejected[0].reason
