"""CI's runner inside each AWS stack's VPC: the one place a job reaches the private EKS API from."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from components.aws.ci_runner import DeployRunnerArgs
from stacks.config import load, read_stack_file
from tools.engine import fakes

AWS_STACKS = ["aws-dev", "aws-staging", "aws-production", "aws-dr"]
WORKFLOWS = Path(__file__).resolve().parents[3] / ".github" / "workflows"


def runner_group(result):
    return next(g for g in result.of_type("aws:ec2/securityGroup:SecurityGroup") if g.name.endswith("-runner-sg"))


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_every_aws_stack_runs_its_deploys_from_a_runner_in_its_private_subnets(shipped, stack):
    result = shipped(stack, preview=False)
    project = result.one("aws:codebuild/project:Project")
    vpc = result.one("aws:ec2/vpc:Vpc")
    private = [s for s in result.of_type("aws:ec2/subnet:Subnet") if "-private-" in s.name]
    assert private and project["vpcConfig"]["vpcId"] == vpc.output("id")
    assert sorted(project["vpcConfig"]["subnets"]) == sorted(s.output("id") for s in private)
    assert project["vpcConfig"]["securityGroupIds"] == [runner_group(result).output("id")]


def test_the_cluster_api_admits_the_runner_and_kubernetes_objects_wait_for_it(shipped):
    result = shipped("aws-dr", preview=False)
    rule = result.one("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "crm-dr-eks-api-client-0")
    cluster = result.one("aws:eks/cluster:Cluster")
    assert rule["securityGroupId"] == cluster.output("vpcConfig")["clusterSecurityGroupId"]
    assert rule["referencedSecurityGroupId"] == runner_group(result).output("id")
    assert (rule["ipProtocol"], rule["fromPort"], rule["toPort"]) == ("tcp", 443, 443)
    assert rule.urn in result.one("pulumi:providers:kubernetes").dependencies


def test_the_runner_goes_out_on_443_only(shipped):
    result = shipped("aws-dev", preview=False)
    group = runner_group(result)
    egress = [
        r for r in result.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule") if r["securityGroupId"] == group.output("id")
    ]
    ingress = [
        r for r in result.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") if r["securityGroupId"] == group.output("id")
    ]
    assert [(r["ipProtocol"], r["fromPort"], r["toPort"]) for r in egress] == [("tcp", 443, 443)] and ingress == []


def test_builds_start_only_for_queued_jobs_of_the_deploying_workflow(shipped):
    webhook = shipped("aws-dr").one("aws:codebuild/webhook:Webhook")
    [group] = webhook["filterGroups"]
    filters = {f["type"]: f["pattern"] for f in group["filters"]}
    deploying = yaml.safe_load((WORKFLOWS / "infrastructure.yml").read_text())["name"]
    assert filters["EVENT"] == "WORKFLOW_JOB_QUEUED"
    assert filters["WORKFLOW_NAME"] == f"^{deploying}$"


def test_the_project_reaches_github_through_bootstrap_s_connection(shipped):
    aws, bootstrap = shipped("aws-dr", preview=False), shipped("bootstrap")
    project = aws.one("aws:codebuild/project:Project")
    connection = bootstrap.one("aws:codeconnections/connection:Connection")
    config = load("aws-dr", read_stack_file("aws-dr"))
    looked_up = fakes.invoke("aws:codestarconnections/getConnection:getConnection", {"name": connection["name"]})
    assert config.ci.github_connection == connection["name"] and connection["providerType"] == "GitHub"
    assert project["source"]["auth"] == {"type": "CODECONNECTIONS", "resource": looked_up["arn"]}
    repository = load("bootstrap", read_stack_file("bootstrap")).github.repository
    assert project["source"] == {**project["source"], "type": "GITHUB", "location": f"https://github.com/{repository}.git"}


def test_the_project_s_role_may_only_log_join_the_vpc_and_use_the_connection(shipped):
    result = shipped("aws-dr", preview=False)
    project = result.one("aws:codebuild/project:Project")
    role = next(r for r in result.of_type("aws:iam/role:Role") if r.output("arn") == project["serviceRole"])
    [policy] = [p for p in result.of_type("aws:iam/rolePolicy:RolePolicy") if p["role"] == role.output("id")]
    statements = {s["Sid"]: s for s in json.loads(policy["policy"])["Statement"]}
    logs = result.one("aws:cloudwatch/logGroup:LogGroup", "crm-dr-runner-logs")
    assert statements["BuildLogs"]["Resource"] == f"{logs.output('arn')}:*"
    connection = [s for sid, s in statements.items() if sid.startswith("GitHubConnection")]
    assert project["source"]["auth"]["resource"] in [s["Resource"] for s in connection]
    assert statements["VpcNetworkInterfacePermission"]["Condition"]["StringEquals"]["ec2:AuthorizedService"] == "codebuild.amazonaws.com"
    actions = {a for s in statements.values() for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert not [a for a in actions if a.endswith("*") and not a.startswith("kms:GenerateDataKey")]
    assert not [a for a in actions if a.split(":")[0] in ("iam", "sts", "s3", "eks", "secretsmanager")]


def test_each_connection_action_names_the_connection_under_its_own_service_prefix(shipped):
    result = shipped("aws-dr", preview=False)
    [policy] = [p for p in result.of_type("aws:iam/rolePolicy:RolePolicy") if p.name == "crm-dr-runner-policy"]
    connection = [s for s in json.loads(policy["policy"])["Statement"] if s["Sid"].startswith("GitHubConnection")]
    services = {s["Resource"].split(":")[2]: {a.split(":")[0] for a in s["Action"]} for s in connection}
    assert services == {"codeconnections": {"codeconnections"}, "codestar-connections": {"codestar-connections"}}
    assert len({s["Resource"].split(":", 3)[3] for s in connection}) == 1  # one connection, two prefixes


def test_the_runner_s_interfaces_are_made_in_its_own_subnets_compared_as_arns(shipped):
    result = shipped("aws-dr", preview=False)
    [policy] = [p for p in result.of_type("aws:iam/rolePolicy:RolePolicy") if p.name == "crm-dr-runner-policy"]
    statements = json.loads(policy["policy"])["Statement"]
    private = {s.output("id") for s in result.of_type("aws:ec2/subnet:Subnet") if "-private-" in s.name}
    assert private
    for statement in statements:
        actions = [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
        if any(a in ("ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface") for a in actions):
            assert statement["Resource"] != "*"
    [permission] = [s for s in statements if s["Action"] == "ec2:CreateNetworkInterfacePermission"]
    assert "ec2:Subnet" not in permission["Condition"].get("StringEquals", {})
    assert {arn.rsplit("/", 1)[1] for arn in permission["Condition"]["ArnEquals"]["ec2:Subnet"]} == private


def test_the_stack_names_its_runner_label_as_codebuild_expects(shipped):
    result = shipped("aws-staging")
    project = result.one("aws:codebuild/project:Project")
    assert result.outputs["deployRunnerLabel"] == f"codebuild-{project['name']}"


def test_a_stack_without_the_runner_creates_none_and_admits_nothing_new(run_stack):
    result = run_stack("aws-dev", {"crm:ci": {"runner": False}})
    assert result.of_type("aws:codebuild/project:Project") == [] and "deployRunnerLabel" not in result.outputs
    assert not [r for r in result.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") if "-api-client-" in r.name]


@pytest.fixture
def pending_connection(monkeypatch):
    answer = fakes.invoke

    def invoke(token, args):
        found = answer(token, args)
        return {**found, "connectionStatus": "PENDING"} if token.startswith("aws:codestarconnections/") else found

    monkeypatch.setattr(fakes, "invoke", invoke)


def test_a_pending_connection_is_warned_about_in_a_preview(run_stack, pending_connection):
    warnings = run_stack("aws-dev", fresh=True).warnings()
    assert any("crm:ci.githubConnection" in w and "PENDING" in w and "handshake" in w for w in warnings)


def test_a_pending_connection_stops_an_update_before_anything_is_created(run_stack, pending_connection, monkeypatch):
    created = []
    computed = fakes.computed
    monkeypatch.setattr(fakes, "computed", lambda type_, name, inputs: created.append(type_) or computed(type_, name, inputs))
    with pytest.raises(Exception, match="handshake"):
        run_stack("aws-dev", preview=False, fresh=True)
    assert [t for t in created if not t.startswith("pulumi:providers:")] == []


def test_a_project_name_codebuild_refuses_is_refused():
    with pytest.raises(ValueError, match="2-150"):
        DeployRunnerArgs(project_name="x", repository="o/r", connection_arn="a", vpc_id="v", subnet_ids=["s"], kms_key_arn="k", tags={})


@pytest.mark.parametrize("stack,days", [("aws-dev", 90), ("aws-production", 365), ("aws-dr", 365)])
def test_who_deployed_what_is_kept_a_year_where_the_data_is_real(shipped, stack, days):
    result = shipped(stack)
    logs = next(g for g in result.of_type("aws:cloudwatch/logGroup:LogGroup") if g.name.endswith("-runner-logs"))
    assert logs["retentionInDays"] == days and logs["name"] == f"/aws/codebuild/{result.one('aws:codebuild/project:Project')['name']}"
