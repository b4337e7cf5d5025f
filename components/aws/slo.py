"""The availability and latency objectives at the ALB, as multiwindow burn-rate alarms.

The pinned AWS provider has no CloudWatch Application Signals SLO resource, so the objectives of
components/slo.py are computed from the ALB's own metrics with metric math:

- availability: bad = `HTTPCode_Target_5XX_Count` + `HTTPCode_ELB_5XX_Count`; total =
  `RequestCount` + `HTTPCode_ELB_5XX_Count` (RequestCount counts only requests for which the ALB
  chose a target, so the ALB's own 503s are added to both); burn rate = bad / total / budget;
- latency: the percentile rank `PR(:<target s>)` of `TargetResponseTime` is the share of requests
  answered within the target; burn rate = (1 - share) / (1 - 0.95).

For each objective and each window of BURN_WINDOWS, two metric alarms (the long and the short
window, no actions of their own) feed one composite alarm that notifies the alarm topic when both
burn too fast. Missing data (no traffic) is not breaching.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.base import Component
from components.slo import BURN_WINDOWS, BurnWindow, Objectives

NAMESPACE = "AWS/ApplicationELB"


@dataclass
class AwsSloArgs:
    objectives: Objectives
    load_balancer_arn_suffix: pulumi.Input[str]  # the LoadBalancer dimension of the ALB's metrics
    topic_arn: pulumi.Input[str]  # who is told: the stack's alarm topic
    tags: Mapping[str, str]


def _metric(metric_id: str, metric: str, load_balancer: pulumi.Input[str], seconds: int, stat: str) -> dict:
    return {
        "id": metric_id,
        "metric": {
            "namespace": NAMESPACE,
            "metric_name": metric,
            "dimensions": {"LoadBalancer": load_balancer},
            "period": seconds,
            "stat": stat,
        },
        "return_data": False,
    }


def availability_queries(objectives: Objectives, load_balancer: pulumi.Input[str], seconds: int) -> list[Any]:
    """Metric math whose result is the availability budget's burn rate over `seconds`."""
    return [
        _metric("target5xx", "HTTPCode_Target_5XX_Count", load_balancer, seconds, "Sum"),
        _metric("elb5xx", "HTTPCode_ELB_5XX_Count", load_balancer, seconds, "Sum"),
        _metric("requests", "RequestCount", load_balancer, seconds, "Sum"),
        {"id": "bad", "expression": "FILL(target5xx, 0) + FILL(elb5xx, 0)", "return_data": False},
        {"id": "total", "expression": "FILL(requests, 0) + FILL(elb5xx, 0)", "return_data": False},
        {
            "id": "burn",
            "expression": f"IF(total > 0, bad / total / {objectives.availability_budget:.10g}, 0)",
            "label": f"availability burn rate ({objectives.availability_percent:g} % objective)",
            "return_data": True,
        },
    ]


def latency_queries(objectives: Objectives, load_balancer: pulumi.Input[str], seconds: int) -> list[Any]:
    """Metric math whose result is the latency budget's burn rate over `seconds`."""
    target_seconds = objectives.latency_ms / 1000
    return [
        _metric("within", "TargetResponseTime", load_balancer, seconds, f"PR(:{target_seconds:g})"),
        {
            "id": "burn",
            "expression": f"(100 - within) / 100 / {objectives.latency_budget:.10g}",
            "label": f"latency burn rate ({objectives.latency_goal:.0%} within {objectives.latency_ms} ms)",
            "return_data": True,
        },
    ]


QUERIES = {"availability": availability_queries, "latency": latency_queries}


class AwsSlo(Component):
    """Composite burn-rate alarms per objective and window; `alerts`: their names."""

    def __init__(self, name: str, args: AwsSloArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("crm:aws:Slo", name, None, opts)
        self._name, self._args = name, args
        self.alerts: dict[str, aws.cloudwatch.CompositeAlarm] = {}
        self.windows: dict[str, aws.cloudwatch.MetricAlarm] = {}
        for objective in QUERIES:
            for window in BURN_WINDOWS:
                self._burn_alert(objective, window)
        self.alert_names = sorted(self.alerts)
        self.register_outputs({"alerts": self.alert_names})

    def _burn_alert(self, objective: str, window: BurnWindow) -> None:
        args, key = self._args, f"{objective}-{window.name}"
        inputs = [self._window_alarm(objective, window, seconds) for seconds in (window.long_seconds, window.short_seconds)]
        budget = args.objectives.availability_budget if objective == "availability" else args.objectives.latency_budget
        self.alerts[key] = aws.cloudwatch.CompositeAlarm(
            f"{self._name}-{key}",
            alarm_name=f"{self._name}-{key}",
            alarm_rule=" AND ".join(
                f'ALARM("{self._alarm_name(objective, window, s)}")' for s in (window.long_seconds, window.short_seconds)
            ),
            alarm_description=(
                f"the {objective} error budget ({budget * 100:.4g} % of requests over 30 days) burns {window.burn_rate:g}x too fast over "
                f"{_span(window.long_seconds)} and {_span(window.short_seconds)}: {window.budget_share:.0%} of the month's budget "
                "in the long window (docs/operations.md)"
            ),
            alarm_actions=[args.topic_arn],
            ok_actions=[args.topic_arn],
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self, depends_on=inputs),
        )

    def _alarm_name(self, objective: str, window: BurnWindow, seconds: int) -> str:
        return f"{self._name}-{objective}-{window.name}-{_span(seconds)}"

    def _window_alarm(self, objective: str, window: BurnWindow, seconds: int) -> aws.cloudwatch.MetricAlarm:
        args = self._args
        name = self._alarm_name(objective, window, seconds)
        alarm = aws.cloudwatch.MetricAlarm(
            name,
            name=name,
            metric_queries=QUERIES[objective](args.objectives, args.load_balancer_arn_suffix, seconds),
            evaluation_periods=1,
            datapoints_to_alarm=1,
            comparison_operator="GreaterThanThreshold",
            threshold=window.burn_rate,
            treat_missing_data="notBreaching",
            alarm_description=f"input of {self._name}-{objective}-{window.name}: {objective} burn rate over {_span(seconds)}",
            # No actions of its own: it is heard through the composite alarm it feeds, which fires only when both windows burn.
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.windows[name] = alarm
        return alarm


def _span(seconds: int) -> str:
    return f"{seconds // 3600}h" if seconds % 3600 == 0 else f"{seconds // 60}m"
