"""Address and ASN rules for the AWS <-> GCP HA VPN.

Pure functions: the config layer validates with them before anything is registered, and the VPN
component uses the same ones, so a value cannot pass validation and then be built differently.
"""

from __future__ import annotations

import ipaddress

TUNNEL_COUNT = 4  # 2 AWS VPN connections x 2 tunnels: what GCP's 99.99% HA VPN SLA needs toward AWS
LINK_LOCAL = ipaddress.IPv4Network("169.254.0.0/16")

# /30s AWS refuses as tunnel inside CIDRs (EC2 API VpnTunnelOptionsSpecification).
AWS_RESERVED_INSIDE_CIDRS = tuple(
    ipaddress.IPv4Network(c)
    for c in (
        "169.254.0.0/30",
        "169.254.1.0/30",
        "169.254.2.0/30",
        "169.254.3.0/30",
        "169.254.4.0/30",
        "169.254.5.0/30",
        "169.254.169.252/30",
    )
)

PRIVATE_ASN_RANGES = ((64512, 65534), (4200000000, 4294967294))
# Customer-gateway ASNs AWS reserves (7224 everywhere; the others in one region each).
AWS_RESERVED_CGW_ASNS = {7224: "all regions", 9059: "eu-west-1", 10124: "ap-northeast-1", 17943: "ap-southeast-1"}

# AWS pre-shared keys: letters, digits, '.' and '_', 8-64 characters, not starting with '0'.
PSK_LENGTH = 40
PSK_SPECIAL_CHARACTERS = "._"


def inside_cidr_problems(cidrs: list[ipaddress.IPv4Network]) -> list[str]:
    """Every reason the given tunnel inside CIDRs are unusable; empty when they are fine."""
    problems = []
    if len(cidrs) != TUNNEL_COUNT:
        problems.append(f"needs exactly {TUNNEL_COUNT} /30 ranges (one per tunnel), got {len(cidrs)}")
    for cidr in cidrs:
        if cidr.prefixlen != 30:
            problems.append(f"{cidr} is not a /30")
        if not cidr.subnet_of(LINK_LOCAL):
            problems.append(f"{cidr} is not inside 169.254.0.0/16")
        for reserved in AWS_RESERVED_INSIDE_CIDRS:
            if cidr.overlaps(reserved):
                problems.append(f"{cidr} is reserved by AWS ({reserved})")
    if len(set(cidrs)) != len(cidrs):
        problems.append("lists the same /30 twice; every tunnel needs its own")
    return problems


def plan_inside_cidrs(block: ipaddress.IPv4Network) -> list[ipaddress.IPv4Network]:
    """The four tunnel /30s, the first four of the configured block, in tunnel order."""
    if block.prefixlen > 28:
        return []
    return list(block.subnets(new_prefix=30))[:TUNNEL_COUNT]


def tunnel_addresses(cidr: ipaddress.IPv4Network) -> tuple[str, str]:
    """(AWS side, GCP side) of a tunnel /30: AWS takes the first host address, the peer the second."""
    aws_side, gcp_side = list(cidr.hosts())
    return str(aws_side), str(gcp_side)


def asn_problems(asn: int, *, role: str) -> list[str]:
    problems = []
    if not any(low <= asn <= high for low, high in PRIVATE_ASN_RANGES):
        problems.append(f"{role} ASN {asn} is not a private ASN (64512-65534 or 4200000000-4294967294)")
    if asn in AWS_RESERVED_CGW_ASNS:
        problems.append(f"{role} ASN {asn} is reserved by AWS ({AWS_RESERVED_CGW_ASNS[asn]})")
    return problems


def tunnel_interface_map() -> list[tuple[int, int, int]]:
    """(tunnel index, HA VPN interface, external gateway interface) for the four tunnels.

    HA interface 0 pairs with AWS connection A (its two tunnels: peer interfaces 0 and 1) and HA
    interface 1 with connection B (peer interfaces 2 and 3). Google checks that peer interfaces
    0/1 and 2/3 land on different HA interfaces.
    """
    return [(i, i // 2, i) for i in range(TUNNEL_COUNT)]
