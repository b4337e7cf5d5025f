"""Rules for the HA VPN between the clouds."""

from __future__ import annotations

import ipaddress

from pulumi_policy import Severity

from components.interconnect.addressing import inside_cidr_problems

from .base import MANDATORY, UNKNOWN, Resource, Rule

TUNNEL = "gcp:compute/vPNTunnel:VPNTunnel"
CONNECTION = "aws:ec2/vpnConnection:VpnConnection"
HA_GATEWAY = "gcp:compute/haVpnGateway:HaVpnGateway"


def ikev2(r: Resource):
    if r.type == TUNNEL:
        if r.get("ikeVersion", 2) != 2:
            yield f"ikeVersion must be 2, got {r.get('ikeVersion')}"
        return
    for n in (1, 2):
        if r.get(f"tunnel{n}IkeVersions") != ["ikev2"]:
            yield f"tunnel{n}IkeVersions must be exactly [ikev2] (the provider's default also offers ikev1)"


def inside_cidrs(r: Resource):
    for n in (1, 2):
        value = r.get(f"tunnel{n}InsideCidr")
        if value is UNKNOWN:
            continue
        if value is None:
            yield f"tunnel{n}InsideCidr must be set, so both clouds agree on the BGP addresses"
            continue
        try:
            problems = [p for p in inside_cidr_problems([ipaddress.IPv4Network(value)]) if "exactly" not in p]
        except ValueError:
            problems = [f"'{value}' is not a CIDR"]
        for problem in problems:
            yield f"tunnel{n}InsideCidr: {problem}"


def four_tunnels(resources):
    gateways = [r for r in resources if r.type == HA_GATEWAY]
    tunnels = [r for r in resources if r.type == TUNNEL]
    if gateways and len(tunnels) < 4 * len(gateways):
        yield f"{len(gateways)} HA VPN gateway(s) but {len(tunnels)} tunnel(s): the 99.99% SLA toward AWS needs four tunnels per gateway"


RULES = [
    Rule(
        "vpn-ikev2",
        "VPN tunnels negotiate IKEv2 only",
        Severity.HIGH,
        MANDATORY,
        "GCP default 2 passes; AWS default (ikev1 and ikev2) fails",
        (TUNNEL, CONNECTION),
        ikev2,
    ),
    Rule(
        "vpn-inside-cidrs",
        "AWS tunnel inside CIDRs are /30s in 169.254.0.0/16 that AWS does not reserve",
        Severity.HIGH,
        MANDATORY,
        "fails closed (AWS would pick them, and GCP could not know them)",
        (CONNECTION,),
        inside_cidrs,
    ),
    Rule(
        "vpn-four-tunnels",
        "Every HA VPN gateway carries four tunnels",
        Severity.HIGH,
        MANDATORY,
        "not applicable without an HA VPN gateway",
        stack_check=four_tunnels,
    ),
]
