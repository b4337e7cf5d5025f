"""The workflow deploys in the order the stacks read each other's outputs, and `first-deploy` prints that sequence."""

from __future__ import annotations

import json

import yaml

from stacks.config import load, read_stack_file
from tools.cli import main
from tools.reports import first_deploy
from tools.engine.workspace import deploy_order, stack_names


def references() -> dict[str, list[str]]:
    """What each workflow-deployed stack reads, bootstrap left out: a person deploys it before any job runs."""
    return {s: [r for r in load(s, read_stack_file(s)).references if r != "bootstrap"] for s in stack_names() if s != "bootstrap"}


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
