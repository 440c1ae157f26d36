"""The nightly deployment: registered with a Prefect API with its cron schedule and zone."""

from __future__ import annotations

from talktracks.orchestration import FLOWS_DIR, load_flow_module


def test_nightly_deployment_registers_with_cron_schedule(prefect_api):
    from prefect.client.orchestration import get_client

    deployments = load_flow_module("deployments")
    deployment = deployments.nightly_deployment("0 2 * * *", "Europe/Berlin")
    deployment_id = deployment.apply()
    with get_client(sync_client=True) as client:
        stored = client.read_deployment(deployment_id)
    assert stored.name == "nightly"
    assert stored.entrypoint.endswith("nightly.py:nightly")
    (schedule,) = stored.schedules
    assert schedule.schedule.cron == "0 2 * * *"
    assert schedule.schedule.timezone == "Europe/Berlin"
    assert (FLOWS_DIR / "nightly.py").is_file()


def test_default_timezone_is_the_local_zone():
    deployments = load_flow_module("deployments")
    deployment = deployments.nightly_deployment()
    assert deployment.schedules[0].schedule.timezone == deployments.local_timezone()
