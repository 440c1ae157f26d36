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


def test_deployment_exposes_only_operator_parameters(prefect_api, tmp_path):
    """A custom run in the UI offers the recordings folder, manifest, deals file and dry-run
    switch, never the Settings object; `talktracks schedule` flags become their defaults."""
    from prefect.client.orchestration import get_client

    deployments = load_flow_module("deployments")
    params = deployments.run_parameters(
        recordings=tmp_path / "rec", deals=tmp_path / "deals.csv", dry_run=True
    )
    deployment = deployments.nightly_deployment("0 3 * * *", "UTC", params)
    deployment_id = deployment.apply()
    with get_client(sync_client=True) as client:
        stored = client.read_deployment(deployment_id)
    schema = stored.parameter_openapi_schema
    assert set(schema["properties"]) == {"recordings", "manifest", "deals", "dry_run"}
    assert "settings" not in str(schema) and not schema.get("required")
    assert stored.parameters == {
        "recordings": str((tmp_path / "rec").resolve()),
        "deals": str((tmp_path / "deals.csv").resolve()),
        "dry_run": True,
    }


def test_schedule_takes_the_same_run_flags_as_nightly():
    from talktracks.cli import build_parser

    sub = next(a for a in build_parser()._actions if a.dest == "command")
    flags = {
        name: {o for a in sub.choices[name]._actions for o in a.option_strings}
        for name in ("nightly", "schedule")
    }
    run_flags = {"--recordings", "--manifest", "--deals", "--dry-run", "--db"}
    assert run_flags <= flags["nightly"] and run_flags <= flags["schedule"]
