from __future__ import annotations

import json

import pytest

from tests.helpers import provider_value


@pytest.fixture
def app_policy(shipped):
    result = shipped("aws-dr", preview=False)
    role = result.one("aws:iam/role:Role", "crm-dr-app-role")
    policy = json.loads(result.one("aws:iam/rolePolicy:RolePolicy", "crm-dr-app-policy")["policy"])
    return result, role, {s["Sid"]: s for s in policy["Statement"]}


def arn_of(result, type_: str, name: str) -> str:
    """The ARN the provider reports for the stack's resource `name`."""
    return provider_value(result.one(type_, name), "arn")


def test_only_the_app_service_account_assumes_the_role(app_policy):
    _, role, _ = app_policy
    statement = json.loads(role["assumeRolePolicy"])["Statement"][0]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    conditions = statement["Condition"]["StringEquals"]
    assert "system:serviceaccount:crm:crm-app" in conditions.values() and "sts.amazonaws.com" in conditions.values()


def test_role_reads_only_its_own_secret(app_policy):
    result, _, statements = app_policy
    secret = result.one("aws:secretsmanager/secret:Secret")
    assert statements["ReadOwnEnvironment"]["Resource"] == secret.output("arn")


def test_mail_and_queue_scoped_to_their_resources(app_policy):
    result, _, statements = app_policy
    assert statements["SendMail"]["Resource"] == [
        result.one("aws:ses/domainIdentity:DomainIdentity").output("arn"),
        result.one("aws:sesv2/configurationSet:ConfigurationSet").output("arn"),
    ]
    assert statements["UseTaskQueue"]["Resource"] == result.one("aws:sqs/queue:Queue", "crm-dr-tasks-queue").output("arn")


def test_schedules_only_in_its_group_and_passes_only_the_scheduler_role(app_policy):
    result, _, statements = app_policy
    assert statements["ManageSchedules"]["Resource"] == "arn:aws:scheduler:ap-northeast-2:123456789012:schedule/crm-dr-tasks/*"
    assert statements["HandSchedulerItsRole"]["Resource"] == result.one("aws:iam/role:Role", "crm-dr-tasks-scheduler").output("arn")
    assert statements["HandSchedulerItsRole"]["Condition"] == {"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}}


def test_no_wildcard_resources(app_policy):
    _, _, statements = app_policy
    for statement in statements.values():
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        assert "*" not in resources
