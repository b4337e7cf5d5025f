"""ElastiCache options beyond the matrix default: snapshot retention per environment and cluster mode."""

from __future__ import annotations

import pytest

from components.aws.elasticache import RedisCache
from stacks.config import load
from tests.components.aws.test_elasticache import cache_args
from tests.conftest import stack_config
from tests.helpers import provider_value
from tests.stacks.test_app_env import app_env
from tests.stacks.test_config import one_problem

GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
CLUSTER = {"crm:redis": {"clusterMode": True, "shards": 3, "replicasPerShard": 2}}


@pytest.mark.parametrize("stack,days", [("aws-staging", 7), ("aws-production", 7), ("aws-dr", 30)])
def test_snapshot_retention_follows_the_environment(shipped, stack, days):
    assert shipped(stack).one(GROUP)["snapshotRetentionLimit"] == days


def test_dr_keeps_thirty_days_of_snapshots_when_the_stack_file_says_nothing(run_stack):
    group = run_stack("aws-dr", {"crm:redis": {"snapshotRetentionDays": None}}).one(GROUP)
    assert group["snapshotRetentionLimit"] == 30


@pytest.fixture
def sharded(run_component):
    return run_component(lambda: RedisCache("c", cache_args(cluster_mode=True, shards=3, replicas_per_shard=2)))


def test_cluster_mode_uses_a_cluster_enabled_parameter_group(sharded):
    params = sharded.one("aws:elasticache/parameterGroup:ParameterGroup")
    assert params["family"] == "redis7" and params["parameters"] == [{"name": "cluster-enabled", "value": "yes"}]
    assert sharded.one(GROUP)["parameterGroupName"] == params["name"]


def test_cluster_mode_sizes_by_shards_and_replicas(sharded):
    group = sharded.one(GROUP)
    assert (group["numNodeGroups"], group["replicasPerNodeGroup"], group["clusterMode"]) == (3, 2, "enabled")
    assert "numCacheClusters" not in group.inputs


def test_cluster_mode_always_fails_over_automatically(run_component):
    group = run_component(lambda: RedisCache("c", cache_args(cluster_mode=True, shards=2, replicas_per_shard=0))).one(GROUP)
    assert group["automaticFailoverEnabled"] is True and group["multiAzEnabled"] is False


def test_without_cluster_mode_there_is_no_parameter_group(run_component):
    result = run_component(lambda: RedisCache("c", cache_args()))
    assert result.of_type("aws:elasticache/parameterGroup:ParameterGroup") == [] and result.one(GROUP)["numCacheClusters"] == 3


@pytest.mark.parametrize("shards,replicas", [(0, 1), (501, 1), (2, 6)])
def test_cluster_mode_refuses_sizes_elasticache_refuses(shards, replicas):
    with pytest.raises(ValueError, match="cluster mode"):
        cache_args(cluster_mode=True, shards=shards, replicas_per_shard=replicas)


@pytest.mark.parametrize("key,value,fragment", [("shards", 0, "between 1 and 500"), ("replicasPerShard", 6, "between 0 and 5")])
def test_cluster_sizes_are_validated_in_config(key, value, fragment):
    changes = {"crm:redis": {**CLUSTER["crm:redis"], key: value}}
    assert fragment in one_problem("aws-dr", changes, f"crm:redis.{key}")


def test_cluster_mode_needs_replicas_outside_dev():
    changes = {"crm:redis": {**CLUSTER["crm:redis"], "replicasPerShard": 0}}
    assert "at least 1" in one_problem("aws-production", changes, "crm:redis.replicasPerShard")


def test_shards_without_cluster_mode_is_an_error():
    assert "clusterMode" in one_problem("aws-dr", {"crm:redis": {"shards": 2}}, "crm:redis.clusterMode")


def test_cluster_mode_is_off_by_default():
    assert load("aws-dr", stack_config("aws-dr")).redis.cluster_mode is False


def test_app_env_in_cluster_mode_points_at_the_configuration_endpoint(run_stack):
    result = run_stack("aws-dr", CLUSTER, preview=False)
    env = app_env(result, "aws:secretsmanager/secretVersion:SecretVersion")
    group = result.one("aws:elasticache/replicationGroup:ReplicationGroup")
    assert env["REDIS_MAX_REDIRECTS"] == "5"
    assert env["REDIS_HOST"] == provider_value(group, "configurationEndpointAddress") != provider_value(group, "primaryEndpointAddress")
    assert env["REDIS_NODES"] == f"{provider_value(group, 'configurationEndpointAddress')}:{provider_value(group, 'port')}"


def test_app_env_without_cluster_mode_keeps_its_redirect_limit(shipped):
    env = app_env(shipped("aws-dr", preview=False), "aws:secretsmanager/secretVersion:SecretVersion")
    assert env["REDIS_MAX_REDIRECTS"] == "3"


def test_cluster_mode_inputs_are_known_to_the_aws_sdk(run_stack):
    from tests.schema import input_problems

    result = run_stack("aws-dr", CLUSTER, preview=False)  # every input known; the run the app_env test reads too
    assert [p for r in result.resources if r.custom for p in input_problems(r.type, r.inputs)] == []
