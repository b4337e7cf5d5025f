"""The zone's request header that the GCP origin's Cloud Armor policy requires (components/gcp/origin_auth.py).

A transform rule in the zone's `http_request_late_transform` entry point sets the header on every request
Cloudflare sends to an origin of the zone, replacing any value a client sent. A zone has one entry point
per phase: if the dashboard already deployed transform rules, import that ruleset instead of creating a
second (`pulumi import cloudflare:index/ruleset:Ruleset ...`).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_cloudflare as cloudflare

from components.base import Component
from components.cloudflare.rulesets import ORIGIN_AUTH_HEADER, TRANSFORM_PHASE


@dataclass
class OriginAuthHeaderArgs:
    zone_id: pulumi.Input[str]
    value: pulumi.Input[str]  # secret: the GCP stack's output originAuthHeader, read by StackReference


class OriginAuthHeader(Component):
    def __init__(self, name: str, args: OriginAuthHeaderArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("crm:cloudflare:OriginAuthHeader", name, None, opts)
        self.ruleset = cloudflare.Ruleset(
            f"{name}-transform",
            zone_id=args.zone_id,
            kind="zone",
            phase=TRANSFORM_PHASE,
            name="Origin authentication header",
            description="Proves to the origins that a request came through this zone",
            rules=[
                {
                    "ref": "origin-auth",
                    "action": "rewrite",
                    "expression": "true",
                    "enabled": True,
                    "description": "set the origin-auth header",
                    "action_parameters": {"headers": {ORIGIN_AUTH_HEADER: {"operation": "set", "value": pulumi.Output.secret(args.value)}}},
                }
            ],
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"rulesetId": self.ruleset.id})
