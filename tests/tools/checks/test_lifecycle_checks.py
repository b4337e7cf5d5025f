"""The lifecycle deploy checks: names a destroy does not free, data a config edit would delete."""

from __future__ import annotations

import pulumi_gcp as gcp
import pytest

from tools.checks import deploy_checks, lifecycle_checks
from tools.policy_check import from_preview


def findings(plan, policy: str) -> list[str]:
    return [v.message for v in deploy_checks.check(plan) if v.policy == policy]


def _one(plan, type_: str):
    found = [r for r in plan if r.type == type_]
    assert len(found) == 1, [r.name for r in found]
    return found[0]


def _unsuffixed(plan, resource, field: str = "name") -> None:
    """The resource as it was before its name took a suffix: the name no longer comes from a random resource."""
    resource.property_dependencies[field] = []
    resource.inputs[field] = resource.name


def test_the_checks_are_part_of_the_deploy_checks():
    names = {c.name for c in deploy_checks.checks()}
    assert {"name-reusable-after-destroy", "data-kept-on-config-edit"} <= names


@pytest.mark.parametrize("stack", ["gcp-dev", "gcp-production", "aws-dev", "bootstrap"])
def test_shipped_stacks_draw_their_kept_names_per_incarnation(shipped, stack):
    plan = from_preview(shipped(stack))
    judged = [r for r in plan if r.type in lifecycle_checks.KEPT_NAMES]
    assert judged and findings(plan, "name-reusable-after-destroy") == []


def test_a_key_ring_with_a_fixed_name_fails(shipped):
    plan = from_preview(shipped("gcp-dev"))
    _unsuffixed(plan, _one(plan, "gcp:kms/keyRing:KeyRing"))
    messages = findings(plan, "name-reusable-after-destroy")
    # The ring is named; its keys are judged by it and add nothing.
    assert len(messages) == 1
    assert messages[0].startswith(
        "KeyRing 'crm-dev-keys-ring': name 'crm-dev-keys-ring' is fixed, and Cloud KMS key rings cannot be deleted"
    )
    assert "https://cloud.google.com/kms/docs/resource-hierarchy#lifetime" in messages[0]


def test_a_cloud_sql_instance_with_a_fixed_name_fails(shipped):
    plan = from_preview(shipped("gcp-production"))
    _unsuffixed(plan, _one(plan, "gcp:sql/databaseInstance:DatabaseInstance"))
    (message,) = findings(plan, "name-reusable-after-destroy")
    assert "DatabaseInstance 'crm-production-sql-postgres'" in message and "reserved for up to a week" in message


def test_a_key_in_a_ring_the_plan_does_not_create_fails(run_component):
    def build():
        gcp.kms.CryptoKey("key", name="app", key_ring="projects/p/locations/r/keyRings/shared")

    plan = from_preview(run_component(build, preview=True))
    (message,) = findings(plan, "name-reusable-after-destroy")
    assert message.startswith("CryptoKey 'key': name and its keyRing are fixed")


def test_a_secrets_manager_secret_deleted_without_recovery_frees_its_name(shipped):
    plan = from_preview(shipped("aws-dev"))
    secret = _one(plan, "aws:secretsmanager/secret:Secret")
    _unsuffixed(plan, secret)
    assert len(findings(plan, "name-reusable-after-destroy")) == 1
    secret.inputs["recoveryWindowInDays"] = 0
    assert findings(plan, "name-reusable-after-destroy") == []


def test_a_workload_identity_pool_with_a_fixed_id_fails(shipped):
    plan = from_preview(shipped("bootstrap"))
    _unsuffixed(plan, _one(plan, "gcp:iam/workloadIdentityPool:WorkloadIdentityPool"), "workloadIdentityPoolId")
    (message,) = findings(plan, "name-reusable-after-destroy")
    assert "kept for 30 days" in message


@pytest.mark.parametrize("stack,type_", [("gcp-dev", "kubernetes:kafka.strimzi.io/v1:KafkaTopic"), ("aws-dr", "aws:msk/topic:Topic")])
def test_a_topic_that_would_be_deleted_with_its_config_entry_fails(run_stack, stack, type_):
    # MSK runs only where crm:platform.msk turns it on.
    plan = from_preview(run_stack(stack, {"crm:platform": {"msk": True}} if type_.startswith("aws:msk") else None))
    topics = [r for r in plan if r.type == type_]
    assert topics and findings(plan, "data-kept-on-config-edit") == []
    del topics[0].options["retainOnDelete"]
    (message,) = findings(plan, "data-kept-on-config-edit")
    assert message.startswith(f"{type_.rsplit(':', 1)[-1]} '{topics[0].name}': removing it from the config deletes its data")
