"""Process one call: count the attempt, transcribe, write the whole transcript in one transaction.

The attempt is counted in its own committed transaction before the recording is decoded
(batch.attempts), so a recording that kills the process still spends an attempt. Errors a
recording causes (missing, corrupt, not audio, killing its worker) are recorded on the call as
`failed` with a readable reason and do not stop the batch. Transient errors (a locked
database, an I/O hiccup) propagate so the orchestrator can retry them with backoff. A database
that stops accepting writes (disk full, read-only) raises StoreWriteError: the batch stops,
and the calls keep what they had.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import delete, update
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from talktracks.batch.attempts import begin_attempt, crash_reason, undo_attempt
from talktracks.batch.plan import CallJob, apply_job
from talktracks.batch.testhooks import die_if_told
from talktracks.batch.worker import WorkerDied
from talktracks.config import Settings
from talktracks.errors import RecordingNotFound, StoreWriteError, TalktracksError
from talktracks.speech import LoadedModel, Transcript
from talktracks.speech.voiceprint import VoicePrint
from talktracks.speech.voices import default_diarizer, voice_extractor_name
from talktracks.store import Call, Store, Utterance, mask_url
from talktracks.store.voices import rep_print, save_call_speakers, save_voice_sample

# (call_id, recording, channel layout, the rep's enrolled voice print or None, enrol the rep's
# voice from a dual-channel call?) -> Transcript; batch.worker.TranscriptionWorker is one.
Transcriber = Callable[[str, Path, str, VoicePrint | None, bool], Transcript]

# SQLite and PostgreSQL wordings of "this database takes no more writes".
_WRITE_REFUSALS = (
    "database or disk is full",
    "disk full",
    "no space left",
    "readonly database",
    "read-only",
    "disk i/o error",
    "could not extend file",
)

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


def write_refusal(exc: BaseException) -> str | None:
    """The cause, when `exc` says the database takes no more writes (disk full, read-only)."""
    if not isinstance(exc, OperationalError):
        return None
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    return text if any(k in text.lower() for k in _WRITE_REFUSALS) else None


def as_store_write_error(store: Store, exc: BaseException) -> StoreWriteError | None:
    """`exc` as a one-line StoreWriteError when it means the store takes no more writes."""
    if isinstance(exc, StoreWriteError):
        return exc
    cause = write_refusal(exc)
    if cause is None:
        return None
    return StoreWriteError(f"cannot write to database {mask_url(store.url)}: {cause}")


@contextmanager
def store_writes(store: Store) -> Iterator[None]:
    """Turn "the database takes no more writes" into one StoreWriteError line naming it."""
    try:
        yield
    except OperationalError as exc:
        cause = write_refusal(exc)
        if cause is None:
            raise
        raise StoreWriteError(f"cannot write to database {mask_url(store.url)}: {cause}") from exc


def _lock_call(s: Session, call_id: str) -> None:
    """Take the write lock for this call before reading anything in the transaction.

    A no-op UPDATE as the transaction's first statement: on SQLite it takes the database write
    lock, waiting out the busy timeout, instead of reading first and failing with "database is
    locked" when another writer commits in between; on PostgreSQL it locks the call's row.
    """
    s.execute(update(Call).where(Call.call_id == call_id).values(status=Call.status))


def record_failure(store: Store, job: CallJob, reason: str) -> CallOutcome:
    """Mark the call failed with `reason`; counts the attempt unless begin_attempt already did."""
    with store_writes(store), store.session() as s:
        _lock_call(s, job.call_id)
        call = s.get(Call, job.call_id, with_for_update=True)
        if call is None:
            call = Call(call_id=job.call_id, attempts=0, source="audio", channels=job.channels)
            s.add(call)
        call.status = "failed"
        if call.attempt_started_at is None:
            call.attempts = (call.attempts or 0) + 1
        call.attempt_started_at = None
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
    with store_writes(store), store.session() as s:
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
        call.attempt_started_at = None
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
        # Mono: how the voices were named; dual-channel: the rep's voice print for later.
        save_call_speakers(s, job.call_id, transcript.diarization)
        if transcript.rep_voice is not None and call.rep_id:
            save_voice_sample(s, job.call_id, call.rep_id, transcript.rep_voice, "dual_channel")
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


def _enrolled_print(store: Store, job: CallJob) -> VoicePrint | None:
    """The enrolled voice print of the call's rep, for naming the rep on a mono call."""
    with store.session() as s:
        return rep_print(s, job.rep_id, voice_extractor_name())


def _in_process(model: LoadedModel, settings: Settings) -> Transcriber:
    from talktracks.speech.longform import transcribe_recording

    def transcribe(
        call_id: str,
        path: Path,
        channels: str,
        enrolled: VoicePrint | None = None,
        enrol_rep_voice: bool = False,
    ) -> Transcript:
        die_if_told(call_id)  # test-only; see batch.testhooks
        return transcribe_recording(
            path,
            channels,
            model,
            settings,
            diarizer=default_diarizer(model, settings, enrolled),
            enrol_rep_voice=enrol_rep_voice,
            chunk_s=settings.transcribe_chunk_s,
        )

    return transcribe


def process_call(
    store: Store,
    job: CallJob,
    model: LoadedModel | Transcriber,
    settings: Settings,
    tagger: SessionTagger | None = None,
    *,
    run_id: int | None = None,
) -> CallOutcome:
    """Transcribe one recording and store it; a bad recording becomes a `failed` call.

    `model` is a loaded model (transcribe here) or a Transcriber such as the worker process.
    """
    if job.recording.is_dir():
        return record_failure(store, job, f"{job.recording}: is a directory, not a recording file")
    if job.content_hash is None or not job.recording.is_file():
        return record_failure(store, job, f"recording not found: {job.recording}")
    transcribe = _in_process(model, settings) if isinstance(model, LoadedModel) else model
    with store_writes(store):
        attempt = begin_attempt(store, job.call_id, run_id, job.content_hash)
    try:
        transcript = transcribe(
            job.call_id,
            job.recording,
            job.channels,
            _enrolled_print(store, job),
            job.channels != "mono" and bool(job.rep_id),
        )
    except WorkerDied as exc:
        with store_writes(store), store.session() as s:
            call = s.get(Call, job.call_id)
            call.crashes = (call.crashes or 0) + 1
            reason = f"{crash_reason(call.crashes)} ({exc.detail}, attempt {attempt})"
        return record_failure(store, job, reason)
    except RecordingNotFound as exc:
        return record_failure(store, job, str(exc))
    except TalktracksError as exc:
        return record_failure(store, job, str(exc))
    except MemoryError:
        return record_failure(store, job, f"{job.recording.name}: out of memory while transcribing")
    except Exception as exc:
        if is_transient(exc):
            undo_attempt(store, job.call_id)
            raise
        # Anything else a recording triggers inside the decoder or model is that recording's
        # failure, not the batch's: keep the reason, keep going.
        return record_failure(store, job, f"{job.recording.name}: {type(exc).__name__}: {exc}")
    try:
        return store_transcript(store, job, transcript, tagger)
    except Exception as exc:
        if is_transient(exc):
            undo_attempt(store, job.call_id)  # the retry counts it again
        raise
