"""Cloudflare's WAF managed rules on the zone: every proxied request is inspected before an origin sees it.

The zone's entry-point ruleset of the `http_request_firewall_managed` phase executes Cloudflare's
managed rulesets (ids from Cloudflare's WAF documentation, "Managed rules"): the Cloudflare
Managed Ruleset and the Cloudflare OWASP Core Ruleset, each with the actions, paranoia level and
score threshold Cloudflare ships. Both need a Pro plan or higher on the zone.

A zone has one entry point per phase: if rules were deployed from the dashboard, import that
ruleset (`pulumi import cloudflare:index/ruleset:Ruleset ...`) instead of creating a second.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_cloudflare as cloudflare

from components.base import Component
from components.cloudflare.rulesets import MANAGED_RULESETS
from components.cloudflare.rulesets import WAF_PHASE as PHASE


@dataclass
class ManagedWafArgs:
    zone_id: pulumi.Input[str]
    rulesets: Mapping[str, str] = field(default_factory=lambda: dict(MANAGED_RULESETS))

    def __post_init__(self) -> None:
        if not self.rulesets:
            raise ValueError("the zone's WAF needs at least one managed ruleset to execute")


class ManagedWaf(Component):
    def __init__(self, name: str, args: ManagedWafArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("crm:cloudflare:ManagedWaf", name, None, opts)
        self.ruleset = cloudflare.Ruleset(
            f"{name}-managed",
            zone_id=args.zone_id,
            kind="zone",
            phase=PHASE,
            name="Managed WAF rules",
            description="Executes Cloudflare's managed WAF rulesets on every request to the zone",
            rules=[
                {
                    "ref": ref,
                    "action": "execute",
                    "action_parameters": {"id": ruleset_id},
                    "expression": "true",
                    "enabled": True,
                    "description": f"execute {ref}",
                }
                for ref, ruleset_id in args.rulesets.items()
            ],
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"rulesetId": self.ruleset.id})
