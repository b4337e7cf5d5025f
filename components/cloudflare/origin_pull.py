"""Authenticated origin pulls: Cloudflare presents a client certificate to every origin in the zone.

With zone-level authenticated origin pulls on, Cloudflare's edge presents its origin-pull client
certificate whenever an origin asks for one, signed by Cloudflare's origin-pull CA. An origin that
verifies that certificate (the ALB's mTLS trust store) admits only connections from Cloudflare,
on top of the IP allow-list. Origins that do not ask for a certificate are unaffected.

The CA is public: `data/origin_pull_ca.pem`, as Cloudflare publishes it
(https://developers.cloudflare.com/ssl/static/authenticated_origin_pull_ca.pem, also printed in
Cloudflare's "Set up authenticated origin pulls" guide), CN=origin-pull.cloudflare.net, valid
2019-10-10 to 2029-11-01, SHA-256 fingerprint below. The certificate is shared by every Cloudflare
zone: it proves the connection comes from Cloudflare, not from our zone (per-hostname origin pulls
with a certificate of our own would; see docs/hardening.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_cloudflare as cloudflare

from components.base import Component

CA_FILE = Path(__file__).parent / "data" / "origin_pull_ca.pem"
CA_SOURCE = "https://developers.cloudflare.com/ssl/static/authenticated_origin_pull_ca.pem"
CA_SHA256 = "9A1AC2B4BE15F9F27EEE20A734CBA4E9898F61001B3BD7C84B69B56A3E25A2B9"  # of the DER certificate
CA_NOT_AFTER = "2029-11-01"


def origin_pull_ca() -> str:
    """Cloudflare's origin-pull CA certificate (PEM)."""
    return CA_FILE.read_text()


@dataclass
class AuthenticatedOriginPullsArgs:
    zone_id: pulumi.Input[str]


class AuthenticatedOriginPulls(Component):
    def __init__(self, name: str, args: AuthenticatedOriginPullsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("crm:cloudflare:AuthenticatedOriginPulls", name, None, opts)
        self.settings = cloudflare.AuthenticatedOriginPullsSettings(
            f"{name}-zone",
            zone_id=args.zone_id,
            enabled=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"enabled": self.settings.enabled})
