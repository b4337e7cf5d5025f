"""Nothing runs that nothing uses: capacity each stack pays for has a reader in the application's app_env.

The audit behind it (docs/architecture.md, "The application platform"): Redis replicas serve reads
through REDIS_READ_HOST (ElastiCache's reader endpoint, Memorystore's read endpoint); MSK is made
only when asked for, since the application on AWS reads SQS; every NAT gateway carries a route.
"""

from __future__ import annotations

import pytest

from tests.conftest import ALL_STACKS
from tests.helpers import provider_value
from tests.stacks.test_app_env import app_env

AWS_APP_ENV = "aws:secretsmanager/secretVersion:SecretVersion"
GCP_APP_ENV = "gcp:secretmanager/secretVersion:SecretVersion"
AWS_STACKS = [s for s in ALL_STACKS if s.startswith("aws-")]
GCP_STACKS = [s for s in ALL_STACKS if s.startswith("gcp-")]
MEMORYSTORE = "gcp:redis/instance:Instance"
ELASTICACHE = "aws:elasticache/replicationGroup:ReplicationGroup"
MSK = "aws:msk/cluster:Cluster"


def test_memorystore_read_replicas_are_read_through_the_read_endpoint(shipped):
    readable = []
    for stack in GCP_STACKS:
        result = shipped(stack, preview=False)
        for redis in result.of_type(MEMORYSTORE):
            if redis["readReplicasMode"] != "READ_REPLICAS_ENABLED":
                continue
            env = app_env(result, GCP_APP_ENV)
            assert env["REDIS_READ_HOST"] == provider_value(redis, "readEndpoint"), stack
            assert env["REDIS_READ_PORT"] == str(provider_value(redis, "readEndpointPort")), stack
            assert env["REDIS_READ_HOST"] != env["REDIS_HOST"]
            readable.append(stack)
    assert sorted(readable) == ["gcp-dr", "gcp-production"]  # the environments whose sizes pay for read replicas


def test_elasticache_replicas_are_read_through_the_reader_endpoint(shipped):
    readable = []
    for stack in AWS_STACKS:
        result = shipped(stack, preview=False)
        for group in result.of_type(ELASTICACHE):
            if group.get("numCacheClusters", 1) < 2:
                continue
            env = app_env(result, AWS_APP_ENV)
            assert env["REDIS_READ_HOST"] == provider_value(group, "readerEndpointAddress"), stack
            assert env["REDIS_READ_PORT"] == str(group["port"])
            readable.append(stack)
    assert sorted(readable) == ["aws-dr", "aws-production", "aws-staging"]


@pytest.mark.parametrize(
    ("stack", "changes", "why"),
    [
        ("gcp-staging", {}, "STANDARD_HA without read replicas: its one replica is a standby no client may read"),
        ("aws-dr", {"crm:redis": {"clusterMode": True, "shards": 2, "replicasPerShard": 1}}, "cluster clients read replicas by themselves"),
        ("aws-dr", {"crm:redis": {"nodes": 1}}, "one node: nothing to read but the primary"),
    ],
)
def test_no_read_host_where_there_is_no_replica_endpoint_to_read(run_stack, stack, changes, why):
    result = run_stack(stack, changes, preview=False)
    cache = result.of_type(MEMORYSTORE) or result.of_type(ELASTICACHE)
    assert cache, "the stack runs no cache"
    assert "REDIS_READ_HOST" not in app_env(result, GCP_APP_ENV if stack.startswith("gcp-") else AWS_APP_ENV), why


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_no_aws_stack_runs_msk_its_application_does_not_read(shipped, stack):
    result = shipped(stack, preview=False)
    env = app_env(result, AWS_APP_ENV)
    assert env["MESSAGE_PROVIDER"] == "aws" and env["SCHEDULER_PROVIDER"] == "aws"  # the application reads SQS here
    assert result.of_type(MSK) == []
    assert "KAFKA_BOOTSTRAP_SERVERS" not in env


def test_msk_on_request_hands_its_brokers_to_the_application(run_stack):
    result = run_stack("aws-dr", {"crm:platform": {"msk": True}}, preview=False)
    (cluster,) = result.of_type(MSK)
    assert app_env(result, AWS_APP_ENV)["KAFKA_BOOTSTRAP_SERVERS"] == provider_value(cluster, "bootstrapBrokersSaslIam")


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_every_nat_gateway_carries_a_default_route(shipped, stack):
    result = shipped(stack, preview=False)
    gateways = result.of_type("aws:ec2/natGateway:NatGateway")
    assert gateways
    routed = {r["natGatewayId"] for r in result.of_type("aws:ec2/route:Route") if r.get("natGatewayId")}
    assert {provider_value(g, "id") for g in gateways} <= routed
