"""The proxied DNS name of one stack's load balancer (a CNAME to the ALB, an A record to the GCP address).

SES webhooks and operators reach a single cloud through it; Cloudflare proxies it, so the origin's
Cloudflare-only rules (ALB security group, Cloud Armor) still hold.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_cloudflare as cloudflare

from components.base import Component


@dataclass
class OriginRecordArgs:
    zone_id: pulumi.Input[str]
    hostname: str
    target: pulumi.Input[str]  # a DNS name (CNAME) or an IPv4 address (A)
    record_type: str  # CNAME | A

    def __post_init__(self) -> None:
        if self.record_type not in ("CNAME", "A"):
            raise ValueError(f"record_type must be CNAME or A, got '{self.record_type}'")


class OriginRecord(Component):
    """Pass the Cloudflare provider in `opts.providers`."""

    hostname: pulumi.Output[str]

    def __init__(self, name: str, args: OriginRecordArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("crm:cloudflare:OriginRecord", name, None, opts)
        self.record = cloudflare.DnsRecord(
            f"{name}-record",
            zone_id=args.zone_id,
            name=args.hostname,
            type=args.record_type,
            content=args.target,
            ttl=1,
            proxied=True,
            comment="origin of one cloud, proxied by Cloudflare",
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.hostname = self.record.name
        self.register_outputs({"hostname": self.hostname})
