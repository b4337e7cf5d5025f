from __future__ import annotations

import pytest

from components.aws.elasticache import RedisCache, RedisCacheArgs
from tests.helpers import is_secret


def cache_args(**changes) -> RedisCacheArgs:
    values = dict(
        vpc_id="vpc-1",
        subnet_ids=["data-a", "data-c"],
        app_security_group_id="sg-app",
        kms_key_arn="arn:kms:cache",
        logs_kms_key_arn="arn:kms:logs",
        node_type="cache.t3.medium",
        nodes=3,
        snapshot_retention_days=7,
        tags={},
    )
    values.update(changes)
    return RedisCacheArgs(**values)


@pytest.mark.parametrize(
    "stack,node_type,nodes",
    [("aws-staging", "cache.t3.small", 2), ("aws-production", "cache.t3.medium", 3), ("aws-dr", "cache.t3.medium", 3)],
)
def test_replication_group_matches_the_matrix(shipped, stack, node_type, nodes):
    group = shipped(stack).one("aws:elasticache/replicationGroup:ReplicationGroup")
    assert (group["nodeType"], group["numCacheClusters"]) == (node_type, nodes)
    assert group["engineVersion"].startswith("7.") and group.protect


def test_encrypted_at_rest_and_in_transit_with_auth(run_component):
    group = run_component(lambda: RedisCache("c", cache_args())).one("aws:elasticache/replicationGroup:ReplicationGroup")
    assert group["atRestEncryptionEnabled"] is True and group["kmsKeyId"] == "arn:kms:cache"
    assert group["transitEncryptionEnabled"] is True
    assert is_secret(group["authToken"])


def test_failover_and_multi_az_with_more_than_one_node(run_component):
    group = run_component(lambda: RedisCache("c", cache_args(nodes=2))).one("aws:elasticache/replicationGroup:ReplicationGroup")
    assert group["automaticFailoverEnabled"] is True and group["multiAzEnabled"] is True


def test_single_node_has_no_failover(run_component):
    group = run_component(lambda: RedisCache("c", cache_args(nodes=1))).one("aws:elasticache/replicationGroup:ReplicationGroup")
    assert group["automaticFailoverEnabled"] is False and group["multiAzEnabled"] is False


def test_only_the_application_reaches_redis(run_component):
    rule = run_component(lambda: RedisCache("c", cache_args())).one("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    assert (rule["fromPort"], rule["toPort"], rule["referencedSecurityGroupId"]) == (6379, 6379, "sg-app")


def test_auth_token_uses_only_characters_elasticache_accepts(run_component):
    token = run_component(lambda: RedisCache("c", cache_args())).one("random:index/randomPassword:RandomPassword")
    assert token["special"] is False and 16 <= token["length"] <= 128


def test_snapshots_retained(run_component):
    group = run_component(lambda: RedisCache("c", cache_args(snapshot_retention_days=5))).one(
        "aws:elasticache/replicationGroup:ReplicationGroup"
    )
    assert group["snapshotRetentionLimit"] == 5
