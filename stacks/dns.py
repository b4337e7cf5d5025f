"""The Cloudflare provider a cloud stack writes its own DNS records with (crm:dns), and the names it writes."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_cloudflare as cloudflare

from .config.model import Common, Dns


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


def origin_host(common: Common, dns: Dns, provider: cloudflare.Provider) -> str:
    """This stack's proxied origin name: `crm:dns.originHost`, or `<project>-<environment>-<cloud>.<zone>`.

    The default is one of a kind per stack (no two stacks write one record or request one certificate
    name) and one level under the zone, where Cloudflare's free Universal SSL certificate
    (the zone's apex and `*.<zone>`) covers it: a name two levels down, such as `aws.crm.<zone>`, gets
    no edge certificate, and HTTPS to it (SNS webhooks, operators) fails at Cloudflare. The zone's name
    is read from Cloudflare's API (`get_zone`) at every preview and update.
    """
    zone = cloudflare.get_zone(zone_id=dns.zone_id, opts=pulumi.InvokeOptions(provider=provider)).name
    if not zone:
        raise ValueError(f"Cloudflare returned no name for zone {dns.zone_id} (crm:dns.zoneId)")
    host = dns.origin_host or default_origin_host(common, zone)
    if not covered_by_universal_ssl(host, zone):
        pulumi.log.warn(
            f"crm:dns.originHost '{host}' is not the zone {zone} or one level under it: Cloudflare's Universal SSL "
            f"certificate does not cover it, so HTTPS to it (SES webhooks included) fails unless the zone has an "
            f"advanced certificate for it; a name such as {default_origin_host(common, zone)} needs none"
        )
    return host


def default_origin_host(common: Common, zone: str) -> str:
    return f"{common.origin_label}.{zone}"


def covered_by_universal_ssl(host: str, zone: str) -> bool:
    """Cloudflare's Universal SSL certificate covers the zone's apex and one level of wildcard."""
    return host == zone or (host.endswith("." + zone) and "." not in host[: -len(zone) - 1])
