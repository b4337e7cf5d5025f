"""The availability and latency objectives at the ALB: multiwindow burn-rate alarms whose figures come from crm:monitoring."""

from __future__ import annotations

import re

import pytest

from components.slo import BURN_WINDOWS, Objectives
from stacks.config import load
from tests.components.aws.test_monitoring import CHANGED
from tests.conftest import stack_config

# These tests read the monitoring tests' aws-dr runs: on their worker, so that no two compute the same run at once.
pytestmark = pytest.mark.xdist_group("aws-dr-monitoring")

ALARM, COMPOSITE = "aws:cloudwatch/metricAlarm:MetricAlarm", "aws:cloudwatch/compositeAlarm:CompositeAlarm"
OBJECTIVES = ("availability", "latency")


@pytest.fixture
def dr(shipped):
    return shipped("aws-dr", preview=False)


def inputs_of(result, composite) -> list:
    names = re.findall(r'ALARM\("([^"]+)"\)', composite["alarmRule"])
    return [result.one(ALARM, name) for name in names]


def expression(alarm) -> str:
    return next(q["expression"] for q in alarm["metricQueries"] if q.get("returnData"))


@pytest.mark.parametrize("stack", ["aws-dev", "aws-staging", "aws-production", "aws-dr"])
def test_every_aws_stack_alerts_on_both_objectives_at_both_burn_rates(shipped, stack):
    names = {c.name for c in shipped(stack).of_type(COMPOSITE)}
    prefix = stack.replace("aws", "crm")
    assert names == {f"{prefix}-slo-{o}-{w.name}" for o in OBJECTIVES for w in BURN_WINDOWS}


def test_a_composite_alarm_fires_when_its_long_and_short_window_both_burn(dr):
    for window in BURN_WINDOWS:
        for objective in OBJECTIVES:
            composite = dr.one(COMPOSITE, f"crm-dr-slo-{objective}-{window.name}")
            long, short = inputs_of(dr, composite)
            assert " AND " in composite["alarmRule"]
            periods = [q["metric"]["period"] for q in long["metricQueries"] if "metric" in q]
            assert set(periods) == {window.long_seconds}
            assert {q["metric"]["period"] for q in short["metricQueries"] if "metric" in q} == {window.short_seconds}
            assert long["threshold"] == short["threshold"] == window.burn_rate
            assert long["comparisonOperator"] == "GreaterThanThreshold" and long["treatMissingData"] == "notBreaching"


def test_only_the_composite_alarms_notify(dr):
    topic = dr.one("aws:sns/topic:Topic", "crm-dr-monitoring-alarms").output("arn")
    for composite in dr.of_type(COMPOSITE):
        assert composite["alarmActions"] == [topic] and composite["okActions"] == [topic]
        assert all(not alarm.get("alarmActions") and not alarm.get("okActions") for alarm in inputs_of(dr, composite))


def test_availability_burn_rate_is_5xx_over_requests_over_the_budget_from_config(dr, run_stack):
    config = load("aws-dr", stack_config("aws-dr"))
    budget = Objectives(config.monitoring.availability_percent, config.monitoring.latency_p95_ms).availability_budget
    alarm = dr.one(ALARM, "crm-dr-slo-availability-fast-burn-1h")
    metrics = {q["id"]: q["metric"] for q in alarm["metricQueries"] if "metric" in q}
    assert {m["metricName"] for m in metrics.values()} == {"HTTPCode_Target_5XX_Count", "HTTPCode_ELB_5XX_Count", "RequestCount"}
    assert all(
        m["dimensions"] == {"LoadBalancer": dr.one("aws:lb/loadBalancer:LoadBalancer").output("arnSuffix")} for m in metrics.values()
    )
    assert f"bad / total / {budget:.10g}" in expression(alarm)
    looser = run_stack("aws-dr", CHANGED, preview=False)  # the monitoring tests' run: availabilityPercent 99.9
    assert "bad / total / 0.001," in expression(looser.one(ALARM, "crm-dr-slo-availability-fast-burn-1h"))


def test_latency_burn_rate_reads_the_share_of_requests_within_the_target(dr, run_stack):
    alarm = dr.one(ALARM, "crm-dr-slo-latency-slow-burn-6h")
    [metric] = [q["metric"] for q in alarm["metricQueries"] if "metric" in q]
    assert (metric["metricName"], metric["stat"]) == ("TargetResponseTime", "PR(:0.2)")
    assert expression(alarm) == "(100 - within) / 100 / 0.05"
    faster = run_stack("aws-dr", CHANGED, preview=False)  # the monitoring tests' run: latencyP95Ms 150
    [metric] = [q["metric"] for q in faster.one(ALARM, "crm-dr-slo-latency-slow-burn-6h")["metricQueries"] if "metric" in q]
    assert metric["stat"] == "PR(:0.15)"


def test_the_sla_output_is_the_config_the_game_day_compares_with(shipped):
    config = load("aws-dr", stack_config("aws-dr"))
    sla = shipped("aws-dr").outputs["sla"]
    assert (sla["availabilityPercent"], sla["latencyP95Ms"], sla["rpoSeconds"], sla["rtoSeconds"]) == (
        config.monitoring.availability_percent,
        config.monitoring.latency_p95_ms,
        config.monitoring.rpo_seconds,
        config.monitoring.rto_seconds,
    )
    assert sla["downtimeBudgetSeconds"] == pytest.approx(30 * 86400 * (1 - config.monitoring.availability_percent / 100), abs=0.1)


def test_burn_windows_spend_the_workbooks_shares_of_the_budget():
    assert [round(w.budget_share, 3) for w in BURN_WINDOWS] == [0.02, 0.05]


@pytest.mark.parametrize("percent", [0, 100, 100.5])
def test_objectives_refuse_an_availability_with_no_budget(percent):
    with pytest.raises(ValueError, match="availability_percent"):
        Objectives(percent, 200)


@pytest.mark.parametrize("value", [100, 89.9])
def test_availability_outside_its_range_is_a_config_error(value):
    from tests.stacks.test_config import one_problem

    assert "availabilityPercent" in one_problem(
        "aws-dr", {"crm:monitoring": {"availabilityPercent": value}}, "crm:monitoring.availabilityPercent"
    )
