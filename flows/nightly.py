"""Nightly flow: discover -> transcribe and store each new or changed call -> tag -> deals ->
analysis -> coaching flags -> run summary.

This file only orchestrates (order, retries, what runs per call, what Prefect is told). Every
step is a plain function in `talktracks` that tests call directly. Run it with
`talktracks nightly` or serve it on a schedule with `talktracks schedule`.

What Prefect shows (docs/operations.md):
- one task run per call, named `transcribe-<call_id>`, Failed when that recording failed;
- log lines through the run logger at INFO (call id, status, duration, reason);
- a Markdown artifact `nightly-run-summary` on every run;
- the flow run ends Failed when any call or step failed this run (the summary is its data), so
  Prefect automations and `talktracks nightly`'s exit code 1 both see it.
"""

from __future__ import annotations

import time

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run
from prefect.states import Failed, State

from talktracks.batch import (
    CallJob,
    CallOutcome,
    RunSummary,
    as_store_write_error,
    dry_run_summary,
    finish_run,
    is_transient,
    plan_batch,
    record_failure,
    register_pending,
    start_run,
)
from talktracks.batch.attempts import settle_interrupted
from talktracks.batch.lease import holding
from talktracks.batch.progress import report
from talktracks.batch.runs import fail_run, free_reserve, reserve_space
from talktracks.batch.work import transcribe_and_store_call
from talktracks.batch.worker import close_workers
from talktracks.behaviours import calls_needing_tags, load_current_model, tag_calls
from talktracks.config import Settings, get_settings
from talktracks.errors import StoreWriteError
from talktracks.orchestration import run_per_call
from talktracks.store import shared_store

SUMMARY_ARTIFACT_KEY = "nightly-run-summary"


def _retry_transient(task, task_run, state) -> bool:  # noqa: ANN001 - Prefect's hook signature
    exc = state.result(raise_on_failure=False)
    # A recording's own failure comes back as a Failed state carrying its outcome: not retried.
    return isinstance(exc, BaseException) and is_transient(exc)


@task(
    name="transcribe-and-store",
    task_run_name="transcribe-{job.call_id}",
    retries=2,
    retry_delay_seconds=[2, 10],
    retry_condition_fn=_retry_transient,
    cache_policy=NO_CACHE,
)
def transcribe_and_store(job: CallJob, settings: Settings, run_id: int) -> CallOutcome | State:
    started = time.perf_counter()
    outcome = transcribe_and_store_call(job, settings, run_id=run_id)
    seconds = time.perf_counter() - started
    logger = get_run_logger()
    if outcome.status == "failed":
        logger.error("call %s: failed in %.1f s: %s", job.call_id, seconds, outcome.error)
        # The failure is already recorded on the call; Failed makes it red in Prefect too.
        return Failed(message=f"{job.call_id}: {outcome.error}", data=outcome)
    logger.info(
        "call %s: %s in %.1f s (%.1f s of audio, %d utterances, %d tags; %s)",
        job.call_id,
        outcome.status,
        seconds,
        outcome.audio_seconds,
        outcome.utterances,
        outcome.tags,
        job.reason,
    )
    return outcome


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
def import_deals_task(settings: Settings) -> str:
    from talktracks.ingest.deals import import_deals

    assert settings.deals_csv is not None
    return str(import_deals(shared_store(settings.database_url), settings.deals_csv))


@task(name="refresh-analysis", cache_policy=NO_CACHE)
def refresh_analysis_task(settings: Settings) -> str:
    from talktracks.analysis import refresh_analysis

    out = settings.analysis_dir_for(settings.database_url)
    return str(refresh_analysis(shared_store(settings.database_url), out))


@task(name="coaching-flags", cache_policy=NO_CACHE)
def coaching_flags_task(settings: Settings) -> str:
    from talktracks.coaching import compute_flags

    return str(compute_flags(shared_store(settings.database_url), settings))


def _transcribe_all(
    store, jobs: list[CallJob], settings: Settings, run_id: int, lease
) -> list[CallOutcome]:  # noqa: ANN001
    outcomes: list[CallOutcome] = []
    # Calls run in parallel on threads, a local Dask cluster or a remote one (settings).
    for job, state in run_per_call(transcribe_and_store, jobs, settings, run_id=run_id):
        lease.check()
        result = state.result(raise_on_failure=False) if state is not None else None
        if isinstance(result, CallOutcome):
            outcome = result  # done, no_speech, or a recording's failure already recorded
        elif isinstance(result, StoreWriteError):
            raise result  # the database takes no more writes: the run stops
        else:  # transient errors that outlived their retries: the call fails, the batch goes on
            why = state.message if state is not None else "its worker was lost"
            outcome = record_failure(store, job, f"failed after retries: {why}")
        outcomes.append(outcome)
        report("call", outcome)
    return outcomes


def _plan(store, settings: Settings, logger, *, dry_run: bool):  # noqa: ANN001, ANN202
    plan = plan_batch(
        store,
        settings.recordings_dir,
        settings.manifest_path,
        max_attempts=settings.max_attempts,
        dry_run=dry_run,
        drop_warn_share=settings.manifest_drop_warn_share,
    )
    logger.info(
        "%s: %d recordings, %d to process, %d stored, %d out of attempts",
        settings.recordings_dir,
        plan.discovered,
        len(plan.jobs),
        len(plan.skipped),
        len(plan.left_failed),
    )
    for warning in plan.warnings:
        logger.warning(warning)
    return plan


@flow(name="talktracks-nightly", log_prints=False, validate_parameters=False)
def nightly(
    settings: Settings | None = None,
    recordings: str | None = None,
    manifest: str | None = None,
    deals: str | None = None,
    dry_run: bool = False,
) -> RunSummary | State:
    """The deployment exposes only `recordings`, `manifest`, `deals` and `dry_run` (operator
    choices); `settings` is how `talktracks nightly` passes its --db and the rest."""
    logger = get_run_logger()
    settings = (settings or get_settings()).for_run(recordings, manifest, deals)
    store = shared_store(settings.database_url)
    if dry_run:
        summary = dry_run_summary(store, _plan(store, settings, logger, dry_run=True))
        create_markdown_artifact(summary.markdown(), key=SUMMARY_ARTIFACT_KEY)
        return summary

    # One nightly per store; the lease is taken before anything is written.
    with holding(store, "nightly", settings.lease_ttl_s) as lease:
        settle_interrupted(store)  # calls a killed process was on
        run_id = start_run(store, "nightly", flow_run_id=str(flow_run.get_id() or ""))
        lease.set_run(run_id)
        reserve = reserve_space(store)
        try:
            summary = _nightly_run(settings, store, run_id, lease, logger)
        except Exception as exc:
            stop = as_store_write_error(store, exc)
            if stop is None:
                raise
            # The database takes no more writes: stop here; stored calls stay as they were.
            summary = fail_run(store, run_id, str(stop), reserve)
        finally:
            free_reserve(reserve)
            close_workers()
    create_markdown_artifact(
        summary.markdown(), key=SUMMARY_ARTIFACT_KEY, description=summary.problem()
    )
    if summary.ok:
        logger.info("run %d completed: %d transcribed", summary.run_id, summary.processed)
        return summary
    # Failed, not a custom-named Completed: automations, the UI and `--state Failed` filters
    # key on the state type. Flow retries stay off, so Prefect never re-runs the whole batch;
    # failed calls are retried by the next night's plan (attempt limit).
    logger.error("run %d: %s", summary.run_id, summary.problem())
    return Failed(message=summary.problem(), data=summary)


def _nightly_run(settings: Settings, store, run_id: int, lease, logger) -> RunSummary:  # noqa: ANN001
    plan = _plan(store, settings, logger, dry_run=False)
    register_pending(store, plan.jobs, run_id=run_id)
    report("planned", plan)
    outcomes = _transcribe_all(store, plan.jobs, settings, run_id, lease)

    tags = sum(o.tags for o in outcomes)
    steps = [("tagging", tag_untagged_calls)]
    if settings.deals_csv is not None:
        steps.append(("deals", import_deals_task))
    steps += [("analysis", refresh_analysis_task), ("flags", coaching_flags_task)]
    # Transcripts are already stored; a later step failing is reported, not allowed to undo them.
    extra: dict[str, str] = {}
    failed_steps: dict[str, str] = {}
    for name, step in steps:
        state = step(settings, return_state=True)
        if state.is_completed():
            extra[name] = state.result()
            logger.info("%s: %s", name, extra[name])
        else:
            failed_steps[name] = extra[name] = f"FAILED: {state.message}"
            logger.error("%s: %s", name, extra[name])
    extra["tagging"] = f"{tags} tags on new calls; catch-up: {extra['tagging']}"
    return finish_run(store, run_id, plan, outcomes, extra=extra, failed_steps=failed_steps)
