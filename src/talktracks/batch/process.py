"""Process one call: decode, transcribe, and write the whole transcript in one transaction.

Errors a recording causes (missing, corrupt, not audio) are recorded on the call as `failed`
with a readable reason and do not stop the batch. Transient errors (a locked database, an I/O
hiccup) propagate so the orchestrator can retry them with backoff.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, update
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from talktracks.batch.plan import CallJob, apply_job
from talktracks.config import Settings
from talktracks.errors import RecordingNotFound, TalktracksError
from talktracks.speech import LoadedModel, Transcript, transcribe_call
from talktracks.store import Call, Store, Utterance

# Tags a call's freshly written utterances inside the same transaction (behaviours.session_tagger).
SessionTagger = Callable[[Session, Sequence[Utterance]], int]


@dataclass(frozen=True)
class CallOutcome:
    call_id: str
    status: str  # done, no_speech, failed
    audio_seconds: float = 0.0
    utterances: int = 0
    tags: int = 0
    error: str | None = None


# PostgreSQL SQLSTATE classes worth a retry: 40 (serialization failure, deadlock) and 08
# (connection lost: a server restart or a failover between two calls).
_TRANSIENT_SQLSTATE_CLASSES = ("40", "08")


def is_transient(exc: BaseException) -> bool:
    """Errors worth retrying now: the database was busy, or the OS had a passing I/O problem."""
    if isinstance(exc, TalktracksError):
        return False
    if isinstance(exc, DBAPIError):
        sqlstate = getattr(exc.orig, "sqlstate", None) or ""
        if sqlstate[:2] in _TRANSIENT_SQLSTATE_CLASSES or exc.connection_invalidated:
            return True
    if isinstance(exc, OperationalError):
        return "locked" in str(exc).lower() or "busy" in str(exc).lower()
    return isinstance(exc, (TimeoutError, ConnectionError, InterruptedError, BlockingIOError))


def _lock_call(s: Session, call_id: str) -> None:
    """Take the write lock for this call before reading anything in the transaction.

    A no-op UPDATE as the transaction's first statement: on SQLite it takes the database write
    lock, waiting out the busy timeout, instead of reading first and failing with "database is
    locked" when another writer commits in between; on PostgreSQL it locks the call's row.
    """
    s.execute(update(Call).where(Call.call_id == call_id).values(status=Call.status))


def record_failure(store: Store, job: CallJob, reason: str) -> CallOutcome:
    """Mark the call failed with `reason` and count the attempt."""
    with store.session() as s:
        _lock_call(s, job.call_id)
        call = s.get(Call, job.call_id, with_for_update=True)
        if call is None:
            call = Call(call_id=job.call_id, attempts=0, source="audio", channels=job.channels)
            s.add(call)
        call.status = "failed"
        call.attempts = (call.attempts or 0) + 1
        call.last_error = reason
        call.content_hash = job.content_hash
        call.recording = str(job.recording)
    return CallOutcome(job.call_id, "failed", error=reason)


def store_transcript(
    store: Store, job: CallJob, transcript: Transcript, tagger: SessionTagger | None = None
) -> CallOutcome:
    """Replace the call's transcript, metadata and tags atomically (one transaction).

    Tagging inside the same transaction means a kill between transcription and tagging cannot
    leave a finished call without its tags.
    """
    status = "done" if transcript.utterances else "no_speech"
    with store.session() as s:
        # The row lock serialises writers of the same call on PostgreSQL (two workers, or a
        # retry racing a worker presumed dead): without it, under READ COMMITTED, the second
        # writer's DELETE would not see the first one's new utterances. SQLite ignores it; its
        # one-writer lock already serialises.
        _lock_call(s, job.call_id)
        call = s.get(Call, job.call_id, with_for_update=True)
        if call is None:
            call = Call(call_id=job.call_id, attempts=0)
            s.add(call)
        s.execute(delete(Utterance).where(Utterance.call_id == job.call_id))
        apply_job(call, job)
        call.content_hash = job.content_hash
        call.status = status
        call.last_error = None
        call.duration = transcript.duration
        call.language = transcript.language
        call.asr_model = transcript.model_name
        call.asr_model_hash = transcript.model_hash
        call.processing_seconds = transcript.processing_seconds
        call.processed_at = datetime.now(UTC)
        call.source = "audio"
        call.tagged_with = None  # the new utterances carry no tags until the tagger runs
        rows = [
            Utterance(
                call_id=job.call_id,
                idx=i,
                speaker=u.speaker,
                start=round(u.start, 3),
                end=round(u.end, 3),
                text=u.text,
                confidence=round(u.confidence, 4),
                words=[
                    {
                        "start": round(w.start, 3),
                        "end": round(w.end, 3),
                        "word": w.word,
                        "probability": round(w.probability, 4),
                    }
                    for w in u.words
                ],
            )
            for i, u in enumerate(transcript.utterances)
        ]
        s.add_all(rows)
        n_tags = 0
        if tagger is not None and rows:
            s.flush()  # the tag rows need the utterance ids
            n_tags = tagger(s, rows)
    return CallOutcome(
        job.call_id,
        status,
        audio_seconds=transcript.duration,
        utterances=len(rows),
        tags=n_tags,
    )


def process_call(
    store: Store,
    job: CallJob,
    model: LoadedModel,
    settings: Settings,
    tagger: SessionTagger | None = None,
) -> CallOutcome:
    """Transcribe one recording and store it; a bad recording becomes a `failed` call."""
    if job.content_hash is None or not job.recording.is_file():
        return record_failure(store, job, f"recording not found: {job.recording}")
    try:
        transcript = transcribe_call(job.recording, job.channels, model, settings)
    except RecordingNotFound as exc:
        return record_failure(store, job, str(exc))
    except TalktracksError as exc:
        return record_failure(store, job, str(exc))
    except MemoryError:
        return record_failure(store, job, f"{job.recording.name}: out of memory while transcribing")
    except Exception as exc:
        if is_transient(exc):
            raise
        # Anything else a recording triggers inside the decoder or model is that recording's
        # failure, not the batch's: keep the reason, keep going.
        return record_failure(store, job, f"{job.recording.name}: {type(exc).__name__}: {exc}")
    return store_transcript(store, job, transcript, tagger)
