"""deploy-permissions: every resource a stack creates is within what bootstrap grants the CI deploy identities."""

from __future__ import annotations

import dataclasses

import pytest

from tools.checks import deploy_checks
from tools.policy_check import PlanResource, from_preview

ROLE = "aws:iam/role:Role"


def findings(plan) -> list[str]:
    return [v.message for v in deploy_checks.check(plan) if v.policy == "deploy-permissions"]


def _one(plan, type_, name):
    (found,) = [r for r in plan if r.type == type_ and r.name == name]
    return found


@pytest.mark.parametrize("stack", ["aws-dr", "gcp-dr"])
def test_the_dr_stacks_need_nothing_the_deploy_identities_lack(shipped, stack):
    plan = from_preview(shipped(stack, preview=False))
    assert findings(plan) == []
    assert any(r.type.startswith("aws:") for r in plan)  # gcp-dr too: the mail sender and the VPN's AWS half


def test_a_role_without_the_boundary_is_what_the_deploy_role_refuses(shipped):
    plan = from_preview(shipped("aws-dev"))
    role = _one(plan, ROLE, "crm-dev-app-role")
    role.inputs.pop("permissionsBoundary")
    create, inline_policy = findings(plan)
    assert "Role 'crm-dev-app-role': the CI deploy role may not create the role: iam:CreateRole" in create
    assert "explicitly denied by NoRoleWithoutTheBoundary" in create
    assert "may not change role 'crm-dev-app-role': iam:PutRolePolicy" in inline_policy


def test_the_mail_sender_role_on_its_service_path_is_within_the_deploy_role(shipped, monkeypatch):
    """Issue 21.7: with resource patterns for role/crm-* only, gcp-dr's /service/ role was outside the deploy role."""
    import components.bootstrap.ci_identity as ci

    plan = from_preview(shipped("gcp-dr"))
    assert _one(plan, ROLE, "crm-dr-mail-sender-role").inputs["path"] == "/service/"
    assert findings(plan) == []
    monkeypatch.setattr(ci, "ROLE_PATHS", ("/",))
    assert [m for m in findings(plan) if "crm-dr-mail-sender-role" in m and "iam:CreateRole" in m]


def test_attaching_a_managed_policy_outside_the_list_is_refused(shipped):
    plan = from_preview(shipped("aws-dev"))
    attachment = next(r for r in plan if r.type == "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    attachment.inputs["policyArn"] = "arn:aws:iam::aws:policy/AdministratorAccess"
    (message,) = findings(plan)
    assert "iam:AttachRolePolicy" in message and "iam:PolicyARN=arn:aws:iam::aws:policy/AdministratorAccess" in message


def test_handing_a_role_outside_the_estate_to_a_service_is_refused(shipped):
    plan = from_preview(shipped("aws-dev"))
    role = _one(plan, ROLE, "crm-dev-flow-logs-role")
    role.inputs["name"] = "platform-admin"
    messages = findings(plan)
    assert any("hand role 'crm-dev-flow-logs-role' to vpc-flow-logs.amazonaws.com: iam:PassRole" in m for m in messages)


def test_a_type_without_a_row_in_the_table_is_reported(shipped):
    plan = from_preview(shipped("aws-dev"))
    plan.append(PlanResource("aws:lambda/function:Function", "urn:pulumi:aws-dev::crm::aws:lambda/function:Function::f", "f", {}))
    assert findings(plan) == [
        "Function 'f': aws:lambda/function:Function has no row in the deployer permission table (components/bootstrap/deploy_permissions.py)"
    ]


def test_a_project_grant_the_deploy_account_may_not_make_is_reported(shipped):
    plan = from_preview(shipped("gcp-dev"))
    grant = next(r for r in plan if r.type == "gcp:projects/iAMMember:IAMMember")
    plan.append(dataclasses.replace(grant, urn=grant.urn + "-owner", name="owner", inputs={**grant.inputs, "role": "roles/owner"}))
    (message,) = findings(plan)
    assert "may not grant roles/owner on the project" in message


def test_a_grant_on_a_service_account_bootstrap_did_not_hand_the_deploy_account_is_reported(shipped):
    plan = from_preview(shipped("gcp-dev"))
    (binding,) = [r for r in plan if r.type == "gcp:serviceaccount/iAMMember:IAMMember"]
    assert findings(plan) == []
    default = "projects/crm-dev-project/serviceAccounts/123456789012-compute@developer.gserviceaccount.com"
    binding.inputs["serviceAccountId"] = default
    (message,) = findings(plan)
    assert "holds iam.serviceAccounts.setIamPolicy on no service account but those bootstrap creates" in message
    assert "123456789012-compute@developer.gserviceaccount.com is not one of them" in message


def test_granting_a_role_other_than_workload_identity_on_a_service_account_is_reported(shipped):
    plan = from_preview(shipped("gcp-dev"))
    (binding,) = [r for r in plan if r.type == "gcp:serviceaccount/iAMMember:IAMMember"]
    binding.inputs["role"] = "roles/iam.serviceAccountTokenCreator"
    (message,) = findings(plan)
    assert "roles/iam.serviceAccountTokenCreator is not a role the stacks grant on a service account" in message


def test_nodes_running_as_an_account_the_deploy_account_may_not_act_as_are_reported(shipped):
    plan = from_preview(shipped("gcp-dev"))
    pool = _one(plan, "gcp:container/nodePool:NodePool", "crm-dev-gke-pool")
    # The app's account: the deploy account may set its allow policy, not act as it.
    pool.inputs["nodeConfig"] = {**pool.inputs["nodeConfig"], "serviceAccount": "crm-app@crm-dev-project.iam.gserviceaccount.com"}
    (message,) = findings(plan)
    assert "its nodes run as crm-app@crm-dev-project.iam.gserviceaccount.com, which the CI deploy account may not act as" in message


def test_the_bootstrap_stack_is_not_judged_as_a_ci_deploy(shipped):
    assert findings(from_preview(shipped("bootstrap"))) == []


@pytest.mark.parametrize(
    ("type_", "name", "action"),
    [
        ("aws:secretsmanager/secret:Secret", "other-team/database", "secretsmanager:CreateSecret"),
        ("aws:ssm/parameter:Parameter", "/other-team/setting", "ssm:PutParameter"),
        ("aws:codebuild/project:Project", "other-team-build", "codebuild:CreateProject"),
    ],
)
def test_a_secret_parameter_or_build_project_outside_the_estate_s_names_is_refused(shipped, type_, name, action):
    """The deploy role holds Secrets Manager, SSM and CodeBuild on the estate's names only (deploy_permissions.ESTATE_NAMED_RESOURCES)."""
    plan = from_preview(shipped("aws-dr", preview=False))
    resource = next(r for r in plan if r.type == type_)
    assert findings(plan) == []
    resource.inputs["name"] = name
    (message,) = [m for m in findings(plan) if m.startswith(f"{type_.rsplit(':', 1)[-1]} '{resource.name}'")]
    assert f"{action} on " in message and message.endswith("is implicitly denied")
