"""Cloudflare reaches both origins over verified TLS: the zone's SSL mode is Full (strict).

Under "Flexible" Cloudflare would connect to the origins over plain HTTP on port 80, which the GKE
Gateway does not listen on and the ALB only redirects; under "Full" it would accept any origin
certificate. Strict makes Cloudflare check the ACM and Certificate Manager certificates the cloud
stacks request. The setting is zone-wide: every proxied host in the zone needs a valid origin
certificate.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_cloudflare as cloudflare

from components.base import Component


@dataclass
class StrictOriginTlsArgs:
    zone_id: pulumi.Input[str]


class StrictOriginTls(Component):
    def __init__(self, name: str, args: StrictOriginTlsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("crm:cloudflare:StrictOriginTls", name, None, opts)
        self.ssl = cloudflare.ZoneSetting(
            f"{name}-ssl", zone_id=args.zone_id, setting_id="ssl", value="strict", opts=pulumi.ResourceOptions(parent=self)
        )
        self.register_outputs({"sslMode": "strict"})
