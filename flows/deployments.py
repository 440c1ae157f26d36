"""Deployments: the nightly flow on a cron schedule (default 02:00 local time).

`talktracks schedule` serves it from this process (a long-running worker-less runner). Under a
Prefect server, point PREFECT_API_URL at it first; the deployment then shows in its UI and runs
there on schedule (README: "Scheduling").
"""

from __future__ import annotations

from prefect import serve
from prefect.deployments.runner import RunnerDeployment
from prefect.schedules import Cron

from talktracks.orchestration import load_flow_module

DEPLOYMENT_NAME = "nightly"


def local_timezone() -> str:
    try:
        from tzlocal import get_localzone_name

        return get_localzone_name() or "UTC"
    except Exception:  # noqa: BLE001 - an odd host zone setup must not stop scheduling
        return "UTC"


def nightly_deployment(cron: str = "0 2 * * *", timezone: str | None = None) -> RunnerDeployment:
    nightly = load_flow_module("nightly").nightly
    return nightly.to_deployment(
        name=DEPLOYMENT_NAME,
        schedules=[Cron(cron, timezone=timezone or local_timezone())],
        description="Transcribe, tag and analyse the day's call recordings.",
        tags=["talktracks"],
        enforce_parameter_schema=False,
    )


def serve_nightly(cron: str = "0 2 * * *", timezone: str | None = None) -> None:
    serve(nightly_deployment(cron, timezone))


if __name__ == "__main__":
    serve_nightly()
