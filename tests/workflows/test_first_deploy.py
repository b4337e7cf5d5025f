"""The workflow deploys in the order the stacks read each other's outputs, and `first-deploy` prints that sequence."""

from __future__ import annotations

import json

import yaml

from stacks.config import load, read_stack_file
from tools.cli import main
from tools.engine.workspace import deploy_order, stack_names
from tools.reports import first_deploy


def config_of(stack: str):
    """The stack's config as `load` reads it from its file."""
    return load(stack, read_stack_file(stack))


def references() -> dict[str, list[str]]:
    """What each workflow-deployed stack reads, bootstrap left out: a person deploys it before any job runs."""
    return {s: [r for r in config_of(s).references if r != "bootstrap"] for s in stack_names() if s != "bootstrap"}


def test_the_workflow_deploys_every_stack_once_after_the_stacks_it_reads():
    refs = references()
    assert refs["gcp-dr"] == ["aws-dr"] and set(refs["global"]) == {"aws-dr", "gcp-dr"}
    assert first_deploy.out_of_order(first_deploy.workflow_jobs(), refs) == []


def test_a_workflow_that_starts_a_stack_before_one_it_reads_is_out_of_step(tmp_path):
    document = yaml.safe_load(first_deploy.WORKFLOW.read_text())
    document["jobs"]["up-gcp-dr"]["needs"] = "up-dev-staging"  # no longer after aws-dr
    broken = tmp_path / "infrastructure.yml"
    broken.write_text(yaml.safe_dump(document))
    assert first_deploy.out_of_order(first_deploy.workflow_jobs(broken), references()) == [
        "gcp-dr reads aws-dr's outputs but its job can start before aws-dr has finished"
    ]


def test_first_deploy_follows_bootstrap_then_the_workflow_in_deploy_order(capsys):
    assert main(["first-deploy", "--all", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    stacks = {s["stack"]: s for s in document["stacks"]}
    assert stacks["bootstrap"]["job"] is None and set(stacks) == set(stack_names())
    starts = sorted((s["first_pass"][0], s["stack"]) for s in document["stacks"] if s["job"])
    order = deploy_order(stack_names())
    for stack, upstream in references().items():
        for other in upstream:
            assert stacks[other]["first_pass"][1] <= stacks[stack]["first_pass"][0], (other, stack)
    assert [s for _, s in starts][-1] == order[-1] == "global"
    assert document["first_pass_minutes"] > document["bootstrap_minutes"] > 0
    assert document["second_pass_minutes"] > document["first_pass_minutes"]


def test_first_deploy_of_a_stack_says_where_to_push_its_image_and_what_a_person_does(capsys):
    assert main(["first-deploy", "aws-dr"]) == 0
    out = capsys.readouterr().out
    assert "comes up with its workload at 0 replicas; push crm-api:1.0.0 to ECR" in out
    assert "pulumi stack output -s aws-dr repositoryUrls" in out and 'docker push "$REPOSITORY:1.0.0"' in out
    assert "aws sesv2 put-account-details --production-access-enabled" in out
    assert "workflow job `up-aws-dr`" in out


def test_first_deploy_of_a_stack_lists_the_stacks_it_reads_first(capsys):
    assert main(["first-deploy", "gcp-dr", "--json"]) == 0
    stacks = [s["stack"] for s in json.loads(capsys.readouterr().out)["stacks"]]
    assert stacks.index("aws-dr") < stacks.index("gcp-dr")


def _configs() -> dict:
    return {s: config_of(s) for s in stack_names()}


def _without_first_phase(tmp_path):
    """pulumi-stack.yml as it would be if every `up` ran in one job: no first deploy from outside the VPC."""
    document = yaml.safe_load(first_deploy.STACK_WORKFLOW.read_text())
    first = first_deploy.stack_workflow().first
    assert first is not None, "the workflow has a job for a stack's first deploy"
    del document["jobs"][first]
    for job in document["jobs"].values():
        needs = job.get("needs")
        if isinstance(needs, list) and first in needs:
            job["needs"] = [n for n in needs if n != first]
        if "runs-on" in job:
            job["runs-on"] = str(job["runs-on"]).replace(f"needs.{first}.outputs.runner || ", "")
    path = tmp_path / "pulumi-stack.yml"
    path.write_text(yaml.safe_dump(document))
    return first_deploy.stack_workflow(path)


def test_the_per_stack_workflow_deploys_every_stack_the_way_its_config_asks():
    configs = _configs()
    assert any(first_deploy._has_runner(c) for c in configs.values()), "some shipped stack creates its runner"
    assert first_deploy.workflow_problems(configs) == []


def test_a_workflow_without_the_first_phase_disagrees_with_stacks_that_create_their_runner(tmp_path):
    broken = _without_first_phase(tmp_path)
    configs = _configs()
    problems = first_deploy.workflow_problems(configs, broken)
    assert problems and all("no job for its first deploy" in p for p in problems)
    assert len(first_deploy.stack_phases("aws-dr", configs["aws-dr"], broken)) == 1


def test_first_deploy_of_a_stack_with_a_runner_runs_the_workflows_two_phases(capsys):
    assert main(["first-deploy", "aws-dr", "--json"]) == 0
    stacks = {s["stack"]: s for s in json.loads(capsys.readouterr().out)["stacks"]}
    first, second = stacks["aws-dr"]["phases"]
    jobs = yaml.safe_load(first_deploy.STACK_WORKFLOW.read_text())["jobs"]
    # Each phase is one of the workflow's jobs, its command that job's `pulumi up` step for this stack.
    for phase in (first, second):
        runs = [str(s.get("run", "")).replace("${{ inputs.stack }}", "aws-dr") for s in jobs[phase["job"]]["steps"]]
        assert any(phase["command"] in run for run in runs)
    assert "outputs.first" in jobs[first["job"]]["if"] and "--exclude" in first["command"]
    assert f"needs.{first['job']}.outputs.runner" in jobs[second["job"]]["runs-on"]
    assert "--exclude" not in second["command"]


def test_first_deploy_of_a_stack_without_a_runner_runs_one_job():
    gcp = first_deploy.stack_phases("gcp-dr", config_of("gcp-dr"))
    assert [p.job for p in gcp] == [first_deploy.stack_workflow().main]


def test_first_deploy_has_a_person_complete_the_github_connection_after_bootstrap_before_the_aws_stacks(capsys):
    assert main(["first-deploy", "--all"]) == 0
    out = capsys.readouterr().out
    handshake = out.index("Update pending connection")
    assert out.index("bootstrap: a person") < handshake < out.index("aws-dr: workflow job")
    assert "githubConnectionStatus" in out[handshake:]
