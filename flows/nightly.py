"""Nightly flow: discover -> transcribe and store each new or changed call -> tag -> deals ->
analysis -> coaching flags -> run summary.

This file only orchestrates (order, retries, what runs per call). Every step is a plain function
in `talktracks` that tests call directly. Run it with `talktracks nightly` or serve it on a
schedule with `talktracks schedule`.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from talktracks.batch import (
    CallJob,
    CallOutcome,
    RunSummary,
    finish_run,
    is_transient,
    plan_batch,
    record_failure,
    register_pending,
    start_run,
)
from talktracks.batch.progress import report
from talktracks.batch.work import transcribe_and_store_call
from talktracks.behaviours import calls_needing_tags, load_current_model, tag_calls
from talktracks.config import Settings, get_settings
from talktracks.orchestration import run_per_call
from talktracks.store import shared_store


def _retry_transient(task, task_run, state) -> bool:  # noqa: ANN001 - Prefect's hook signature
    try:
        state.result()
    except Exception as exc:  # noqa: BLE001 - we only classify it
        return is_transient(exc)
    return False


@task(
    name="transcribe-and-store",
    retries=2,
    retry_delay_seconds=[2, 10],
    retry_condition_fn=_retry_transient,
    cache_policy=NO_CACHE,
)
def transcribe_and_store(job: CallJob, settings: Settings) -> CallOutcome:
    return transcribe_and_store_call(job, settings)


@task(
    name="tag-untagged-calls",
    retries=2,
    retry_delay_seconds=[2, 10],
    retry_condition_fn=_retry_transient,
    cache_policy=NO_CACHE,
)
def tag_untagged_calls(settings: Settings) -> str:
    """Calls stored without the current model's tags: imported before a promotion, or tagged
    by an older model. New recordings were tagged in their own transaction already."""
    store = shared_store(settings.database_url)
    model = load_current_model(settings.models_dir)
    return str(tag_calls(store, calls_needing_tags(store, model.version), model=model))


@task(name="import-deals", cache_policy=NO_CACHE)
def import_deals_task(settings: Settings, path: Path) -> str:
    from talktracks.ingest.deals import import_deals

    return str(import_deals(shared_store(settings.database_url), path))


@task(name="refresh-analysis", cache_policy=NO_CACHE)
def refresh_analysis_task(settings: Settings) -> str:
    from talktracks.analysis import refresh_analysis

    return str(
        refresh_analysis(shared_store(settings.database_url), settings.data_dir / "analysis")
    )


@task(name="coaching-flags", cache_policy=NO_CACHE)
def coaching_flags_task(settings: Settings) -> str:
    from talktracks.coaching import compute_flags

    return str(compute_flags(shared_store(settings.database_url), settings))


@flow(name="talktracks-nightly", log_prints=False, validate_parameters=False)
def nightly(settings: Settings | None = None) -> RunSummary:
    settings = settings or get_settings()
    store = shared_store(settings.database_url)
    run_id = start_run(store, "nightly", flow_run_id=str(flow_run.get_id() or ""))
    plan = plan_batch(
        store, settings.recordings_dir, settings.manifest_path, max_attempts=settings.max_attempts
    )
    register_pending(store, plan.jobs)
    report("planned", plan)

    outcomes: list[CallOutcome] = []
    # Calls run in parallel on threads, a local Dask cluster or a remote one (settings).
    for job, state in run_per_call(transcribe_and_store, plan.jobs, settings):
        if state is not None and state.is_completed():
            outcome = state.result()
        else:  # transient errors that outlived their retries: the call fails, the batch goes on
            why = state.message if state is not None else "its worker was lost"
            outcome = record_failure(store, job, f"failed after retries: {why}")
        outcomes.append(outcome)
        report("call", outcome)

    tags = sum(o.tags for o in outcomes)
    steps = [("tagging", tag_untagged_calls, (settings,))]
    if settings.deals_csv is not None:
        steps.append(("deals", import_deals_task, (settings, settings.deals_csv)))
    steps += [
        ("analysis", refresh_analysis_task, (settings,)),
        ("flags", coaching_flags_task, (settings,)),
    ]
    # Transcripts are already stored; a later step failing is reported, not allowed to undo them.
    extra: dict[str, str] = {}
    for name, step, args in steps:
        state = step(*args, return_state=True)
        extra[name] = state.result() if state.is_completed() else f"FAILED: {state.message}"
    extra["tagging"] = f"{tags} tags on new calls; catch-up: {extra['tagging']}"
    return finish_run(store, run_id, plan, outcomes, extra=extra)
