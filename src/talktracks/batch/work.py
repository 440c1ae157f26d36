"""The per-call work of the nightly run as one plain function, safe to run anywhere: in a
thread beside other calls, or in a Dask worker process on another machine.

Each process loads the Whisper model, the behaviour model and the store once and reuses them
for every call it is given; the call itself is written in one transaction (process_call).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from sqlalchemy.orm import Session

from talktracks.batch.plan import CallJob
from talktracks.batch.process import CallOutcome, SessionTagger, process_call
from talktracks.config import Settings
from talktracks.store import Utterance, shared_store

_setup_lock = threading.Lock()
_tag_lock = threading.Lock()


def _serialised(tagger: SessionTagger) -> SessionTagger:
    # spaCy pipelines are not documented as thread-safe and tagging is ~0.3 % of a call's time,
    # so calls in flight take turns here. A call only gets here holding its own write (its
    # utterances are flushed), so on SQLite no other call waits for the lock while blocking us.
    def tag(session: Session, rows: Sequence[Utterance]) -> int:
        with _tag_lock:
            return tagger(session, rows)

    return tag


def transcribe_and_store_call(
    job: CallJob, settings: Settings, *, run_id: int | None = None
) -> CallOutcome:
    """Transcribe one recording, tag it and store it; `settings.calls_in_flight` is how many
    calls share this process (one model replica each).

    With `transcribe_in_child` (the default) the recording is decoded and transcribed in a
    child process of this thread (batch/worker.py), so a recording that kills its process
    fails only its own call; inside a Dask worker (a daemonic process) it runs in place.
    """
    from talktracks.batch.worker import can_spawn_workers, shared_worker
    from talktracks.behaviours import load_current_model, session_tagger

    # One thread loads while the others wait, instead of each loading its own copy.
    with _setup_lock:
        if settings.transcribe_in_child and can_spawn_workers():
            model = shared_worker(settings)
        else:
            from talktracks.speech import load_model

            model = load_model(
                settings.whisper_model,
                settings.whisper_device,
                settings.whisper_compute_type,
                settings.whisper_cpu_threads,
                num_workers=max(1, settings.calls_in_flight),
            )
        tagger = session_tagger(load_current_model(settings.models_dir))
        store = shared_store(settings.database_url)
    return process_call(store, job, model, settings, _serialised(tagger), run_id=run_id)
