"""The Cloud Armor policy in front of the GKE Gateway: Cloudflare's ranges in, everything else 403.

The GCP twin of the ALB's security group (components/aws/alb.py): the same list of ranges, so a
request that bypasses Cloudflare reaches neither cloud's application.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from components.base import Component
from components.cloudflare.rulesets import ORIGIN_AUTH_HEADER

# A basic (SRC_IPS_V1) match takes at most 10 ranges, so the allow list is split over rules.
RANGES_PER_RULE = 10
FIRST_ALLOW_PRIORITY = 1000
ORIGIN_AUTH_PRIORITY = 900  # before the allow rules: a request from Cloudflare's ranges still needs the zone's header
DEFAULT_RULE_PRIORITY = 2147483647


@dataclass
class CloudflareOnlyPolicyArgs:
    project: str
    policy_name: str
    allowed_cidrs: Sequence[str]
    labels: Mapping[str, str]
    # Secret values of the header the global stack adds (components/gcp/origin_auth.py); a request carrying
    # none of them is refused. None: Cloudflare's ranges alone (any Cloudflare customer's zone gets in).
    origin_auth_values: pulumi.Input[Sequence[str]] | None = None

    def __post_init__(self) -> None:
        if not self.allowed_cidrs:
            raise ValueError("the Cloud Armor policy needs the origin ranges it admits (Cloudflare's)")
        if any(c.endswith("/0") for c in self.allowed_cidrs):
            raise ValueError("the Cloud Armor policy admits Cloudflare only; a /0 range is not allowed")


def allow_rules(cidrs: Sequence[str]) -> list[dict]:
    chunks = [list(cidrs[i : i + RANGES_PER_RULE]) for i in range(0, len(cidrs), RANGES_PER_RULE)]
    return [
        {
            "action": "allow",
            "priority": FIRST_ALLOW_PRIORITY + i,
            "description": f"Cloudflare ranges, part {i + 1} of {len(chunks)}",
            "match": {"versioned_expr": "SRC_IPS_V1", "config": {"src_ip_ranges": chunk}},
        }
        for i, chunk in enumerate(chunks)
    ]


def origin_auth_rule(values: Sequence[str]) -> dict:
    """Refuses (403) a request whose origin-auth header is none of the accepted values."""
    header = f"request.headers['{ORIGIN_AUTH_HEADER}']"
    accepted = " || ".join(f"{header} == '{value}'" for value in values)
    return {
        "action": "deny(403)",
        "priority": ORIGIN_AUTH_PRIORITY,
        "description": "requests that did not come through this Cloudflare zone (no origin-auth header)",
        "match": {"expr": {"expression": f"!({accepted})"}},
    }


class CloudflareOnlyPolicy(Component):
    policy_name: pulumi.Output[str]

    def __init__(self, name: str, args: CloudflareOnlyPolicyArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("crm:gcp:CloudflareOnlyPolicy", name, None, opts)
        default_deny = {
            "action": "deny(403)",
            "priority": DEFAULT_RULE_PRIORITY,
            "description": "everything not from Cloudflare",
            "match": {"versioned_expr": "SRC_IPS_V1", "config": {"src_ip_ranges": ["*"]}},
        }
        rules: list = [*allow_rules(args.allowed_cidrs), default_deny]
        if args.origin_auth_values is not None:
            rules.insert(0, pulumi.Output.secret(pulumi.Output.from_input(args.origin_auth_values).apply(origin_auth_rule)))
        self.policy = gcp.compute.SecurityPolicy(
            f"{name}-policy",
            project=args.project,
            name=args.policy_name,
            type="CLOUD_ARMOR",
            description="Admits only Cloudflare's ranges (parity with the AWS ALB security group)",
            rules=rules,
            labels=dict(args.labels),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.policy_name = self.policy.name
        self.register_outputs({"policyName": self.policy_name})
