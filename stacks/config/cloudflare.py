"""Parses and validates the config of the global stack (`crm:cloud: cloudflare`)."""

from __future__ import annotations

from typing import Optional

from components.cloudflare.health import HealthCheck

from . import model
from .reader import Problems
from .rules import CHECK_REGIONS  # noqa: F401  (its home before the schema)
from .schema import Context, Parsed, Unavailable, read

API_TOKEN_KEY = "cloudflare:apiToken"


def health_check(monitor: model.HealthMonitor) -> HealthCheck:
    return HealthCheck(
        path=monitor.path,
        port=monitor.port,
        expected_codes=monitor.expected_codes,
        interval_seconds=monitor.interval_seconds,
        retries=monitor.retries,
        timeout_seconds=monitor.timeout_seconds,
        consecutive_down=monitor.consecutive_down,
    )


def parse(problems: Problems, common: model.Common, raw: dict, context: Context) -> Optional[model.GlobalStackConfig]:
    balancer = read(problems, "crm:loadBalancer", raw.get("crm:loadBalancer"), model.LoadBalancerSettings, context)
    with problems.relation():
        if balancer.steering == "random" and not any(weight for _, weight in balancer.pool_weights):
            problems.add("crm:loadBalancer.poolWeights", "at least one cloud needs a weight above 0 when steering is random")
    with problems.relation():
        monitor = balancer.monitor
        if monitor.timeout_seconds * (monitor.retries + 1) >= monitor.interval_seconds:
            problems.add(
                "crm:loadBalancer.monitor.timeoutSeconds",
                f"timeoutSeconds x (retries + 1) = {monitor.timeout_seconds * (monitor.retries + 1)} s must be shorter than intervalSeconds ({monitor.interval_seconds} s), or checks overlap",
            )
        worst = health_check(monitor).detection_seconds
        if worst > balancer.rto_budget_seconds:
            problems.add(
                "crm:loadBalancer.monitor",
                f"worst-case detection is {worst} s (consecutiveDown {monitor.consecutive_down} x intervalSeconds {monitor.interval_seconds}"
                f" + (retries {monitor.retries} + 1) x timeoutSeconds {monitor.timeout_seconds}), over crm:loadBalancer.detectionBudgetSeconds ({balancer.rto_budget_seconds} s)",
            )
    try:
        return model.GlobalStackConfig(common, balancer.build())
    except Unavailable:
        return None


def parse_dns(problems: Problems, common: model.Common, raw: dict, context: Context) -> Parsed:
    """`crm:dns` of a cloud stack: the zone its records go into and the proxied name of its origin.

    The API token is the secret `cloudflare:apiToken` of the same stack (`pulumi config set --secret`);
    without it the Cloudflare provider reads CLOUDFLARE_API_TOKEN from the environment.
    """
    dns = read(problems, "crm:dns", raw.get("crm:dns"), model.Dns, context)
    with problems.relation():
        if dns.origin_host and dns.origin_host == common.public_host:
            problems.add("crm:dns.originHost", "must differ from crm:publicHost, which the global stack's load balancer owns")
    return dns
