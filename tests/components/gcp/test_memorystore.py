from __future__ import annotations

import pulumi
import pytest

from components.gcp.memorystore import MemorystoreRedis, MemorystoreRedisArgs
from tests.helpers import is_secret, provider_value, secret_value


def redis_args(**changes) -> MemorystoreRedisArgs:
    values = dict(
        project="p",
        region="asia-northeast3",
        network_id="net",
        reserved_ip_range="psa",
        tier="STANDARD_HA",
        memory_size_gb=10,
        replica_count=2,
        read_replicas=True,
        labels={},
    )
    values.update(changes)
    return MemorystoreRedisArgs(**values)


@pytest.mark.parametrize(
    "stack,memory,read_replicas,replicas",
    [
        ("gcp-staging", 2, "READ_REPLICAS_DISABLED", None),
        ("gcp-production", 5, "READ_REPLICAS_ENABLED", 2),
        ("gcp-dr", 10, "READ_REPLICAS_ENABLED", 2),
    ],
)
def test_instance_matches_the_matrix(shipped, stack, memory, read_replicas, replicas):
    redis = shipped(stack).one("gcp:redis/instance:Instance")
    assert (redis["tier"], redis["memorySizeGb"], redis["readReplicasMode"]) == ("STANDARD_HA", memory, read_replicas)
    assert redis.get("replicaCount") == replicas and redis.protect


def test_dr_is_redis_7_with_six_hourly_snapshots(shipped):
    redis = shipped("gcp-dr").one("gcp:redis/instance:Instance")
    assert redis["redisVersion"] == "REDIS_7_0"
    assert redis["persistenceConfig"] == {"persistenceMode": "RDB", "rdbSnapshotPeriod": "SIX_HOURS"}


def test_auth_tls_and_private_service_access(run_component):
    redis = run_component(lambda: MemorystoreRedis("r", redis_args())).one("gcp:redis/instance:Instance")
    assert redis["authEnabled"] is True and redis["transitEncryptionMode"] == "SERVER_AUTHENTICATION"
    assert redis["connectMode"] == "PRIVATE_SERVICE_ACCESS" and redis["reservedIpRange"] == "psa"


def test_maintenance_policy(run_component):
    redis = run_component(lambda: MemorystoreRedis("r", redis_args())).one("gcp:redis/instance:Instance")
    assert redis["maintenancePolicy"]["weeklyMaintenanceWindows"][0]["day"] == "SUNDAY"


def test_read_replicas_below_five_gigabytes_are_refused():
    with pytest.raises(ValueError, match="at least 5 GB"):
        redis_args(memory_size_gb=2)


def test_auth_string_output_is_secret(run_component):
    result = run_component(lambda: pulumi.export("auth", MemorystoreRedis("r", redis_args()).auth_string))
    assert is_secret(result.outputs["auth"])
    assert secret_value(result.outputs["auth"]) == provider_value(result.one("gcp:redis/instance:Instance"), "authString")
