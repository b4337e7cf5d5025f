"""Parses and validates the config of the global stack (`crm:cloud: cloudflare`)."""
from __future__ import annotations

import re

from components.cloudflare.health import HealthCheck

from . import model
from .reader import HOST_NAME, Problems, Section

_HEX32 = re.compile(r"^[0-9a-f]{32}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
CHECK_REGIONS = ("WNAM", "ENAM", "WEU", "EEU", "NSAM", "SSAM", "OC", "ME", "NAF", "SAF", "SAS", "SEAS", "NEAS", "ALL_REGIONS")


def health_check(monitor: model.HealthMonitor) -> HealthCheck:
    return HealthCheck(
        path=monitor.path, port=monitor.port, expected_codes=monitor.expected_codes, interval_seconds=monitor.interval_seconds,
        retries=monitor.retries, timeout_seconds=monitor.timeout_seconds, consecutive_down=monitor.consecutive_down,
    )


def _pool_weights(problems: Problems, lb: Section) -> tuple:
    """Steering `random` splits new sessions by these percentages (the documents' 50:50 by default)."""
    weights = lb.section("poolWeights")
    split = tuple((cloud, weights.integer(cloud, 50, minimum=0, maximum=100)) for cloud in ("aws", "gcp"))
    weights.finish()
    return split


def parse(problems: Problems, common: model.Common, raw: dict) -> model.GlobalStackConfig:
    lb = Section(problems, "crm:loadBalancer", raw.get("crm:loadBalancer"))
    mon = lb.section("monitor")
    monitor = model.HealthMonitor(
        path=mon.string("path", "/health"),
        port=mon.integer("port", 443, minimum=1, maximum=65535),
        expected_codes=mon.string("expectedCodes", "200"),
        interval_seconds=mon.integer("intervalSeconds", 60, minimum=5, maximum=3600),
        retries=mon.integer("retries", 2, minimum=0, maximum=5),
        timeout_seconds=mon.integer("timeoutSeconds", 5, minimum=1, maximum=10),
        consecutive_down=mon.integer("consecutiveDown", 1, minimum=1, maximum=10),
    )
    mon.finish()
    balancer = model.GlobalLoadBalancer(
        account_id=lb.string("accountId"),
        zone_id=lb.string("zoneId"),
        hostname=lb.string("hostname", common.public_host),
        steering=lb.string("steering", "dynamic_latency", choices=("dynamic_latency", "failover", "random")),
        session_affinity_ttl=lb.integer("sessionAffinityTtlSeconds", 3600, minimum=1800, maximum=604800),
        notification_email=lb.string("notificationEmail"),
        rto_budget_seconds=lb.integer("detectionBudgetSeconds", 120, minimum=1),
        check_regions=lb.strings("checkRegions", ["NEAS", "SEAS"]),
        monitor=monitor,
        aws_stack=lb.string("awsStack", "aws-dr"),
        gcp_stack=lb.string("gcpStack", "gcp-dr"),
        pool_weights=_pool_weights(problems, lb),
    )
    lb.finish()
    if balancer.steering == "random" and not any(weight for _, weight in balancer.pool_weights):
        problems.add("crm:loadBalancer.poolWeights", "at least one cloud needs a weight above 0 when steering is random")
    for key, value in (("accountId", balancer.account_id), ("zoneId", balancer.zone_id)):
        if value and not _HEX32.match(value):
            problems.add(f"crm:loadBalancer.{key}", f"must be a 32-character Cloudflare id, got '{value}'")
    if balancer.notification_email and not _EMAIL.match(balancer.notification_email):
        problems.add("crm:loadBalancer.notificationEmail", f"'{balancer.notification_email}' is not an e-mail address")
    for i, region in enumerate(balancer.check_regions):
        if region not in CHECK_REGIONS:
            problems.add(f"crm:loadBalancer.checkRegions[{i}]", f"'{region}' is not a Cloudflare check region ({', '.join(CHECK_REGIONS)})")
    if monitor.timeout_seconds * (monitor.retries + 1) >= monitor.interval_seconds:
        problems.add("crm:loadBalancer.monitor.timeoutSeconds", f"timeoutSeconds x (retries + 1) = {monitor.timeout_seconds * (monitor.retries + 1)} s must be shorter than intervalSeconds ({monitor.interval_seconds} s), or checks overlap")
    worst = health_check(monitor).detection_seconds
    if worst > balancer.rto_budget_seconds:
        problems.add(
            "crm:loadBalancer.monitor",
            f"worst-case detection is {worst} s (consecutiveDown {monitor.consecutive_down} x intervalSeconds {monitor.interval_seconds}"
            f" + (retries {monitor.retries} + 1) x timeoutSeconds {monitor.timeout_seconds}), over crm:loadBalancer.detectionBudgetSeconds ({balancer.rto_budget_seconds} s)",
        )
    return model.GlobalStackConfig(common, balancer)


API_TOKEN_KEY = "cloudflare:apiToken"


def parse_dns(problems: Problems, common: model.Common, raw: dict) -> model.Dns:
    """`crm:dns` of a cloud stack: the zone its records go into and the proxied name of its origin.

    The API token is the secret `cloudflare:apiToken` of the same stack (`pulumi config set --secret`);
    without it the Cloudflare provider reads CLOUDFLARE_API_TOKEN from the environment.
    """
    dns = Section(problems, "crm:dns", raw.get("crm:dns"))
    config = model.Dns(
        zone_id=dns.string("zoneId"),
        origin_host=dns.string("originHost", f"{common.cloud}.{common.public_host}"),
        api_token=raw.get(API_TOKEN_KEY) or None,
    )
    dns.finish()
    if config.zone_id and not _HEX32.match(config.zone_id):
        problems.add("crm:dns.zoneId", f"must be a 32-character Cloudflare id, got '{config.zone_id}'")
    if config.origin_host and not HOST_NAME.match(config.origin_host):
        problems.add("crm:dns.originHost", f"'{config.origin_host}' is not a lower-case DNS host name")
    elif config.origin_host == common.public_host:
        problems.add("crm:dns.originHost", "must differ from crm:publicHost, which the global stack's load balancer owns")
    return config

