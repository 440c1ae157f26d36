"""Threads per call x calls in flight = cores, with explicit settings winning."""

import pytest

from talktracks.batch.layout import call_layout
from talktracks.config import Settings
from talktracks.orchestration import call_runner


@pytest.mark.parametrize(
    ("calls", "threads", "cores", "device", "expected"),
    [
        (0, 0, 2, "cpu", (2, 1)),  # automatic: one single-thread call per core
        (0, 0, 32, "cpu", (8, 4)),  # at most 8 calls; the rest of the cores as threads
        (0, 2, 8, "cpu", (4, 2)),  # threads given: calls take the rest
        (3, 0, 12, "cpu", (3, 4)),  # calls given: threads take the rest
        (5, 3, 4, "cpu", (5, 3)),  # both given: as given, even if oversubscribed
        (0, 0, 1, "cpu", (1, 1)),
        (0, 0, 16, "cuda", (2, 8)),
    ],
)
def test_call_layout(calls, threads, cores, device, expected):
    layout = call_layout(calls, threads, cores=cores, device=device)
    assert (layout.calls_in_flight, layout.threads_per_call) == expected


def test_runner_choice_follows_settings():
    from prefect.task_runners import ThreadPoolTaskRunner
    from prefect_dask import DaskTaskRunner

    runner, per_call = call_runner(
        Settings(calls_in_flight=3, whisper_cpu_threads=1, whisper_device="cpu")
    )
    assert isinstance(runner, ThreadPoolTaskRunner) and runner._max_workers == 3
    assert (per_call.calls_in_flight, per_call.whisper_cpu_threads) == (3, 1)
    runner, per_call = call_runner(Settings(dask_address="tcp://10.0.0.5:8786"))
    assert isinstance(runner, DaskTaskRunner) and runner.address == "tcp://10.0.0.5:8786"
    # On a cluster each Dask worker process runs one call with one model replica.
    assert (per_call.calls_in_flight, per_call.whisper_cpu_threads) == (1, 1)
    runner, per_call = call_runner(
        Settings(task_runner="dask", calls_in_flight=2, whisper_device="cpu")
    )
    assert isinstance(runner, DaskTaskRunner)
    assert runner.cluster_kwargs["n_workers"] == 2 and per_call.calls_in_flight == 1
