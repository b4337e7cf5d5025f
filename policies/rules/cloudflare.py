"""Rules for the Cloudflare global load balancer and the zone in front of the origins."""

from __future__ import annotations

from pulumi_policy import Severity

from components.cloudflare.health import HealthCheck
from components.cloudflare.rulesets import MANAGED_RULESETS, WAF_PHASE

from .base import MANDATORY, UNKNOWN, Resource, Rule, is_set

MONITOR = "cloudflare:index/loadBalancerMonitor:LoadBalancerMonitor"
POOL = "cloudflare:index/loadBalancerPool:LoadBalancerPool"
BALANCER = "cloudflare:index/loadBalancer:LoadBalancer"
RULESET = "cloudflare:index/ruleset:Ruleset"
ZONE_SETTING = "cloudflare:index/zoneSetting:ZoneSetting"
ORIGIN_PULLS = "cloudflare:index/authenticatedOriginPullsSettings:AuthenticatedOriginPullsSettings"
CLOUDFLARE_MANAGED_RULESET = MANAGED_RULESETS["cloudflare-managed"]
DETECTION_BUDGET_SECONDS = 120  # the RTO share detection may take (GCP-lost target: 2 min)


def detection(r: Resource):
    check = HealthCheck(
        interval_seconds=r.get("interval", 60),
        retries=r.get("retries", 2),
        timeout_seconds=r.get("timeout", 5),
        consecutive_down=r.get("consecutiveDown", 1),
    )
    if check.detection_seconds > DETECTION_BUDGET_SECONDS:
        yield (
            f"worst-case detection {check.detection_seconds} s (consecutiveDown x interval + (retries + 1) x timeout) exceeds the "
            f"{DETECTION_BUDGET_SECONDS} s budget"
        )


def _same_zone(a, b) -> bool:
    return a is UNKNOWN or b is UNKNOWN or a == b


def _executes_managed(ruleset: Resource) -> bool:
    if ruleset.get("phase") != WAF_PHASE or ruleset.get("kind") != "zone":
        return False
    return any(
        isinstance(rule, dict)
        and rule.get("action") == "execute"
        and rule.get("enabled", True) is not False
        and (rule.get("actionParameters") or {}).get("id") == CLOUDFLARE_MANAGED_RULESET
        for rule in ruleset.get("rules") or []
    )


def managed_zones(resources):
    """The zones a stack manages: those whose SSL mode it sets (the global stack's StrictOriginTls)."""
    return [r for r in resources if r.type == ZONE_SETTING and r.get("settingId") == "ssl"]


def waf_managed(resources):
    """Every zone the stack manages runs the Cloudflare Managed Ruleset."""
    wafs = [r for r in resources if r.type == RULESET and _executes_managed(r)]
    for zone in managed_zones(resources):
        if not any(_same_zone(zone.get("zoneId", UNKNOWN), waf.get("zoneId", UNKNOWN)) for waf in wafs):
            yield (
                f"zone of {zone.describe()}: no {WAF_PHASE} ruleset executes the Cloudflare Managed Ruleset ({CLOUDFLARE_MANAGED_RULESET})"
            )


def origin_pulls(resources):
    """Every zone the stack manages presents Cloudflare's origin-pull certificate to its origins."""
    enabled = [r for r in resources if r.type == ORIGIN_PULLS and r.get("enabled") is True]
    for zone in managed_zones(resources):
        if not any(_same_zone(zone.get("zoneId", UNKNOWN), s.get("zoneId", UNKNOWN)) for s in enabled):
            yield f"zone of {zone.describe()}: authenticated origin pulls are not enabled (no AuthenticatedOriginPullsSettings with enabled: true)"


RULES = [
    Rule(
        "cloudflare-lb-proxied",
        "The global load balancer is proxied (origins hidden, TLS at the edge)",
        Severity.HIGH,
        MANDATORY,
        "fails closed (provider default DNS-only)",
        (BALANCER,),
        lambda r: [] if r.get("proxied") is True else ["proxied must be true"],
    ),
    Rule(
        "cloudflare-pool-monitored",
        "Every pool has a health monitor",
        Severity.HIGH,
        MANDATORY,
        "fails closed (an unmonitored pool never fails over)",
        (POOL,),
        lambda r: [] if is_set(r.get("monitor")) else ["monitor must be set"],
    ),
    Rule(
        "cloudflare-detection-budget",
        "Health checks detect a dead origin within the RTO budget",
        Severity.HIGH,
        MANDATORY,
        "Cloudflare's defaults (60 s interval, 2 retries, 5 s timeout, 1 failure)",
        (MONITOR,),
        detection,
    ),
    Rule(
        "cloudflare-waf-managed",
        "The zone in front of the origins runs Cloudflare's managed WAF rules",
        Severity.HIGH,
        MANDATORY,
        "fails closed (a zone has no managed rules until a ruleset executes them)",
        stack_check=waf_managed,
    ),
    Rule(
        "cloudflare-origin-pulls",
        "The zone presents Cloudflare's client certificate to origins (authenticated origin pulls)",
        Severity.HIGH,
        MANDATORY,
        "fails closed (zone-level origin pulls are off until enabled)",
        stack_check=origin_pulls,
    ),
]
