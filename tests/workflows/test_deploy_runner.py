"""Where pulumi-stack.yml runs a stack, and how a stack's first deploy gets its in-VPC runner: the workflow's own
scripts run under bash against a fake `pulumi`, with the stack's real offline preview."""

from __future__ import annotations

import os
import re
import stat
import subprocess
from pathlib import Path

import pytest
import yaml

from tools.engine.engine import deployed_urn

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "pulumi-stack.yml"
RUN_ID, ATTEMPT = "4242", "2"


def jobs() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())["jobs"]


def step(job: str, predicate) -> dict:
    return next(s for s in jobs()[job]["steps"] if predicate(s))


def render(script: str, values: dict) -> str:
    """The script as the runner sees it: each `${{ name }}` replaced; an expression this test does not know fails it."""

    def value(match: re.Match) -> str:
        name = match[1].strip()
        if name not in values:
            raise AssertionError(f"the script uses ${{{{ {name} }}}}, which this test does not set")
        return values[name]

    return re.sub(r"\$\{\{(.*?)\}\}", value, script)


def run_script(script: str, tmp_path: Path, pulumi: str, env: dict) -> tuple[dict, str]:
    """Runs the script with `pulumi` on PATH doing `pulumi`'s bash body; returns GITHUB_OUTPUT's values and the calls."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    fake = bin_dir / "pulumi"
    fake.write_text(f'#!/bin/bash\necho "$*" >> "{tmp_path}/calls"\n{pulumi}\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    output = tmp_path / "output"
    output.write_text("")
    done = subprocess.run(
        ["bash", "-e", "-c", script],
        cwd=ROOT,
        env={**os.environ, **env, "PATH": f"{bin_dir}:{os.environ['PATH']}", "GITHUB_OUTPUT": str(output)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    values = dict(line.split("=", 1) for line in output.read_text().splitlines() if "=" in line)
    calls = (tmp_path / "calls").read_text() if (tmp_path / "calls").exists() else ""
    return values, calls


def where(tmp_path, stack: str, command: str, runner: str, label: str | None) -> dict:
    script = render(
        step("place", lambda s: s.get("id") == "where")["run"],
        {"inputs.stack": stack, "inputs.command": command, "github.run_id": RUN_ID, "github.run_attempt": ATTEMPT},
    )
    answer = f'[[ "$*" == "stack output deployRunnerLabel"* ]] && echo "{label}" && exit 0; exit 1' if label else "exit 255"
    values, _ = run_script(script, tmp_path, answer, {"RUNNER": runner})
    return values


def test_an_aws_stack_deploys_on_the_runner_its_stack_created(tmp_path, shipped):
    label = shipped("aws-dr").outputs["deployRunnerLabel"]
    assert where(tmp_path, "aws-dr", "up", "codebuild", label) == {"runner": f"{label}-{RUN_ID}-{ATTEMPT}", "first": "false"}


def test_an_aws_stack_without_its_runner_yet_deploys_from_outside_first(tmp_path):
    assert where(tmp_path, "aws-dr", "up", "codebuild", None) == {"runner": "ubuntu-latest", "first": "true"}


@pytest.mark.parametrize("stack,command", [("aws-dr", "preview"), ("gcp-dr", "up"), ("global", "up")])
def test_previews_gcp_and_global_stay_on_hosted_runners(tmp_path, stack, command):
    assert where(tmp_path, stack, command, "codebuild", "codebuild-x") == {"runner": "ubuntu-latest", "first": "false"}


def test_a_runner_label_of_your_own_is_used_as_given(tmp_path):
    assert where(tmp_path, "aws-production", "up", "self-hosted-vpc", None) == {"runner": "self-hosted-vpc", "first": "false"}


def test_without_a_runner_setting_aws_stacks_run_on_hosted_runners(tmp_path):
    assert where(tmp_path, "aws-production", "up", "", None) == {"runner": "ubuntu-latest", "first": "false"}


def test_the_runner_setting_is_an_input_or_a_repository_variable():
    assert jobs()["place"]["env"]["RUNNER"] == "${{ inputs.runner || vars.AWS_DEPLOY_RUNNER }}"
    assert yaml.safe_load(WORKFLOW.read_text())[True]["workflow_call"]["inputs"]["runner"]["default"] == ""


def test_a_first_deploy_from_outside_leaves_out_exactly_what_the_cluster_api_holds(tmp_path, shipped):
    result = shipped("aws-dr")
    script = render(step("outside", lambda s: "--exclude-dependents" in s.get("run", ""))["run"], {"inputs.stack": "aws-dr"})
    _, calls = run_script(script, tmp_path, "exit 0", {})
    [provider] = result.of_type("pulumi:providers:kubernetes")
    assert calls.split() == [
        "up",
        "--stack",
        "aws-dr",
        "--policy-pack",
        "policies",
        "--yes",
        "--exclude-dependents",
        "--exclude",
        deployed_urn(provider.urn),
    ]


def _dependents(result, root: str) -> set[str]:
    """What `--exclude-dependents` leaves out with `root`: resources that depend on it, or use it as provider, transitively."""
    found, grew = {root}, True
    while grew:
        grew = False
        for r in result.resources:
            uses = set(r.dependencies) | {u for urns in r.property_dependencies.values() for u in urns}
            if r.provider:
                uses.add(r.provider)  # "<provider URN>::<provider id>"
            if r.urn not in found and any(u in found or any(u.startswith(f + "::") for f in found) for u in uses):
                found.add(r.urn)
                grew = True
    return found


def test_the_runner_is_created_by_the_first_deploy_and_every_kubernetes_object_waits(shipped):
    result = shipped("aws-dr")
    [provider] = result.of_type("pulumi:providers:kubernetes")
    left_out = _dependents(result, provider.urn)
    kubernetes = [r.urn for r in result.resources if r.type.startswith("kubernetes:")]
    runner = [r for r in result.resources if r.parent.endswith("::crm-dr-runner") or "-api-client-" in r.name]
    assert kubernetes and set(kubernetes) <= left_out
    assert runner and not [r.name for r in runner if r.urn in left_out]


def test_the_deploy_runs_where_the_first_deploy_left_its_runner_else_where_placed():
    run = jobs()["run"]
    assert run["runs-on"] == "${{ needs.outside.outputs.runner || needs.place.outputs.runner }}"
    assert run["needs"] == ["place", "outside"] and "!failure()" in run["if"]
    assert jobs()["outside"]["if"] == "needs.place.outputs.first == 'true'"


def test_every_up_asks_sns_again_for_the_webhooks_that_can_answer_now():
    steps = jobs()["run"]["steps"]
    up = next(i for i, s in enumerate(steps) if "pulumi up" in s.get("run", ""))
    confirm = next(i for i, s in enumerate(steps) if "tools webhooks" in s.get("run", ""))
    assert up < confirm and steps[confirm]["if"] == "inputs.command == 'up'"
    credentials = next(s for s in steps if s.get("uses", "").startswith("aws-actions/configure-aws-credentials"))
    assert "inputs.stack == 'global'" in credentials["if"]  # the global stack's run confirms aws-dr's webhooks


def test_one_stack_can_be_deployed_on_demand_where_pulumi_stack_places_it():
    from tools.engine.workspace import stack_names

    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "infrastructure.yml").read_text())
    dispatch = workflow[True]["workflow_dispatch"]["inputs"]
    assert set(dispatch["stack"]["options"]) == set(stack_names()) - {"bootstrap"}
    job = workflow["jobs"]["deploy-one"]
    assert job["uses"] == "./.github/workflows/pulumi-stack.yml" and job["with"]["command"] == "up"
    assert job["with"]["runner"] == "${{ inputs.runner }}" and job["if"] == "github.event_name == 'workflow_dispatch'"
    pushed = {j["with"]["environment"] for j in workflow["jobs"].values() if j.get("with", {}).get("command") == "up" and j is not job}
    assert pushed == {"production", "non-production"} and all(env in job["with"]["environment"] for env in pushed)
