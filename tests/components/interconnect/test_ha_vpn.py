from __future__ import annotations

import ipaddress
import re

import pulumi
import pulumi_aws as aws
import pytest

from components.interconnect.addressing import AWS_RESERVED_INSIDE_CIDRS, plan_inside_cidrs
from components.interconnect.ha_vpn import HaVpnLink, HaVpnLinkArgs
from tests.helpers import is_secret, provider_value, secret_value

CIDRS = plan_inside_cidrs(ipaddress.IPv4Network("169.254.10.0/28"))


def link_args(**changes) -> HaVpnLinkArgs:
    values = dict(
        project="p",
        region="asia-northeast3",
        network_id="net",
        router_asn=65010,
        aws_vpn_gateway_id="vgw-1",
        aws_asn=64512,
        inside_cidrs=CIDRS,
        advertised_ranges=["10.23.0.0/20"],
        labels={},
        tags={},
    )
    values.update(changes)
    return HaVpnLinkArgs(**values)


def build_link(**options):
    """The link as a stack builds it: the caller creates the AWS provider and passes it in opts."""
    peer = aws.Provider("peer-aws", region="ap-northeast-2")
    return HaVpnLink("link", link_args(), opts=pulumi.ResourceOptions(providers={"aws": peer}, **options))


@pytest.fixture
def link(run_component):
    return run_component(build_link)


def test_the_dr_estate_has_exactly_the_ha_topology(shipped):
    counts = {}
    for stack in ("aws-dr", "gcp-dr"):
        for type_, n in shipped(stack).count_by_type().items():
            counts[type_] = counts.get(type_, 0) + n
    assert counts["gcp:compute/haVpnGateway:HaVpnGateway"] == 1
    assert counts["gcp:compute/externalVpnGateway:ExternalVpnGateway"] == 1
    assert counts["gcp:compute/vPNTunnel:VPNTunnel"] == 4
    assert counts["gcp:compute/routerInterface:RouterInterface"] == 4
    assert counts["gcp:compute/routerPeer:RouterPeer"] == 4
    assert counts["aws:ec2/customerGateway:CustomerGateway"] == 2
    assert counts["aws:ec2/vpnConnection:VpnConnection"] == 2
    assert counts["aws:ec2/vpnGateway:VpnGateway"] == 1


def test_external_gateway_has_four_interfaces_with_the_aws_outside_ips(link):
    gateway = link.one("gcp:compute/externalVpnGateway:ExternalVpnGateway")
    assert gateway["redundancyType"] == "FOUR_IPS_REDUNDANCY"
    connections = sorted(link.of_type("aws:ec2/vpnConnection:VpnConnection"), key=lambda c: c.name)
    outside = [provider_value(c, f"tunnel{n}Address") for c in connections for n in (1, 2)]  # what AWS assigns each tunnel
    assert len(set(outside)) == 4
    assert gateway["interfaces"] == [{"id": i, "ipAddress": address} for i, address in enumerate(outside)]


def test_tunnels_map_ha_interfaces_to_peer_interfaces(link):
    tunnels = sorted(link.of_type("gcp:compute/vPNTunnel:VPNTunnel"), key=lambda t: t["name"])
    assert [(t["vpnGatewayInterface"], t["peerExternalGatewayInterface"]) for t in tunnels] == [(0, 0), (0, 1), (1, 2), (1, 3)]
    assert all(t["ikeVersion"] == 2 and t["router"] == "link-router-id" for t in tunnels)


def test_customer_gateways_carry_the_ha_interface_ips_and_router_asn(link):
    gateways = sorted(link.of_type("aws:ec2/customerGateway:CustomerGateway"), key=lambda g: g.name)
    interfaces = provider_value(link.one("gcp:compute/haVpnGateway:HaVpnGateway"), "vpnInterfaces")
    assert [g["ipAddress"] for g in gateways] == [i["ipAddress"] for i in sorted(interfaces, key=lambda i: i["id"])]
    assert all(g["bgpAsn"] == "65010" and g["type"] == "ipsec.1" for g in gateways)


def test_connections_are_dynamic_ikev2_with_one_cipher_set_and_dpd_restart(link):
    for connection in link.of_type("aws:ec2/vpnConnection:VpnConnection"):
        assert connection["staticRoutesOnly"] is False and connection["vpnGatewayId"] == "vgw-1"
        for n in (1, 2):
            assert connection[f"tunnel{n}IkeVersions"] == ["ikev2"]
            assert connection[f"tunnel{n}Phase1EncryptionAlgorithms"] == ["AES256"]
            assert connection[f"tunnel{n}Phase1IntegrityAlgorithms"] == ["SHA2-256"]
            assert connection[f"tunnel{n}Phase1DhGroupNumbers"] == [20]
            assert connection[f"tunnel{n}Phase2EncryptionAlgorithms"] == ["AES256"]
            assert connection[f"tunnel{n}DpdTimeoutAction"] == "restart"


def test_aws_resources_use_the_callers_aws_provider(link):
    provider = link.one("pulumi:providers:aws")
    assert provider["region"] == "ap-northeast-2"
    for resource in link.of_type("aws:ec2/vpnConnection:VpnConnection") + link.of_type("aws:ec2/customerGateway:CustomerGateway"):
        assert resource.provider.startswith(provider.urn + "::")


def test_the_link_creates_no_provider_of_its_own(link):
    link_urn = link.one("crm:interconnect:HaVpnLink").urn
    assert [p.name for p in link.of_type("pulumi:providers:aws")] == ["peer-aws"]
    assert all(p.parent != link_urn for p in link.resources if p.type.startswith("pulumi:providers:"))


def test_the_link_refuses_to_run_without_an_aws_provider(run_component):
    with pytest.raises(Exception, match=r"pass the aws provider in opts.providers"):
        run_component(lambda: HaVpnLink("link", link_args()))


def test_opts_protect_protects_the_preshared_keys_and_nothing_stateless(run_component):
    result = run_component(lambda: build_link(protect=True))
    assert {r.name for r in result.resources if r.protect} == {f"link-psk-{t}" for t in range(4)}


def test_four_distinct_inside_cidrs_none_reserved(link):
    cidrs = [c[f"tunnel{n}InsideCidr"] for c in link.of_type("aws:ec2/vpnConnection:VpnConnection") for n in (1, 2)]
    assert sorted(cidrs) == sorted(str(c) for c in CIDRS) and len(set(cidrs)) == 4
    for cidr in cidrs:
        assert not any(ipaddress.IPv4Network(cidr).overlaps(r) for r in AWS_RESERVED_INSIDE_CIDRS)


def test_bgp_addresses_come_from_the_aws_tunnels(link):
    peers = {p["interface"]: p for p in link.of_type("gcp:compute/routerPeer:RouterPeer")}
    interfaces = {i["name"]: i for i in link.of_type("gcp:compute/routerInterface:RouterInterface")}
    first = peers["link-if-0"]
    assert (first["peerIpAddress"], first["ipAddress"], first["peerAsn"]) == ("169.254.10.1", "169.254.10.2", 64512)
    assert interfaces["link-if-0"]["ipRange"] == "169.254.10.2/30"
    assert peers["link-if-3"]["peerIpAddress"] == "169.254.10.13"


def test_router_advertises_subnets_and_private_services(link):
    bgp = link.one("gcp:compute/router:Router")["bgp"]
    assert bgp["asn"] == 65010 and bgp["advertiseMode"] == "CUSTOM" and bgp["advertisedGroups"] == ["ALL_SUBNETS"]
    assert [r["range"] for r in bgp["advertisedIpRanges"]] == ["10.23.0.0/20"]


def test_four_distinct_keys_only_as_secrets_in_aws_charset(link):
    keys = []
    for connection in sorted(link.of_type("aws:ec2/vpnConnection:VpnConnection"), key=lambda c: c.name):
        for n in (1, 2):
            assert is_secret(connection[f"tunnel{n}PresharedKey"])
            keys.append(secret_value(connection[f"tunnel{n}PresharedKey"]))
    tunnel_keys = [
        secret_value(t["sharedSecret"]) for t in sorted(link.of_type("gcp:compute/vPNTunnel:VPNTunnel"), key=lambda t: t["name"])
    ]
    assert tunnel_keys == keys and len(set(keys)) == 4
    for key in keys:
        assert re.fullmatch(r"[A-Za-z1-9][A-Za-z0-9._]{7,63}", key), key


def test_generated_key_rules(link):
    for password in link.of_type("random:index/randomPassword:RandomPassword"):
        assert password["length"] == 39 and password["overrideSpecial"] == "._"


def test_keys_are_secret_in_the_shipped_preview(shipped):
    for connection in shipped("gcp-dr").of_type("aws:ec2/vpnConnection:VpnConnection"):
        assert is_secret(connection["tunnel1PresharedKey"]) and is_secret(connection["tunnel2PresharedKey"])


@pytest.mark.parametrize(
    "changes,fragment",
    [
        ({"aws_asn": 65010}, "distinct ASNs"),
        ({"router_asn": 1234}, "not a private ASN"),
        ({"inside_cidrs": CIDRS[:3]}, "exactly 4"),
        ({"inside_cidrs": [ipaddress.IPv4Network("169.254.169.252/30"), *CIDRS[1:]]}, "reserved by AWS"),
    ],
)
def test_bad_link_arguments_are_refused(changes, fragment):
    with pytest.raises(ValueError, match=fragment):
        link_args(**changes)
