"""The Cloudflare provider a cloud stack writes its own DNS records with (crm:dns)."""
from __future__ import annotations

import pulumi
import pulumi_cloudflare as cloudflare

from .config.model import Dns


def cloudflare_provider(name: str, dns: Dns) -> cloudflare.Provider:
    """Its token is the stack's secret `cloudflare:apiToken`, kept secret; without it, CLOUDFLARE_API_TOKEN."""
    token = pulumi.Output.secret(dns.api_token) if dns.api_token else None
    return cloudflare.Provider(f"{name}-cloudflare", api_token=token)
