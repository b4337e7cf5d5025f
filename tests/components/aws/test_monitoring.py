"""CloudWatch alarms, topic, dashboard and budget: metrics as AWS names them, thresholds as config derives them."""

from __future__ import annotations

import json

import pytest

from stacks.config import load
from tests.conftest import stack_config
from tests.helpers import provider_value

# These tests and the SLO tests read the same aws-dr runs: on one worker, no two compute the same run at once.
pytestmark = pytest.mark.xdist_group("aws-dr-monitoring")

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
PREFIX = "crm-dr-monitoring-"
# MSK is off by default (the application reads SQS on AWS): on here, so the Kafka alarms are checked with the rest.
WITH_MSK = {"crm:platform": {"msk": True}}
# A second configuration that moves every threshold, to show each alarm follows its key.
CHANGED = {
    "crm:monitoring": {
        "emails": ["dba@acme-corp.io", "noc@acme-corp.io"],
        "cpuPercent": 70,
        "freeStoragePercent": 20,
        "databaseConnections": 99,
        "replicationLagSeconds": 3,
        "walBytesPerSecond": 1000,
        "slotWalAlarmPercent": 40,
        "cacheCpuPercent": 60,
        "cacheMemoryPercent": 65,
        "cacheReplicationLagSeconds": 7,
        "http5xxPerMinute": 25,
        "latencyP95Ms": 150,
        "availabilityPercent": 99.9,  # the SLO alarms' (tests/components/aws/test_slo.py reads this run too)
        "deadLetterMessages": 3,
        "kafkaDiskPercent": 70,
    },
    "crm:budget": {"monthlyUsd": 9999, "alertPercents": [50, 90]},
    "crm:database": {"allocatedStorage": 300, "maxSlotWalKeepSizeGb": 30},
    **WITH_MSK,
}
GIB, MIB = 1024**3, 1024**2


def monitoring_alarms(result) -> list:
    """The Monitoring component's alarms (the stack's SLO and game-day alarms are tested with their components)."""
    return [a for a in result.of_type(ALARM) if "-monitoring-" in a.name]


# alarm -> how its threshold derives from the typed config
DERIVATIONS = {
    "db-cpu": lambda c: c.monitoring.cpu_percent,
    "db-free-storage": lambda c: c.database.allocated_storage_gb * GIB * c.monitoring.free_storage_percent // 100,
    "db-connections": lambda c: c.monitoring.database_connections,
    "db-slot-lag": lambda c: c.monitoring.replication_lag_seconds * c.monitoring.wal_bytes_per_second,
    "db-slot-wal": lambda c: c.database.max_slot_wal_keep_size_gb * 1024 * MIB * c.monitoring.slot_wal_alarm_percent // 100,
    "db-wal-disk": lambda c: c.database.max_slot_wal_keep_size_gb * 1024 * MIB * c.monitoring.slot_wal_alarm_percent // 100,
    "cache-cpu-1": lambda c: c.monitoring.cache_cpu_percent,
    "cache-memory-2": lambda c: c.monitoring.cache_memory_percent,
    "cache-replication-lag-3": lambda c: c.monitoring.cache_replication_lag_seconds,
    "alb-target-5xx": lambda c: c.monitoring.http_5xx_per_minute,
    "alb-elb-5xx": lambda c: c.monitoring.http_5xx_per_minute,
    "alb-latency-p95": lambda c: c.monitoring.latency_p95_ms / 1000,
    "dead-letters": lambda c: c.monitoring.dead_letter_messages,
    "kafka-disk-2": lambda c: c.monitoring.kafka_disk_percent,
}

# alarm -> (namespace, metric, statistic or percentile, dimension names)
METRICS = {
    "db-cpu": ("AWS/RDS", "CPUUtilization", "Average", {"DBInstanceIdentifier"}),
    "db-free-storage": ("AWS/RDS", "FreeStorageSpace", "Minimum", {"DBInstanceIdentifier"}),
    "db-connections": ("AWS/RDS", "DatabaseConnections", "Maximum", {"DBInstanceIdentifier"}),
    "db-slot-lag": ("AWS/RDS", "OldestReplicationSlotLag", "Maximum", {"DBInstanceIdentifier"}),
    "db-slot-wal": ("AWS/RDS", "ReplicationSlotDiskUsage", "Maximum", {"DBInstanceIdentifier"}),
    "db-wal-disk": ("AWS/RDS", "TransactionLogsDiskUsage", "Maximum", {"DBInstanceIdentifier"}),
    "cache-cpu-1": ("AWS/ElastiCache", "EngineCPUUtilization", "Average", {"CacheClusterId"}),
    "cache-memory-1": ("AWS/ElastiCache", "DatabaseMemoryUsagePercentage", "Maximum", {"CacheClusterId"}),
    "cache-replication-lag-1": ("AWS/ElastiCache", "ReplicationLag", "Maximum", {"CacheClusterId"}),
    "alb-target-5xx": ("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "Sum", {"LoadBalancer"}),
    "alb-elb-5xx": ("AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", "Sum", {"LoadBalancer"}),
    "alb-unhealthy-hosts": ("AWS/ApplicationELB", "UnHealthyHostCount", "Maximum", {"LoadBalancer", "TargetGroup"}),
    "alb-latency-p95": ("AWS/ApplicationELB", "TargetResponseTime", "p95", {"LoadBalancer"}),
    "dead-letters": ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "Maximum", {"QueueName"}),
    "kafka-disk-1": ("AWS/Kafka", "KafkaDataLogsDiskUsed", "Maximum", {"Cluster Name", "Broker ID"}),
}


@pytest.fixture(scope="module")
def shipped_dr(run_once):
    return run_once("aws-dr", WITH_MSK, preview=False), load("aws-dr", stack_config("aws-dr", WITH_MSK))


@pytest.fixture(scope="module")
def changed_dr(run_once):
    return run_once("aws-dr", CHANGED, preview=False), load("aws-dr", stack_config("aws-dr", CHANGED))


def alarm(result, key):
    return result.one(ALARM, PREFIX + key)


@pytest.mark.parametrize("key", sorted(DERIVATIONS))
def test_threshold_derives_from_config(shipped_dr, key):
    result, config = shipped_dr
    assert alarm(result, key)["threshold"] == DERIVATIONS[key](config)


@pytest.mark.parametrize("key", sorted(DERIVATIONS))
def test_threshold_moves_with_its_config_key(shipped_dr, changed_dr, key):
    (before, _), (after, changed) = shipped_dr, changed_dr
    assert alarm(after, key)["threshold"] == DERIVATIONS[key](changed)
    assert alarm(after, key)["threshold"] != alarm(before, key)["threshold"]


@pytest.mark.parametrize("key", sorted(METRICS))
def test_alarm_watches_the_metric_aws_publishes(shipped_dr, key):
    namespace, metric, statistic, dimensions = METRICS[key]
    a = alarm(shipped_dr[0], key)
    assert (a["namespace"], a["metricName"]) == (namespace, metric)
    assert (a.get("extendedStatistic") or a.get("statistic")) == statistic
    assert set(a["dimensions"]) == dimensions


def test_replication_lag_alarm_fires_before_the_rpo_is_spent(shipped_dr):
    result, config = shipped_dr
    a = alarm(result, "db-slot-lag")
    assert a["threshold"] < config.monitoring.rpo_seconds * config.monitoring.wal_bytes_per_second
    assert a["evaluationPeriods"] == 1 and a["treatMissingData"] == "breaching"


def test_slot_wal_alarm_fires_well_before_the_bound(shipped_dr):
    result, config = shipped_dr
    bound = config.database.max_slot_wal_keep_size_gb * 1024 * MIB
    assert alarm(result, "db-slot-wal")["threshold"] <= bound // 2


def test_database_alarms_name_the_rds_instance(shipped_dr):
    result = shipped_dr[0]
    identifier = result.one("aws:rds/instance:Instance")["identifier"]
    alarms = [a for a in monitoring_alarms(result) if a["namespace"] == "AWS/RDS"]
    assert alarms and all(a["dimensions"]["DBInstanceIdentifier"] == identifier for a in alarms)


def test_cache_alarms_cover_each_member_of_the_replication_group(shipped_dr):
    result, config = shipped_dr
    group = result.one("aws:elasticache/replicationGroup:ReplicationGroup")["replicationGroupId"]
    members = sorted(alarm(result, f"cache-memory-{n}")["dimensions"]["CacheClusterId"] for n in range(1, config.redis.nodes + 1))
    assert members == [f"{group}-{n:03d}" for n in range(1, config.redis.nodes + 1)]


def test_cluster_mode_cache_alarms_name_every_shards_members(run_stack):
    from tests.components.aws.test_elasticache_options import CLUSTER  # one run serves both modules

    result = run_stack("aws-dr", CLUSTER, preview=False)
    shards, replicas = CLUSTER["crm:redis"]["shards"], CLUSTER["crm:redis"]["replicasPerShard"]
    group = result.one("aws:elasticache/replicationGroup:ReplicationGroup")["replicationGroupId"]
    memory = [a for a in result.of_type(ALARM) if a.get("metricName") == "DatabaseMemoryUsagePercentage"]
    # Cluster-mode members are <group>-<shard>-<node>: each shard's primary and its replicas.
    members = [f"{group}-{shard:04d}-{node:03d}" for shard in range(1, shards + 1) for node in range(1, replicas + 2)]
    assert len(members) == 9 and sorted(a["dimensions"]["CacheClusterId"] for a in memory) == members
    lag = [a for a in result.of_type(ALARM) if a.get("metricName") == "ReplicationLag" and a["namespace"] == "AWS/ElastiCache"]
    assert sorted(a["dimensions"]["CacheClusterId"] for a in lag) == members


def test_cluster_mode_without_replicas_has_no_replication_lag_alarms(run_stack):
    result = run_stack("aws-dev", {"crm:redis": {"enabled": True, "clusterMode": True, "shards": 3, "replicasPerShard": 0}}, preview=False)
    cpu = [a for a in result.of_type(ALARM) if a.get("metricName") == "EngineCPUUtilization"]
    assert len(cpu) == 3 and all(a["dimensions"]["CacheClusterId"].endswith("-001") for a in cpu)
    assert not [a for a in result.of_type(ALARM) if a.get("metricName") == "ReplicationLag" and a["namespace"] == "AWS/ElastiCache"]


def test_load_balancer_alarms_use_the_arn_suffixes(shipped_dr):
    a = alarm(shipped_dr[0], "alb-unhealthy-hosts")
    balancer, group = (
        shipped_dr[0].one("aws:lb/loadBalancer:LoadBalancer"),
        shipped_dr[0].one("aws:lb/targetGroup:TargetGroup", "crm-dr-ingress-app"),
    )
    assert a["dimensions"] == {"LoadBalancer": provider_value(balancer, "arnSuffix"), "TargetGroup": provider_value(group, "arnSuffix")}


def test_dead_letter_alarm_watches_the_dead_letter_queue(shipped_dr):
    result = shipped_dr[0]
    assert alarm(result, "dead-letters")["dimensions"] == {"QueueName": result.one("aws:sqs/queue:Queue", "crm-dr-tasks-dlq")["name"]}


def test_one_kafka_disk_alarm_per_broker(shipped_dr):
    result = shipped_dr[0]
    brokers = result.one("aws:msk/cluster:Cluster")["numberOfBrokerNodes"]
    ids = sorted(a["dimensions"]["Broker ID"] for a in monitoring_alarms(result) if a.get("metricName") == "KafkaDataLogsDiskUsed")
    assert ids == [str(b) for b in range(1, brokers + 1)]


def test_every_alarm_notifies_the_topic_on_alarm_and_recovery(shipped_dr):
    result = shipped_dr[0]
    topic = result.one("aws:sns/topic:Topic", "crm-dr-monitoring-alarms")["name"]
    for a in monitoring_alarms(result):
        assert [arn.rsplit(":", 1)[1] for arn in a["alarmActions"]] == [topic]
        assert a["okActions"] == a["alarmActions"]


def test_topic_is_encrypted_with_a_key_cloudwatch_and_budgets_may_use(shipped_dr):
    result = shipped_dr[0]
    key = result.one("aws:kms/key:Key", "crm-dr-monitoring-alarms")
    assert result.one("aws:sns/topic:Topic", "crm-dr-monitoring-alarms")["kmsMasterKeyId"] == key.output("arn")
    statements = {s["Sid"]: s for s in json.loads(key["policy"])["Statement"]}
    assert statements["CloudWatchPublishes"]["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert statements["BudgetsPublish"]["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    assert all(s["Action"] == ["kms:Decrypt", "kms:GenerateDataKey*"] for sid, s in statements.items() if sid != "AccountAdministers")
    assert key.protect


def test_subscribers_come_from_config(changed_dr):
    result, config = changed_dr
    subscriptions = result.of_type("aws:sns/topicSubscription:TopicSubscription")
    assert sorted(s["endpoint"] for s in subscriptions if s["protocol"] == "email") == sorted(config.monitoring.emails)


def test_budget_alerts_at_the_configured_percentages_of_the_monthly_amount(changed_dr):
    result, config = changed_dr
    budget = result.one("aws:budgets/budget:Budget")
    assert (budget["budgetType"], budget["timeUnit"], float(budget["limitAmount"])) == (
        "COST",
        "MONTHLY",
        config.common.budget.monthly_usd,
    )
    actual = sorted(n["threshold"] for n in budget["notifications"] if n["notificationType"] == "ACTUAL")
    assert actual == config.common.budget.alert_percents
    assert budget["costFilters"] == [{"name": "TagKeyValue", "values": ["user:environment$dr"]}]


def test_dashboard_graphs_every_alarm_with_its_threshold(shipped_dr):
    result = shipped_dr[0]
    body = json.loads(result.one("aws:cloudwatch/dashboard:Dashboard")["dashboardBody"])
    by_title = {w["properties"]["title"]: w["properties"] for w in body["widgets"]}
    alarms = {a.name.removeprefix(PREFIX): a for a in monitoring_alarms(result)}
    assert set(by_title) == set(alarms)
    latency = by_title["alb-latency-p95"]
    assert latency["metrics"][0][:2] == ["AWS/ApplicationELB", "TargetResponseTime"] and latency["stat"] == "p95"
    assert latency["annotations"]["horizontal"][0]["value"] == alarms["alb-latency-p95"]["threshold"]


@pytest.mark.parametrize("stack", ["aws-dev", "aws-staging", "aws-production"])
def test_every_aws_environment_has_alarms_a_topic_and_a_budget(shipped, stack):
    result = shipped(stack)
    assert result.of_type("aws:sns/topicSubscription:TopicSubscription")
    assert result.of_type("aws:budgets/budget:Budget") and result.of_type("aws:cloudwatch/dashboard:Dashboard")
    assert {"alb-latency-p95", "dead-letters"} <= {a.name.split("-monitoring-", 1)[1] for a in monitoring_alarms(result)}


def test_no_slot_alarms_without_logical_replication(shipped):
    names = {a.name for a in shipped("aws-production").of_type(ALARM)}
    assert "crm-production-monitoring-db-cpu" in names and not {n for n in names if "slot" in n}


@pytest.mark.parametrize("stack", ["aws-staging", "aws-production"])
def test_each_environment_alarms_at_its_own_rows_thresholds(shipped, stack):
    config = load(stack, stack_config(stack))
    result = shipped(stack)
    prefix = f"{config.common.name_prefix}-monitoring-"
    assert result.one(ALARM, prefix + "db-connections")["threshold"] == config.monitoring.database_connections
    assert (
        result.one(ALARM, prefix + "db-free-storage")["threshold"]
        == config.database.allocated_storage_gb * GIB * config.monitoring.free_storage_percent // 100
    )
    assert float(result.one("aws:budgets/budget:Budget")["limitAmount"]) == config.common.budget.monthly_usd


def test_only_the_topic_key_is_protected_and_only_outside_dev(shipped):
    for stack, protected in (("aws-staging", True), ("aws-dev", False)):
        children = [
            r for r in shipped(stack).resources if r.parent.endswith("crm:aws:Monitoring::" + stack.replace("aws", "crm") + "-monitoring")
        ]
        assert {r.type for r in children if r.protect} == ({"aws:kms/key:Key"} if protected else set())
        assert any(r.type == ALARM for r in children)


def test_an_invalidated_replication_slot_raises_an_alarm_from_the_rds_log(shipped):
    from components.aws.monitoring import SLOT_INVALIDATED_METRIC

    result = shipped("aws-dr", preview=False)
    instance = result.one("aws:rds/instance:Instance")
    [log_filter] = result.of_type("aws:cloudwatch/logMetricFilter:LogMetricFilter")
    groups = [g["name"] for g in result.of_type("aws:cloudwatch/logGroup:LogGroup")]
    assert log_filter["logGroupName"] == f"/aws/rds/instance/{instance.output('identifier')}/postgresql" in groups
    # PostgreSQL 15's own words when max_slot_wal_keep_size invalidates a slot (the drill checks them in a real log).
    assert '"invalidating slot"' in log_filter["pattern"]
    [alarm] = [a for a in result.of_type("aws:cloudwatch/metricAlarm:MetricAlarm") if a.get("metricName") == SLOT_INVALIDATED_METRIC]
    assert (alarm["namespace"], alarm["comparisonOperator"], alarm["threshold"]) == (
        log_filter["metricTransformation"]["namespace"],
        "GreaterThanThreshold",
        0,
    )
    assert "python -m dr setup --reseed" in alarm["alarmDescription"]
