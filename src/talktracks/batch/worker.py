"""A child process that transcribes, so a recording that kills its process kills only the child.

The orchestrating process never decodes audio itself: it sends (recording, layout) to the
worker and gets a Transcript back. If the worker dies (the out-of-memory killer, a segfault in
a decoder, or its own address-space limit), the call fails with a reason and the next call
gets a fresh worker. The worker is started with "spawn" (a clean interpreter: forking a
process that runs Prefect's threads is unsafe) and loads the model once for all its calls.
"""

from __future__ import annotations

import multiprocessing
import signal
import threading
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any

from talktracks.config import Settings
from talktracks.speech.types import Transcript

if TYPE_CHECKING:
    from talktracks.speech.voiceprint import VoicePrint


class WorkerDied(Exception):
    """The transcription worker ended while working on a call; `detail` says how."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def _serve(conn: Connection, settings_json: str) -> None:
    """Worker main loop: one request at a time until the parent closes the pipe."""
    settings = Settings.model_validate_json(settings_json)
    if settings.worker_memory_limit_mb > 0:
        import resource

        limit = settings.worker_memory_limit_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle

    from talktracks.batch.testhooks import die_if_told
    from talktracks.speech import load_model
    from talktracks.speech.longform import transcribe_recording
    from talktracks.speech.voices import default_diarizer

    model = load_model(
        settings.whisper_model,
        settings.whisper_device,
        settings.whisper_compute_type,
        settings.whisper_cpu_threads,
    )
    while True:
        try:
            request = conn.recv()
        except EOFError:
            return
        call_id, path, channels, enrolled, enrol_rep_voice = request
        try:
            die_if_told(call_id)
            transcript = transcribe_recording(
                Path(path),
                channels,
                model,
                settings,
                diarizer=default_diarizer(model, settings, enrolled),
                enrol_rep_voice=enrol_rep_voice,
                chunk_s=settings.transcribe_chunk_s,
            )
            reply: tuple[str, Any] = ("ok", transcript)
        except MemoryError:
            reply = ("error", MemoryError("out of memory while transcribing"))
        except Exception as exc:  # noqa: BLE001 - sent to the parent, which classifies it
            reply = ("error", exc)
        try:
            conn.send(reply)
        except Exception:  # noqa: BLE001 - an exception that cannot be pickled
            conn.send(("error", RuntimeError(f"{type(reply[1]).__name__}: {reply[1]}")))


class TranscriptionWorker:
    """Callable (call_id, path, channels) -> Transcript, transcribing in a child process."""

    def __init__(self, settings: Settings) -> None:
        self._settings_json = settings.model_dump_json()
        self._process: multiprocessing.process.BaseProcess | None = None
        self._conn: Connection | None = None

    def _start(self) -> Connection:
        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe()
        process = ctx.Process(
            target=_serve, args=(child, self._settings_json), name="talktracks-transcriber"
        )
        process.daemon = True
        process.start()
        child.close()
        self._process, self._conn = process, parent
        return parent

    def __call__(
        self,
        call_id: str,
        path: Path,
        channels: str,
        enrolled: VoicePrint | None = None,
        enrol_rep_voice: bool = False,
    ) -> Transcript:
        conn = self._conn if self._process is not None and self._process.is_alive() else None
        conn = conn or self._start()
        try:
            conn.send((call_id, str(path), channels, enrolled, enrol_rep_voice))
            status, value = conn.recv()
        except (EOFError, BrokenPipeError, ConnectionResetError) as exc:
            raise WorkerDied(self._death()) from exc
        if status == "ok":
            return value
        raise value

    def _death(self) -> str:
        process, self._process = self._process, None
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if process is None:
            return "the worker was not running"
        process.join(timeout=10)
        code = process.exitcode
        if code is not None and code < 0:
            try:
                return f"worker killed by {signal.Signals(-code).name}"
            except ValueError:
                return f"worker killed by signal {-code}"
        return f"worker exited with status {code}"

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._process is not None:
            self._process.join(timeout=10)
            if self._process.is_alive():
                self._process.kill()
            self._process = None


_workers: dict[str, TranscriptionWorker] = {}
_workers_lock = threading.Lock()


def shared_worker(settings: Settings) -> TranscriptionWorker:
    """One worker per settings per thread, reused by every call that thread runs.

    Per thread because a worker serves one request at a time: with several calls in flight
    each thread has its own child process (and model), which also frees transcription from
    this process's GIL.
    """
    key = f"{threading.get_ident()}:{settings.model_dump_json()}"
    with _workers_lock:
        if key not in _workers:
            _workers[key] = TranscriptionWorker(settings)
        return _workers[key]


def can_spawn_workers() -> bool:
    """False inside a daemonic process (a Dask worker), which may not have children; there the
    worker process itself is the isolation, and Dask retries a call whose worker died."""
    return not multiprocessing.current_process().daemon


def close_workers() -> None:
    """Stop the workers (end of a run); the next run starts fresh ones."""
    while _workers:
        _workers.popitem()[1].close()
