"""The CI deploy identities can create what the stacks they deploy create (bootstrap itself is run by an operator)."""

from __future__ import annotations

import pytest

from components.bootstrap.ci_identity import DEPLOY_PROJECT_ROLES, DEPLOY_SERVICES
from tests.conftest import ALL_STACKS

DEPLOYED_BY_CI = [s for s in ALL_STACKS if s != "bootstrap"]

# The IAM action prefix each pulumi-aws module calls; a type missing here fails the test until it is placed.
AWS_SERVICE_OF_MODULE = {
    "ec2": "ec2",
    "vpc": "ec2",
    "eks": "eks",
    "rds": "rds",
    "elasticache": "elasticache",
    "ecr": "ecr",
    "lb": "elasticloadbalancing",
    "secretsmanager": "secretsmanager",
    "ssm": "ssm",
    "sqs": "sqs",
    "sns": "sns",
    "ses": "ses",
    "sesv2": "ses",
    "scheduler": "scheduler",
    "msk": "kafka",
    "kms": "kms",
    "acm": "acm",
    "backup": "backup",
    "budgets": "budgets",
    "iam": "iam",
    "s3": "s3",
    "fis": "fis",
}
AWS_SERVICE_OF_TYPE = {
    "aws:cloudwatch/logGroup:LogGroup": "logs",
    "aws:cloudwatch/metricAlarm:MetricAlarm": "cloudwatch",
    "aws:cloudwatch/compositeAlarm:CompositeAlarm": "cloudwatch",
    "aws:cloudwatch/dashboard:Dashboard": "cloudwatch",
}
# iam and s3 are granted on the estate's own names (role/crm-*, crm-* buckets), not service-wide.
NAME_SCOPED = {"iam", "s3"}

# The predefined role that administers each GCP module's resources.
GCP_ROLE_OF_MODULE = {
    "compute": "roles/compute.networkAdmin",
    "container": "roles/container.admin",
    "sql": "roles/cloudsql.admin",
    "redis": "roles/redis.admin",
    "artifactregistry": "roles/artifactregistry.admin",
    "secretmanager": "roles/secretmanager.admin",
    "kms": "roles/cloudkms.admin",
    "serviceaccount": "roles/iam.serviceAccountAdmin",
    "projects": "roles/resourcemanager.projectIamAdmin",
    "servicenetworking": "roles/servicenetworking.networksAdmin",
    "monitoring": "roles/monitoring.editor",
    "certificatemanager": "roles/certificatemanager.editor",
    "binaryauthorization": "roles/binaryauthorization.policyEditor",
}
# Granted outside the project roles, and documented as such in docs/prerequisites.md.
GCP_OUTSIDE_PROJECT = {"billing": "roles/billing.costsManager on the billing account"}


def _created(shipped, prefix: str) -> set[str]:
    return {
        r.type for stack in DEPLOYED_BY_CI for r in shipped(stack).resources if r.custom and r.op != "read" and r.type.startswith(prefix)
    }


def _aws_missing(types, deploy_services) -> list[str]:
    allowed = {action.split(":")[0] for action in deploy_services if action.endswith(":*")} | NAME_SCOPED
    missing = []
    for type_ in sorted(types):
        service = AWS_SERVICE_OF_TYPE.get(type_) or AWS_SERVICE_OF_MODULE.get(type_.split(":")[1].split("/")[0])
        if service is None or service not in allowed:
            missing.append(f"{type_} -> {service}")
    return missing


def test_every_aws_type_the_stacks_create_is_within_the_deploy_role(shipped):
    assert _aws_missing(_created(shipped, "aws:"), DEPLOY_SERVICES) == []


def test_a_service_the_deploy_role_lacks_is_reported(shipped):
    without_budgets = [action for action in DEPLOY_SERVICES if not action.startswith("budgets:")]
    assert _aws_missing(_created(shipped, "aws:"), without_budgets) == ["aws:budgets/budget:Budget -> budgets"]


def test_every_gcp_type_the_stacks_create_is_within_the_deploy_roles(shipped):
    missing = []
    for type_ in sorted(_created(shipped, "gcp:")):
        module = type_.split(":")[1].split("/")[0]
        if module in GCP_OUTSIDE_PROJECT:
            continue
        if GCP_ROLE_OF_MODULE.get(module) not in DEPLOY_PROJECT_ROLES:
            missing.append(f"{type_} -> {GCP_ROLE_OF_MODULE.get(module)}")
    assert missing == []


@pytest.mark.parametrize("outside", sorted(GCP_OUTSIDE_PROJECT))
def test_grants_outside_the_project_roles_are_documented(outside):
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[3] / "docs" / "prerequisites.md").read_text()
    assert GCP_OUTSIDE_PROJECT[outside].split(" on ")[0] in doc


def test_deploy_policy_lets_ci_manage_msk_topics_through_the_topic_api():
    import json

    from components.bootstrap.ci_identity import GithubAwsRolesArgs, deploy_policy

    args = GithubAwsRolesArgs(
        repository="acme/crm",
        deploy_subjects=["repo:acme/crm:environment:production"],
        preview_subjects=["repo:acme/crm:pull_request"],
        deploy_role_name="d",
        preview_role_name="p",
        name_prefix="crm",
        region="ap-northeast-2",
        tags={},
    )
    statements = json.loads(deploy_policy("aws", "123456789012", args, "arn:aws:s3:::crm-state", "arn:kms", "arn:kms"))["Statement"]
    actions = {a for s in statements if s["Effect"] == "Allow" for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert {
        "kafka:*",
        "kafka-cluster:Connect",
        "kafka-cluster:CreateTopic",
        "kafka-cluster:DeleteTopic",
        "kafka-cluster:AlterTopic",
    } <= actions
