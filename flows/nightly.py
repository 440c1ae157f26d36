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
    as_store_write_error,
    finish_run,
    is_transient,
    plan_batch,
    process_call,
    record_failure,
    register_pending,
    start_run,
)
from talktracks.batch.attempts import settle_interrupted
from talktracks.batch.lease import holding
from talktracks.batch.progress import report
from talktracks.batch.runs import fail_run, free_reserve, reserve_space
from talktracks.batch.worker import close_workers, shared_worker
from talktracks.behaviours import calls_needing_tags, load_current_model, session_tagger, tag_calls
from talktracks.config import Settings, get_settings
from talktracks.errors import StoreWriteError
from talktracks.speech import load_model
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
def transcribe_and_store(job: CallJob, settings: Settings, run_id: int) -> CallOutcome:
    if settings.transcribe_in_child:
        model = shared_worker(settings)  # a recording that kills its process kills only this
    else:
        model = load_model(
            settings.whisper_model,
            settings.whisper_device,
            settings.whisper_compute_type,
            settings.whisper_cpu_threads,
        )
    tagger = session_tagger(load_current_model(settings.models_dir))
    store = shared_store(settings.database_url)
    return process_call(store, job, model, settings, tagger, run_id=run_id)


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
    # One nightly per store; the lease is taken before anything is written.
    with holding(store, "nightly", settings.lease_ttl_s) as lease:
        settle_interrupted(store)  # calls a killed process was on
        run_id = start_run(store, "nightly", flow_run_id=str(flow_run.get_id() or ""))
        lease.set_run(run_id)
        reserve = reserve_space(store)
        try:
            return _nightly_run(settings, store, run_id, lease)
        except Exception as exc:
            stop = as_store_write_error(store, exc)
            if stop is None:
                raise
            # The database takes no more writes: stop here; stored calls stay as they were.
            return fail_run(store, run_id, str(stop), reserve)
        finally:
            free_reserve(reserve)
            close_workers()


def _nightly_run(settings: Settings, store, run_id: int, lease) -> RunSummary:  # noqa: ANN001
    plan = plan_batch(
        store,
        settings.recordings_dir,
        settings.manifest_path,
        max_attempts=settings.max_attempts,
        drop_warn_share=settings.manifest_drop_warn_share,
    )
    register_pending(store, plan.jobs, run_id=run_id)
    report("planned", plan)

    outcomes: list[CallOutcome] = []
    for job in plan.jobs:
        lease.check()
        state = transcribe_and_store(job, settings, run_id, return_state=True)
        if state.is_completed():
            outcome = state.result()
        else:
            error = state.result(raise_on_failure=False)
            if isinstance(error, StoreWriteError):
                raise error
            # Transient errors that outlived their retries: the call fails, the batch goes on.
            outcome = record_failure(store, job, f"failed after retries: {state.message}")
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
