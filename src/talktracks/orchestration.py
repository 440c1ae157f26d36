"""Prefect set-up: offline, quiet, with its state under our data directory.

Must run before `prefect` is imported, because Prefect reads its settings at import time.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from talktracks.config import PROJECT_ROOT, Settings
from talktracks.errors import ConfigError

FLOWS_DIR = PROJECT_ROOT / "flows"

_PREFECT_DEFAULTS = {
    # No telemetry, no update checks: nightly runs happen on machines without internet.
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    # Ephemeral API server when no PREFECT_API_URL is configured; give it time on a busy box.
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    # Run logs reach the Prefect API (and UI) at INFO, Prefect's default level; only the
    # terminal copy is kept to warnings, so `talktracks nightly` prints its own progress.
    "PREFECT_LOGGING_LEVEL": "INFO",
    "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "WARNING",
    "PREFECT_UI_ENABLED": "false",
}


def configure_prefect(settings: Settings) -> None:
    """Set Prefect's environment defaults (explicit user settings win); create its home.

    Prefect does not create a missing home folder, and its temporary API server then fails
    to start over and over; so the folder is made here (also when --db points elsewhere and
    the data directory does not exist yet), or a one-line error says why it cannot be.
    """
    os.environ.setdefault("PREFECT_HOME", str((settings.data_dir / "prefect").resolve()))
    home = Path(os.environ["PREFECT_HOME"]).expanduser()
    try:
        home.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"cannot create Prefect's home folder {home}: {exc.strerror} "
            "(set TALKTRACKS_DATA_DIR or PREFECT_HOME to a writable folder)"
        ) from exc
    if not os.access(home, os.W_OK):
        raise ConfigError(f"Prefect's home folder {home} is not writable")
    for key, value in _PREFECT_DEFAULTS.items():
        os.environ.setdefault(key, value)


def ensure_prefect_api() -> None:
    """Reach the Prefect API now, starting the temporary local server when no PREFECT_API_URL
    is set, so that wait shows as its own phase instead of inside the first flow call."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        error = client.api_healthcheck()
    if error is not None:
        from prefect.settings import PREFECT_API_URL

        from talktracks.errors import ConfigError

        where = PREFECT_API_URL.value() or "the temporary local server"
        raise ConfigError(f"Prefect API at {where} unreachable: {type(error).__name__}: {error}")


def load_flow_module(name: str) -> ModuleType:
    """Import flows/<name>.py (flows/ is deployment code beside the package, not part of it)."""
    module_name = f"talktracks_flows.{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    path = Path(FLOWS_DIR / f"{name}.py")
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:  # pragma: no cover - a broken checkout
        raise ImportError(f"cannot load flow file {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    # Dask workers cannot import flows/ by this name: ship the module's tasks by value (what
    # they call in `talktracks` is still imported on the worker, where the project is installed).
    import cloudpickle

    cloudpickle.register_pickle_by_value(module)
    return module


def call_runner(settings: Settings) -> tuple[Any, Settings]:
    """The Prefect task runner the nightly run submits per-call work to, and the settings each
    call then runs with (threads per call and calls sharing one process filled in).

    - `dask_address` set: that Dask scheduler's workers, on any number of machines. Each call
      gets `whisper_cpu_threads` threads (default 1, for workers started one per core with
      `dask worker --nthreads 1`), and each worker process loads the model once.
    - `task_runner = "dask"`: a local Dask cluster, one single-thread worker process per call
      in flight.
    - otherwise threads in this process sharing one model with one replica per call in flight.
    """
    from talktracks.batch.layout import call_layout, machine_cores
    from talktracks.speech.model import resolve_device

    if settings.dask_address:
        from prefect_dask import DaskTaskRunner

        per_call = settings.model_copy(
            update={"whisper_cpu_threads": settings.whisper_cpu_threads or 1, "calls_in_flight": 1}
        )
        return DaskTaskRunner(address=settings.dask_address), per_call
    # Transcribing in this process (no worker children), a recording that kills the process
    # kills every call in flight and spends their attempts too: one call at a time there, so
    # a crash is always the crashing recording's.
    in_flight = settings.calls_in_flight or (0 if settings.transcribe_in_child else 1)
    layout = call_layout(
        in_flight,
        settings.whisper_cpu_threads,
        cores=machine_cores(),
        device=resolve_device(settings.whisper_device),
    )
    if settings.task_runner == "dask":
        from prefect_dask import DaskTaskRunner

        cluster = {
            "n_workers": layout.calls_in_flight,
            "threads_per_worker": 1,
            "processes": True,
            "dashboard_address": None,
        }
        per_call = settings.model_copy(
            update={"whisper_cpu_threads": layout.threads_per_call, "calls_in_flight": 1}
        )
        return DaskTaskRunner(cluster_kwargs=cluster), per_call
    from prefect.task_runners import ThreadPoolTaskRunner

    per_call = settings.model_copy(
        update={
            "whisper_cpu_threads": layout.threads_per_call,
            "calls_in_flight": layout.calls_in_flight,
        }
    )
    return ThreadPoolTaskRunner(max_workers=layout.calls_in_flight), per_call


def run_per_call(
    task: Any, jobs: Sequence[Any], settings: Settings, **params: Any
) -> Iterator[tuple[Any, Any]]:
    """Submit `task(job, settings, **params)` for every job to the runner `call_runner` picks;
    yield (job, final Prefect state) in job order, or (job, None) when the work was lost (a
    Dask worker died more often than the scheduler allows)."""
    runner, per_call = call_runner(settings)
    with runner:
        futures = [
            runner.submit(task, {"job": job, "settings": per_call, **params}) for job in jobs
        ]
        for job, future in zip(jobs, futures, strict=True):
            future.wait()
            state = future.state
            yield job, state if state.is_final() else None
