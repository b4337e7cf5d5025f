"""The global entry point: one health monitor, one pool per cloud, a proxied load balancer."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_cloudflare as cloudflare

from components.base import Component

from .health import HealthCheck

STEERING = {
    "dynamic_latency": "dynamic_latency",
    "failover": "off",
    "random": "random",
}  # "off" = ordered pools, the first healthy wins; "random" = weighted by random_steering


@dataclass(frozen=True)
class Origin:
    """One cloud's entry: a DNS name (AWS ALB) or an IP (GCP load balancer)."""

    name: str
    address: pulumi.Input[str]


@dataclass
class GlobalLoadBalancerArgs:
    account_id: str
    zone_id: str
    hostname: str
    primary: Origin
    secondary: Origin
    notification_email: str
    health_check: HealthCheck = field(default_factory=HealthCheck)
    steering: str = "dynamic_latency"
    session_affinity_ttl: int = 3600
    check_regions: Sequence[str] = ("NEAS", "SEAS")
    detection_budget_seconds: int | None = None
    pool_weights: Mapping[str, int] = field(default_factory=lambda: {"aws": 50, "gcp": 50})  # percent, by origin name; steering random only
    # The zone (its name) whose settings the monitor's probes take, authenticated origin pulls included:
    # an origin that demands Cloudflare's client certificate then sees it on health checks too.
    probe_zone: pulumi.Input[str] | None = None
    # Headers the monitor's health checks send besides Host (the origin-auth header Cloud Armor requires:
    # health checks do not pass through the zone's transform rules). Values may be secret.
    monitor_headers: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.steering not in STEERING:
            raise ValueError(f"steering must be one of {sorted(STEERING)}, got {self.steering!r}")
        if self.steering == "random":
            names = {self.primary.name, self.secondary.name}
            if (
                set(self.pool_weights) != names
                or any(not 0 <= w <= 100 for w in self.pool_weights.values())
                or not any(self.pool_weights.values())
            ):
                raise ValueError(
                    f"random steering needs a weight of 0-100 for each of {sorted(names)}, not all 0; got {dict(self.pool_weights)}"
                )
        budget = self.detection_budget_seconds
        if budget is not None and self.health_check.detection_seconds > budget:
            raise ValueError(f"worst-case detection {self.health_check.detection_seconds} s exceeds the budget of {budget} s")


class GlobalLoadBalancer(Component):
    """Steering `dynamic_latency` serves both clouds (active-active); `failover` sends everything to
    the primary (AWS) while it is healthy; `random` splits new sessions by `pool_weights` (50:50). Either way an unhealthy pool stops receiving traffic
    after `health_check.detection_seconds` at worst."""

    detection_seconds: int
    load_balancer: cloudflare.LoadBalancer
    pools: list[cloudflare.LoadBalancerPool]

    def __init__(self, name: str, args: GlobalLoadBalancerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("crm:cloudflare:GlobalLoadBalancer", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        check = args.health_check
        self.monitor = cloudflare.LoadBalancerMonitor(
            f"{name}-monitor",
            account_id=args.account_id,
            type="https",
            method="GET",
            path=check.path,
            port=check.port,
            expected_codes=check.expected_codes,
            interval=check.interval_seconds,
            retries=check.retries,
            timeout=check.timeout_seconds,
            consecutive_down=check.consecutive_down,
            consecutive_up=check.consecutive_up,
            header={"Host": [args.hostname], **{k: [v] for k, v in args.monitor_headers.items()}},
            follow_redirects=False,
            allow_insecure=False,
            probe_zone=args.probe_zone,
            description=f"{args.hostname} {check.path}",
            opts=child,
        )
        self.pools = [self._pool(name, origin, args) for origin in (args.primary, args.secondary)]
        self.load_balancer = cloudflare.LoadBalancer(
            f"{name}-lb",
            zone_id=args.zone_id,
            name=args.hostname,
            proxied=True,
            steering_policy=STEERING[args.steering],
            default_pools=[pool.id for pool in self.pools],
            fallback_pool=self.pools[-1].id,
            session_affinity="cookie",
            session_affinity_ttl=args.session_affinity_ttl,
            session_affinity_attributes={"samesite": "Lax", "secure": "Always", "zero_downtime_failover": "sticky"},
            adaptive_routing={"failover_across_pools": True},
            random_steering=self._random_steering(args) if args.steering == "random" else None,
            description=f"{args.hostname}: {args.steering}",
            opts=child,
        )
        self.notification = cloudflare.NotificationPolicy(
            f"{name}-health-alert",
            account_id=args.account_id,
            name=f"{args.hostname} pool health",
            alert_type="load_balancing_health_alert",
            enabled=True,
            filters={"pool_ids": [pool.id for pool in self.pools], "new_healths": ["Healthy", "Unhealthy"]},
            mechanisms={"emails": [{"id": args.notification_email}]},
            opts=child,
        )
        self.detection_seconds = check.detection_seconds
        self.register_outputs({"loadBalancerId": self.load_balancer.id, "detectionSeconds": self.detection_seconds})

    def _random_steering(self, args: GlobalLoadBalancerArgs) -> pulumi.Output:
        """Pool weights are keyed by pool id, known only once the pools exist; 0-1 relative weights."""
        names = [args.primary.name, args.secondary.name]
        return pulumi.Output.all(*[pool.id for pool in self.pools]).apply(
            lambda ids: {"pool_weights": {pool_id: args.pool_weights[n] / 100 for pool_id, n in zip(ids, names)}, "default_weight": 0}
        )

    def _pool(self, name: str, origin: Origin, args: GlobalLoadBalancerArgs) -> cloudflare.LoadBalancerPool:
        return cloudflare.LoadBalancerPool(
            f"{name}-{origin.name}",
            account_id=args.account_id,
            name=f"{name}-{origin.name}",
            description=f"{origin.name} origin of {args.hostname}",
            monitor=self.monitor.id,
            minimum_origins=1,
            check_regions=list(args.check_regions),
            origins=[{"name": origin.name, "address": origin.address, "enabled": True, "weight": 1, "header": {"hosts": [args.hostname]}}],
            opts=pulumi.ResourceOptions(parent=self),
        )
