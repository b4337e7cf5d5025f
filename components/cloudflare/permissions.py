"""What the Cloudflare API token must be allowed to do, derived from the Cloudflare types and settings the stacks use.

`PERMISSIONS` is the one table: a Pulumi type (and, where the permission depends on it, a setting of
the resource) -> the API token permission group its calls need, by the name Cloudflare's API gives
it (`GET /user/tokens/permission_groups`), with the scope it applies to and the endpoint's reference
page, which lists the accepted permissions. A Cloudflare type without a row stops
`python -m tools check` (and the docs generated from this table), so a new resource never meets
a 403 at deploy time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

API = "https://developers.cloudflare.com/api/resources"


@dataclass(frozen=True)
class PermissionRow:
    type: str  # a resource type token, or an invoke token (`cloudflare:index/getZone:getZone`)
    group: str | None  # the permission group's API name; None: the endpoint needs no token
    scope: str  # "zone" or "account"
    dashboard: str  # how the dashboard's token form names it
    source: str
    setting: str = ""  # the setting this row is for, when the permission depends on one
    when: Callable[[Mapping[str, Any]], bool] = lambda inputs: True


PERMISSIONS: tuple[PermissionRow, ...] = (
    PermissionRow(
        "cloudflare:index/dnsRecord:DnsRecord", "DNS Write", "zone", "Zone / DNS / Edit", f"{API}/dns/subresources/records/methods/create/"
    ),
    PermissionRow(
        "cloudflare:index/zoneSetting:ZoneSetting",
        "Zone Settings Write",
        "zone",
        "Zone / Zone Settings / Edit",
        f"{API}/zones/subresources/settings/methods/edit/",
        setting="setting_id ssl = strict (StrictOriginTls)",
    ),
    PermissionRow(
        "cloudflare:index/authenticatedOriginPullsSettings:AuthenticatedOriginPullsSettings",
        "SSL and Certificates Write",
        "zone",
        "Zone / SSL and Certificates / Edit",
        f"{API}/origin_tls_client_auth/subresources/settings/methods/update/",
    ),
    PermissionRow(
        "cloudflare:index/ruleset:Ruleset",
        "Zone WAF Write",
        "zone",
        "Zone / Zone WAF / Edit",
        f"{API}/rulesets/methods/create/",
        setting="phase http_request_firewall_managed (ManagedWaf)",
        when=lambda inputs: inputs.get("phase") == "http_request_firewall_managed",
    ),
    PermissionRow(
        "cloudflare:index/ruleset:Ruleset",
        "Zone Transform Rules Write",
        "zone",
        "Zone / Transform Rules / Edit",
        f"{API}/rulesets/methods/create/",
        setting="phase http_request_late_transform (OriginAuthHeader)",
        when=lambda inputs: inputs.get("phase") == "http_request_late_transform",
    ),
    PermissionRow(
        "cloudflare:index/loadBalancer:LoadBalancer",
        "Load Balancers Write",
        "zone",
        "Zone / Load Balancers / Edit",
        f"{API}/load_balancers/methods/create/",
    ),
    PermissionRow(
        "cloudflare:index/loadBalancerPool:LoadBalancerPool",
        "Load Balancing: Monitors and Pools Write",
        "account",
        "Account / Load Balancing: Monitors and Pools / Edit",
        f"{API}/load_balancers/subresources/pools/methods/create/",
    ),
    PermissionRow(
        "cloudflare:index/loadBalancerMonitor:LoadBalancerMonitor",
        "Load Balancing: Monitors and Pools Write",
        "account",
        "Account / Load Balancing: Monitors and Pools / Edit",
        f"{API}/load_balancers/subresources/monitors/methods/create/",
    ),
    PermissionRow(
        "cloudflare:index/notificationPolicy:NotificationPolicy",
        "Notifications Write",
        "account",
        "Account / Notifications / Edit",
        f"{API}/alerting/subresources/policies/methods/create/",
    ),
    PermissionRow("cloudflare:index/getZone:getZone", "Zone Read", "zone", "Zone / Zone / Read", f"{API}/zones/methods/get/"),
    PermissionRow("cloudflare:index/getIpRanges:getIpRanges", None, "", "(none: a public endpoint)", f"{API}/ips/methods/list/"),
    # Bootstrap's own token, when it creates the stacks' token (crm:cloudflareToken): never part of the stacks' token.
    PermissionRow(
        "cloudflare:index/apiToken:ApiToken",
        "API Tokens Write",
        "user",
        "User / API Tokens / Edit",
        f"{API}/user/subresources/tokens/methods/create/",
    ),
    PermissionRow(
        "cloudflare:index/getApiTokenPermissionGroupsList:getApiTokenPermissionGroupsList",
        "API Tokens Read",
        "user",
        "User / API Tokens / Read",
        f"{API}/user/subresources/tokens/subresources/permission_groups/methods/list/",
    ),
)


class UnknownCloudflareType(ValueError):
    pass


def rows_for(type_: str, inputs: Mapping[str, Any] | None = None) -> list[PermissionRow]:
    """The rows that apply to one resource (or invoke) of `type_` with these inputs; an unknown type is an error."""
    rows = [row for row in PERMISSIONS if row.type == type_]
    if not rows:
        raise UnknownCloudflareType(
            f"no row in components/cloudflare/permissions.py PERMISSIONS for {type_}: add the API token permission it needs (with its source)"
        )
    applying = [row for row in rows if row.when(inputs or {})]
    if not applying:
        settings = "; ".join(row.setting for row in rows)
        raise UnknownCloudflareType(f"{type_} with these settings matches no row of PERMISSIONS (rows cover: {settings})")
    return applying
