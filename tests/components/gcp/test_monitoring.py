"""Cloud Monitoring: policies watch the metrics GCP publishes (and the lag CronJob writes), at thresholds config derives."""

from __future__ import annotations

import json

import pytest

from components.gcp.monitoring import LAG_METRIC
from stacks.config import load
from tests.conftest import stack_config
from tests.helpers import provider_value

# These tests, the replication and the SLO tests read the same gcp-dr runs: on one worker, no two compute the same run at once.
pytestmark = pytest.mark.xdist_group("gcp-dr-monitoring")

POLICY = "gcp:monitoring/alertPolicy:AlertPolicy"
CHANGED = {
    "crm:monitoring": {
        "emails": ["dba@acme-corp.io", "noc@acme-corp.io"],
        "cpuPercent": 70,
        "diskPercent": 75,
        "replicationLagSeconds": 3,
        "cacheMemoryPercent": 65,
        "containerRestarts": 9,
        "billingAccount": "01A2B3-C4D5E6-F7A8B9",
        "availabilityPercent": 99.5,  # the SLOs' (tests/components/gcp/test_slo.py reads this run too)
        "latencyP95Ms": 300,
    },
    "crm:budget": {"monthlyUsd": 19999, "alertPercents": [50, 90]},
}
# policy -> (metric type, resource type, threshold from config)
POLICIES = {
    "sql-cpu": ("cloudsql.googleapis.com/database/cpu/utilization", "cloudsql_database", lambda c: c.monitoring.cpu_percent / 100),
    "sql-disk": ("cloudsql.googleapis.com/database/disk/utilization", "cloudsql_database", lambda c: c.monitoring.disk_percent / 100),
    "replication-lag": (LAG_METRIC, "global", lambda c: c.monitoring.replication_lag_seconds),
    "redis-memory": ("redis.googleapis.com/stats/memory/usage_ratio", "redis_instance", lambda c: c.monitoring.cache_memory_percent / 100),
    "gke-restarts": ("kubernetes.io/container/restart_count", "k8s_container", lambda c: c.monitoring.container_restarts),
    "gke-node-cpu": ("kubernetes.io/node/cpu/allocatable_utilization", "k8s_node", lambda c: c.monitoring.cpu_percent / 100),
}


@pytest.fixture(scope="module")
def shipped_dr(run_once):
    return run_once("gcp-dr", preview=False), load("gcp-dr", stack_config("gcp-dr"))


@pytest.fixture(scope="module")
def changed_dr(run_once):
    return run_once("gcp-dr", CHANGED, preview=False), load("gcp-dr", stack_config("gcp-dr", CHANGED))


def condition(result, key):
    return result.one(POLICY, f"crm-dr-monitoring-{key}")["conditions"][0]["conditionThreshold"]


@pytest.mark.parametrize("key", sorted(POLICIES))
def test_policy_watches_the_published_metric(shipped_dr, key):
    metric, resource, _ = POLICIES[key]
    assert f'metric.type="{metric}"' in condition(shipped_dr[0], key)["filter"]
    assert f'resource.type="{resource}"' in condition(shipped_dr[0], key)["filter"]


@pytest.mark.parametrize("key", sorted(POLICIES))
def test_threshold_derives_from_config(shipped_dr, key):
    result, config = shipped_dr
    assert condition(result, key)["thresholdValue"] == POLICIES[key][2](config)


@pytest.mark.parametrize("key", sorted(POLICIES))
def test_threshold_moves_with_its_config_key(shipped_dr, changed_dr, key):
    (before, _), (after, changed) = shipped_dr, changed_dr
    assert condition(after, key)["thresholdValue"] == POLICIES[key][2](changed)
    assert condition(after, key)["thresholdValue"] != condition(before, key)["thresholdValue"]


def test_lag_alert_fires_on_the_first_sample_over_a_threshold_below_the_rpo(shipped_dr):
    result, config = shipped_dr
    lag = condition(result, "replication-lag")
    assert lag["comparison"] == "COMPARISON_GT" and lag["duration"] == "0s"
    assert lag["thresholdValue"] < config.monitoring.rpo_seconds


def test_lag_metric_is_declared_before_its_policies(shipped_dr):
    result = shipped_dr[0]
    descriptor = result.one("gcp:monitoring/metricDescriptor:MetricDescriptor")
    assert (descriptor["type"], descriptor["metricKind"], descriptor["valueType"]) == (LAG_METRIC, "GAUGE", "DOUBLE")
    for key in ("replication-lag", "replication-lag-unmeasured"):
        assert descriptor.urn in result.one(POLICY, f"crm-dr-monitoring-{key}").dependencies


def test_missing_lag_samples_alert_too(shipped_dr):
    absent = shipped_dr[0].one(POLICY, "crm-dr-monitoring-replication-lag-unmeasured")["conditions"][0]["conditionAbsent"]
    assert f'metric.type="{LAG_METRIC}"' in absent["filter"] and absent["duration"] == "300s"


def test_database_policies_name_the_cloud_sql_instance(shipped_dr):
    result, config = shipped_dr
    instance = result.one("gcp:sql/databaseInstance:DatabaseInstance")["name"]
    assert f'resource.label.database_id="{config.project_id}:{instance}"' in condition(result, "sql-cpu")["filter"]


def test_one_policy_per_tunnel_and_per_bgp_session(shipped_dr):
    result = shipped_dr[0]
    tunnels = sorted(t["name"] for t in result.of_type("gcp:compute/vPNTunnel:VPNTunnel"))
    peers = sorted(p["name"] for p in result.of_type("gcp:compute/routerPeer:RouterPeer"))
    watched = [condition(result, f"vpn-tunnel-{i}")["filter"] for i in range(len(tunnels))]
    sessions = [condition(result, f"bgp-session-{i}")["filter"] for i in range(len(peers))]
    assert len(tunnels) == len(peers) == 4  # the HA VPN link: two interfaces, two AWS tunnels each
    assert all('metric.type="vpn.googleapis.com/tunnel_established"' in f for f in watched)
    assert sorted(f.split('metric.label.tunnel_name="')[1].rstrip('"') for f in watched) == tunnels
    assert all('metric.type="router.googleapis.com/bgp/session_up"' in f for f in sessions)
    assert sorted(f.split('metric.label.bgp_peer_name="')[1].rstrip('"') for f in sessions) == peers


def test_every_policy_notifies_every_channel(changed_dr):
    result, config = changed_dr
    channels = result.of_type("gcp:monitoring/notificationChannel:NotificationChannel")
    assert sorted(c["labels"]["email_address"] for c in channels) == sorted(config.monitoring.emails)
    for policy in result.of_type(POLICY):
        assert sorted(policy["notificationChannels"]) == sorted(f"{c.name}-id" for c in channels)


def test_uptime_check_requests_the_public_health_path_over_https(shipped_dr):
    result, config = shipped_dr
    check = result.one("gcp:monitoring/uptimeCheckConfig:UptimeCheckConfig")
    assert check["monitoredResource"] == {
        "type": "uptime_url",
        "labels": {"host": config.common.public_host, "project_id": config.project_id},
    }
    assert (check["httpCheck"]["path"], check["httpCheck"]["port"], check["httpCheck"]["useSsl"], check["httpCheck"]["validateSsl"]) == (
        "/health",
        443,
        True,
        True,
    )
    assert f'metric.label.check_id="{check.name}-check"' in condition(result, "uptime")["filter"]


def test_billing_budget_uses_the_configured_account_amount_and_percentages(changed_dr):
    result, config = changed_dr
    budget = result.one("gcp:billing/budget:Budget")
    assert budget["billingAccount"] == config.monitoring.billing_account
    assert budget["amount"]["specifiedAmount"] == {"currencyCode": "USD", "units": str(config.common.budget.monthly_usd)}
    current = [r["thresholdPercent"] * 100 for r in budget["thresholdRules"] if r["spendBasis"] == "CURRENT_SPEND"]
    assert current == config.common.budget.alert_percents
    assert budget["budgetFilter"]["projects"] == ["projects/123456789012"]


def test_dashboard_charts_every_threshold_policy(shipped_dr):
    result = shipped_dr[0]
    tiles = json.loads(result.one("gcp:monitoring/dashboard:Dashboard")["dashboardJson"])["mosaicLayout"]["tiles"]
    filters = {t["widget"]["xyChart"]["dataSets"][0]["timeSeriesQuery"]["timeSeriesFilter"]["filter"] for t in tiles}
    policies = {
        p["conditions"][0]["conditionThreshold"]["filter"]
        for p in result.of_type(POLICY)
        if "conditionThreshold" in p["conditions"][0]
        and "-monitoring-" in p.name  # the SLOs' burn-rate policies: tests/components/gcp/test_slo.py
    }
    assert filters == policies


@pytest.mark.parametrize("stack", ["gcp-dev", "gcp-staging", "gcp-production"])
def test_every_gcp_environment_has_channels_policies_a_dashboard_an_uptime_check_and_a_budget(shipped, stack):
    result = shipped(stack)
    for type_ in (
        "gcp:monitoring/notificationChannel:NotificationChannel",
        POLICY,
        "gcp:monitoring/dashboard:Dashboard",
        "gcp:monitoring/uptimeCheckConfig:UptimeCheckConfig",
        "gcp:billing/budget:Budget",
    ):
        assert result.of_type(type_), type_


def test_no_lag_or_vpn_policies_without_the_link(shipped):
    names = {p.name for p in shipped("gcp-production").of_type(POLICY)}
    assert "crm-production-monitoring-sql-cpu" in names
    assert not {n for n in names if "lag" in n or "vpn" in n or "bgp" in n}


def test_tunnel_alarms_are_raised_in_aws_through_the_links_provider(shipped_dr):
    result = shipped_dr[0]
    alarms = result.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
    connections = {c.name: c for c in result.of_type("aws:ec2/vpnConnection:VpnConnection")}
    assert len(alarms) == 2 * len(connections) == 4
    assert all("::crm-dr-link-aws::" in a.provider for a in alarms)
    assert sorted((a["dimensions"]["VpnId"], a["metricName"], a["namespace"]) for a in alarms) == sorted(
        (f"{name}-id", "TunnelState", "AWS/VPN") for name in connections for _ in (1, 2)
    )
    assert sorted(a["dimensions"]["TunnelIpAddress"] for a in alarms) == sorted(
        provider_value(c, f"tunnel{n}Address") for c in connections.values() for n in (1, 2)
    )
    assert all(a["comparisonOperator"] == "LessThanThreshold" and a["threshold"] == 1 for a in alarms)


def test_tunnel_alarms_report_to_the_aws_stacks_alarm_topic(shipped_dr, shipped):
    aws_topic = shipped("aws-dr", preview=False).outputs["alarmTopicArn"]
    assert {tuple(a["alarmActions"]) for a in shipped_dr[0].of_type("aws:cloudwatch/metricAlarm:MetricAlarm")} == {(aws_topic,)}


def test_a_lost_replication_slot_raises_a_policy_from_cloud_sqls_log(shipped):
    result = shipped("gcp-dr", preview=False)
    [metric] = result.of_type("gcp:logging/metric:Metric")
    instance = result.one("gcp:sql/databaseInstance:DatabaseInstance")
    assert f'resource.labels.database_id="{instance["project"]}:{instance["name"]}"' in metric["filter"]
    # PostgreSQL 15's words on the subscriber (the drill finds them in a real server's log)
    assert 'textPayload:"cannot read from logical replication slot"' in metric["filter"]
    [policy] = [p for p in result.of_type("gcp:monitoring/alertPolicy:AlertPolicy") if f"user/{metric['name']}" in str(p["conditions"])]
    assert "--reseed" in policy["displayName"]


def test_no_slot_policy_without_replication(shipped):
    assert shipped("gcp-production").of_type("gcp:logging/metric:Metric") == []
