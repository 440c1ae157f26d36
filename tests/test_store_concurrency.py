"""Several writer processes and a review-side writer at once, on SQLite and on a real PostgreSQL:
every call ends up with exactly one writer's whole transcript (one transaction per call)."""

from __future__ import annotations

import multiprocessing
import threading
from pathlib import Path

from sqlalchemy import func, select

from stores import both_stores
from talktracks.batch.plan import CallJob, register_pending
from talktracks.batch.process import is_transient, store_transcript
from talktracks.speech.types import Transcript, Utterance, Word
from talktracks.store import AuditEvent, Call, open_store
from talktracks.store import Utterance as UtteranceRow

CALLS = [f"c{i}" for i in range(8)]
WRITERS = 4


def job(call_id: str) -> CallJob:
    return CallJob(call_id, Path(f"/rec/{call_id}.wav"), "rep-left", "rep", None, None, "h", "new")


def transcript(writer: int, call_id: str) -> Transcript:
    # Each writer gives each call a different number of utterances, so a mix would show.
    n = 3 + writer
    utterances = [
        Utterance(
            speaker="rep",
            start=float(i),
            end=i + 0.5,
            text=f"w{writer} {call_id} {i}",
            confidence=0.9,
            words=[Word(float(i), i + 0.5, f"w{writer}", 0.9)],
        )
        for i in range(n)
    ]
    return Transcript(utterances, 10.0, "en", "m", "h", processing_seconds=float(writer))


def write_all(url: str, writer: int, rounds: int) -> None:
    store = open_store(url, migrate=False)
    for r in range(rounds):
        order = CALLS if (writer + r) % 2 == 0 else CALLS[::-1]
        for call_id in order:
            for _attempt in range(20):  # what the nightly task's retry does for busy stores
                try:
                    store_transcript(store, job(call_id), transcript(writer, call_id))
                    break
                except Exception as exc:
                    if not is_transient(exc):
                        raise
    store.dispose()


@both_stores
def test_concurrent_writers_never_mix_or_duplicate_a_transcript(db_url):
    store = open_store(db_url)
    register_pending(store, [job(c) for c in CALLS])  # as the nightly run does before any work
    ctx = multiprocessing.get_context("fork")
    workers = [ctx.Process(target=write_all, args=(db_url, w, 3)) for w in range(WRITERS)]
    audits = 60

    def review_writes() -> None:  # the review app's writes: audit rows, each its own commit
        for i in range(audits):
            with store.session() as s:
                s.add(AuditEvent(actor="coach", action="comment", target=f"call:c{i % 8}"))

    for p in workers:
        p.start()
    reviewer = threading.Thread(target=review_writes)
    reviewer.start()
    for p in workers:
        p.join(timeout=300)
    reviewer.join(timeout=300)
    assert [p.exitcode for p in workers] == [0] * WRITERS

    with store.session() as s:
        for call_id in CALLS:
            rows = s.scalars(
                select(UtteranceRow)
                .where(UtteranceRow.call_id == call_id)
                .order_by(UtteranceRow.idx)
            ).all()
            writers = {r.text.split()[0] for r in rows}
            assert len(writers) == 1, f"{call_id} mixes writers {writers}"
            writer = int(next(iter(writers))[1:])
            assert [r.idx for r in rows] == list(range(3 + writer))
            call = s.get(Call, call_id)
            # The call row and its utterances come from the same transaction.
            assert call.status == "done" and call.processing_seconds == float(writer)
        assert s.scalar(select(func.count()).select_from(AuditEvent)) == audits
    store.dispose()
