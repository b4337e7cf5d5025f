"""The availability and latency objectives at the GCP load balancer: Cloud Monitoring SLOs with burn-rate alert policies."""

from __future__ import annotations

import re

import pytest

from components.gcp.slo import GcpSloArgs, backend_filter
from components.slo import BURN_WINDOWS, Objectives
from stacks.config import load
from tests.components.gcp.test_monitoring import CHANGED
from tests.conftest import stack_config

# These tests read the monitoring tests' gcp-dr run: on their worker, so that no two compute the same run at once.
pytestmark = pytest.mark.xdist_group("gcp-dr-monitoring")

SLO, POLICY, SERVICE = "gcp:monitoring/slo:Slo", "gcp:monitoring/alertPolicy:AlertPolicy", "gcp:monitoring/customService:CustomService"


@pytest.fixture
def dr(shipped):
    return shipped("gcp-dr", preview=False)


def test_both_objectives_live_on_one_service_over_thirty_days(dr):
    service = dr.one(SERVICE)
    slos = {s["sloId"]: s for s in dr.of_type(SLO)}
    assert set(slos) == {"availability", "latency"}
    assert all(s["service"] == service["serviceId"] and s["rollingPeriodDays"] == 30 for s in slos.values())


def test_goals_come_from_crm_monitoring(dr, run_stack):
    config = load("gcp-dr", stack_config("gcp-dr"))
    slos = {s["sloId"]: s for s in dr.of_type(SLO)}
    assert slos["availability"]["goal"] == pytest.approx(config.monitoring.availability_percent / 100)
    assert slos["latency"]["goal"] == 0.95
    assert slos["latency"]["requestBasedSli"]["distributionCut"]["range"] == {"max": config.monitoring.latency_p95_ms}
    changed = run_stack("gcp-dr", CHANGED, preview=False)  # the monitoring tests' run: availabilityPercent 99.5, latencyP95Ms 300
    slos = {s["sloId"]: s for s in changed.of_type(SLO)}
    assert slos["availability"]["goal"] == pytest.approx(0.995)
    assert slos["latency"]["requestBasedSli"]["distributionCut"]["range"] == {"max": 300}


def test_the_slis_select_the_gateway_backend_of_the_application_service(dr):
    service = dr.one("kubernetes:core/v1:Service")
    wanted = f'has_substring("-{service["metadata"]["namespace"]}-{service["metadata"]["name"]}-{service["spec"]["ports"][0]["port"]}-")'
    slos = {s["sloId"]: s for s in dr.of_type(SLO)}
    ratio = slos["availability"]["requestBasedSli"]["goodTotalRatio"]
    assert 'metric.type="loadbalancing.googleapis.com/https/request_count"' in ratio["totalServiceFilter"]
    assert ratio["badServiceFilter"].endswith("metric.label.response_code_class=500")
    latency = slos["latency"]["requestBasedSli"]["distributionCut"]["distributionFilter"]
    assert 'metric.type="loadbalancing.googleapis.com/https/backend_latencies"' in latency
    for text in (ratio["totalServiceFilter"], ratio["badServiceFilter"], latency):
        assert 'resource.type="https_lb_rule"' in text and wanted in text


def test_each_slo_has_a_fast_and_a_slow_burn_policy_on_both_windows(dr):
    slos = {s["sloId"]: s for s in dr.of_type(SLO)}
    for objective, slo in slos.items():
        for window in BURN_WINDOWS:
            policy = dr.one(POLICY, f"crm-dr-slo-{objective}-{window.name}")
            assert policy["combiner"] == "AND" and policy["notificationChannels"]
            lookbacks = []
            for condition in policy["conditions"]:
                threshold = condition["conditionThreshold"]
                found = re.fullmatch(r'select_slo_burn_rate\("([^"]+)", "(\d+)s"\)', threshold["filter"])
                assert found and found.group(1) == slo.output("name")
                assert threshold["thresholdValue"] == window.burn_rate and threshold["comparison"] == "COMPARISON_GT"
                lookbacks.append(int(found.group(2)))
            assert lookbacks == [window.long_seconds, window.short_seconds]


def test_the_policies_notify_the_stacks_channels(dr):
    channels = sorted(c.output("id") for c in dr.of_type("gcp:monitoring/notificationChannel:NotificationChannel"))
    policies = [p for p in dr.of_type(POLICY) if p.name.startswith("crm-dr-slo-")]
    assert len(policies) == 4 and all(sorted(p["notificationChannels"]) == channels for p in policies)


def test_a_filter_names_namespace_service_and_port():
    assert backend_filter("crm", "crm-app", 8080).endswith('backend_target_name=has_substring("-crm-crm-app-8080-")')


def test_alerts_need_a_channel():
    with pytest.raises(ValueError, match="notification channel"):
        GcpSloArgs("p", Objectives(99.99, 200), "crm", "crm-app", 8080, [], {})
