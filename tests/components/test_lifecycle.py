"""What a config edit, a replacing change or a destroy does to data and names, as the shipped stacks register it.

Each test reads the lifecycle options the program gives a resource (protect, retainOnDelete,
deleteBeforeReplace, ignoreChanges) and where its name comes from.
"""

from __future__ import annotations

import pytest

RANDOM_STRING = "random:index/randomString:RandomString"

# MSK runs only where crm:platform.msk turns it on (aws-dr's application uses SQS).
WITH_MSK = {"aws-dr": {"crm:platform": {"msk": True}}}


def _named_by_random(result, resource, field: str = "name") -> bool:
    """Whether `field` of `resource` is derived from a pulumi-random resource (a suffix kept in state)."""
    by_urn = {r.urn: r for r in result.resources}
    return any(by_urn[u].type.startswith("random:") for u in resource.property_dependencies.get(field, []) if u in by_urn)


# ---- 22.7: no config edit deletes data --------------------------------------------------------------


def test_strimzi_kafka_its_node_pool_and_namespace_are_protected_outside_dev(shipped):
    result = shipped("gcp-production")
    for type_ in ("kubernetes:kafka.strimzi.io/v1:Kafka", "kubernetes:kafka.strimzi.io/v1:KafkaNodePool"):
        assert result.one(type_).protect, type_
    namespace = next(n for n in result.of_type("kubernetes:core/v1:Namespace") if n["metadata"]["name"] == "kafka")
    assert namespace.protect
    assert not shipped("gcp-dev").one("kubernetes:kafka.strimzi.io/v1:Kafka").protect


@pytest.mark.parametrize(
    "stack,type_", [("gcp-production", "kubernetes:kafka.strimzi.io/v1:KafkaTopic"), ("aws-dr", "aws:msk/topic:Topic")]
)
def test_a_topic_left_out_of_the_config_keeps_its_messages(run_stack, stack, type_):
    topics = run_stack(stack, WITH_MSK.get(stack)).of_type(type_)
    # Deleting the resource deletes the topic on the brokers (Strimzi's Topic Operator, MSK's topic API):
    # Pulumi forgets a removed topic instead, and a protected stack refuses to drop it at all.
    assert topics and all(t.options.get("retainOnDelete") is True and t.protect for t in topics)


def test_removing_a_topic_in_dev_leaves_it_on_the_brokers(shipped):
    topics = shipped("gcp-dev").of_type("kubernetes:kafka.strimzi.io/v1:KafkaTopic")
    assert topics and all(t.options.get("retainOnDelete") is True and not t.protect for t in topics)


@pytest.mark.parametrize("name", ["crm-production-eks-logs", "crm-production-db-postgresql-logs", "crm-production-db-upgrade-logs"])
def test_audit_log_groups_are_protected_outside_dev(shipped, name):
    assert shipped("aws-production").one("aws:cloudwatch/logGroup:LogGroup", name).protect


def test_audit_log_groups_stay_unprotected_in_dev(shipped):
    assert not shipped("aws-dev").one("aws:cloudwatch/logGroup:LogGroup", "crm-dev-eks-logs").protect


def test_elasticache_takes_a_final_snapshot_named_for_its_incarnation(shipped):
    result = shipped("aws-production", preview=False)
    group = result.one("aws:elasticache/replicationGroup:ReplicationGroup")
    suffix = result.one(RANDOM_STRING, "crm-production-cache-final-snapshot-suffix")
    assert group["finalSnapshotIdentifier"] == f"{group['replicationGroupId']}-final-{suffix.output('result')}"
    # A new suffix whenever what replaces the group changes, so a replacement's snapshot never meets an older one.
    assert {"replicationGroupId", "kmsKeyArn"} <= set(suffix["keepers"]) and suffix.protect


# ---- 22.8 / 21.4: names fixed by the program ---------------------------------------------------------


@pytest.mark.parametrize(
    "stack,type_",
    [
        ("aws-production", "aws:rds/instance:Instance"),
        ("aws-production", "aws:elasticache/replicationGroup:ReplicationGroup"),
        ("aws-dr", "aws:msk/cluster:Cluster"),
        ("gcp-production", "gcp:redis/instance:Instance"),
        ("gcp-production", "gcp:secretmanager/secret:Secret"),
        ("gcp-production", "gcp:artifactregistry/repository:Repository"),
    ],
)
def test_a_store_with_a_fixed_reusable_name_is_deleted_before_its_replacement(run_stack, stack, type_):
    # Its name is free again once it is deleted; created beside the old one, the replacement would collide.
    resource = run_stack(stack, WITH_MSK.get(stack)).one(type_)
    assert resource.options.get("deleteBeforeReplace") is True and resource.protect


@pytest.mark.parametrize(
    "stack,type_,name",
    [
        ("gcp-dev", "gcp:kms/keyRing:KeyRing", "crm-dev-keys-ring"),
        ("gcp-production", "gcp:sql/databaseInstance:DatabaseInstance", "crm-production-sql-postgres"),
        ("aws-dev", "aws:secretsmanager/secret:Secret", "crm-dev-secrets-app-env"),
    ],
)
def test_a_name_kept_after_destroy_is_drawn_anew_for_each_incarnation(shipped, stack, type_, name):
    result = shipped(stack, preview=False)
    resource = result.one(type_, name)
    # destroy -> up of the stack asks for a name nobody holds (the suffix is new state), whatever the cloud kept.
    assert _named_by_random(result, resource)
    suffix = next(r for r in result.of_type(RANDOM_STRING) if r.urn in resource.property_dependencies["name"])
    assert resource["name"].endswith("-" + suffix.output("result"))


@pytest.mark.parametrize(
    "stack,type_", [("gcp-production", "gcp:kms/keyRing:KeyRing"), ("gcp-production", "gcp:sql/databaseInstance:DatabaseInstance")]
)
def test_a_deployed_store_keeps_the_name_it_has(shipped, stack, type_):
    # Stacks deployed before the suffix hold the unsuffixed name in state: the name is ignored after creation,
    # so the suffix never renames (replaces) an existing key ring or database.
    assert "name" in shipped(stack).one(type_).options["ignoreChanges"]


def test_the_suffix_is_protected_with_what_it_names(shipped):
    result = shipped("gcp-production")
    ring = result.one("gcp:kms/keyRing:KeyRing")
    suffix = next(r for r in result.of_type(RANDOM_STRING) if r.urn in ring.property_dependencies["name"])
    assert suffix.protect and ring.protect
