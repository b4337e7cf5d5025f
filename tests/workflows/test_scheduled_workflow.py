"""The scheduled workflow: daily verify against production and DR, a monthly DR drill and game day, results kept."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tools.engine.workspace import stack_names

WORKFLOW = Path(__file__).resolve().parents[2] / ".github" / "workflows" / "scheduled.yml"


@pytest.fixture(scope="module")
def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def triggers(workflow: dict) -> dict:
    return workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as True


def run_lines(job: dict) -> str:
    return "\n".join(step.get("run", "") for step in job["steps"])


def test_verify_runs_daily_and_the_drill_and_the_game_day_monthly(workflow):
    crons = [entry["cron"] for entry in triggers(workflow)["schedule"]]
    daily, monthly = crons
    assert daily.split()[2:] == ["*", "*", "*"]
    assert monthly.split()[2:] == ["1", "*", "*"]
    assert daily in workflow["jobs"]["verify"]["if"] and monthly in workflow["jobs"]["drill"]["if"]
    assert monthly in workflow["jobs"]["gameday-plan"]["if"] and workflow["jobs"]["gameday"]["needs"] == "gameday-plan"


def test_verify_covers_every_production_and_dr_stack(workflow):
    wanted = {s for s in stack_names() if s.endswith(("-production", "-dr"))} | {"global"}
    assert set(workflow["jobs"]["verify"]["strategy"]["matrix"]["stack"]) == wanted
    assert 'python -m tools verify "${{ matrix.stack }}"' in run_lines(workflow["jobs"]["verify"])


def test_the_drill_runs_the_dr_command(workflow):
    assert "python -m dr drill" in run_lines(workflow["jobs"]["drill"])


@pytest.mark.parametrize("job", ["verify", "drill", "gameday-plan", "gameday"])
def test_results_are_kept_as_artifacts_even_when_checks_fail(workflow, job):
    upload = next(s for s in workflow["jobs"][job]["steps"] if s.get("uses", "").startswith("actions/upload-artifact"))
    assert upload["if"] == "always()" and upload["with"]["path"] == "results/"
    assert "set -o pipefail" in run_lines(workflow["jobs"][job])  # tee must not hide a failing check


def test_the_drill_needs_no_cloud_credentials_and_keeps_its_report(workflow):
    job = workflow["jobs"]["drill"]
    assert not [s for s in job["steps"] if "credentials" in s.get("uses", "") or s.get("uses", "").startswith("google-github-actions/auth")]
    assert "--json results/" in run_lines(job) and "--plot results/" in run_lines(job)


def test_verify_signs_in_with_the_read_only_identities(workflow):
    steps = workflow["jobs"]["verify"]["steps"]
    aws = next(s for s in steps if s.get("uses", "").startswith("aws-actions/configure-aws-credentials"))
    gcp = next(s for s in steps if s.get("uses", "").startswith("google-github-actions/auth"))
    assert "PREVIEW" in aws["with"]["role-to-assume"] and "PREVIEW" in gcp["with"]["service_account"]
    assert "PULUMI_CONFIG_PASSPHRASE" not in workflow["jobs"]["verify"].get("env", {})


def test_the_monthly_game_day_is_a_dry_run_on_dr_unless_the_repository_enables_it(workflow):
    plan, real = workflow["jobs"]["gameday-plan"], workflow["jobs"]["gameday"]
    assert "python -m dr gameday aws-outage --dry-run --report results/" in run_lines(plan) and "--execute" not in run_lines(plan)
    assert real["if"] == "vars.GAMEDAY_EXECUTE == 'true'"
    assert "python -m dr gameday aws-outage --execute --report results/" in run_lines(real) and "--plot results/" in run_lines(real)
    # DR is what the game day breaks: never production, which would also need --allow-production
    assert "--allow-production" not in run_lines(real) and "--aws-stack" not in run_lines(real)


def aws_role(job: dict) -> str:
    return next(s for s in job["steps"] if s.get("uses", "").startswith("aws-actions/configure-aws-credentials"))["with"]["role-to-assume"]


def test_the_real_game_day_waits_for_a_reviewer_and_the_plan_only_reads(workflow):
    plan, real = workflow["jobs"]["gameday-plan"], workflow["jobs"]["gameday"]
    assert real["environment"] == "production" and "environment" not in plan
    assert "PREVIEW" in aws_role(plan) and "DEPLOY" in aws_role(real)
    assert real["timeout-minutes"] <= 60
