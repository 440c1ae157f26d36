"""Deployments: the nightly flow on a cron schedule (default 02:00 local time).

`talktracks schedule` serves it from this process (a long-running worker-less runner). Under a
Prefect server, point PREFECT_API_URL at it first; the deployment then shows in its UI and runs
there on schedule (README: "Scheduling", docs/operations.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import serve
from prefect.deployments.runner import RunnerDeployment
from prefect.schedules import Cron

from talktracks.orchestration import load_flow_module

DEPLOYMENT_NAME = "nightly"
# What an operator may set for a run in the UI. Everything else (database, models, Whisper
# options) comes from settings on the machine that runs the flow, never from a form.
OPERATOR_PARAMETERS = ("recordings", "manifest", "deals", "dry_run")


def local_timezone() -> str:
    try:
        from tzlocal import get_localzone_name

        return get_localzone_name() or "UTC"
    except Exception:  # noqa: BLE001 - an odd host zone setup must not stop scheduling
        return "UTC"


def run_parameters(
    recordings: Path | None = None,
    manifest: Path | None = None,
    deals: Path | None = None,
    dry_run: bool = False,
) -> dict[str, Any]:
    """Default parameters of scheduled runs: absolute paths, since the runs start elsewhere."""
    params: dict[str, Any] = {
        name: str(Path(value).resolve())
        for name, value in (("recordings", recordings), ("manifest", manifest), ("deals", deals))
        if value is not None
    }
    if dry_run:
        params["dry_run"] = True
    return params


def nightly_deployment(
    cron: str = "0 2 * * *",
    timezone: str | None = None,
    parameters: dict[str, Any] | None = None,
) -> RunnerDeployment:
    nightly = load_flow_module("nightly").nightly
    deployment = nightly.to_deployment(
        name=DEPLOYMENT_NAME,
        schedules=[Cron(cron, timezone=timezone or local_timezone())],
        parameters=parameters or {},
        description="Transcribe, tag and analyse the day's call recordings.",
        tags=["talktracks"],
        enforce_parameter_schema=False,
    )
    # The flow also takes `settings` (how `talktracks nightly` passes --db in-process); left in
    # the schema it would show the whole Settings object as editable JSON in a custom run.
    schema = deployment._parameter_openapi_schema
    for name in list(schema.properties):
        if name not in OPERATOR_PARAMETERS:
            del schema.properties[name]
    schema.required = [n for n in schema.required or [] if n in OPERATOR_PARAMETERS]
    schema.definitions = {}
    return deployment


def serve_nightly(
    cron: str = "0 2 * * *",
    timezone: str | None = None,
    parameters: dict[str, Any] | None = None,
) -> None:
    serve(nightly_deployment(cron, timezone, parameters))


if __name__ == "__main__":
    serve_nightly()
