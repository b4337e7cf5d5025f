from __future__ import annotations

import pytest

from components.cloudflare.health import HealthCheck
from components.cloudflare.load_balancer import GlobalLoadBalancer, GlobalLoadBalancerArgs, Origin


def lb_args(**changes) -> GlobalLoadBalancerArgs:
    values = dict(
        account_id="a" * 32,
        zone_id="z" * 32,
        hostname="crm.example.com",
        primary=Origin("aws", "alb.example.com"),
        secondary=Origin("gcp", "198.51.100.80"),
        notification_email="oncall@example.com",
    )
    values.update(changes)
    return GlobalLoadBalancerArgs(**values)


@pytest.fixture
def lb(run_component):
    return run_component(lambda: GlobalLoadBalancer("g", lb_args()))


def test_https_monitor_on_health_with_the_public_host(lb):
    monitor = lb.one("cloudflare:index/loadBalancerMonitor:LoadBalancerMonitor")
    assert (monitor["type"], monitor["port"], monitor["path"], monitor["expectedCodes"]) == ("https", 443, "/health", "200")
    assert monitor["header"] == {"Host": ["crm.example.com"]}


def test_one_monitored_pool_per_cloud(lb):
    pools = {p["name"]: p for p in lb.of_type("cloudflare:index/loadBalancerPool:LoadBalancerPool")}
    assert pools["g-aws"]["origins"][0]["address"] == "alb.example.com"
    assert pools["g-gcp"]["origins"][0]["address"] == "198.51.100.80"
    assert all(p["monitor"] == "g-monitor-id" for p in pools.values())


def test_proxied_with_cookie_affinity_fallback_and_both_pools(lb):
    balancer = lb.one("cloudflare:index/loadBalancer:LoadBalancer")
    assert balancer["proxied"] is True and balancer["sessionAffinity"] == "cookie" and balancer["sessionAffinityTtl"] == 3600
    assert balancer["defaultPools"] == ["g-aws-id", "g-gcp-id"] and balancer["fallbackPool"] == "g-gcp-id"
    assert balancer["steeringPolicy"] == "dynamic_latency" and balancer["name"] == "crm.example.com"


def test_failover_steering_keeps_aws_first(run_component):
    balancer = run_component(lambda: GlobalLoadBalancer("g", lb_args(steering="failover"))).one(
        "cloudflare:index/loadBalancer:LoadBalancer"
    )
    assert balancer["steeringPolicy"] == "off" and balancer["defaultPools"][0] == "g-aws-id"


def test_email_notification_on_pool_health(lb):
    policy = lb.one("cloudflare:index/notificationPolicy:NotificationPolicy")
    assert policy["alertType"] == "load_balancing_health_alert"
    assert policy["mechanisms"] == {"emails": [{"id": "oncall@example.com"}]}
    assert sorted(policy["filters"]["poolIds"]) == ["g-aws-id", "g-gcp-id"]


@pytest.mark.parametrize(
    "check,seconds",
    [
        (HealthCheck(), 75),  # 1 x 60 + 3 x 5
        (HealthCheck(interval_seconds=60, retries=2, consecutive_down=2), 135),  # the documents' settings, two failures needed
        (HealthCheck(interval_seconds=15, retries=1, timeout_seconds=3, consecutive_down=2), 36),
    ],
)
def test_worst_case_detection_time(check, seconds):
    assert check.detection_seconds == seconds


def test_detection_over_budget_is_refused():
    with pytest.raises(ValueError, match="exceeds the budget of 30 s"):
        lb_args(detection_budget_seconds=30)


def test_global_stack_exports_its_detection_time(shipped):
    outputs = shipped("global").outputs
    assert outputs["detectionSeconds"] == 75 and outputs["detectionBudgetSeconds"] == 120


def test_random_steering_splits_fifty_fifty_by_pool_id(run_component):
    balancer = run_component(lambda: GlobalLoadBalancer("g", lb_args(steering="random"))).one("cloudflare:index/loadBalancer:LoadBalancer")
    assert balancer["steeringPolicy"] == "random"
    assert balancer["randomSteering"] == {"poolWeights": {"g-aws-id": 0.5, "g-gcp-id": 0.5}, "defaultWeight": 0}


def test_random_steering_takes_other_weights(run_component):
    balancer = run_component(lambda: GlobalLoadBalancer("g", lb_args(steering="random", pool_weights={"aws": 70, "gcp": 30}))).one(
        "cloudflare:index/loadBalancer:LoadBalancer"
    )
    assert balancer["randomSteering"]["poolWeights"] == {"g-aws-id": 0.7, "g-gcp-id": 0.3}


def test_latency_steering_sets_no_pool_weights(lb):
    assert "randomSteering" not in lb.one("cloudflare:index/loadBalancer:LoadBalancer").inputs


@pytest.mark.parametrize("weights", [{"aws": 0, "gcp": 0}, {"aws": 50}, {"aws": 150, "gcp": 50}])
def test_random_steering_refuses_unusable_weights(weights):
    with pytest.raises(ValueError, match="random steering"):
        lb_args(steering="random", pool_weights=weights)


def test_global_stack_makes_cloudflare_verify_the_origin_certificates(shipped):
    result = shipped("global")
    setting = result.one("cloudflare:index/zoneSetting:ZoneSetting")
    balancer = result.one("cloudflare:index/loadBalancer:LoadBalancer")
    assert (setting["settingId"], setting["value"]) == ("ssl", "strict")
    assert setting["zoneId"] == balancer["zoneId"]
