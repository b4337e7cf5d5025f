"""The availability and latency objectives at the GCP load balancer, as Cloud Monitoring SLOs.

The external HTTPS load balancer is built by GKE's Gateway controller from the stack's
`AppGateway` (components/gcp/gateway.py). Its metrics carry the `https_lb_rule` resource; the
controller names the backend service `gkegw1-<hash>-<namespace>-<service>-<port>-<hash>`, so the
SLIs select this application's backend by that middle part:

- availability (request-based, good/total ratio): `loadbalancing.googleapis.com/https/request_count`,
  bad = `response_code_class` 500;
- latency (request-based, distribution cut): `loadbalancing.googleapis.com/https/backend_latencies`
  (ms, the backend's answer time as the ALB's TargetResponseTime is on AWS) within the target.

Both live on one custom service. For each SLO and each window of BURN_WINDOWS an alert policy
fires when `select_slo_burn_rate` exceeds the window's burn rate over the long *and* the short
lookback (combiner AND).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from components.base import Component
from components.slo import BURN_WINDOWS, PERIOD_DAYS, BurnWindow, Objectives

REQUESTS = "loadbalancing.googleapis.com/https/request_count"
LATENCIES = "loadbalancing.googleapis.com/https/backend_latencies"
RESOURCE = "https_lb_rule"


@dataclass
class GcpSloArgs:
    project: str
    objectives: Objectives
    namespace: str  # the application's namespace, service and port: what the Gateway's backend is named after
    service_name: str
    service_port: int
    notification_channels: Sequence[pulumi.Input[str]]
    labels: Mapping[str, str]

    def __post_init__(self) -> None:
        if not self.notification_channels:
            raise ValueError("GcpSloArgs: the burn-rate alerts need at least one notification channel")


def backend_filter(namespace: str, service_name: str, service_port: int) -> str:
    """The load balancer metrics of the Gateway backend in front of this Service."""
    return f'resource.type="{RESOURCE}" AND resource.label.backend_target_name=has_substring("-{namespace}-{service_name}-{service_port}-")'


def burn_rate_filter(slo_name: str, seconds: int) -> str:
    return f'select_slo_burn_rate("{slo_name}", "{seconds}s")'


class GcpSlo(Component):
    """`slos`: objective -> Slo; `policies`: "<objective>-<window>" -> its burn-rate alert policy."""

    def __init__(self, name: str, args: GcpSloArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("crm:gcp:Slo", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        objectives, labels = args.objectives, dict(args.labels)
        backend = backend_filter(args.namespace, args.service_name, args.service_port)
        self.service = gcp.monitoring.CustomService(
            f"{name}-service",
            project=args.project,
            service_id=name,
            display_name=f"{name}: the application behind the GKE Gateway",
            user_labels=labels,
            opts=child,
        )
        self.slos = {
            "availability": gcp.monitoring.Slo(
                f"{name}-availability",
                project=args.project,
                service=self.service.service_id,
                slo_id="availability",
                display_name=f"{objectives.availability_percent:g} % of requests without a 5xx, rolling {PERIOD_DAYS} days",
                goal=objectives.availability,
                rolling_period_days=PERIOD_DAYS,
                request_based_sli={
                    "good_total_ratio": {
                        "total_service_filter": f'metric.type="{REQUESTS}" AND {backend}',
                        "bad_service_filter": f'metric.type="{REQUESTS}" AND {backend} AND metric.label.response_code_class=500',
                    }
                },
                user_labels=labels,
                opts=child,
            ),
            "latency": gcp.monitoring.Slo(
                f"{name}-latency",
                project=args.project,
                service=self.service.service_id,
                slo_id="latency",
                display_name=f"{objectives.latency_goal:.0%} of requests within {objectives.latency_ms} ms, rolling {PERIOD_DAYS} days",
                goal=objectives.latency_goal,
                rolling_period_days=PERIOD_DAYS,
                request_based_sli={
                    "distribution_cut": {
                        "distribution_filter": f'metric.type="{LATENCIES}" AND {backend}',
                        "range": {"max": float(objectives.latency_ms)},
                    }
                },
                user_labels=labels,
                opts=child,
            ),
        }
        self.policies: dict[str, gcp.monitoring.AlertPolicy] = {}
        for objective, slo in self.slos.items():
            for window in BURN_WINDOWS:
                self.policies[f"{objective}-{window.name}"] = self._burn_policy(name, args, objective, slo, window)
        self.register_outputs({"service": self.service.service_id, "policies": sorted(self.policies)})

    def _burn_policy(self, name: str, args: GcpSloArgs, objective: str, slo: gcp.monitoring.Slo, window: BurnWindow):
        return gcp.monitoring.AlertPolicy(
            f"{name}-{objective}-{window.name}",
            project=args.project,
            display_name=f"{name}: {objective} budget burning {window.burn_rate:g}x",
            combiner="AND",
            notification_channels=list(args.notification_channels),
            conditions=[
                {
                    "display_name": f"{objective} burn rate over {seconds}s above {window.burn_rate:g}",
                    "condition_threshold": {
                        "filter": slo.name.apply(lambda n, s=seconds: burn_rate_filter(n, s)),
                        "comparison": "COMPARISON_GT",
                        "threshold_value": window.burn_rate,
                        "duration": "0s",
                    },
                }
                for seconds in (window.long_seconds, window.short_seconds)
            ],
            documentation={
                "content": (
                    f"The {objective} objective's error budget burns {window.burn_rate:g} times faster than it can last over "
                    f"the last {window.long_seconds // 60} minutes and the last {window.short_seconds // 60}: "
                    f"{window.budget_share:.0%} of the month's budget is gone in the long window. See docs/operations.md."
                ),
                "mime_type": "text/markdown",
            },
            user_labels=dict(args.labels),
            opts=pulumi.ResourceOptions(parent=self),
        )
