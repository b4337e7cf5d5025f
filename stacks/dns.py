"""The Cloudflare provider a cloud stack writes its own DNS records with (crm:dns)."""

from __future__ import annotations

import pulumi
import pulumi_cloudflare as cloudflare

from typing import Sequence

from .config.model import Dns


def cloudflare_provider(name: str, dns: Dns) -> cloudflare.Provider:
    """Its token is the stack's secret `cloudflare:apiToken`, kept secret; without it, CLOUDFLARE_API_TOKEN."""
    token = pulumi.Output.secret(dns.api_token) if dns.api_token else None
    return cloudflare.Provider(f"{name}-cloudflare", api_token=token)


def origin_ranges(configured: Sequence[str], provider: cloudflare.Provider) -> list[str]:
    """The ranges an origin admits: `crm:ingress.allowedCidrs` when set, else Cloudflare's IPv4 ranges.

    Cloudflare's list is read from its API (`/ips`, the provider's `get_ip_ranges`) at every preview
    and update, so a range Cloudflare adds reaches the ALB security group and Cloud Armor on the next
    deploy with nobody copying lists.
    """
    if configured:
        return list(configured)
    ranges = list(cloudflare.get_ip_ranges(opts=pulumi.InvokeOptions(provider=provider)).ipv4_cidrs or [])
    if not ranges:
        raise ValueError("Cloudflare's API returned no IPv4 ranges; set crm:ingress.allowedCidrs to deploy meanwhile")
    return ranges
