"""Rules for the Cloudflare global load balancer."""
from __future__ import annotations

from pulumi_policy import Severity

from components.cloudflare.health import HealthCheck

from .base import MANDATORY, Resource, Rule, is_set

MONITOR = "cloudflare:index/loadBalancerMonitor:LoadBalancerMonitor"
POOL = "cloudflare:index/loadBalancerPool:LoadBalancerPool"
BALANCER = "cloudflare:index/loadBalancer:LoadBalancer"
DETECTION_BUDGET_SECONDS = 120  # the RTO share detection may take (GCP-lost target: 2 min)


def detection(r: Resource):
    check = HealthCheck(
        interval_seconds=r.get("interval", 60), retries=r.get("retries", 2), timeout_seconds=r.get("timeout", 5), consecutive_down=r.get("consecutiveDown", 1),
    )
    if check.detection_seconds > DETECTION_BUDGET_SECONDS:
        yield (f"worst-case detection {check.detection_seconds} s (consecutiveDown x interval + (retries + 1) x timeout) exceeds the "
               f"{DETECTION_BUDGET_SECONDS} s budget")


RULES = [
    Rule("cloudflare-lb-proxied", "The global load balancer is proxied (origins hidden, TLS at the edge)", Severity.HIGH, MANDATORY, "fails closed (provider default DNS-only)",
         (BALANCER,), lambda r: [] if r.get("proxied") is True else ["proxied must be true"]),
    Rule("cloudflare-pool-monitored", "Every pool has a health monitor", Severity.HIGH, MANDATORY, "fails closed (an unmonitored pool never fails over)",
         (POOL,), lambda r: [] if is_set(r.get("monitor")) else ["monitor must be set"]),
    Rule("cloudflare-detection-budget", "Health checks detect a dead origin within the RTO budget", Severity.HIGH, MANDATORY,
         "Cloudflare's defaults (60 s interval, 2 retries, 5 s timeout, 1 failure)", (MONITOR,), detection),
]
