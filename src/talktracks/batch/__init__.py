"""The nightly batch as plain functions: plan what to process, process one call, record the run.

Prefect (flows/nightly.py) only sequences these; a test or a notebook can call them directly.
"""

from talktracks.batch.plan import BatchPlan, CallJob, plan_batch, register_pending
from talktracks.batch.process import (
    CallOutcome,
    as_store_write_error,
    is_transient,
    process_call,
    record_failure,
)
from talktracks.batch.runs import RunSummary, dry_run_summary, finish_run, start_run

__all__ = [
    "BatchPlan",
    "CallJob",
    "CallOutcome",
    "RunSummary",
    "dry_run_summary",
    "as_store_write_error",
    "finish_run",
    "is_transient",
    "plan_batch",
    "process_call",
    "record_failure",
    "register_pending",
    "start_run",
]
