"""Cloudflare ruleset facts shared by the global stack's components and the policy pack.

Pure data, no provider SDK: the pack imports it and loads from policies/requirements.txt alone.
"""

from __future__ import annotations

WAF_PHASE = "http_request_firewall_managed"
# ref (stable rule identity across updates) -> Cloudflare's managed ruleset id (Cloudflare's WAF documentation, "Managed rules")
MANAGED_RULESETS = {
    "cloudflare-managed": "efb7b8c949ac4650a09736fc376e9aee",
    "owasp-core": "4814384a9e5d4991b9815dcfc25d2f1f",
}

# The header Cloudflare adds to every request of the zone (and the monitor to its health checks), with a
# secret value only this zone knows; the GCP origin's Cloud Armor policy refuses requests without it.
ORIGIN_AUTH_HEADER = "x-crm-origin-auth"
TRANSFORM_PHASE = "http_request_late_transform"
