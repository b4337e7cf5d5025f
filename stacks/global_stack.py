"""The global program: the Cloudflare load balancer in front of both clouds."""

from __future__ import annotations

import pulumi
import pulumi_cloudflare as cloudflare

from components.cloudflare.load_balancer import GlobalLoadBalancer, GlobalLoadBalancerArgs, Origin
from components.cloudflare.origin_auth import OriginAuthHeader, OriginAuthHeaderArgs
from components.cloudflare.origin_pull import AuthenticatedOriginPulls, AuthenticatedOriginPullsArgs
from components.cloudflare.origin_tls import StrictOriginTls, StrictOriginTlsArgs
from components.cloudflare.rulesets import ORIGIN_AUTH_HEADER
from components.cloudflare.slo import OriginErrorAlert, OriginErrorAlertArgs
from components.cloudflare.waf import ManagedWaf, ManagedWafArgs

from .config.model import GlobalStackConfig
from .references import ORIGIN_AUTH_ACCEPTED_OUTPUT, ORIGIN_AUTH_SENT_OUTPUT, PeerStack


def program(config: GlobalStackConfig) -> None:
    lb = config.load_balancer
    aws_side = PeerStack(config.common, lb.aws_stack)
    gcp_side = PeerStack(config.common, lb.gcp_stack)
    # Cloudflare presents its origin-pull client certificate to every origin of the zone that asks
    # (the ALB verifies it); the monitor probes as the zone, so its health checks carry it too.
    AuthenticatedOriginPulls(f"{config.common.project}-origin-pulls", AuthenticatedOriginPullsArgs(zone_id=lb.zone_id))
    # Both origins admit only requests carrying the zone's secret header (Cloud Armor, the ALB's listener rule); the
    # values are the cloud stacks' secret outputs, kept secret through the StackReferences.
    origin_auth = pulumi.Output.secret(
        pulumi.Output.all(
            gcp_side.require(ORIGIN_AUTH_SENT_OUTPUT),
            gcp_side.require(ORIGIN_AUTH_ACCEPTED_OUTPUT),
            aws_side.get(ORIGIN_AUTH_ACCEPTED_OUTPUT),
        ).apply(lambda v: header_to_send(v[0], v[1], v[2]))
    )
    OriginAuthHeader(f"{config.common.project}-origin-auth", OriginAuthHeaderArgs(zone_id=lb.zone_id, value=origin_auth))
    zone_name = cloudflare.get_zone_output(zone_id=lb.zone_id).name
    balancer = GlobalLoadBalancer(
        f"{config.common.project}-global",
        GlobalLoadBalancerArgs(
            account_id=lb.account_id,
            zone_id=lb.zone_id,
            hostname=lb.hostname,
            primary=Origin("aws", aws_side.require("albDnsName")),
            secondary=Origin("gcp", gcp_side.require("originIp")),
            notification_email=lb.notification_email,
            health_check=lb.monitor.health_check(),
            steering=lb.steering,
            session_affinity_ttl=lb.session_affinity_ttl,
            check_regions=lb.check_regions,
            detection_budget_seconds=lb.rto_budget_seconds,
            pool_weights=dict(lb.pool_weights),
            probe_zone=zone_name,
            monitor_headers={ORIGIN_AUTH_HEADER: origin_auth},
        ),
    )
    # The estate's availability objective, as Cloudflare sees the origins answer (crm:monitoring of the AWS stack).
    OriginErrorAlert(
        f"{config.common.project}-origin-errors",
        OriginErrorAlertArgs(
            account_id=lb.account_id,
            zone_id=lb.zone_id,
            hostname=lb.hostname,
            availability_percent=aws_side.require("sla").apply(lambda sla: sla["availabilityPercent"]),
            notification_email=lb.notification_email,
        ),
    )
    # Cloudflare connects to the ALB and the GKE Gateway over HTTPS and checks their certificates (docs/ingress.md).
    StrictOriginTls(f"{config.common.project}-origin-tls", StrictOriginTlsArgs(zone_id=lb.zone_id))
    # Cloudflare's managed WAF rulesets inspect every request to the zone before either origin sees it.
    ManagedWaf(f"{config.common.project}-waf", ManagedWafArgs(zone_id=lb.zone_id))
    # Read back by the GCP stacks, which keep accepting it until the next rotation after this deploy.
    pulumi.export(ORIGIN_AUTH_SENT_OUTPUT, pulumi.Output.secret(origin_auth))
    pulumi.export("hostname", lb.hostname)
    pulumi.export("steering", lb.steering)
    pulumi.export("loadBalancerId", balancer.load_balancer.id)
    pulumi.export("poolIds", [pool.id for pool in balancer.pools])
    pulumi.export("detectionSeconds", balancer.detection_seconds)
    pulumi.export("detectionBudgetSeconds", lb.rto_budget_seconds)
    pulumi.export("accountId", lb.account_id)
    pulumi.export("pools", {"aws": balancer.pools[0].id, "gcp": balancer.pools[1].id})  # primary, secondary: python -m tools verify
    # The host that reaches each cloud alone, as each cloud stack named it (python -m tools verify probes them).
    pulumi.export("originHosts", {"aws": aws_side.require("originHost"), "gcp": gcp_side.require("originHost")})


class NoCommonOriginAuthValue(pulumi.RunError):
    """A RunError: Pulumi prints its message alone, without a traceback."""


def header_to_send(gcp_current: str, gcp_accepted: list[str], aws_accepted: list[str] | None) -> str:
    """The origin-auth value the zone sends: one both origins admit as last deployed, the GCP stack's newest when the
    AWS stack admits it too (the rotation then completes), else the one both still share (the value sent now)."""
    if not aws_accepted or gcp_current in aws_accepted:  # an AWS stack that admits none requires none
        return gcp_current
    shared = [value for value in gcp_accepted if value in aws_accepted]
    if not shared:
        raise NoCommonOriginAuthValue(
            "crm:rotation: the AWS and GCP stacks admit no origin-auth header value in common, so any value this stack "
            "sent would be refused by one of them: deploy the AWS stack (after the GCP stack), then this one "
            "(docs/runbooks/rotation.md)"
        )
    return shared[0]
